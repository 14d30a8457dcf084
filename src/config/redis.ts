import type { RedisOptions } from "ioredis";
import { parseHostPort } from "../net/address.js";
import { DEFAULT_REDIS_URL, type RedisTarget } from "../pipeline/queues.js";
import { readSecret } from "./load.js";
import type { Config } from "./schema.js";

/** The Redis every role of petgate uses, as config `redis` and $PETGATE_REDIS name it. */
export interface ConfiguredRedis {
  target: RedisTarget;
  /** Where it is, fit for a log: no password. */
  endpoint: string;
  /** Replicas that must hold a write before petgate acts on it (Redis WAIT); 0: none asked. */
  replicaAcks: number;
}

/**
 * $PETGATE_REDIS (a URL, no password but its own) wins over config `redis`; undefined when neither
 * names a Redis. Secrets are read here, into ioredis options: never into a URL that could be logged.
 */
export function configuredRedis(
  redis: Config["redis"],
  envUrl: string | undefined = process.env.PETGATE_REDIS,
): ConfiguredRedis | undefined {
  if (envUrl) return { target: envUrl, endpoint: withoutPassword(envUrl), replicaAcks: 0 };
  if (!redis) return undefined;
  const password = redis.password && readSecret(redis.password, "redis.password");
  const auth: RedisOptions = {
    ...(password && { password }),
    ...(redis.username && { username: redis.username }),
  };
  if (redis.url !== undefined)
    return { target: redisTarget(redis.url, password), endpoint: withoutPassword(redis.url), replicaAcks: 0 };
  if (redis.sentinels !== undefined && redis.master !== undefined) {
    const sentinelPassword =
      redis.sentinelPassword && readSecret(redis.sentinelPassword, "redis.sentinelPassword");
    return {
      target: {
        ...auth,
        sentinels: redis.sentinels.map((n) => node(n, 26379)),
        name: redis.master,
        ...(sentinelPassword && { sentinelPassword }),
      },
      endpoint: `master ${redis.master} of sentinels ${redis.sentinels.join(", ")}`,
      replicaAcks: redis.replicaAcks ?? 1,
    };
  }
  if (redis.cluster !== undefined)
    return {
      target: { cluster: redis.cluster.map((n) => node(n, 6379)), redisOptions: auth },
      endpoint: `cluster ${redis.cluster.join(", ")}`,
      replicaAcks: 0,
    };
  return undefined;
}

/** configuredRedis, else the local default (the workers' processes and the commands, not serve). */
export function configuredOrDefaultRedis(
  redis: Config["redis"],
  envUrl: string | undefined = process.env.PETGATE_REDIS,
): ConfiguredRedis {
  return (
    configuredRedis(redis, envUrl) ?? {
      target: DEFAULT_REDIS_URL,
      endpoint: DEFAULT_REDIS_URL,
      replicaAcks: 0,
    }
  );
}

/** HOST[:PORT], the port Redis's own default when absent (26379 for a sentinel). */
function node(hostPort: string, port: number): { host: string; port: number } {
  return parseHostPort(hostPort, { host: "", port });
}

/** A Redis URL fit for a log: a password in it is masked. */
export function withoutPassword(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}

/**
 * A Redis URL (redis://, rediss://, a unix socket path) with the configured password as ioredis
 * options, so that the password never sits in a URL that could be logged.
 */
export function redisTarget(url: string, password: string | undefined): RedisTarget {
  if (password === undefined) return url;
  if (url.startsWith("/")) return { path: url, password };
  const u = new URL(url);
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port === "" ? 6379 : Number(u.port),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    password,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.protocol === "rediss:") options.tls = {};
  return options;
}
