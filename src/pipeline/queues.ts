import { type JobsOptions, type Processor, Queue, Worker } from "bullmq";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { QueuedEvent } from "./intake/event.js";

/**
 * The queues of the pipeline, their job types and how to connect to them, in one place.
 *
 *   listener ── Ingest (micro-batches) ──▶ INGEST queue: one job per batch { events }
 *   events worker ── claims each event of a batch (dedup), processes it ──▶ DELIVER queue (notify/deliver.ts)
 *
 * Keys are `<prefix>:<queue>:…` and `<prefix>:event:<event id>`. On Redis Cluster give the prefix in
 * BullMQ's hash-tag form, `{petgate}`, so that all keys hash to one slot, as the Lua scripts require.
 */
export const DEFAULT_PREFIX = "petgate";

/** Micro-batches as the listener handed them over, before dedup. */
export const INGEST_QUEUE = "ingest";
export const INGEST_JOB = "batch";
export interface IngestJobData {
  events: QueuedEvent[];
}

/**
 * How long an event's claim is kept (`<prefix>:event:<id>`, see claimEvents), and with it the window
 * in which a late copy of the event (a PET retransmission, another listener's copy, a spool replay)
 * is recognised and dropped.
 */
export const EVENT_DEDUP_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Redis to connect to: a redis:// or rediss:// URL, a unix socket path, ioredis options (with
 * `sentinels` and `name`: the master the sentinels name), or the seed nodes of a Redis Cluster.
 */
export type RedisTarget = string | RedisOptions | RedisClusterTarget;

export interface RedisClusterTarget {
  cluster: { host: string; port: number }[];
  /** Options of each node's connection: credentials, TLS. */
  redisOptions?: RedisOptions;
}

/** A connection to one Redis (direct or through Sentinel) or to a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/** The Redis the command-line tools and workers use when nothing names one. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export type IngestQueue = Queue<IngestJobData, unknown, typeof INGEST_JOB>;

/**
 * A Redis connection for a given use.
 * - "producer" (Ingest): commands fail fast while Redis is down (no offline queue, in-flight commands
 *   rejected at the first disconnect) so that a batch goes to the spool instead of waiting; the
 *   client keeps reconnecting every ≤ 500 ms and emits 'ready' when Redis is back.
 * - "worker": what BullMQ requires of a connection a Worker blocks on (maxRetriesPerRequest: null);
 *   commands wait for the reconnection.
 */
export function createRedis(target: string | RedisOptions, use: "producer" | "worker"): Redis;
export function createRedis(target: RedisTarget, use: "producer" | "worker"): RedisConnection;
export function createRedis(target: RedisTarget, use: "producer" | "worker"): RedisConnection {
  const producer = use === "producer";
  const retryStrategy = producer
    ? (times: number) => Math.min(50 * times, 500)
    : (times: number) => Math.min(100 * times, 2_000);
  const options: RedisOptions = producer
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy, connectTimeout: 2_000 }
    : { maxRetriesPerRequest: null, retryStrategy };
  if (typeof target === "object" && "cluster" in target)
    return new Cluster(target.cluster, {
      enableOfflineQueue: !producer,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...target.redisOptions, ...options },
    });
  // ioredis parses "redis://…", "rediss://…", "unix:///path" and a bare "/path" (a unix socket).
  if (typeof target === "string") return new Redis(target, options);
  if (target.sentinels === undefined) return new Redis({ ...target, ...options });
  return new Redis({
    ...target,
    ...options,
    // A master that was demoted (a failover it lived through) answers writes with READONLY, and
    // ends blocking commands with UNBLOCKED: ask the sentinels again, and send the command there.
    // (Not ioredis's failoverDetector: a connection with one does not let the process exit after quit().)
    reconnectOnError: (err) => (/^(READONLY|UNBLOCKED)/.test(err.message) ? 2 : false),
    sentinelRetryStrategy: retryStrategy,
  });
}

/** The INGEST queue on a connection the caller owns (closing the queue leaves it open). */
export function ingestQueue(connection: RedisConnection, prefix = DEFAULT_PREFIX): IngestQueue {
  return quiet(
    new Queue<IngestJobData, unknown, typeof INGEST_JOB>(INGEST_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: INGEST_JOB_OPTIONS,
    }),
  );
}

/**
 * A queue's 'error' events are its connection's errors, which the connection's owner handles (and
 * /readyz reports): without a listener BullMQ prints each of them, every reconnection attempt.
 */
export function quiet<Q extends { on(event: "error", listener: (err: Error) => void): unknown }>(
  queue: Q,
): Q {
  queue.on("error", () => undefined);
  return queue;
}

/**
 * An INGEST batch is retried until the events worker has processed each of its events (processing is
 * idempotent: see claimEvents); a batch that still fails is kept a week for inspection.
 */
export const INGEST_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: "exponential", delay: 500 },
  removeOnComplete: { count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export interface WorkerSettings {
  prefix?: string;
  concurrency?: number;
  /**
   * A job whose worker lost Redis mid-job (an outage, a crash) stays active until its lock expires
   * and BullMQ's stalled-job check (every stalledIntervalMs) puts it back: BullMQ's defaults are 30 s.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How often a job may stall before BullMQ fails it; high, since our jobs are idempotent. */
  maxStalledCount?: number;
}

/**
 * A Worker on one of the queues. `connection` must be a "worker" connection (createRedis); BullMQ
 * works on duplicates of it, which `worker.close()` closes; the caller closes `connection`.
 */
export function createWorker<Data, Result, Name extends string>(
  queue: string,
  processor: Processor<Data, Result, Name>,
  options: WorkerSettings & { connection: RedisConnection },
): Worker<Data, Result, Name> {
  return new Worker<Data, Result, Name>(queue, processor, {
    connection: options.connection,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    concurrency: options.concurrency ?? 1,
    maxStalledCount: options.maxStalledCount ?? 100,
    ...(options.lockDurationMs !== undefined && { lockDuration: options.lockDurationMs }),
    ...(options.stalledIntervalMs !== undefined && { stalledInterval: options.stalledIntervalMs }),
  });
}
