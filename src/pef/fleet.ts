import type { BmcTarget } from "../config/inventory.js";
import { IpmiClient } from "../ipmi/client/client.js";
import { IpmiAuthError } from "../ipmi/client/errors.js";
import type { Execute } from "../ipmi/commands/command.js";

export interface FleetOptions {
  /** BMCs worked on at once. */
  concurrency: number;
  /** Each BMC's whole task must end within this. */
  deadlineMs: number;
  log?: (line: string) => void;
}

export type FleetOutcome<T> =
  | { bmc: string; ok: true; value: T; ms: number }
  | { bmc: string; ok: false; error: string; ms: number };

/**
 * Runs a task on every BMC with bounded concurrency and a per-BMC deadline; one failing or hung BMC
 * never stops the others. Each BMC gets its own client (suite 17, or 3 when the BMC refuses 17 and
 * the inventory allows the fallback), closed when its task ends.
 */
export async function runFleet<T>(
  targets: readonly BmcTarget[],
  task: (execute: Execute, target: BmcTarget) => Promise<T>,
  options: FleetOptions,
  onOutcome: (outcome: FleetOutcome<T>) => void = () => undefined,
): Promise<FleetOutcome<T>[]> {
  const outcomes: FleetOutcome<T>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++] as BmcTarget;
      const outcome = await runOne(target, task, options);
      outcomes.push(outcome);
      onOutcome(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, targets.length) }, worker));
  return outcomes;
}

async function runOne<T>(
  target: BmcTarget,
  task: (execute: Execute, target: BmcTarget) => Promise<T>,
  options: FleetOptions,
): Promise<FleetOutcome<T>> {
  const started = performance.now();
  const deadline = Date.now() + options.deadlineMs;
  const attempt = async (cipherSuite: number): Promise<T> => {
    const client = new IpmiClient({
      host: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      cipherSuite,
      ...(target.kg && { kg: target.kg }),
      ipmi: target.ipmi ?? "auto",
      allowInsecure: target.allowAuthNone === true,
      keepAliveMs: 0,
      deadlineMs: Math.max(1000, Math.min(5000, deadline - Date.now())),
      ...(options.log && { log: options.log }),
      name: target.name,
    });
    try {
      return await task(
        (command, request) =>
          client.execute(command, request, {
            deadlineMs: Math.max(1, Math.min(5000, deadline - Date.now())),
          }),
        target,
      );
    } finally {
      await client.close();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no result within the ${options.deadlineMs} ms deadline`)),
      options.deadlineMs,
    );
  });
  try {
    const run = attempt(target.cipherSuite).catch((err: unknown) => {
      // IPMI 2.0 §13.18 status 04h/11h: the BMC has no such suite; 3 is the one most BMCs have. The
      // session error may come wrapped in what the step was reading (readAndPlan).
      const auth = err instanceof Error && err.cause instanceof IpmiAuthError ? err.cause : err;
      const refused =
        auth instanceof IpmiAuthError && auth.step === "open-session" && /status (4|17) /.test(auth.reason);
      if (refused && target.allowCipherFallback && target.cipherSuite !== 3) return attempt(3);
      throw err;
    });
    const value = await Promise.race([run, overdue]);
    return { bmc: target.name, ok: true, value, ms: performance.now() - started };
  } catch (err) {
    return {
      bmc: target.name,
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      ms: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}
