import { createHash } from "node:crypto";
import { z } from "zod";
import type { PetSeverity } from "../../pet/tables/severity.js";
import { notificationOf, type Stage } from "../stage.js";
import type { Notification } from "./notification.js";
import { formatDuration, parseDuration } from "./route.js";

/*
 * Storm control, per BMC and fleet-wide. Per BMC: a token bucket of `limit` notifications, refilled
 * at `limit` per `per`. A notification that finds the bucket empty opens a storm window of length
 * `per`: it and every further notification from that BMC until the window ends are held back
 * (counted, not kept), and when the window ends one summary notification says how many were held:
 *   "bmc-07: 137 events suppressed in the last minute, 12 critical"
 * ("critical" counts critical and non-recoverable). After the window the bucket decides again.
 *
 * A BMC is known by its source address, which UDP lets anyone forge: a flood from many spoofed
 * sources passes every per-BMC bucket. So what a BMC's bucket lets through (its storm summaries too)
 * then meets one fleet bucket (`fleet.limit` per `fleet.per`), with the same windows, whose summary
 * also says from how many sources and names the top sources and alerts:
 *   "fleet: 1150 events suppressed in the last minute from 50 sources"
 * Pure: the caller passes the time, and calls due(now) at nextDue() to collect the summaries.
 */

const stormWindow = z.string().superRefine((s, ctx) => {
  try {
    if (parseDuration(s) === 0) ctx.addIssue({ code: "custom", message: "must be more than 0" });
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const FLEET_DEFAULTS = { limit: 100, per: "1m" };

/** `storm:` in petgate.yml. */
export const stormSchema = z
  .object({
    limit: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe("notifications a BMC may send per `per` (and in a burst) before the rest are held"),
    per: stormWindow
      .default("1m")
      .describe("the rate's period, and how long a storm window holds a BMC's notifications"),
    fleet: z
      .object({
        limit: z
          .number()
          .int()
          .positive()
          .default(FLEET_DEFAULTS.limit)
          .describe(
            "notifications all sources together may send per `per` (and in a burst) before the rest are held",
          ),
        per: stormWindow
          .default(FLEET_DEFAULTS.per)
          .describe("the fleet rate's period, and how long a fleet storm window holds every notification"),
      })
      .strict()
      .default(FLEET_DEFAULTS)
      .describe(
        "fleet-wide storm control, after the per-BMC one: bounds a flood from many (spoofed) sources",
      ),
  })
  .strict();

export type StormConfig = z.infer<typeof stormSchema>;

/** A limit and period in ms (tests, and the parsed config). */
export interface StormRate {
  limit: number;
  perMs: number;
}

/** The event text of a storm summary: a route or silence can match it (event="Event storm"). */
export const STORM_EVENT = "Event storm";

/** The BMC name of the fleet storm summary. */
export const FLEET = "fleet";

/** Sources and alerts a fleet window names at most; more are counted, not named (bounded memory). */
const MAX_TRACKED = 1_000;
/** Sources and alerts the fleet summary lists. */
const TOP = 5;

const RANK: Readonly<Record<PetSeverity, number>> = {
  unspecified: 0,
  monitor: 1,
  information: 2,
  ok: 3,
  "non-critical": 4,
  critical: 5,
  "non-recoverable": 6,
};

/** How many events a notification stands for: one, or a storm summary's held events. */
interface EventCount {
  count: number;
  critical: number;
}

const singleEvent = (n: Notification): EventCount => ({
  count: 1,
  critical: RANK[n.severity] >= RANK.critical ? 1 : 0,
});

/** What a storm window held. */
class Held implements EventCount {
  count = 0;
  critical = 0;

  constructor(public worst: PetSeverity) {}

  /** `n`, standing for `events` (a BMC's storm summary held by the fleet stands for what it held). */
  add(n: Notification, events: EventCount): void {
    this.count += events.count;
    this.critical += events.critical;
    if (RANK[n.severity] > RANK[this.worst]) this.worst = n.severity;
  }
}

/** A fleet window's tally: besides Held, how many per source (BMC name) and per alert, bounded. */
class FleetHeld extends Held {
  readonly sources = new Tally();
  readonly alerts = new Tally();

  override add(n: Notification, events: EventCount): void {
    super.add(n, events);
    this.sources.add(n.bmc.name, events.count);
    this.alerts.add(alertName(n), events.count);
  }
}

/** Counts per key, naming at most MAX_TRACKED keys; the rest are counted as untracked. */
class Tally {
  readonly counts = new Map<string, number>();
  untracked = 0;

  add(key: string, count: number): void {
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + count);
    else if (this.counts.size < MAX_TRACKED) this.counts.set(key, count);
    else this.untracked += count;
  }

  /** "1 source", "300 sources", or "more than 1000 sources" once keys went untracked. */
  distinct(noun: string): string {
    const n = this.counts.size;
    return `${this.untracked > 0 ? "more than " : ""}${n} ${noun}${n === 1 && this.untracked === 0 ? "" : "s"}`;
  }

  /** The TOP largest counts, as "key (n)". */
  top(): string {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([key, n]) => `${key} (${n})`)
      .join(", ");
  }
}

function alertName(n: Notification): string {
  return [n.event.sensorType, n.event.text].filter((part) => part).join(": ") || "SNMP trap";
}

interface Window<T extends Held> {
  readonly startedAt: number;
  readonly lengthMs: number;
  readonly held: T;
}

/**
 * A token bucket of `limit` notifications refilled at `limit` per `perMs`, and its storm window: what
 * finds the bucket empty, and everything after it until the window ends, is held.
 */
class Throttle<T extends Held> {
  private tokens: number;
  private updatedAt: number;
  window: Window<T> | undefined;

  constructor(
    private readonly rate: StormRate,
    now: number,
    /** The tally of a new window, from the notification that opens it. */
    private readonly newHeld: (first: Notification) => T,
  ) {
    this.tokens = rate.limit;
    this.updatedAt = now;
  }

  /** Whether `n` goes on (true) or is held in the window (false), counted as `events`. */
  admit(n: Notification, now: number, events: EventCount = singleEvent(n)): boolean {
    this.refill(now);
    if (!this.window && this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.window ??= { startedAt: now, lengthMs: this.rate.perMs, held: this.newHeld(n) };
    this.window.held.add(n, events);
    return false;
  }

  get endsAt(): number | undefined {
    return this.window && this.window.startedAt + this.rate.perMs;
  }

  /** The window, if it has ended by `now` (it is then closed). */
  ended(now: number): Window<T> | undefined {
    const window = this.window;
    if (window && window.startedAt + this.rate.perMs > now) return undefined;
    this.window = undefined;
    this.refill(now);
    return window;
  }

  /** No window open and a full bucket: as good as one never used. */
  idle(now: number): boolean {
    this.refill(now);
    return !this.window && this.tokens >= this.rate.limit;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.rate.limit, this.tokens + (elapsed * this.rate.limit) / this.rate.perMs);
    this.updatedAt = Math.max(this.updatedAt, now);
  }
}

/** A BMC's window tally: which BMC the summary is about. */
class BmcHeld extends Held {
  constructor(
    readonly bmc: Notification["bmc"],
    worst: PetSeverity,
  ) {
    super(worst);
  }
}

export class StormControl {
  private readonly rate: StormRate;
  private readonly fleetRate: StormRate | undefined;
  private readonly bmcs = new Map<string, Throttle<BmcHeld>>();
  /** Made on first use (a bucket starts full at the time it is first asked). */
  private fleet: Throttle<FleetHeld> | undefined;

  /** Without `fleet` (a StormRate), there is no fleet-wide limit. */
  constructor(config: StormConfig | (StormRate & { fleet?: StormRate })) {
    const rate = (c: StormRate | { limit: number; per: string }): StormRate => {
      const r = { limit: c.limit, perMs: "perMs" in c ? c.perMs : parseDuration(c.per) };
      if (!(r.limit > 0 && r.perMs > 0)) throw new RangeError("storm limit and period must be positive");
      return r;
    };
    this.rate = rate(config);
    this.fleetRate = config.fleet && rate(config.fleet);
  }

  /** Whether `n` goes on (true) or is held back into its BMC's or the fleet's storm summary (false). */
  admit(n: Notification, now: number): boolean {
    const name = n.bmc.name;
    let bmc = this.bmcs.get(name);
    if (!bmc) {
      bmc = new Throttle(this.rate, now, (first) => new BmcHeld(first.bmc, first.severity));
      this.bmcs.set(name, bmc);
    }
    return bmc.admit(n, now) && this.fleetAdmits(n, now);
  }

  /**
   * The summaries of the storm windows that have ended by `now`: each BMC's, if the fleet bucket
   * lets it through (else it is held and counted in the fleet's), and the fleet's.
   */
  due(now: number): Notification[] {
    const fleetWindow = this.fleet?.ended(now);
    const summaries: Notification[] = [];
    for (const [name, bmc] of this.bmcs) {
      const window = bmc.ended(now);
      if (window) {
        const summary = this.bmcSummary(window);
        if (this.fleetAdmits(summary, now, window.held)) summaries.push(summary);
      }
      if (bmc.idle(now)) this.bmcs.delete(name);
    }
    if (fleetWindow) summaries.push(this.fleetSummary(fleetWindow));
    if (this.fleet?.idle(now)) this.fleet = undefined;
    return summaries;
  }

  /** When the first open storm window ends (ms), or undefined when there is none. */
  nextDue(): number | undefined {
    let next = this.fleet?.endsAt;
    for (const bmc of this.bmcs.values()) {
      const endsAt = bmc.endsAt;
      if (endsAt !== undefined && (next === undefined || endsAt < next)) next = endsAt;
    }
    return next;
  }

  /** Whether a BMC's notifications are being held right now (by its own window). */
  storming(bmc: string): boolean {
    return this.bmcs.get(bmc)?.window !== undefined;
  }

  private fleetAdmits(n: Notification, now: number, events?: EventCount): boolean {
    if (!this.fleetRate) return true;
    this.fleet ??= new Throttle(this.fleetRate, now, (first) => new FleetHeld(first.severity));
    return this.fleet.admit(n, now, events);
  }

  private bmcSummary({ startedAt, lengthMs, held }: Window<BmcHeld>): Notification {
    const critical = held.critical > 0 ? `, ${held.critical} critical` : "";
    return stormSummary({
      key: `storm|${held.bmc.name}`,
      startedAt,
      lengthMs,
      held,
      bmc: held.bmc,
      summary: (events, period) => `${held.bmc.name}: ${events} suppressed in the last ${period}${critical}`,
    });
  }

  private fleetSummary({ startedAt, lengthMs, held }: Window<FleetHeld>): Notification {
    const critical = held.critical > 0 ? `, ${held.critical} critical` : "";
    const sources = held.sources.distinct("source");
    return {
      ...stormSummary({
        key: "storm|fleet",
        startedAt,
        lengthMs,
        held,
        bmc: { name: FLEET, address: "", labels: {} },
        summary: (events, period) =>
          `${FLEET}: ${events} suppressed in the last ${period} from ${sources}${critical}`,
      }),
      detail: `Top sources: ${held.sources.top()}. Top alerts: ${held.alerts.top()}.`,
    };
  }
}

/**
 * Storm control, in batch order: a notification its BMC's or the fleet's bucket holds back stops here
 * ("storm"), counted into the window's summary.
 */
export function stormStage(storm: StormControl, clock: () => number): Stage {
  return {
    name: "storm",
    exec: (items) =>
      items.filter((item) => {
        if (storm.admit(notificationOf(item), clock())) return true;
        item.outcome = "storm";
        return false;
      }),
  };
}

/** A storm summary notification: firing, at the window's worst severity, event text STORM_EVENT. */
function stormSummary({
  key,
  startedAt,
  lengthMs,
  held,
  bmc,
  summary,
}: {
  key: string;
  startedAt: number;
  lengthMs: number;
  held: Held;
  bmc: Notification["bmc"];
  summary: (events: string, period: string) => string;
}): Notification {
  const period = lengthMs === 60_000 ? "minute" : formatDuration(lengthMs);
  const events = held.count === 1 ? "1 event" : `${held.count} events`;
  const start = new Date(startedAt).toISOString();
  return {
    version: 1,
    id: createHash("sha256").update(`${key}|${start}`).digest("hex").slice(0, 32),
    status: "firing",
    severity: held.worst,
    summary: summary(events, period),
    bmc,
    event: {
      time: null,
      sensorType: null,
      sensorNumber: 0,
      text: STORM_EVENT,
      direction: "assertion",
      eventData: "",
    },
    enrichment: "none",
    receivedAt: new Date(startedAt + lengthMs).toISOString(),
    startsAt: start,
  };
}
