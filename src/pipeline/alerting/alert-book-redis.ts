import type { Redis } from "ioredis";
import { DEFAULT_UNKNOWN_SEVERITY, type PetSeverity } from "../../pet/tables/severity.js";
import type { QueuedEvent } from "../intake/event.js";
import type { Notification } from "./notification.js";
import { alertKey, buildNotification, type EnrichmentFacts } from "./notification.js";

/*
 * AlertBook (notification.ts) with its state in Redis, so that several events workers share it:
 *
 *   <prefix>:alerts   hash   alertKey → the alert's latest notification as JSON (firing or resolved)
 *
 * Same next() semantics as AlertBook: an assertion of an alert not firing fires it, of one firing
 * changes nothing; a deassertion of a firing alert resolves it, of any other nothing. Unlike the
 * in-memory book a resolved alert is kept (as its resolved notification), so that a re-run of the
 * same event (a job retried after a crash or a stall) yields the same notification again instead of
 * nothing: its deliveries then collapse by delivery id (notify/deliver.ts). Each transition is a
 * compare-and-set (a Lua script), so two workers racing on one alert cannot both fire or resolve it.
 */

const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
`;

export class RedisAlertBook {
  readonly key: string;

  /** On a connection the caller owns (and closes); a PET of severity "unknown" fires at `unknownSeverity`. */
  constructor(
    private readonly redis: Redis,
    prefix = "petgate",
    private readonly unknownSeverity: PetSeverity = DEFAULT_UNKNOWN_SEVERITY,
  ) {
    this.key = `${prefix}:alerts`;
  }

  /** The notification to send for this event, or undefined when it changes nothing. */
  async next(event: QueuedEvent, facts: EnrichmentFacts): Promise<Notification | undefined> {
    const key = alertKey(event, facts);
    const build = (resolves?: { firing: Notification; at: string }) =>
      buildNotification(event, facts, resolves, this.unknownSeverity);
    if (key === undefined) return build();
    const direction = event.trap.kind === "pet" ? event.trap.pet.eventDirection : "assertion";
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.redis.hget(this.key, key);
      const held = raw === null ? undefined : (JSON.parse(raw) as Notification);
      let next: Notification;
      if (direction === "deassertion") {
        if (!held) return undefined;
        if (held.status === "resolved") {
          // A re-run of the event that resolved it gives the same notification; any other, nothing.
          const again = held.id === build({ firing: held, at: held.endsAt ?? "" }).id;
          return again ? held : undefined;
        }
        next = build({ firing: held, at: event.trap.receivedAt });
      } else {
        next = build();
        if (held?.status === "firing") return held.id === next.id ? held : undefined;
      }
      const set = await this.redis.eval(COMPARE_AND_SET, 1, this.key, key, raw ?? "", JSON.stringify(next));
      if (set === 1) return next;
    }
    throw new Error(`alert ${key}: state kept changing under us`);
  }

  /** Alerts firing now. */
  async firing(): Promise<Notification[]> {
    const all = Object.values(await this.redis.hgetall(this.key)).map((j) => JSON.parse(j) as Notification);
    return all.filter((n) => n.status === "firing");
  }
}
