import type { Delivery } from "../alerting/group.js";
import type { RedisConnection } from "../queues.js";
import { deliveryId } from "./deliver.js";

/*
 * The deliveries an events worker has decided on but still holds in a group (alerting/group.ts keeps
 * groups in process memory until group_wait / group_interval): written to Redis before the event's INGEST
 * batch completes, removed once the group's batch is on the DELIVER queue. A worker that dies in
 * between (SIGKILL, OOM) leaves them here, and any worker's sweep puts those older than the longest
 * group timing on the DELIVER queue directly: late, each in the group its route gives it, but not lost.
 * A notification the dead worker did enqueue is skipped at delivery by its delivered marker (deliver.ts).
 *
 *   <prefix>:outbox        zset   delivery id scored by when it was held (ms)
 *   <prefix>:outbox:data   hash   delivery id → { receiver, notification } as JSON
 */

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
    private readonly redis: RedisConnection,
    prefix: string,
  ) {
    this.index = `${prefix}:outbox`;
    this.data = `${prefix}:outbox:data`;
  }

  /** Holds deliveries (a batch's, in one transaction of two commands); returns their delivery ids. */
  hold(deliveries: readonly Delivery[], now = Date.now()): Promise<string[]> {
    return this.write(deliveries, now, true);
  }

  /**
   * Holds deliveries as of `now`, those held already too: what a muted route keeps waiting beyond
   * the sweep's staleness is refreshed by the worker that keeps it, so that only a stopped worker's
   * is swept.
   */
  refresh(deliveries: readonly Delivery[], now = Date.now()): Promise<string[]> {
    return this.write(deliveries, now, false);
  }

  private async write(deliveries: readonly Delivery[], now: number, onlyNew: boolean): Promise<string[]> {
    const ids = deliveries.map((d) => deliveryId(d.notification.id, d.receiver));
    if (ids.length === 0) return ids;
    const scored = ids.flatMap((id) => [now, id]);
    await this.redis
      .multi()
      .zadd(this.index, ...(onlyNew ? ["NX" as const, ...scored] : scored))
      .hset(this.data, ...ids.flatMap((id, i) => [id, JSON.stringify(deliveries[i])]))
      .exec();
    return ids;
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
  async stale(before: number, limit = 500): Promise<{ ids: string[]; deliveries: Delivery[] }> {
    const [ids, data] = (await this.redis.eval(
      STALE,
      2,
      this.index,
      this.data,
      String(before),
      String(limit),
    )) as [string[], (string | null)[]];
    const deliveries = data.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as Delivery);
    return { ids, deliveries };
  }
}
