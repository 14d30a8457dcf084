import { hash } from "node:crypto";
import { type Job, type JobsOptions, Queue, type Worker } from "bullmq";
import { TurnCoalescer } from "../../io/coalesce.js";
import type { NotificationGroup, Sink } from "../../sinks/sink.js";
import type { Notification } from "../alerting/notification.js";
import {
  createRedis,
  createWorker,
  DEFAULT_PREFIX,
  quiet,
  type RedisConnection,
  type RedisTarget,
  type WorkerSettings,
} from "../queues.js";
import { ReplicaBarrier } from "../replicas.js";
import { type Delivered, DeliveryClaims, deliveredMarkerKey, type HeldClaims } from "./claims.js";
import { type DeadLetterOutcome, DeadLetterQueue } from "./dlq.js";
import { deliverWithRetries, type RetryOptions } from "./retry.js";

/**
 * The DELIVER queue, in Alertmanager's model: one job per flush and receiver, carrying the groups
 * that receiver is sent at that moment; the delivery worker sends each group in one request/message
 * (to a sink that groups by itself, Alertmanager's API, the job's groups in one: Sink.regroups).
 *
 *   events worker ── enqueueFlush ──▶ DELIVER ── delivery worker ──▶ sink, one call per group
 *                                                     │              (deliverWithRetries)
 *                                                     └─ permanent / exhausted / unknown ──▶ DLQ (the group)
 *
 * Exactly once per notification per receiver:
 * - the job id is derived from the receiver and the notifications it carries, so an identical flush
 *   enqueued while the job exists is that one job;
 * - the worker reads the delivered markers `<prefix>:delivered:<delivery id>` of all the job's
 *   notifications and claims the others (claims.ts) in one script call, and sends a group only the
 *   notifications it claimed (a group left empty is skipped); a delivered group sets its markers
 *   (SET NX, TTL DELIVERED_MARKER_TTL_SECONDS) and deletes its claims in one script call (with the
 *   other groups delivered in the same event-loop turn), a group dead-lettered releases its claims. A job re-run after a crash or a stall, a later flush carrying
 *   the same notification, or a DLQ replay does not reach the receiver again;
 * - a notification another job is sending at that moment (claimed by it) is not sent: once the rest
 *   settled, the job fails with InFlightElsewhereError and BullMQ retries it with backoff, when the
 *   other job has delivered it (marker: skipped) or released it (claimed and sent then);
 * - what is left is the window between the receiver's acknowledgement and the markers (one Redis
 *   round trip; or a timeout after the receiver did process the request): a re-run sends again, with
 *   the same idempotency key (derived from the receiver and the ids of the notifications sent:
 *   webhook X-Petgate-Idempotency-Key, email Message-ID), which receivers deduplicate on.
 */
export const DELIVER_QUEUE = "deliver";
export const DELIVER_JOB = "deliver";

/** One group as one receiver is sent it. `Batch` (alerting/group.ts) satisfies it structurally. */
export interface FlushGroup {
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly notifications: readonly Notification[];
}

/** A group as a DELIVER job carries it. */
export interface DeliverGroup {
  groupKey: string;
  groupLabels: Record<string, string>;
  notifications: Notification[];
}

export interface DeliverJobData {
  receiver: string;
  groups: DeliverGroup[];
}

/** What a job or a dead letter carried before delivery took groups: one notification. */
export interface SingleDelivery {
  receiver: string;
  notification: Notification;
}

/** The groups of job data; what an older petgate enqueued or dead-lettered is a group of one. */
export function groupsOf(data: DeliverJobData | SingleDelivery): DeliverGroup[] {
  return "groups" in data
    ? data.groups
    : [{ groupKey: "", groupLabels: {}, notifications: [data.notification] }];
}

export type DeliveryOutcome = "delivered" | "already-delivered" | DeadLetterOutcome;

export interface DeliverJobResult {
  /** Each notification's outcome in this run, by notification id. */
  outcomes: Record<string, DeliveryOutcome>;
  /** Sink calls in this run. */
  sends: number;
}

export type DeliverQueue = Queue<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>;
export type DeliverJob = Job<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>;

/** How long a delivered marker guards against a second delivery. */
export const DELIVERED_MARKER_TTL_SECONDS = 7 * 24 * 3600;

/** How long a job waits for replicas to hold its claims before it is retried (redis.replicaAcks). */
const REPLICA_TIMEOUT_MS = 1_000;

/**
 * The sink retry policy is deliverWithRetries (inside one job run), never BullMQ's: a job fails only
 * when Redis does (the marker read, the DLQ write), and BullMQ retries that; the last failure
 * dead-letters the job's groups as "error". A finished job is kept an hour, at most 10,000 of them
 * (an identical flush enqueued again collapses into it; the claims and markers cover everything
 * else): each carries its groups' notifications, so keeping a day of them at 1,000 events a second
 * held gigabytes in Redis.
 */
export const DELIVER_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * `<notification id>@<receiver>`: the delivered marker's key. BullMQ refuses ':' in custom job ids,
 * hence '@'; the receiver is URI-encoded so that no name can bring a ':' in (ordinary names are
 * unchanged). Notification ids are hex, so the first '@' splits.
 */
export function deliveryId(notificationId: string, receiver: string): string {
  return `${notificationId}@${encodeURIComponent(receiver)}`;
}

/**
 * The idempotency key of sending these notifications to this receiver: 128 bits of SHA-256 over
 * both, hex. The same notifications give the same key on every re-run; a send that carries fewer
 * (some were delivered meanwhile) is a different request and has a key of its own.
 */
export function idempotencyKey(receiver: string, notificationIds: readonly string[]): string {
  return hash("sha256", JSON.stringify([receiver, ...notificationIds])).slice(0, 32);
}

/**
 * `<idempotency key>@<receiver>`: the id of sending these notifications to this receiver, the
 * DELIVER job id of a flush (over all its notifications) and the DLQ id of a group.
 */
export function sendId(receiver: string, notificationIds: readonly string[]): string {
  return deliveryId(idempotencyKey(receiver, notificationIds), receiver);
}

export { deliveredMarkerKey } from "./claims.js";

/** A group send's id (its DLQ entry's key): sendId of what it carries, from the key it already has. */
function groupSendId(group: NotificationGroup): string {
  return deliveryId(group.idempotencyKey, group.receiver);
}

/** A job carried notifications that other jobs were sending: BullMQ runs it again after its backoff. */
export class InFlightElsewhereError extends Error {
  readonly code = "in-flight-elsewhere";
  constructor(
    readonly notificationIds: readonly string[],
    readonly heldBy: readonly string[],
  ) {
    super(
      `${notificationIds.length} notification(s) in flight in job(s) ${heldBy.join(", ")}; retrying after them`,
    );
    this.name = "InFlightElsewhereError";
  }
}

/** The DELIVER queue on a connection the caller owns. */
export function deliverQueue(connection: RedisConnection, prefix = DEFAULT_PREFIX): DeliverQueue {
  return quiet(
    new Queue<DeliverJobData, DeliverJobResult, typeof DELIVER_JOB>(DELIVER_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: DELIVER_JOB_OPTIONS,
    }),
  );
}

/**
 * One job per receiver among `groups` (in the order receivers first appear), carrying that
 * receiver's groups with notifications, all in one round trip. Returns deliveryId(n.id, receiver)
 * of every notification carried, in order.
 */
export async function enqueueFlush(queue: DeliverQueue, groups: readonly FlushGroup[]): Promise<string[]> {
  const byReceiver = new Map<string, DeliverGroup[]>();
  const ids: string[] = [];
  for (const g of groups) {
    if (g.notifications.length === 0) continue;
    const carried = byReceiver.get(g.receiver) ?? [];
    byReceiver.set(g.receiver, carried);
    carried.push({
      groupKey: g.groupKey,
      groupLabels: { ...g.groupLabels },
      notifications: [...g.notifications],
    });
    for (const n of g.notifications) ids.push(deliveryId(n.id, g.receiver));
  }
  if (byReceiver.size === 0) return ids;
  await queue.addBulk(
    [...byReceiver].map(([receiver, carried]) => ({
      name: DELIVER_JOB,
      data: { receiver, groups: carried },
      opts: {
        ...DELIVER_JOB_OPTIONS,
        jobId: sendId(
          receiver,
          carried.flatMap((g) => g.notifications.map((n) => n.id)),
        ),
      },
    })),
  );
  return ids;
}

export interface DeliveryWorkerOptions extends WorkerSettings {
  connection: RedisTarget;
  /** Sinks by receiver name. The caller owns them (the worker does not close them). */
  sinks: ReadonlyMap<string, Sink>;
  /** Jobs in flight at once (default 64: each waits on a receiver, not on this CPU). */
  concurrency?: number;
  /** The retry policy of every sink (see deliverWithRetries). */
  retry?: RetryOptions;
  deliveredTtlSeconds?: number;
  /** Replicas that must hold a job's claims before it sends (redis.replicaAcks; default 0). */
  replicaAcks?: number;
  log?: (message: string) => void;
  /**
   * Fault injection for tests: awaited after each delivered group is recorded (markers set), before
   * its job completes. A crash there must not deliver twice.
   */
  afterDelivered?: (job: DeliverJob) => Promise<void>;
}

export interface DeliveryStats {
  /** Notifications by receiver and outcome, one per finished job run that carried them. */
  outcomes: Record<string, Partial<Record<DeliveryOutcome, number>>>;
  /** Sink calls (group sends) by receiver, retries included. */
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
  const claims = new DeliveryClaims(connection, prefix);
  const replicas = new ReplicaBarrier(connection, options.replicaAcks ?? 0, REPLICA_TIMEOUT_MS, log);
  // Groups of any job that went out in the same turn: one script call for all their records.
  const recorder = new TurnCoalescer<Delivered>((groups) =>
    claims.recordDelivered(groups, new Date().toISOString(), ttl, dlq.keys),
  );

  const stats: DeliveryStats = { outcomes: {}, sends: {} };
  const count = (receiver: string, outcome: DeliveryOutcome, notifications: number, sends: number) => {
    const byOutcome = stats.outcomes[receiver] ?? {};
    stats.outcomes[receiver] = byOutcome;
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + notifications;
    if (sends > 0) stats.sends[receiver] = (stats.sends[receiver] ?? 0) + sends;
  };

  const deadLetter = async (
    group: NotificationGroup,
    outcome: DeadLetterOutcome,
    reason: string,
    attempts: number,
  ): Promise<void> => {
    const id = groupSendId(group);
    await dlq.add({
      id,
      receiver: group.receiver,
      groupKey: group.groupKey,
      groupLabels: { ...group.groupLabels },
      notifications: [...group.notifications],
      outcome,
      reason,
      attempts,
    });
    log(
      `dead-lettered ${id} (${group.notifications.length} notification(s), ${outcome}) after ${attempts} attempt(s): ${reason}`,
    );
  };

  /**
   * Sends one group; records its markers (and drops its claims) when delivered, dead-letters it and
   * releases its claims otherwise.
   */
  const sendGroup = async (
    job: DeliverJob,
    sink: Sink,
    group: NotificationGroup,
    held: HeldClaims,
  ): Promise<{ outcome: DeliveryOutcome; attempts: number }> => {
    const { result, attempts } = await deliverWithRetries(sink, group, retry);
    const ids = group.notifications.map((n) => deliveryId(n.id, group.receiver));
    if (result.outcome === "delivered") {
      // The markers, and no DLQ entry left over from an earlier run of this send. Should the markers
      // not be written (Redis refusing writes), the job still completes: running it again would send
      // again. Its claims then expire with their TTL.
      held.delivered(ids);
      const sendId = groupSendId(group);
      await recorder
        .add({ ids, sendId })
        .catch((err: unknown) =>
          log(
            `delivered ${sendId} but could not record it: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      count(group.receiver, "delivered", group.notifications.length, attempts);
      await options.afterDelivered?.(job);
      return { outcome: "delivered", attempts };
    }
    const outcome = result.outcome === "permanent" ? "permanent" : "exhausted";
    await deadLetter(group, outcome, result.reason, attempts);
    await held.release(ids);
    count(group.receiver, outcome, group.notifications.length, attempts);
    return { outcome, attempts };
  };

  const worker = createWorker(
    DELIVER_QUEUE,
    async (job: DeliverJob): Promise<DeliverJobResult> => {
      const { receiver } = job.data;
      const jobId = String(job.id);
      const outcomes: Record<string, DeliveryOutcome> = {};
      // A claim lives as long as the job's lock and is renewed with it (DeliveryClaims.hold): held
      // while this run sends, however long the sink's timeouts and retries make that, and given up
      // when the lock would be, should this worker die. The sink's timeouts are the sink's own and
      // unbounded by configuration, so a TTL derived from them could run out while a send still runs.
      const claimTtlMs = lockDurationMs(worker);
      const { toSend, already, elsewhere } = await claimUndelivered(claims, jobId, claimTtlMs, job.data);
      for (const n of already) outcomes[n.id] = "already-delivered";
      if (already.length > 0) count(receiver, "already-delivered", already.length, 0);

      const claimed = toSend.flatMap((g) => g.notifications.map((n) => deliveryId(n.id, receiver)));
      // Nothing leaves before replicas hold the claims (and all that made this job): a failover
      // then cannot bring back a state in which this notification was never sent.
      if (claimed.length > 0)
        await replicas.wait().catch(async (err: unknown) => {
          await claims.release(jobId, claimed);
          throw err;
        });
      const held = claims.hold(jobId, claimTtlMs, claimed);
      const sink = options.sinks.get(receiver);
      const units = sink?.regroups ? regrouped(receiver, toSend) : toSend;
      let sends = 0;
      // Every group settles before the job fails (a DLQ write refused): a retry of the job must not
      // meet this run's sends still going.
      const settled = await Promise.allSettled(
        units.map(async (group) => {
          let outcome: DeliveryOutcome;
          if (sink) {
            const sent = await sendGroup(job, sink, group, held);
            outcome = sent.outcome;
            sends += sent.attempts;
          } else {
            outcome = "unknown-receiver";
            await deadLetter(group, outcome, `no sink named "${receiver}"`, 0);
            await held.release(group.notifications.map((n) => deliveryId(n.id, receiver)));
            count(receiver, outcome, group.notifications.length, 0);
          }
          for (const n of group.notifications) outcomes[n.id] = outcome;
        }),
      ).finally(() => held.stop());
      const failure = settled.find((s) => s.status === "rejected");
      if (failure) throw failure.reason;
      if (elsewhere.ids.length > 0) {
        const deferred = new InFlightElsewhereError(elsewhere.ids, elsewhere.heldBy);
        log(`job ${jobId}: ${deferred.message}`);
        throw deferred;
      }
      return { outcomes, sends };
    },
    { ...options, connection, prefix, concurrency: options.concurrency ?? 64 },
  );
  worker.on("error", () => undefined); // connection errors: BullMQ reconnects
  worker.on("failed", (job, err) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const reason = `delivery job failed ${job.attemptsMade} time(s): ${err.message}`;
    deadLetterUndelivered(job, reason).catch((e: unknown) =>
      log(`could not dead-letter job ${job.id}: ${String(e)}`),
    );
  });

  /** A job failed for good: what of it was not delivered (by an earlier run, or another job) is dead-lettered. */
  const deadLetterUndelivered = async (job: DeliverJob, reason: string): Promise<void> => {
    const carried = groupsOf(job.data).flatMap((g) => g.notifications);
    const markers =
      carried.length === 0
        ? []
        : await connection.mget(
            ...carried.map((n) => deliveredMarkerKey(prefix, deliveryId(n.id, job.data.receiver))),
          );
    const delivered = new Set(carried.filter((_, i) => markers[i] !== null).map((n) => n.id));
    const groups = sendableGroups(job.data, delivered);
    const ids = groups.flatMap((g) => g.notifications.map((n) => deliveryId(n.id, g.receiver)));
    await Promise.all([
      ...groups.map((g) => deadLetter(g, "error", reason, 0)),
      claims.release(String(job.id), ids),
    ]);
    for (const g of groups) count(g.receiver, "error", g.notifications.length, 0);
  };
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

/**
 * The job's groups as the sink is sent them: each notification once (two routes to one receiver
 * put it in two groups; the first carries it), groups left empty dropped, `skip` left out.
 */
function sendableGroups(data: DeliverJobData, skip: ReadonlySet<string> = new Set()): NotificationGroup[] {
  const seen = new Set(skip);
  const out: NotificationGroup[] = [];
  for (const g of groupsOf(data)) {
    const notifications = g.notifications.filter((n) => !seen.has(n.id));
    for (const n of notifications) seen.add(n.id);
    if (notifications.length === 0) continue;
    out.push({
      receiver: data.receiver,
      groupKey: g.groupKey,
      groupLabels: g.groupLabels,
      notifications,
      idempotencyKey: idempotencyKey(
        data.receiver,
        notifications.map((n) => n.id),
      ),
    });
  }
  return out;
}

/**
 * `groups` as one send, for a sink that groups by itself: all their notifications in one group, keyed
 * by the group keys it merged (its DLQ entry shows them), with the idempotency key of all of them.
 */
function regrouped(receiver: string, groups: readonly NotificationGroup[]): NotificationGroup[] {
  if (groups.length <= 1) return [...groups];
  const notifications = groups.flatMap((g) => g.notifications);
  return [
    {
      receiver,
      groupKey: groups.map((g) => g.groupKey).join(" + "),
      groupLabels: {},
      notifications,
      idempotencyKey: idempotencyKey(
        receiver,
        notifications.map((n) => n.id),
      ),
    },
  ];
}

/**
 * The job's groups less the notifications delivered already or in flight in another job, having
 * claimed the rest for `jobId`: the markers read and the claims taken in one script call.
 */
async function claimUndelivered(
  claims: DeliveryClaims,
  jobId: string,
  claimTtlMs: number,
  data: DeliverJobData,
): Promise<{
  toSend: NotificationGroup[];
  already: Notification[];
  elsewhere: { ids: string[]; heldBy: string[] };
}> {
  const carried = [...new Map(groupsOf(data).flatMap((g) => g.notifications.map((n) => [n.id, n]))).values()];
  const states = await claims.claim(
    jobId,
    claimTtlMs,
    carried.map((n) => deliveryId(n.id, data.receiver)),
  );
  const already: Notification[] = [];
  const elsewhere = { ids: [] as string[], heldBy: new Set<string>() };
  carried.forEach((n, i) => {
    const state = states[i];
    if (state === "delivered") already.push(n);
    else if (typeof state === "object") {
      elsewhere.ids.push(n.id);
      elsewhere.heldBy.add(state.heldBy);
    }
  });
  return {
    toSend: sendableGroups(data, new Set([...already.map((n) => n.id), ...elsewhere.ids])),
    already,
    elsewhere: { ids: elsewhere.ids, heldBy: [...elsewhere.heldBy] },
  };
}

/** The lock BullMQ holds on a running job, renewed while it runs (its default filled in by Worker). */
function lockDurationMs(worker: { opts: { lockDuration?: number } }): number {
  return worker.opts.lockDuration ?? 30_000;
}
