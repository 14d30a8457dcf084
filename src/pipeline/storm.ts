import { createHash } from "node:crypto";
import { z } from "zod";
import type { PetSeverity } from "../pet/tables/severity.js";
import type { Notification } from "../sinks/sink.js";
import { formatDuration, parseDuration } from "./route.js";

/*
 * Storm control per BMC: a token bucket of `limit` notifications, refilled at `limit` per `per`.
 * A notification that finds the bucket empty opens a storm window of length `per`: it and every
 * further notification from that BMC until the window ends are held back (counted, not kept), and
 * when the window ends one summary notification says how many were held:
 *   "bmc-07: 137 events suppressed in the last minute, 12 critical"
 * ("critical" counts critical and non-recoverable). After the window the bucket decides again.
 * Pure: the caller passes the time, and calls due(now) at nextDue() to collect the summaries.
 */

const stormWindow = z.string().superRefine((s, ctx) => {
  try {
    if (parseDuration(s) === 0) ctx.addIssue({ code: "custom", message: "must be more than 0" });
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

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
  })
  .strict();

export type StormConfig = z.infer<typeof stormSchema>;

/** The event text of a storm summary: a route or silence can match it (event="Event storm"). */
export const STORM_EVENT = "Event storm";

const RANK: Readonly<Record<PetSeverity, number>> = {
  unspecified: 0,
  monitor: 1,
  information: 2,
  ok: 3,
  "non-critical": 4,
  critical: 5,
  "non-recoverable": 6,
};

interface Storm {
  readonly startedAt: number;
  readonly bmc: Notification["bmc"];
  held: number;
  critical: number;
  worst: PetSeverity;
}

interface BmcState {
  tokens: number;
  updatedAt: number;
  storm?: Storm;
}

export class StormControl {
  private readonly limit: number;
  private readonly perMs: number;
  private readonly bmcs = new Map<string, BmcState>();

  constructor(config: StormConfig | { limit: number; perMs: number }) {
    this.limit = config.limit;
    this.perMs = "perMs" in config ? config.perMs : parseDuration(config.per);
    if (!(this.limit > 0 && this.perMs > 0)) throw new RangeError("storm limit and period must be positive");
  }

  /** Whether `n` goes on (true) or is held back into its BMC's storm summary (false). */
  admit(n: Notification, now: number): boolean {
    const name = n.bmc.name;
    let state = this.bmcs.get(name);
    if (!state) {
      state = { tokens: this.limit, updatedAt: now };
      this.bmcs.set(name, state);
    }
    this.refill(state, now);
    if (!state.storm && state.tokens >= 1) {
      state.tokens -= 1;
      return true;
    }
    state.storm ??= { startedAt: now, bmc: n.bmc, held: 0, critical: 0, worst: n.severity };
    const storm = state.storm;
    storm.held += 1;
    if (RANK[n.severity] >= RANK.critical) storm.critical += 1;
    if (RANK[n.severity] > RANK[storm.worst]) storm.worst = n.severity;
    return false;
  }

  /** The summaries of the storm windows that have ended by `now`. */
  due(now: number): Notification[] {
    const summaries: Notification[] = [];
    for (const [name, state] of this.bmcs) {
      const storm = state.storm;
      if (storm && storm.startedAt + this.perMs <= now) {
        summaries.push(this.summary(storm));
        state.storm = undefined;
      }
      this.refill(state, now);
      // A BMC back to a full bucket is as good as one never seen: forget it.
      if (!state.storm && state.tokens >= this.limit) this.bmcs.delete(name);
    }
    return summaries;
  }

  /** When the first open storm window ends (ms), or undefined when there is none. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const { storm } of this.bmcs.values())
      if (storm && (next === undefined || storm.startedAt + this.perMs < next))
        next = storm.startedAt + this.perMs;
    return next;
  }

  /** Whether a BMC's notifications are being held right now. */
  storming(bmc: string): boolean {
    return this.bmcs.get(bmc)?.storm !== undefined;
  }

  private refill(state: BmcState, now: number): void {
    const elapsed = Math.max(0, now - state.updatedAt);
    state.tokens = Math.min(this.limit, state.tokens + (elapsed * this.limit) / this.perMs);
    state.updatedAt = Math.max(state.updatedAt, now);
  }

  private summary(storm: Storm): Notification {
    const endsAt = storm.startedAt + this.perMs;
    const period = this.perMs === 60_000 ? "minute" : formatDuration(this.perMs);
    const events = storm.held === 1 ? "1 event" : `${storm.held} events`;
    const critical = storm.critical > 0 ? `, ${storm.critical} critical` : "";
    const start = new Date(storm.startedAt).toISOString();
    return {
      version: 1,
      id: createHash("sha256").update(`storm|${storm.bmc.name}|${start}`).digest("hex").slice(0, 32),
      status: "firing",
      severity: storm.worst,
      summary: `${storm.bmc.name}: ${events} suppressed in the last ${period}${critical}`,
      bmc: storm.bmc,
      event: {
        time: null,
        sensorType: null,
        sensorNumber: 0,
        text: STORM_EVENT,
        direction: "assertion",
        eventData: "",
      },
      enrichment: "none",
      receivedAt: new Date(endsAt).toISOString(),
      startsAt: start,
    };
  }
}
