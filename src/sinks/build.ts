import { readFileSync } from "node:fs";
import { readSecret } from "../config/load.js";
import type { Config, ReceiverConfig } from "../config/schema.js";
import { AlertmanagerSink } from "./alertmanager.js";
import { EmailSink } from "./email.js";
import { ExecSink } from "./exec.js";
import type { Sink } from "./sink.js";
import { SyslogSink } from "./syslog.js";
import { WebhookSink } from "./webhook.js";

/** A receiver whose sink cannot be built (a secret not readable, an option refused). Names the receiver, never a secret. */
export class ReceiverError extends Error {
  override name = "ReceiverError";
  constructor(
    readonly receiver: string,
    problem: string,
  ) {
    super(`receiver "${receiver}": ${problem}`);
  }
}

/**
 * The sinks of the config's `receivers:` by name (none without the section). Secrets are read here,
 * once; the caller owns the sinks and closes them.
 */
export function buildSinks(config: Pick<Config, "receivers">): Map<string, Sink> {
  const sinks = new Map<string, Sink>();
  try {
    for (const r of config.receivers ?? []) sinks.set(r.name, buildSink(r));
  } catch (err) {
    for (const s of sinks.values()) void s.close?.();
    throw err;
  }
  return sinks;
}

function buildSink(r: ReceiverConfig): Sink {
  const secret = (ref: Parameters<typeof readSecret>[0], what: string): string => {
    try {
      return readSecret(ref, what);
    } catch (err) {
      throw new ReceiverError(r.name, (err as Error).message);
    }
  };
  try {
    if (r.email) {
      const e = r.email;
      const auth =
        e.username !== undefined && e.password !== undefined
          ? { user: e.username, pass: secret(e.password, "email password") }
          : undefined;
      return new EmailSink({
        name: r.name,
        transport: {
          host: e.host,
          port: e.port,
          ...(e.secure !== undefined && { secure: e.secure }),
          ...(e.requireTLS !== undefined && { requireTLS: e.requireTLS }),
          ...(auth && { auth }),
        },
        from: e.from,
        to: e.to,
      });
    }
    if (r.webhook) {
      const w = r.webhook;
      return new WebhookSink({
        name: r.name,
        url: w.url,
        ...(w.secret && { secret: secret(w.secret, "webhook secret") }),
        ...(w.timeoutMs !== undefined && { timeoutMs: w.timeoutMs }),
        ...(w.format !== undefined && { format: w.format }),
      });
    }
    if (r.alertmanager) {
      const a = r.alertmanager;
      return new AlertmanagerSink({
        name: r.name,
        url: a.url,
        ...(a.timeoutMs !== undefined && { timeoutMs: a.timeoutMs }),
      });
    }
    if (r.exec) {
      const x = r.exec;
      return new ExecSink({
        name: r.name,
        command: x.command,
        ...(x.timeoutMs !== undefined && { timeoutMs: x.timeoutMs }),
        ...(x.env !== undefined && { env: x.env }),
      });
    }
    if (r.syslog) {
      const y = r.syslog;
      return new SyslogSink({
        name: r.name,
        address: y.address,
        ...(y.facility !== undefined && { facility: y.facility }),
        ...(y.appName !== undefined && { appName: y.appName }),
        ...(y.ca !== undefined && { ca: readCa(r.name, y.ca) }),
        ...(y.timeoutMs !== undefined && { timeoutMs: y.timeoutMs }),
      });
    }
  } catch (err) {
    if (err instanceof ReceiverError) throw err;
    // Sink constructors name what is wrong with an option, not its value (no secret reaches them but through auth).
    throw new ReceiverError(r.name, (err as Error).message);
  }
  throw new ReceiverError(r.name, "no email, webhook, alertmanager, exec or syslog given");
}

/** A syslog receiver's CA file, read once at start-up; the error names the file, not its content. */
function readCa(receiver: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ReceiverError(receiver, `ca ${file}: ${(err as NodeJS.ErrnoException).code ?? "not readable"}`);
  }
}
