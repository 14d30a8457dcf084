import { loadConfig } from "../config/load.js";
import { findConfigFile } from "../config/path.js";
import { configuredOrDefaultRedis } from "../config/redis.js";
import { createRedis, DEFAULT_PREFIX, type RedisConnection, type RedisTarget } from "../pipeline/queues.js";

/** The options of a command that talks to petgate's Redis. */
export const REDIS_OPTIONS = {
  redis: { type: "string" },
  prefix: { type: "string" },
  config: { type: "string" },
} as const;

export const REDIS_HELP = `  --redis URL|SOCKET   redis://HOST:PORT, rediss://…, or a unix socket path (default: $PETGATE_REDIS,
                       else the configuration's redis: url, sentinels or cluster, else
                       redis://127.0.0.1:6379)
  --prefix PREFIX      the key prefix of petgate's data in Redis (default: the configuration's
                       redis.prefix, else ${DEFAULT_PREFIX})
  --config FILE        the configuration (default: $PETGATE_CONFIG, ./petgate.yml, /etc/petgate/petgate.yml)`;

/**
 * The Redis a command talks to, as the gateway it manages does: --redis, else $PETGATE_REDIS, else
 * the configuration's `redis` (url, sentinels or cluster, with its secrets), else the local default;
 * the prefix from --prefix, else the configuration's.
 */
export function commandRedis(values: { redis?: string; prefix?: string; config?: string }): {
  target: RedisTarget;
  endpoint: string;
  prefix: string;
} {
  const file =
    values.redis === undefined || values.prefix === undefined ? findConfigFile(values.config) : undefined;
  const config = file === undefined ? undefined : loadConfig(file);
  const { target, endpoint } = configuredOrDefaultRedis(
    config?.redis,
    values.redis ?? process.env.PETGATE_REDIS,
  );
  return {
    target,
    endpoint,
    prefix: values.prefix ?? config?.redis?.prefix ?? DEFAULT_PREFIX,
  };
}

/**
 * A connection that fails fast (createRedis "producer"), once it is ready; undefined, with why on
 * stderr, when it is not within `timeoutMs`.
 */
export async function connectForCommand(
  command: string,
  target: RedisTarget,
  endpoint: string,
  timeoutMs: number,
): Promise<RedisConnection | undefined> {
  const redis = createRedis(target, "producer");
  let lastError = "";
  redis.on("error", (err: Error) => {
    lastError = err.message;
  });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
  if (ready) return redis;
  redis.disconnect();
  process.stderr.write(
    `petgate ${command}: cannot reach Redis at ${endpoint}${lastError && `: ${lastError}`}\n`,
  );
  return undefined;
}
