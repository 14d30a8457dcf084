/**
 * The events worker as a process: `node dist/workers/events.js petgate.yml`.
 * Redis from PETGATE_REDIS (redis://, rediss://, or a unix socket path; default
 * redis://127.0.0.1:6379), key prefix from PETGATE_PREFIX (default "petgate"). Stops on SIGTERM/SIGINT
 * after the job in hand.
 */
import { loadConfig } from "../src/config/load.js";
import { startEventsWorker } from "../src/pipeline/events-worker.js";
import { redisOptionsFromEnv, stopOnSignal, workerSettingsFromEnv } from "./lifecycle.js";

const file = process.argv[2] ?? "petgate.yml";
const worker = await startEventsWorker({
  config: loadConfig(file),
  ...redisOptionsFromEnv(),
  ...workerSettingsFromEnv(),
});
process.stderr.write(`petgate: events worker started (${file})\n`);

stopOnSignal(() => worker.close());
