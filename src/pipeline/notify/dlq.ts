import type { Notification } from "../alerting/notification.js";
import { DEFAULT_PREFIX, type RedisConnection } from "../queues.js";
import {
  DELIVER_JOB,
  type DeliverGroup,
  type DeliverQueue,
  groupsOf,
  type SingleDelivery,
} from "./deliver.js";

/**
 * The dead-letter queue: group sends that failed for good (a permanent result, retries exhausted, no
 * sink of that name, or the job itself failing), kept until an operator replays or purges them.
 *
 * Storage: a Redis hash `<prefix>:dead-letters:entries` (send id → entry JSON) and a sorted set
 * `<prefix>:dead-letters:index` (send id, scored by a sequence number from
 * `<prefix>:dead-letters:seq`), rather than a BullMQ queue that is never processed or a stream:
 * - an entry is keyed by its send (`<idempotency key>@<receiver>`, deliver.ts sendId: the receiver
 *   and the notifications sent), so dead-lettering the same send again (a job re-run after a crash,
 *   a replay that failed again) replaces the entry with the newer reason instead of adding a second
 *   one; BullMQ ignores an add whose job id exists (the stale entry would stay) and a stream only
 *   appends;
 * - every write gives the entry a new sequence number, so replay can remove exactly the entry it
 *   re-enqueued (compare-and-delete on the number) and not a newer one written meanwhile, and the
 *   sequence number makes the replay's job id deterministic: replaying one entry twice (two operators,
 *   a retry after a crash) enqueues one job;
 * - nothing consumes the entries by accident: a BullMQ queue's waiting jobs are taken by any worker
 *   started on its name.
 * Entries do not expire: they wait for an operator. With the prefix in hash-tag form (`{petgate}`)
 * all keys share one Redis Cluster slot, as the compare-and-delete script requires.
 */

export type DeadLetterOutcome =
  /** The sink said retrying cannot help (HTTP 4xx, SMTP 5yz, …). */
  | "permanent"
  /** Still retryable when the retry policy's attempts ran out. */
  | "exhausted"
  /** No sink is configured under the receiver's name. */
  | "unknown-receiver"
  /** The DELIVER job itself failed all its attempts (Redis errors, not the sink). */
  | "error";

export interface DeadLetter {
  /** The send id: `<idempotency key>@<receiver>` (deliver.ts sendId); what replay and purge take. */
  id: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  /** What the send carried: the group's notifications the receiver had not been sent. */
  notifications: Notification[];
  outcome: DeadLetterOutcome;
  reason: string;
  /** Sink calls in the run that gave up (0 when no sink was called). */
  attempts: number;
  /** ISO-8601. */
  deadLetteredAt: string;
  /** Increases with every write to the DLQ; orders the listing. */
  seq: number;
}

export type NewDeadLetter = Omit<DeadLetter, "seq" | "deadLetteredAt"> & { deadLetteredAt?: string };

export interface ReplayResult {
  /** Entries re-enqueued into DELIVER (and removed from the DLQ). */
  replayed: string[];
  /** Ids that had no entry. */
  missing: string[];
}

export interface PurgeResult {
  purged: string[];
  missing: string[];
}

/** Removes an entry only if it is still the version that was replayed (same sequence number). */
const DELETE_IF_SEQ = `
local seq = redis.call('ZSCORE', KEYS[2], ARGV[1])
if seq and tonumber(seq) == tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0`;

/** The job id of the DELIVER job that replays one DLQ entry: one job however often it is replayed. */
export function replayJobId(entry: Pick<DeadLetter, "id" | "seq">): string {
  return `${entry.id}@replay-${entry.seq}`;
}

export class DeadLetterQueue {
  readonly keys: { entries: string; index: string; seq: string };

  /** On a connection the caller owns. */
  constructor(
    private readonly redis: RedisConnection,
    prefix = DEFAULT_PREFIX,
  ) {
    this.keys = {
      entries: `${prefix}:dead-letters:entries`,
      index: `${prefix}:dead-letters:index`,
      seq: `${prefix}:dead-letters:seq`,
    };
  }

  /** Stores (or replaces) the entry of one group send. */
  async add(entry: NewDeadLetter): Promise<DeadLetter> {
    const seq = await this.redis.incr(this.keys.seq);
    const stored: DeadLetter = {
      id: entry.id,
      receiver: entry.receiver,
      groupKey: entry.groupKey,
      groupLabels: entry.groupLabels,
      notifications: entry.notifications,
      outcome: entry.outcome,
      reason: entry.reason,
      attempts: entry.attempts,
      deadLetteredAt: entry.deadLetteredAt ?? new Date().toISOString(),
      seq,
    };
    const replies = await this.redis
      .multi()
      .hset(this.keys.entries, stored.id, JSON.stringify(stored))
      .zadd(this.keys.index, seq, stored.id)
      .exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (failed) throw failed;
    return stored;
  }

  async size(): Promise<number> {
    return this.redis.zcard(this.keys.index);
  }

  /** The oldest `limit` entries, oldest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be ≥ 1, not ${limit}`);
    return this.entries(await this.redis.zrange(this.keys.index, 0, limit - 1));
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    return (await this.entries([id]))[0];
  }

  /**
   * Puts entries back into DELIVER as new jobs, one group each, with a fresh attempt budget, then
   * removes them. A receiver does not get a notification it already got again: the DELIVER worker
   * checks the delivered markers first and sends the group the rest. An entry re-dead-lettered between the enqueue and the removal (its replay
   * failed at once) is kept, since it is a newer entry.
   */
  async replay(ids: string[] | "all", deliver: DeliverQueue): Promise<ReplayResult> {
    const wanted = ids === "all" ? await this.allIds() : unique(ids);
    const found = await this.entries(wanted);
    const foundIds = new Set(found.map((e) => e.id));
    const result: ReplayResult = { replayed: [], missing: wanted.filter((id) => !foundIds.has(id)) };
    for (let i = 0; i < found.length; i += 100) {
      const batch = found.slice(i, i + 100);
      // The queue's default job options (attempts, retention) apply; the job id makes a second replay
      // of the same entry collapse into the first, and differs from the flush job that dead-lettered
      // it (kept an hour after it completed: an add under its id would be dropped).
      await deliver.addBulk(
        batch.map((e) => ({
          name: DELIVER_JOB,
          data: {
            receiver: e.receiver,
            groups: [{ groupKey: e.groupKey, groupLabels: e.groupLabels, notifications: e.notifications }],
          },
          opts: { jobId: replayJobId(e) },
        })),
      );
      for (const e of batch) {
        await this.redis.eval(DELETE_IF_SEQ, 2, this.keys.entries, this.keys.index, e.id, String(e.seq));
        result.replayed.push(e.id);
      }
    }
    return result;
  }

  /** Deletes entries for good. */
  async purge(ids: string[] | "all"): Promise<PurgeResult> {
    const wanted = ids === "all" ? await this.allIds() : unique(ids);
    const result: PurgeResult = { purged: [], missing: [] };
    for (let i = 0; i < wanted.length; i += 100) {
      const batch = wanted.slice(i, i + 100);
      const pipeline = this.redis.multi();
      for (const id of batch) pipeline.hdel(this.keys.entries, id).zrem(this.keys.index, id);
      const replies = (await pipeline.exec()) ?? [];
      batch.forEach((id, j) => {
        const removed = replies[2 * j]?.[1] === 1 || replies[2 * j + 1]?.[1] === 1;
        (removed ? result.purged : result.missing).push(id);
      });
    }
    return result;
  }

  /** A snapshot of every id, oldest first: entries added while a replay or purge runs are left alone. */
  private allIds(): Promise<string[]> {
    return this.redis.zrange(this.keys.index, 0, -1);
  }

  private async entries(ids: string[]): Promise<DeadLetter[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.entries, ...ids);
    const out: DeadLetter[] = [];
    for (const json of raw) if (json !== null) out.push(asGroupEntry(JSON.parse(json)));
    return out;
  }
}

/** An entry as stored before delivery took groups (one notification). */
type SingleDeadLetter = Omit<DeadLetter, keyof DeliverGroup> & SingleDelivery;

/** An entry as stored; one an older petgate wrote is read as a group of one. */
function asGroupEntry(stored: DeadLetter | SingleDeadLetter): DeadLetter {
  if (!("notification" in stored)) return stored;
  const { notification: _, ...rest } = stored;
  return { ...rest, ...(groupsOf(stored)[0] as DeliverGroup) };
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
