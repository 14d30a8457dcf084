/**
 * The events worker as a process: `node dist/workers/events.js petgate.yml` (the file found as every
 * command finds it: src/config/path.ts). It runs what `petgate serve --role worker` runs for events
 * (startEventsRole): the `traps:` rules over the MIBs of `mibs:` (cached in `mibs.cache` when set),
 * enrichment over the inventory, recent events in Redis, the BMC health monitor.
 * Redis from PETGATE_REDIS (redis://, rediss://, or a unix socket path), else config `redis` (a URL,
 * sentinels or a cluster), else redis://127.0.0.1:6379; key prefix from PETGATE_PREFIX (else config `redis.prefix`, else
 * "petgate"); BullMQ lock and stalled-job check from PETGATE_LOCK_DURATION_MS and
 * PETGATE_STALLED_INTERVAL_MS. Stops on SIGTERM/SIGINT after the job in hand.
 */
import { trapRuleProblem } from "../src/pipeline/interpret/load.js";
import { TrapRuleError } from "../src/pipeline/interpret/rules.js";
import { startEventsRole } from "../src/pipeline/pipeline.js";
import { loadWorkerConfig, redisOptionsFromEnv, stopOnSignal, workerSettingsFromEnv } from "./lifecycle.js";

const { file, config, log } = loadWorkerConfig();
const role = await startEventsRole({
  config,
  ...redisOptionsFromEnv(config),
  ...workerSettingsFromEnv(),
  log,
}).catch((err: unknown) => {
  if (!(err instanceof TrapRuleError)) throw err;
  log(trapRuleProblem(file, err));
  process.exit(1);
});
log(`events worker started (${file})`);

stopOnSignal(() => role.close());
