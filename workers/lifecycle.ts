/**
 * What both worker processes share: their configuration, where Redis is, and a clean stop on
 * SIGTERM/SIGINT.
 */
import { loadConfig } from "../src/config/load.js";
import { requireConfigFile } from "../src/config/path.js";
import { configuredOrDefaultRedis } from "../src/config/redis.js";
import type { Config } from "../src/config/schema.js";
import type { RedisTarget, WorkerSettings } from "../src/pipeline/queues.js";

/** The configuration file named by the first argument, found as every command finds it. */
export function loadWorkerConfig(): { file: string; config: Config; log: (message: string) => void } {
  const file = requireConfigFile(process.argv[2]);
  return { file, config: loadConfig(file), log: (m) => process.stderr.write(`petgate: ${m}\n`) };
}

/**
 * Redis as serve finds it (PETGATE_REDIS, else config `redis`: a URL, sentinels or a cluster), else
 * the local default; key prefix from PETGATE_PREFIX (absent: config `redis.prefix`, else the
 * pipeline's default).
 */
export function redisOptionsFromEnv(config: Config): {
  redis: RedisTarget;
  prefix?: string;
  replicaAcks?: number;
} {
  const prefix = process.env.PETGATE_PREFIX || config.redis?.prefix;
  const { target, replicaAcks } = configuredOrDefaultRedis(config.redis);
  return { redis: target, ...(prefix && { prefix }), ...(replicaAcks && { replicaAcks }) };
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
