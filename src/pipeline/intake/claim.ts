import { EVENT_DEDUP_WINDOW_MS, type RedisConnection } from "../queues.js";
import { eventOf, type Stage } from "../stage.js";
import type { QueuedEvent } from "./event.js";

/*
 * Dedup of INGEST batches, one claim per event: SET <prefix>:event:<event id> <batch id> NX PX window.
 * - The key was free: the event is this batch's to process.
 * - It names this batch already: a retry of the same INGEST job (after a crash, a stall or a failure)
 *   processes the event again. Processing is idempotent: the alert book yields the same notification,
 *   whose deliveries collapse by delivery id (notify/deliver.ts).
 * - It names another batch: a copy of an event already taken (a retransmission, another listener's
 *   copy, a spool replay): dropped.
 * One script call per batch (by EVALSHA: the script's text goes to Redis once); on Redis Cluster the
 * `{petgate}` prefix puts every key in one slot.
 */
const CLAIM_COMMAND = "petgateClaimEvents";
const CLAIM = `
local claimed = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) or redis.call('GET', key) == ARGV[1] then
    claimed[#claimed + 1] = i
  end
end
return claimed
`;

/** Without numberOfKeys at definition, the key count comes first. */
type ClaimCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<number[]>;

export function eventClaimKey(prefix: string, eventId: string): string {
  return `${prefix}:event:${eventId}`;
}

/** The events of batch `batchId` it is to process (in batch order). */
export async function claimEvents(
  redis: RedisConnection,
  prefix: string,
  batchId: string,
  events: readonly QueuedEvent[],
  windowMs = EVENT_DEDUP_WINDOW_MS,
): Promise<QueuedEvent[]> {
  if (events.length === 0) return [];
  const keys = events.map((e) => eventClaimKey(prefix, e.id));
  if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM });
  const claim = (redis as unknown as Record<typeof CLAIM_COMMAND, ClaimCommand>)[CLAIM_COMMAND];
  const claimed = await claim.call(redis, keys.length, ...keys, batchId, String(windowMs));
  return claimed.map((i) => events[i - 1] as QueuedEvent);
}

/** Claim: the batch's events it is to process; a copy of an event another batch took is dropped. */
export function claimStage(redis: RedisConnection, prefix: string): Stage {
  return {
    name: "claim",
    async exec(items, { batchId }) {
      const claimed = new Set(await claimEvents(redis, prefix, batchId, items.map(eventOf)));
      return items.filter((item) => claimed.has(eventOf(item)));
    },
  };
}
