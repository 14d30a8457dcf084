import { type Job, type JobsOptions, Queue, type Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Sink } from "../../sinks/sink.js";
import type { Notification } from "../alerting/notification.js";
import {
  createRedis,
  createWorker,
  DEFAULT_PREFIX,
  type RedisTarget,
  type WorkerSettings,
} from "../queues.js";
import { type DeadLetterOutcome, DeadLetterQueue } from "./dlq.js";
import { deliverWithRetries, type RetryOptions } from "./retry.js";

/**
 * The DELIVER queue: one job per (notification, receiver), under the delivery id, so that every copy
 * of a delivery enqueued while its job exists is that one job.
 *
 *   router ── enqueueDeliveries ──▶ DELIVER ── delivery worker ──▶ sink (deliverWithRetries)
 *                                                     └─ permanent / exhausted / unknown ──▶ DLQ
 *
 * Exactly once per receiver:
 * - duplicates enqueued while the job exists collapse into it (job id = delivery id);
 * - the worker skips a delivery whose delivered marker `<prefix>:delivered:<delivery id>` is set
 *   (SET NX, TTL DELIVERED_MARKER_TTL_SECONDS) after the sink said delivered: a job re-run after a
 *   crash or a stall, a later copy, or a DLQ replay does not reach the receiver again;
 * - what is left is the window between the receiver's acknowledgement and the marker (one Redis
 *   round trip; or a timeout after the receiver did process the request): a re-run sends again, with
 *   the same idempotency key (the notification id: webhook X-Petgate-Idempotency-Key, email
 *   Message-ID), which receivers deduplicate on.
 */
export const DELIVER_QUEUE = "deliver";
export const DELIVER_JOB = "deliver";

export interface DeliverJobData {
  receiver: string;
  notification: Notification;
}

export type DeliveryOutcome = "delivered" | "already-delivered" | DeadLetterOutcome;

export interface DeliverJobResult {
  outcome: DeliveryOutcome;
  /** Sink calls in this run. */
  attempts: number;
}

export type DeliverQueue = Queue<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>;

/** How long a delivered marker guards against a second delivery. */
export const DELIVERED_MARKER_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The sink retry policy is deliverWithRetries (inside one job run), never BullMQ's: a job fails only
 * when Redis does (the DLQ write, the marker), and BullMQ retries that; the last failure dead-letters
 * the delivery as "error". A finished job is kept a day (collapsing late copies without a Redis round
 * trip to the marker; the marker covers the rest of its TTL).
 */
export const DELIVER_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * `<notification id>@<receiver>`: the DELIVER job id, the delivered marker's and the DLQ entry's key.
 * BullMQ refuses ':' in custom job ids, hence '@'; the receiver is URI-encoded so that no name can
 * bring a ':' in (ordinary names are unchanged). Notification ids are hex, so the first '@' splits.
 */
export function deliveryId(notificationId: string, receiver: string): string {
  return `${notificationId}@${encodeURIComponent(receiver)}`;
}

export function deliveredMarkerKey(prefix: string, id: string): string {
  return `${prefix}:delivered:${id}`;
}

/** The DELIVER queue on a connection the caller owns. */
export function deliverQueue(connection: Redis, prefix = DEFAULT_PREFIX): DeliverQueue {
  return new Queue<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>(DELIVER_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: DELIVER_JOB_OPTIONS,
  });
}

/** One job per receiver; a delivery whose job exists is not added again. Returns the delivery ids. */
export function enqueueDeliveries(
  queue: DeliverQueue,
  notification: Notification,
  receivers: string[],
): Promise<string[]> {
  return enqueueDeliveryJobs(
    queue,
    [...new Set(receivers)].map((receiver) => ({ receiver, notification })),
  );
}

/** One job per delivery, all in one round trip, in order; returns the delivery ids. */
export async function enqueueDeliveryJobs(
  queue: DeliverQueue,
  deliveries: readonly DeliverJobData[],
): Promise<string[]> {
  const ids = deliveries.map((d) => deliveryId(d.notification.id, d.receiver));
  if (deliveries.length === 0) return ids;
  await queue.addBulk(
    deliveries.map((data, i) => ({
      name: DELIVER_JOB,
      data,
      opts: { ...DELIVER_JOB_OPTIONS, jobId: ids[i] as string },
    })),
  );
  return ids;
}

export interface DeliveryWorkerOptions extends WorkerSettings {
  connection: RedisTarget;
  /** Sinks by receiver name. The caller owns them (the worker does not close them). */
  sinks: ReadonlyMap<string, Sink>;
  /** Deliveries in flight at once (default 64: each waits on a receiver, not on this CPU). */
  concurrency?: number;
  /** The retry policy of every sink (see deliverWithRetries). */
  retry?: RetryOptions;
  deliveredTtlSeconds?: number;
  log?: (message: string) => void;
  /**
   * Fault injection for tests: awaited after a delivery is recorded (marker set), before its job
   * completes. A crash there must not deliver twice.
   */
  afterDelivered?: (job: Job<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>) => Promise<void>;
}

export interface DeliveryStats {
  /** Finished job runs by receiver and outcome. */
  outcomes: Record<string, Partial<Record<DeliveryOutcome, number>>>;
  /** Sink calls by receiver, retries included. */
  sends: Record<string, number>;
}

export interface DeliveryWorker {
  worker: Worker<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>;
  dlq: DeadLetterQueue;
  stats(): DeliveryStats;
  close(): Promise<void>;
}

export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<DeliveryWorker> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const ttl = options.deliveredTtlSeconds ?? DELIVERED_MARKER_TTL_SECONDS;
  const retry = options.retry ?? {};
  const attemptsOption = retry.attempts ?? 5;
  if (!Number.isInteger(attemptsOption) || attemptsOption < 1)
    throw new RangeError(`retry attempts must be ≥ 1, not ${attemptsOption}`);
  const log = options.log ?? (() => undefined);
  const connection = createRedis(options.connection, "worker");
  connection.on("error", () => undefined); // BullMQ reconnects; jobs wait
  const dlq = new DeadLetterQueue(connection, prefix);

  const stats: DeliveryStats = { outcomes: {}, sends: {} };
  const count = (receiver: string, outcome: DeliveryOutcome, sends: number) => {
    const byOutcome = stats.outcomes[receiver] ?? {};
    stats.outcomes[receiver] = byOutcome;
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    if (sends > 0) stats.sends[receiver] = (stats.sends[receiver] ?? 0) + sends;
  };

  const deadLetter = async (
    data: DeliverJobData,
    outcome: DeadLetterOutcome,
    reason: string,
    attempts: number,
  ): Promise<void> => {
    const id = deliveryId(data.notification.id, data.receiver);
    await dlq.add({
      id,
      receiver: data.receiver,
      notification: data.notification,
      outcome,
      reason,
      attempts,
    });
    log(`dead-lettered ${id} (${outcome}) after ${attempts} attempt(s): ${reason}`);
  };

  const worker = createWorker(
    DELIVER_QUEUE,
    async (job: Job<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>): Promise<DeliverJobResult> => {
      const { receiver, notification } = job.data;
      const id = deliveryId(notification.id, receiver);
      const marker = deliveredMarkerKey(prefix, id);
      if ((await connection.exists(marker)) === 1) {
        count(receiver, "already-delivered", 0);
        return { outcome: "already-delivered", attempts: 0 };
      }
      const sink = options.sinks.get(receiver);
      if (!sink) {
        await deadLetter(job.data, "unknown-receiver", `no sink named "${receiver}"`, 0);
        count(receiver, "unknown-receiver", 0);
        return { outcome: "unknown-receiver", attempts: 0 };
      }
      const { result, attempts } = await deliverWithRetries(sink, notification, retry);
      if (result.outcome === "delivered") {
        // The marker, and no DLQ entry left over from an earlier run of this delivery. Should the
        // marker not be written (Redis refusing writes), the job still completes: running it again
        // would send again.
        const replies = await connection
          .multi()
          .set(marker, new Date().toISOString(), "EX", ttl, "NX")
          .hdel(dlq.keys.entries, id)
          .zrem(dlq.keys.index, id)
          .exec();
        const failed = replies?.find(([err]) => err)?.[0];
        if (failed) log(`delivered ${id} but could not record it: ${failed.message}`);
        count(receiver, "delivered", attempts);
        await options.afterDelivered?.(job);
        return { outcome: "delivered", attempts };
      }
      const outcome = result.outcome === "permanent" ? "permanent" : "exhausted";
      await deadLetter(job.data, outcome, result.reason, attempts);
      count(receiver, outcome, attempts);
      return { outcome, attempts };
    },
    { ...options, connection, prefix, concurrency: options.concurrency ?? 64 },
  );
  worker.on("error", () => undefined); // connection errors: BullMQ reconnects
  worker.on("failed", (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const reason = `delivery job failed ${job.attemptsMade} time(s): ${err.message}`;
    deadLetter(job.data, "error", reason, 0).then(
      () => count(job.data.receiver, "error", 0),
      (e: unknown) => log(`could not dead-letter job ${job.id}: ${String(e)}`),
    );
  });
  await worker.waitUntilReady();
  return {
    worker,
    dlq,
    stats: () => ({
      outcomes: Object.fromEntries(Object.entries(stats.outcomes).map(([k, v]) => [k, { ...v }])),
      sends: { ...stats.sends },
    }),
    async close() {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
