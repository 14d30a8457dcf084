/** What both worker processes share: where Redis is, and a clean stop on SIGTERM/SIGINT. */
import { redisFromEnv, type WorkerSettings } from "../src/pipeline/queues.js";

/** Redis from PETGATE_REDIS, key prefix from PETGATE_PREFIX (absent: the pipeline's default). */
export function redisOptionsFromEnv(): { connection: string; prefix?: string } {
  return {
    connection: redisFromEnv(),
    ...(process.env.PETGATE_PREFIX && { prefix: process.env.PETGATE_PREFIX }),
  };
}

/**
 * BullMQ's lock and stalled-job check from PETGATE_LOCK_DURATION_MS and PETGATE_STALLED_INTERVAL_MS
 * (absent: BullMQ's 30 s each): how soon another worker takes over the jobs of one that died.
 */
export function workerSettingsFromEnv(): Pick<WorkerSettings, "lockDurationMs" | "stalledIntervalMs"> {
  const ms = (name: string): number | undefined => {
    const text = process.env[name];
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${name}=${text} is not a number of milliseconds`);
    return value;
  };
  const lockDurationMs = ms("PETGATE_LOCK_DURATION_MS");
  const stalledIntervalMs = ms("PETGATE_STALLED_INTERVAL_MS");
  return {
    ...(lockDurationMs !== undefined && { lockDurationMs }),
    ...(stalledIntervalMs !== undefined && { stalledIntervalMs }),
  };
}

/** On the first SIGTERM or SIGINT runs `close` once, then exits 0 (1, with the error, if it failed). */
export function stopOnSignal(close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`petgate: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
