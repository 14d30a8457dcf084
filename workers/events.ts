/**
 * The events worker as a process: `node dist/workers/events.js petgate.yml`.
 * Redis from PETGATE_REDIS (redis://, rediss://, or a unix socket path; default
 * redis://127.0.0.1:6379), key prefix from PETGATE_PREFIX (default "petgate"). Stops on SIGTERM/SIGINT
 * after the job in hand.
 */
import { loadConfig } from "../src/config/load.js";
import { startEventsWorker } from "../src/pipeline/pipeline.js";

const file = process.argv[2] ?? "petgate.yml";
const worker = await startEventsWorker({
  config: loadConfig(file),
  connection: process.env.PETGATE_REDIS ?? "redis://127.0.0.1:6379",
  ...(process.env.PETGATE_PREFIX && { prefix: process.env.PETGATE_PREFIX }),
});
process.stderr.write(`petgate: events worker started (${file})\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  worker.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`petgate: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
