import { DEFAULT_UNKNOWN_SEVERITY, type PetSeverity } from "../../pet/tables/severity.js";
import type { QueuedEvent } from "../intake/event.js";
import type { Verdict } from "../interpret/types.js";
import type { RedisConnection } from "../queues.js";
import { eventOf, type Stage } from "../stage.js";
import type { Notification } from "./notification.js";
import { alertDirection, alertKey, buildNotification, type EnrichmentFacts } from "./notification.js";

/*
 * AlertBook (notification.ts) with its state in Redis, so that several events workers share it:
 *
 *   <prefix>:alerts   hash   alertKey → the alert's latest notification as JSON (firing or resolved)
 *
 * A PET's alert is its BMC, sensor and offset; a generic trap has one when its trap rule gives a key
 * (verdict.alert: `resolved_by` deasserts it), and without one each trap is a notification of its own.
 *
 * Same semantics as AlertBook: an assertion of an alert not firing fires it, of one firing changes
 * nothing; a deassertion of a firing alert resolves it, of any other nothing. Unlike the in-memory
 * book a resolved alert is kept (as its resolved notification), so that a re-run of the same event (a
 * job retried after a crash or a stall) yields the same notification again instead of nothing: its
 * deliveries then collapse by delivery id (notify/deliver.ts).
 *
 * A batch costs one HMGET of its alerts and one compare-and-set script: the events of one alert are
 * applied in batch order to what was read (an assertion then its deassertion both take effect), and
 * the script writes each alert's outcome only if the alert still holds what was read. An alert another
 * worker changed meanwhile comes back with its new value and its events are applied again to that, so
 * two workers racing on one alert cannot both fire or resolve it.
 */

/** ARGV: (field, expected value or '' for none, new value)…; returns field, current value of each not set. */
const COMPARE_AND_SET_COMMAND = "petgateAlertCompareAndSet";
const COMPARE_AND_SET = `
local conflicts = {}
for i = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if current == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  else
    conflicts[#conflicts + 1] = ARGV[i]
    conflicts[#conflicts + 1] = current
  end
end
return conflicts
`;

type CompareAndSet = Record<
  typeof COMPARE_AND_SET_COMMAND,
  (key: string, ...args: string[]) => Promise<string[]>
>;

/** An event to apply, with what enrichment learned of it and what the trap rules decided. */
export interface AlertInput {
  event: QueuedEvent;
  facts: EnrichmentFacts;
  verdict?: Verdict;
}

export class RedisAlertBook {
  readonly key: string;

  /** On a connection the caller owns (and closes); a PET of severity "unknown" fires at `unknownSeverity`. */
  constructor(
    private readonly redis: RedisConnection,
    prefix = "petgate",
    private readonly unknownSeverity: PetSeverity = DEFAULT_UNKNOWN_SEVERITY,
  ) {
    this.key = `${prefix}:alerts`;
    // By EVALSHA: the script's text goes to Redis once, not with every batch.
    redis.defineCommand(COMPARE_AND_SET_COMMAND, { numberOfKeys: 1, lua: COMPARE_AND_SET });
  }

  /** The notification to send for this event, or undefined when it changes nothing. */
  async next(
    event: QueuedEvent,
    facts: EnrichmentFacts,
    verdict?: Verdict,
  ): Promise<Notification | undefined> {
    return (await this.nextBatch([{ event, facts, ...(verdict && { verdict }) }]))[0];
  }

  /** next() of each input, applied in order; result i is input i's. */
  async nextBatch(inputs: readonly AlertInput[]): Promise<(Notification | undefined)[]> {
    const results: (Notification | undefined)[] = [];
    const byAlert = new Map<string, number[]>();
    inputs.forEach(({ event, facts, verdict }, i) => {
      const key = alertKey(event, facts, verdict);
      if (key === undefined)
        results[i] = buildNotification(event, facts, { verdict, unknownSeverity: this.unknownSeverity });
      else {
        const indexes = byAlert.get(key);
        if (indexes) indexes.push(i);
        else byAlert.set(key, [i]);
      }
    });
    let keys = [...byAlert.keys()];
    if (keys.length === 0) return results;
    let raws = await this.redis.hmget(this.key, ...keys);
    for (let attempt = 0; attempt < 10; attempt++) {
      const writes: string[] = [];
      keys.forEach((key, k) => {
        const raw = raws[k] ?? null;
        let held = raw === null ? undefined : (JSON.parse(raw) as Notification);
        let changed = false;
        for (const i of byAlert.get(key) ?? []) {
          const input = inputs[i] as AlertInput;
          const { notification, state } = this.transition(held, input);
          results[i] = notification;
          changed ||= state !== held;
          held = state;
        }
        if (changed) writes.push(key, raw ?? "", JSON.stringify(held));
      });
      if (writes.length === 0) return results;
      const conflicts = await (this.redis as unknown as CompareAndSet)[COMPARE_AND_SET_COMMAND](
        this.key,
        ...writes,
      );
      if (conflicts.length === 0) return results;
      keys = conflicts.filter((_, j) => j % 2 === 0);
      raws = conflicts.filter((_, j) => j % 2 === 1).map((c) => (c === "" ? null : c));
    }
    throw new Error(`alerts ${keys.join(", ")}: state kept changing under us`);
  }

  /** One event applied to its alert's state: the notification it makes (if any) and the state after. */
  private transition(
    held: Notification | undefined,
    { event, facts, verdict }: AlertInput,
  ): { notification: Notification | undefined; state: Notification | undefined } {
    const build = (resolves?: { firing: Notification; at: string }) =>
      buildNotification(event, facts, { verdict, resolves, unknownSeverity: this.unknownSeverity });
    if (alertDirection(event, verdict) === "deassertion") {
      if (!held) return { notification: undefined, state: held };
      if (held.status === "resolved") {
        // A re-run of the event that resolved it gives the same notification; any other, nothing.
        const again = held.id === build({ firing: held, at: held.endsAt ?? "" }).id;
        return { notification: again ? held : undefined, state: held };
      }
      const resolved = build({ firing: held, at: event.trap.receivedAt });
      return { notification: resolved, state: resolved };
    }
    const firing = build();
    if (held?.status === "firing")
      return { notification: held.id === firing.id ? held : undefined, state: held };
    return { notification: firing, state: firing };
  }

  /** Alerts firing now. */
  async firing(): Promise<Notification[]> {
    const all = Object.values(await this.redis.hgetall(this.key)).map((j) => JSON.parse(j) as Notification);
    return all.filter((n) => n.status === "firing");
  }
}

/**
 * Alert state: each enriched event of the batch applied to its alert, in batch order. An event that
 * changes nothing stops here ("unchanged").
 */
export function alertStateStage(book: RedisAlertBook): Stage {
  return {
    name: "alert state",
    async exec(items) {
      const notifications = await book.nextBatch(
        items.map((item) => ({
          event: eventOf(item),
          facts: item.enrichment ?? { status: "none" },
          ...(item.verdict && { verdict: item.verdict }),
        })),
      );
      return items.filter((item, i) => {
        item.notification = notifications[i];
        if (item.notification) return true;
        item.outcome = "unchanged";
        return false;
      });
    },
  };
}
