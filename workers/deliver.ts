/**
 * The delivery worker as a process: `node dist/workers/deliver.js petgate.yml` (the file found as
 * every command finds it: src/config/path.ts). It runs what `petgate serve --role worker` runs for
 * deliveries (startDeliveryRole), its sinks the config's `receivers:`. Redis from PETGATE_REDIS
 * (redis://, rediss://, or a unix socket path), else config `redis` (a URL, sentinels or a cluster),
 * else redis://127.0.0.1:6379; key prefix from
 * PETGATE_PREFIX (else config `redis.prefix`, else "petgate"); BullMQ lock and stalled-job check from
 * PETGATE_LOCK_DURATION_MS and PETGATE_STALLED_INTERVAL_MS. Stops on SIGTERM/SIGINT after the
 * deliveries in hand.
 */
import { startDeliveryRole } from "../src/pipeline/pipeline.js";
import { buildSinks } from "../src/sinks/build.js";
import { loadWorkerConfig, redisOptionsFromEnv, stopOnSignal, workerSettingsFromEnv } from "./lifecycle.js";

const { file, config, log } = loadWorkerConfig();
const sinks = buildSinks(config);
if (sinks.size === 0) log(`${file} has no receivers: every delivery will be dead-lettered`);
const role = await startDeliveryRole({
  ...redisOptionsFromEnv(config),
  history: config.history.enabled,
  ...workerSettingsFromEnv(),
  sinks,
  log,
});
log(`delivery worker started (${file}: ${[...sinks.keys()].join(", ") || "no receivers"})`);

stopOnSignal(async () => {
  await role.close();
  await Promise.all([...sinks.values()].map((s) => s.close?.()));
});
