/**
 * The delivery worker as a process: `node dist/workers/deliver.js petgate.yml` (or the file in
 * PETGATE_CONFIG). Its sinks are the config's `receivers:`. Redis from PETGATE_REDIS (redis://,
 * rediss://, or a unix socket path; default redis://127.0.0.1:6379), key prefix from PETGATE_PREFIX
 * (default "petgate"); BullMQ lock and stalled-job check from PETGATE_LOCK_DURATION_MS and
 * PETGATE_STALLED_INTERVAL_MS. Stops on SIGTERM/SIGINT after the deliveries in hand.
 */
import { loadConfig } from "../src/config/load.js";
import { startDeliveryWorker } from "../src/pipeline/notify/deliver.js";
import { buildSinks } from "../src/sinks/build.js";
import { redisOptionsFromEnv, stopOnSignal, workerSettingsFromEnv } from "./lifecycle.js";

const file = process.argv[2] ?? process.env.PETGATE_CONFIG ?? "petgate.yml";
const log = (m: string) => process.stderr.write(`petgate: ${m}\n`);
const sinks = buildSinks(loadConfig(file));
if (sinks.size === 0) log(`${file} has no receivers: every delivery will be dead-lettered`);
const worker = await startDeliveryWorker({
  ...redisOptionsFromEnv(),
  ...workerSettingsFromEnv(),
  sinks,
  log,
});
log(`delivery worker started (${file}: ${[...sinks.keys()].join(", ") || "no receivers"})`);

stopOnSignal(async () => {
  await worker.close();
  await Promise.all([...sinks.values()].map((s) => s.close?.()));
});
