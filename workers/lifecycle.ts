/** What both worker processes share: where Redis is, and a clean stop on SIGTERM/SIGINT. */
import { redisFromEnv } from "../src/pipeline/queues.js";

/** Redis from PETGATE_REDIS, key prefix from PETGATE_PREFIX (absent: the pipeline's default). */
export function redisOptionsFromEnv(): { connection: string; prefix?: string } {
  return {
    connection: redisFromEnv(),
    ...(process.env.PETGATE_PREFIX && { prefix: process.env.PETGATE_PREFIX }),
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
