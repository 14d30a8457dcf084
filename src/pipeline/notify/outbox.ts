import type { Redis } from "ioredis";
import type { Notification } from "../alerting/notification.js";
import { type DeliverJobData, deliveryId } from "./deliver.js";

/*
 * The deliveries an events worker has decided on but still holds in a group (alerting/group.ts keeps groups in
 * process memory until group_wait / group_interval): written to Redis before the event's INGEST
 * batch completes, removed once the group's batch is on the DELIVER queue. A worker that dies in
 * between (SIGKILL, OOM) leaves them here, and any worker's sweep puts those older than the longest
 * group timing on the DELIVER queue directly: late and ungrouped, but not lost. A delivery the dead
 * worker did enqueue collapses by delivery id (deliver.ts).
 *
 *   <prefix>:outbox        zset   delivery id scored by when it was held (ms)
 *   <prefix>:outbox:data   hash   delivery id → { receiver, notification } as JSON
 */

export type HeldDelivery = DeliverJobData;

const STALE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return {{}, {}} end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids))}
`;

export class Outbox {
  private readonly index: string;
  private readonly data: string;

  /** On a connection the caller owns. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.index = `${prefix}:outbox`;
    this.data = `${prefix}:outbox:data`;
  }

  /** Holds one delivery per receiver of `n`. */
  async hold(n: Notification, receivers: readonly string[], now = Date.now()): Promise<void> {
    if (receivers.length === 0) return;
    const tx = this.redis.multi();
    for (const receiver of receivers) {
      const id = deliveryId(n.id, receiver);
      tx.zadd(this.index, "NX", now, id).hset(this.data, id, JSON.stringify({ receiver, notification: n }));
    }
    await tx.exec();
  }

  /** Releases deliveries now on the DELIVER queue. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis
      .multi()
      .zrem(this.index, ...ids)
      .hdel(this.data, ...ids)
      .exec();
  }

  /**
   * Deliveries held since before `before` (ms), at most `limit`: the worker that held them is gone.
   * `ids` also names entries whose data is missing, for release().
   */
  async stale(before: number, limit = 500): Promise<{ ids: string[]; deliveries: HeldDelivery[] }> {
    const [ids, data] = (await this.redis.eval(
      STALE,
      2,
      this.index,
      this.data,
      String(before),
      String(limit),
    )) as [string[], (string | null)[]];
    const deliveries = data.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as HeldDelivery);
    return { ids, deliveries };
  }
}
