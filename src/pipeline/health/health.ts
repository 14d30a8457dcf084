import { createHash } from "node:crypto";
import type { BmcTarget } from "../../config/inventory.js";
import { eachAtMost } from "../../io/each.js";
import { IpmiClosedError, IpmiTimeoutError } from "../../ipmi/client/errors.js";
import { coldReset, getDeviceId } from "../../ipmi/commands/app.js";
import { getSdrRepositoryInfo, getSelInfo } from "../../ipmi/commands/storage.js";
import { readSelClock } from "../../ipmi/sel-time.js";
import type { Notification } from "../alerting/notification.js";
import type { BmcPool } from "../bmc/bmc-pool.js";
import type { BreakerChange, CircuitBreaker } from "../bmc/breaker.js";

/**
 * What the last observation of a BMC showed: `unknown` before the first one; `ok` answers Get Device
 * ID, Get SEL Info and Get SDR Repository Info; `unresponsive` does not answer Get Device ID (or
 * session set-up); `wedged` answers those but not the SEL or the SDR repository.
 */
export type HealthState = "unknown" | "ok" | "unresponsive" | "wedged";

/** One BMC's health, as `HealthMonitor.states()` reports it (for the metrics endpoint). */
export interface BmcHealth {
  name: string;
  state: HealthState;
  /** Consecutive bad observations (probes and external evidence). */
  consecutiveFailures: number;
  /** Whether a "BMC unresponsive" alert is firing for this BMC. */
  alerting: boolean;
  /** What the last bad probe found ("no answer to Get Device ID within 5000 ms"). */
  reason?: string;
  /** When the current bad streak started (ISO-8601); absent when healthy. */
  downSince?: string;
  lastProbeAt?: string;
  lastOkAt?: string;
  /** Automatic cold resets this monitor sent to this BMC. */
  coldResets: number;
  lastColdResetAt?: string;
  /** SEL clock minus petgate's, seconds (positive = BMC ahead); measured at most once an hour. */
  clockSkewSeconds?: number;
  /** When clockSkewSeconds was measured (ISO-8601). */
  clockSkewAt?: string;
  /** The IPMI version the pool's session to it speaks (auto negotiates it). */
  ipmi?: "2.0" | "1.5";
}

export interface AutoColdResetOptions {
  /** Off unless set. */
  enabled?: boolean;
  /** Least time between two automatic cold resets of one BMC; default 30 min. */
  minIntervalMs?: number;
  /** Automatic cold resets in any hour across the whole fleet; default 5. */
  maxPerHour?: number;
}

/** The timer functions the monitor schedules its rounds with; tests pass their own. */
export interface HealthTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HealthMonitorOptions {
  inventory: readonly BmcTarget[];
  pool: BmcPool;
  /** Time between the end of one round of probes and the start of the next; default 60 s. */
  intervalMs?: number;
  /** Deadline of each probe command (queueing in the pool included); default 5000 ms. */
  probeDeadlineMs?: number;
  /** Consecutive bad observations before the alert fires; default 2. */
  failuresBeforeAlert?: number;
  /** BMCs probed at once by `probeAll`; default 8. */
  concurrency?: number;
  /** Automatic Cold Reset of a wedged BMC; off by default. */
  autoColdReset?: AutoColdResetOptions;
  /** A breaker whose open/closed changes are fed in as `noteFailure` / `noteSuccess`. */
  breaker?: CircuitBreaker;
  onNotification: (notification: Notification) => void;
  /** Told of each probe's result (a store that publishes the states); must not throw. */
  onProbed?: (health: BmcHealth) => void;
  log?: (line: string) => void;
  /** Milliseconds; default Date.now. */
  now?: () => number;
  timers?: HealthTimers;
}

/** IPMI sensor type 28h: what a BMC's own health events are filed under. */
const HEALTH_SENSOR_TYPE = "Management Subsystem Health";
const ALERT_TEXT = "BMC unresponsive";
const HOUR_MS = 3_600_000;

type ProbeOutcome =
  | { state: "ok" }
  | { state: "unresponsive"; reason: string }
  | { state: "wedged"; reason: string; missing: "SEL" | "SDR repository" };

interface Incident {
  /** First bad observation of the streak. */
  startedAt: number;
  /** The firing notification, once sent. */
  firing: Notification | undefined;
  /** An automatic cold reset was sent during this incident. */
  coldReset: boolean;
  /** A rate-limit skip was logged during this incident (logged once, not every round). */
  skipLogged: boolean;
}

interface Health {
  state: HealthState;
  failures: number;
  reason: string | undefined;
  incident: Incident | undefined;
  lastProbeAt: number | undefined;
  lastOkAt: number | undefined;
  coldResets: number;
  lastColdResetAt: number | undefined;
  clock: { skewSeconds: number; at: number } | undefined;
  /** Last Get SEL Time sent, answered or not: the hourly limit counts attempts. */
  clockTriedAt: number | undefined;
}

/**
 * Periodic health probes of every inventory BMC, through the pool's bounded clients: Get Device ID
 * (does it answer at all?), then Get SEL Info and Get SDR Repository Info (the wedged case: sessions
 * open and Get Device ID answers, but the storage commands never do). After `failuresBeforeAlert`
 * consecutive bad observations one firing "BMC unresponsive" notification is sent, naming the case and
 * the remedy (`petgate bmc reset-cold`); when the BMC answers fully again, the matching resolved one.
 *
 * A BMC is probed by one probe at a time (a second request joins the running one), and each command
 * goes through the pool's client, so a hung BMC costs what the pool allows and no more.
 *
 * External evidence (`noteFailure` / `noteSuccess`, or a circuit breaker's changes) counts towards
 * the streak and triggers a verification probe; only a probe fires or resolves the alert, because
 * only a probe can tell which case it is. The breaker is followed only between start() and stop():
 * a monitor that is not running (another process holds the health lease) probes nothing, so it
 * cannot raise an alert of its own for an incident the running one has already resolved.
 */
export class HealthMonitor {
  private readonly health = new Map<string, Health>();
  private readonly running = new Map<string, Promise<BmcHealth>>();
  /** When automatic cold resets were sent, fleet-wide, within the last hour. */
  private resetTimes: number[] = [];
  private readonly intervalMs: number;
  private readonly deadlineMs: number;
  private readonly threshold: number;
  private readonly concurrency: number;
  private readonly auto: Required<AutoColdResetOptions>;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly timers: HealthTimers;
  private timer: unknown;
  private started = false;
  /** Bumped by start and stop, so a round of an earlier start never schedules another. */
  private generation = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: HealthMonitorOptions) {
    this.intervalMs = o.intervalMs ?? 60_000;
    this.deadlineMs = o.probeDeadlineMs ?? 5000;
    this.threshold = o.failuresBeforeAlert ?? 2;
    this.concurrency = o.concurrency ?? 8;
    this.auto = { enabled: false, minIntervalMs: 30 * 60_000, maxPerHour: 5, ...o.autoColdReset };
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = o.now ?? Date.now;
    this.timers = o.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
    positiveInteger("failuresBeforeAlert", this.threshold);
    positiveInteger("concurrency", this.concurrency);
    positiveInteger("autoColdReset.maxPerHour", this.auto.maxPerHour);
    for (const [name, value] of [
      ["intervalMs", this.intervalMs],
      ["probeDeadlineMs", this.deadlineMs],
      ["autoColdReset.minIntervalMs", this.auto.minIntervalMs],
    ] as const) {
      if (!(value >= 0) || !Number.isFinite(value))
        throw new RangeError(`${name} ${value} is not a duration`);
    }
    for (const t of o.inventory) this.health.set(t.name, newHealth());
  }

  /**
   * Takes over the open incidents another monitor left (health-store.ts openIncidents: BMC name →
   * start): each keeps its start, so this monitor's notifications have the same ids (no second alert)
   * and its next good probe sends the recovery of the alert that was sent.
   */
  adopt(incidents: ReadonlyMap<string, string>): void {
    for (const [name, start] of incidents) {
      const target = this.target(name);
      const startedAt = Date.parse(start);
      if (!target || Number.isNaN(startedAt)) continue;
      const h = this.health.get(name) ?? newHealth();
      this.health.set(name, h);
      if (h.incident?.firing) continue;
      h.failures = Math.max(h.failures, this.threshold);
      h.incident = {
        startedAt,
        firing: healthNotification(target, { status: "firing", startsAt: startedAt, detail: "" }),
        coldReset: false,
        skipLogged: false,
      };
    }
  }

  /** Follows the breaker, probes every BMC now, then every `intervalMs` after the previous round ends. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.subscribe();
    void this.round(++this.generation);
  }

  /** Stops the rounds and the breaker subscription; resolves when running probes have ended. */
  async stop(): Promise<void> {
    this.started = false;
    this.generation++;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.idle();
  }

  /** Resolves when no probe is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Probes every inventory BMC, `concurrency` at a time, those with an open incident or failures
   * first (a recovery should not wait behind a round of healthy BMCs); resolves with the states.
   */
  async probeAll(): Promise<BmcHealth[]> {
    const suspect = (t: BmcTarget) => {
      const h = this.health.get(t.name);
      return h?.incident !== undefined || (h?.failures ?? 0) > 0;
    };
    const targets = [...this.o.inventory.filter(suspect), ...this.o.inventory.filter((t) => !suspect(t))];
    await eachAtMost(targets, this.concurrency, (t) => this.probe(t));
    return this.states();
  }

  /**
   * Probes one BMC: Get Device ID, then Get SEL Info and Get SDR Repository Info, each within
   * `probeDeadlineMs`; records the outcome, fires or resolves the alert, and cold-resets a wedged BMC
   * when that is enabled and allowed. A probe already running for the BMC is joined, not repeated.
   */
  probe(target: BmcTarget): Promise<BmcHealth> {
    const running = this.running.get(target.name);
    if (running) return running;
    const probe = this.runProbe(target)
      .then((health) => {
        this.o.onProbed?.(health);
        return health;
      })
      .finally(() => this.running.delete(target.name));
    this.running.set(target.name, probe);
    return probe;
  }

  /**
   * Evidence from elsewhere (enrichment timed out) that BMC `name` does not answer: counts as a bad
   * observation and starts a verification probe, whose promise is returned (undefined for a BMC not
   * in the inventory, or one already alerting).
   */
  noteFailure(name: string, reason?: string): Promise<BmcHealth> | undefined {
    const target = this.target(name);
    const h = this.health.get(name);
    if (!target || !h) return undefined;
    if (h.incident?.firing) return undefined;
    this.bad(h, this.now());
    if (reason !== undefined) h.reason = reason;
    return this.probe(target);
  }

  /**
   * Evidence from elsewhere that BMC `name` answers: resets the streak of a healthy BMC; for one
   * known to be bad, starts a verification probe (which resolves the alert if it answers fully).
   */
  noteSuccess(name: string): Promise<BmcHealth> | undefined {
    const target = this.target(name);
    const h = this.health.get(name);
    if (!target || !h) return undefined;
    if (h.state === "unresponsive" || h.state === "wedged" || h.incident?.firing) return this.probe(target);
    h.failures = 0;
    h.incident = undefined;
    return undefined;
  }

  /** Every inventory BMC's health, in inventory order. */
  states(): BmcHealth[] {
    return this.o.inventory.map((t) => this.snapshot(t.name));
  }

  private async round(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    try {
      await this.probeAll();
    } catch (err) {
      this.log(`health: probe round failed: ${(err as Error).message}`);
    }
    if (generation === this.generation)
      this.timer = this.timers.setTimeout(() => void this.round(generation), this.intervalMs);
  }

  private subscribe(): void {
    if (this.o.breaker && !this.unsubscribe)
      this.unsubscribe = this.o.breaker.onChange((change) => this.onBreaker(change));
  }

  private onBreaker(change: BreakerChange): void {
    if (change.to === "open") void this.noteFailure(change.key, change.reason);
    else if (change.to === "closed") void this.noteSuccess(change.key);
  }

  private target(name: string): BmcTarget | undefined {
    return this.o.inventory.find((t) => t.name === name);
  }

  private async runProbe(target: BmcTarget): Promise<BmcHealth> {
    const at = this.now();
    const outcome = await this.check(target);
    const h = this.health.get(target.name) ?? newHealth();
    this.health.set(target.name, h);
    if (outcome === undefined) return this.snapshot(target.name);
    h.lastProbeAt = at;
    if (outcome.state === "ok") {
      h.lastOkAt = at;
      h.state = "ok";
      h.failures = 0;
      h.reason = undefined;
      const incident = h.incident;
      h.incident = undefined;
      if (incident?.firing) {
        const endsAt = this.now();
        this.log(`health: ${target.name}: answers again; "${ALERT_TEXT}" resolved`);
        this.emit(
          healthNotification(target, {
            status: "resolved",
            startsAt: incident.startedAt,
            endsAt,
            detail: `resolved: answers Get Device ID, Get SEL Info and Get SDR Repository Info again${incident.coldReset ? ", after an automatic cold reset" : ""}`,
          }),
        );
      }
      await this.measureClock(target, h, at);
      return this.snapshot(target.name);
    }
    const incident = this.bad(h, at);
    h.state = outcome.state;
    h.reason = outcome.reason;
    if (!incident.firing && h.failures >= this.threshold) {
      const detail = caseText(outcome);
      incident.firing = healthNotification(target, {
        status: "firing",
        startsAt: incident.startedAt,
        detail,
      });
      this.log(`health: ${target.name}: ${ALERT_TEXT}: ${detail}`);
      this.emit(incident.firing);
    }
    if (outcome.state === "wedged" && incident.firing) await this.maybeColdReset(target, h, incident);
    return this.snapshot(target.name);
  }

  /** Counts one bad observation; returns the incident it belongs to. */
  private bad(h: Health, at: number): Incident {
    h.failures++;
    h.incident ??= { startedAt: at, firing: undefined, coldReset: false, skipLogged: false };
    return h.incident;
  }

  /** The probe itself; undefined when the client was closed under it (nothing learned). */
  private async check(target: BmcTarget): Promise<ProbeOutcome | undefined> {
    const client = this.o.pool.get(target);
    const options = { deadlineMs: this.deadlineMs, urgent: true };
    try {
      await client.execute(getDeviceId, undefined, options);
    } catch (err) {
      if (err instanceof IpmiClosedError) return undefined;
      return {
        state: "unresponsive",
        reason:
          err instanceof IpmiTimeoutError
            ? `no answer to Get Device ID within ${this.deadlineMs} ms`
            : `Get Device ID failed: ${withoutName(err, target.name)}`,
      };
    }
    // Only silence is the wedged case: an error completion code (no SEL on this BMC) is an answer.
    const storage = [
      { missing: "SEL", name: getSelInfo.name, call: () => client.execute(getSelInfo, undefined, options) },
      {
        missing: "SDR repository",
        name: getSdrRepositoryInfo.name,
        call: () => client.execute(getSdrRepositoryInfo, undefined, options),
      },
    ] as const;
    for (const { missing, name, call } of storage) {
      try {
        await call();
      } catch (err) {
        if (err instanceof IpmiClosedError) return undefined;
        if (err instanceof IpmiTimeoutError)
          return { state: "wedged", missing, reason: `no answer to ${name} within ${this.deadlineMs} ms` };
      }
    }
    return { state: "ok" };
  }

  /** One Get SEL Time an hour at most: the skew drifts slowly, and every request costs the BMC. */
  private async measureClock(target: BmcTarget, h: Health, at: number): Promise<void> {
    if (h.clockTriedAt !== undefined && at - h.clockTriedAt < HOUR_MS) return;
    h.clockTriedAt = at;
    const client = this.o.pool.get(target);
    const options = { deadlineMs: this.deadlineMs, urgent: true };
    try {
      const { skewSeconds } = await readSelClock((c, r) => client.execute(c, r, options), this.now);
      h.clock = { skewSeconds, at: this.now() };
    } catch (err) {
      // A BMC without a SEL clock is healthy; the skew stays unknown (or as last measured).
      if (!(err instanceof IpmiClosedError))
        this.log(`health: ${target.name}: Get SEL Time failed: ${withoutName(err, target.name)}`);
    }
  }

  private async maybeColdReset(target: BmcTarget, h: Health, incident: Incident): Promise<void> {
    if (!this.auto.enabled) return;
    const now = this.now();
    this.resetTimes = this.resetTimes.filter((t) => now - t < HOUR_MS);
    const skip =
      h.lastColdResetAt !== undefined && now - h.lastColdResetAt < this.auto.minIntervalMs
        ? `last one ${Math.round((now - h.lastColdResetAt) / 1000)} s ago, less than ${Math.round(this.auto.minIntervalMs / 1000)} s`
        : this.resetTimes.length >= this.auto.maxPerHour
          ? `${this.resetTimes.length} automatic cold resets fleet-wide in the last hour (maxPerHour ${this.auto.maxPerHour})`
          : undefined;
    if (skip !== undefined) {
      if (!incident.skipLogged)
        this.log(`health: ${target.name}: wedged; automatic cold reset NOT sent (rate limit: ${skip})`);
      incident.skipLogged = true;
      return;
    }
    h.lastColdResetAt = now;
    h.coldResets++;
    this.resetTimes.push(now);
    incident.coldReset = true;
    this.log(
      `health: ${target.name}: wedged; sending automatic cold reset (${this.resetTimes.length}/${this.auto.maxPerHour} this hour fleet-wide)`,
    );
    try {
      await this.o.pool
        .get(target)
        .execute(coldReset, undefined, { deadlineMs: this.deadlineMs, urgent: true });
      this.log(`health: ${target.name}: cold reset accepted; the BMC is rebooting`);
    } catch (err) {
      // The BMC may reboot before it answers: silence is not a failure of the reset.
      this.log(
        err instanceof IpmiTimeoutError
          ? `health: ${target.name}: cold reset sent; no answer (rebooting)`
          : `health: ${target.name}: cold reset failed: ${withoutName(err, target.name)}`,
      );
    }
  }

  private emit(notification: Notification): void {
    try {
      this.o.onNotification(notification);
    } catch (err) {
      this.log(`health: notification handler failed: ${(err as Error).message}`);
    }
  }

  private snapshot(name: string): BmcHealth {
    const h = this.health.get(name) ?? newHealth();
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const out: BmcHealth = {
      name,
      state: h.state,
      consecutiveFailures: h.failures,
      alerting: h.incident?.firing !== undefined,
      coldResets: h.coldResets,
    };
    const optional = {
      reason: h.reason,
      downSince: iso(h.incident?.startedAt),
      lastProbeAt: iso(h.lastProbeAt),
      lastOkAt: iso(h.lastOkAt),
      lastColdResetAt: iso(h.lastColdResetAt),
      clockSkewSeconds: h.clock?.skewSeconds,
      clockSkewAt: iso(h.clock?.at),
      ipmi: this.o.pool.peek(name)?.protocol,
    };
    for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(out, { [k]: v });
    return out;
  }
}

/** The command an operator runs to cold-reset `target` (IPMI 2.0 §20.2, over the session it is configured for). */
export function remedyCommand(target: BmcTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  const address = target.port === 623 ? host : `${host}:${target.port}`;
  const suite =
    target.ipmi === "1.5" ? " -I lan" : target.cipherSuite === 17 ? "" : ` -C ${target.cipherSuite}`;
  return `petgate bmc reset-cold -H ${address} -U ${target.username}${suite}`;
}

/** Deterministic per BMC, incident start (ISO-8601) and status. */
function healthNotificationId(bmc: string, startsAt: string, status: Notification["status"]): string {
  return createHash("sha256").update(`bmc-health|${bmc}|${startsAt}|${status}`).digest("hex").slice(0, 32);
}

/**
 * A health notification dated from another start of the same incident (the one first recorded when
 * several monitors saw it: health-store.ts), with the id that start gives.
 */
export function withIncidentStart(n: Notification, startsAt: string): Notification {
  return { ...n, startsAt, id: healthNotificationId(n.bmc.name, startsAt, n.status) };
}

/**
 * The synthesized "BMC unresponsive" notification. Firing and resolved share everything receivers
 * key alerts on (BMC, address, labels, severity, sensor type, event text, startsAt); the id is
 * deterministic per BMC, incident start and status. The case and the remedy go in `detail`.
 */
export function healthNotification(
  target: BmcTarget,
  alert: { status: Notification["status"]; startsAt: number; endsAt?: number; detail: string },
): Notification {
  const startsAt = new Date(alert.startsAt).toISOString();
  const firing = alert.status === "firing";
  const remedy = `remedy: ${remedyCommand(target)} (mc reset cold over lanplus)`;
  const notification: Notification = {
    version: 1,
    id: healthNotificationId(target.name, startsAt, alert.status),
    status: alert.status,
    severity: "critical",
    summary: `${target.name}: ${ALERT_TEXT}`,
    detail: firing ? `${alert.detail}; ${remedy}` : alert.detail,
    bmc: { name: target.name, address: target.host, labels: { ...target.labels } },
    event: {
      time: null,
      sensorType: HEALTH_SENSOR_TYPE,
      sensorNumber: 0,
      text: ALERT_TEXT,
      direction: firing ? "assertion" : "deassertion",
      eventData: "",
    },
    enrichment: "none",
    receivedAt: new Date(alert.endsAt ?? alert.startsAt).toISOString(),
    startsAt,
  };
  if (!firing) notification.endsAt = new Date(alert.endsAt ?? alert.startsAt).toISOString();
  return notification;
}

function caseText(outcome: Exclude<ProbeOutcome, { state: "ok" }>): string {
  return outcome.state === "unresponsive"
    ? `no answer: ${outcome.reason}`
    : `answers session set-up and Get Device ID, but not the ${outcome.missing}: ${outcome.reason}`;
}

function newHealth(): Health {
  return {
    state: "unknown",
    failures: 0,
    reason: undefined,
    incident: undefined,
    lastProbeAt: undefined,
    lastOkAt: undefined,
    coldResets: 0,
    lastColdResetAt: undefined,
    clock: undefined,
    clockTriedAt: undefined,
  };
}

/** An IPMI error's message without the "bmc-07: " prefix (the notification names the BMC already). */
function withoutName(err: unknown, name: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} ${value} is not a positive integer`);
}
