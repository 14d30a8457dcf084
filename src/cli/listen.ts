import { once } from "node:events";
import { createWriteStream, openSync, readFileSync } from "node:fs";
import { ConfigError, loadConfig, SecretError } from "../config/load.js";
import { findConfigFile } from "../config/path.js";
import { configSchema, type ListenerConfig } from "../config/schema.js";
import { NdjsonWriter } from "../io/ndjson.js";
import { type ListenerOptions, TrapListener } from "../pet/listener.js";
import { listenerOptions } from "../pet/listener-options.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate listen [--bind HOST:PORT] [--out FILE] [--config FILE] [--receive-buffer BYTES]
                      [--community NAME]... [--allow ADDR|CIDR]...

Receives SNMPv1/v2c traps, v2c/v3 informs and SNMPv3 traps; decodes IPMI PETs; writes one JSON
event per line to FILE (appending) or standard output. Counters go to standard error on SIGINT/SIGTERM.

  --bind       UDP address; default 0.0.0.0:162 as root, else 0.0.0.0:1162
  --config     petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml when present)
  --community  accept this SNMPv1/v2c community (repeatable; replaces the config's list)
  --allow      accept traps only from these sources (repeatable; replaces the config's list)
  --receive-buffer  UDP receive buffer to ask for (default 64 MiB; capped by net.core.rmem_max)`;

export async function listenCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      bind: { type: "string" },
      out: { type: "string" },
      config: { type: "string" },
      community: { type: "string", multiple: true },
      allow: { type: "string", multiple: true },
      "receive-buffer": { type: "string" },
    },
    HELP,
  );
  let options: ListenerOptions;
  try {
    const cfg = listenerConfig(values.config);
    options = listenerOptions({
      ...cfg,
      ...(values.bind !== undefined && { bind: values.bind }),
      ...(values.community !== undefined && { communities: values.community }),
      ...(values.allow !== undefined && { allowSources: values.allow }),
      ...(values["receive-buffer"] !== undefined && {
        receiveBufferBytes: byteCount(values["receive-buffer"]),
      }),
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError) {
      process.stderr.write(`petgate listen: ${err.message}\n`);
      return 1;
    }
    // A bad --bind or --allow value.
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }

  // Opened before the listener binds, so a path it cannot use is a one-line start-up error (main.ts);
  // owner-only, like the spool: the events carry communities and alert text.
  const out =
    values.out === undefined
      ? process.stdout
      : createWriteStream("", { fd: openSync(values.out, "a", 0o600), flags: "a" });
  const writer = new NdjsonWriter(out);
  const listener = await TrapListener.start(options, (event) => writer.write(event));
  const { host, port } = listener.address();
  const { requested, granted } = listener.receiveBuffer;
  // Handlers before the line that says it listens: a signal sent on that line ends it cleanly.
  const stopped = Promise.race([
    once(process, "SIGINT"),
    once(process, "SIGTERM"),
    once(out, "error") as Promise<[Error]>,
  ]);
  process.stderr.write(
    `petgate: listening for SNMP traps on udp ${host}:${port}; receive buffer ${requested} bytes requested, ` +
      `${granted} granted${rmemMaxNote(requested, granted)}\n`,
  );

  const [failed] = await stopped;
  await listener.close();
  if (failed instanceof Error) {
    process.stderr.write(`petgate listen: cannot write ${values.out ?? "stdout"}: ${failed.message}\n`);
    return 1;
  }
  await writer.flush();
  if (out !== process.stdout) out.end();
  process.stderr.write(`petgate: stopped; counters ${JSON.stringify(listener.stats())}\n`);
  return 0;
}

function byteCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`--receive-buffer ${text}: expected a number of bytes`);
  return n;
}

function listenerConfig(path: string | undefined): ListenerConfig {
  const file = findConfigFile(path);
  return file === undefined ? configSchema.parse({}).listener : loadConfig(file).listener;
}

/** Linux grants at most net.core.rmem_max. */
function rmemMaxNote(requested: number, granted: number): string {
  if (granted >= requested) return "";
  try {
    const max = readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim();
    return ` (capped by net.core.rmem_max=${max}; raise it with sysctl -w net.core.rmem_max=${requested})`;
  } catch {
    return "";
  }
}
