import type { RedisConnection } from "../queues.js";

/*
 * Where one notification's delivery to one receiver stands, by its delivery id (deliver.ts deliveryId):
 *
 *   <prefix>:delivered:<delivery id>   set once a receiver took it (TTL a week: deliver.ts)
 *   <prefix>:delivering:<delivery id>  the DELIVER job sending it now: its job id (TTL: the job's lock)
 *
 * What several groups that went out at about the same time leave is recorded in one script call
 * (recordDelivered): their markers, their claims deleted, and any dead letter of an earlier run of
 * the same send removed.
 *
 * Two different jobs can carry one notification (two flushes of it: an INGEST batch re-run after a
 * crash, an outbox sweep, a DLQ replay). A job claims what it sends in the same script that reads the
 * markers, so of two jobs running at once only one sends it; the other sees it in flight elsewhere
 * and retries later, when it is delivered (skipped) or released (claimed and sent). A claim holding
 * this job's own id is this job's: a re-run after a stall takes it back at once.
 */

export function deliveredMarkerKey(prefix: string, id: string): string {
  return `${prefix}:delivered:${id}`;
}

export function claimKey(prefix: string, id: string): string {
  return `${prefix}:delivering:${id}`;
}

/** A delivery as the claim script found it: delivered, claimed by this job now, or the id of the job holding it. */
export type ClaimState = "delivered" | "claimed" | { heldBy: string };

/** KEYS: (marker, claim)…; ARGV: job id, TTL ms. Per delivery: 0 delivered, 1 claimed, else the holder's job id. */
const CLAIM_COMMAND = "petgateDeliveryClaim";
const CLAIM = `
local states = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    states[#states + 1] = 0
  else
    local holder = redis.call('GET', KEYS[i + 1])
    if holder == false or holder == ARGV[1] then
      redis.call('SET', KEYS[i + 1], ARGV[1], 'PX', ARGV[2])
      states[#states + 1] = 1
    else
      states[#states + 1] = holder
    end
  end
end
return states
`;

/** KEYS: claims; ARGV: job id. Deletes those the job holds (one that expired and was taken is another's). */
const RELEASE_COMMAND = "petgateDeliveryRelease";
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0
`;

/**
 * KEYS: markers (n), claims (n), DLQ entries hash, DLQ index; ARGV: n, the time, TTL seconds, then
 * the send ids whose dead letters go. One command at a time: no unpack() of an unbounded list.
 */
const DELIVERED_COMMAND = "petgateDeliveryDone";
const DELIVERED = `
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[2], 'EX', ARGV[3], 'NX')
  redis.call('DEL', KEYS[n + i])
end
for i = 4, #ARGV do
  redis.call('HDEL', KEYS[2 * n + 1], ARGV[i])
  redis.call('ZREM', KEYS[2 * n + 2], ARGV[i])
end
return n
`;

/** A group the receiver took: its delivery ids and its send id (the key of its dead letter, if any). */
export interface Delivered {
  ids: readonly string[];
  sendId: string;
}

type ClaimCommands = Record<
  typeof CLAIM_COMMAND,
  (...keysAndArgs: string[]) => Promise<(number | string)[]>
> &
  Record<typeof RELEASE_COMMAND, (...keysAndArgs: string[]) => Promise<number>> &
  Record<typeof DELIVERED_COMMAND, (...keysAndArgs: string[]) => Promise<number>>;

export class DeliveryClaims {
  private readonly redis: RedisConnection & ClaimCommands;

  /** On a connection the caller owns. */
  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
  ) {
    // By EVALSHA: the scripts' text goes to Redis once, not with every job.
    redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM });
    redis.defineCommand(RELEASE_COMMAND, { lua: RELEASE });
    redis.defineCommand(DELIVERED_COMMAND, { lua: DELIVERED });
    this.redis = redis as RedisConnection & ClaimCommands;
  }

  /**
   * Records `groups` as delivered in one round trip: each delivery's marker (SET NX, `ttlSeconds`)
   * with its claim deleted, and the dead letters `dlq` holds under their send ids removed.
   */
  async recordDelivered(
    groups: readonly Delivered[],
    at: string,
    ttlSeconds: number,
    dlq: { entries: string; index: string },
  ): Promise<void> {
    const ids = groups.flatMap((g) => g.ids);
    if (groups.length === 0) return;
    await this.redis[DELIVERED_COMMAND](
      String(2 * ids.length + 2),
      ...ids.map((id) => deliveredMarkerKey(this.prefix, id)),
      ...ids.map((id) => claimKey(this.prefix, id)),
      dlq.entries,
      dlq.index,
      String(ids.length),
      at,
      String(ttlSeconds),
      ...groups.map((g) => g.sendId),
    );
  }

  /** Claims for `jobId` each delivery not delivered and not held by another job, in one round trip. */
  async claim(jobId: string, ttlMs: number, ids: readonly string[]): Promise<ClaimState[]> {
    if (ids.length === 0) return [];
    const keys = ids.flatMap((id) => [deliveredMarkerKey(this.prefix, id), claimKey(this.prefix, id)]);
    const states = await this.redis[CLAIM_COMMAND](String(keys.length), ...keys, jobId, String(ttlMs));
    return states.map((s) => (s === 0 ? "delivered" : s === 1 ? "claimed" : { heldBy: String(s) }));
  }

  /** Gives up the claims `jobId` holds among `ids`, in one round trip. */
  async release(jobId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis[RELEASE_COMMAND](
      String(ids.length),
      ...ids.map((id) => claimKey(this.prefix, id)),
      jobId,
    );
  }

  /**
   * The claims of one job run, kept alive while it sends: a claim lives as long as the job's lock
   * (see deliver.ts) and is renewed as BullMQ renews the lock, every half of it, by claiming again
   * what is still held (the script does not bring back a claim whose delivery is marked).
   */
  hold(jobId: string, ttlMs: number, ids: Iterable<string>): HeldClaims {
    return new HeldClaims(this, jobId, ttlMs, ids);
  }
}

export class HeldClaims {
  private readonly held: Set<string>;
  private readonly renewal: NodeJS.Timeout;

  constructor(
    private readonly claims: DeliveryClaims,
    private readonly jobId: string,
    ttlMs: number,
    ids: Iterable<string>,
  ) {
    this.held = new Set(ids);
    // A renewal Redis refuses leaves the claim to expire: the job's own lock is then as good as lost.
    this.renewal = setInterval(() => {
      if (this.held.size > 0) this.claims.claim(jobId, ttlMs, [...this.held]).catch(() => undefined);
    }, ttlMs / 2);
    this.renewal.unref();
  }

  /** These were delivered: the caller's transaction deletes their claims with setting the markers. */
  delivered(ids: readonly string[]): void {
    for (const id of ids) this.held.delete(id);
  }

  /** These were not delivered (dead-lettered): another job may send them now. */
  release(ids: readonly string[]): Promise<void> {
    // Out of `held` before the release is sent: a later renewal must not claim them again.
    for (const id of ids) this.held.delete(id);
    return this.claims.release(this.jobId, ids);
  }

  stop(): void {
    clearInterval(this.renewal);
  }
}
