import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { getSelInfo } from "../../src/ipmi/commands/storage.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { BmcPool, type BmcPoolOptions } from "../../src/pipeline/bmc/bmc-pool.js";
import { CircuitBreaker } from "../../src/pipeline/bmc/breaker.js";
import {
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthState,
  healthNotification,
  remedyCommand,
} from "../../src/pipeline/health/health.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

type Sims = Awaited<ReturnType<typeof startSims>>;
let sims: Sims;
let inventory: BmcTarget[];
let pool: BmcPool;
let notifications: Notification[];
let logs: string[];
const monitors: HealthMonitor[] = [];

const sim = (i: number) => sims.fleet.simulators[i] as BmcSimulator;
const target = (i: number) => inventory[i] as BmcTarget;

/** Short per-packet waits so a silent BMC costs a fraction of a second, not seconds. */
const POOL: BmcPoolOptions = { attemptTimeoutMs: 100, deadlineMs: 800, keepAliveMs: 0, maxInFlight: 2 };

beforeEach(async () => {
  sims = await startSims({ count: 2, rebootMs: 200 });
  inventory = sims.fleet.simulators.map((s, i) => ({
    name: `bmc-${i + 1}`,
    host: s.address.host,
    port: s.address.port,
    username: "admin",
    password: SIM_PASSWORD,
    cipherSuite: 17,
    allowCipherFallback: false,
    labels: { rack: "r1" },
  }));
  notifications = [];
  logs = [];
  pool = new BmcPool({ ...POOL, log: (l) => logs.push(l) });
});
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
  await pool.closeAll();
  await sims.fleet.stop();
});

function monitor(options: Partial<HealthMonitorOptions> = {}): HealthMonitor {
  const m = new HealthMonitor({
    inventory,
    pool,
    probeDeadlineMs: 500,
    onNotification: (n) => notifications.push(n),
    log: (l) => logs.push(l),
    ...options,
  });
  monitors.push(m);
  return m;
}

/** Probes until BMC `name` is in `state` (a rebooting BMC takes a round or two); at most `rounds`. */
async function probeUntil(m: HealthMonitor, name: string, state: HealthState, rounds = 10) {
  for (let i = 0; i < rounds; i++) {
    const found = (await m.probeAll()).find((h) => h.name === name);
    if (found?.state === state) return found;
  }
  throw new Error(`${name} never became ${state}: ${JSON.stringify(m.states())}`);
}

const firing = () => notifications.filter((n) => n.status === "firing");
const resolved = () => notifications.filter((n) => n.status === "resolved");

describe("HealthMonitor against simulated BMCs", () => {
  it("a healthy fleet probes ok and notifies nothing", async () => {
    const m = monitor();
    expect(m.states().map((h) => h.state)).toEqual(["unknown", "unknown"]);
    await m.probeAll();
    const states = await m.probeAll();
    expect(states.map((h) => [h.name, h.state, h.consecutiveFailures, h.alerting])).toEqual([
      ["bmc-1", "ok", 0, false],
      ["bmc-2", "ok", 0, false],
    ]);
    expect(states[0]?.lastOkAt).toBeDefined();
    expect(states[0]?.downSince).toBeUndefined();
    expect(notifications).toEqual([]);
  });

  it("a BMC busy with a full queue of enrichment reads still probes ok (probes are urgent calls)", async () => {
    const busy = new BmcPool({
      ...POOL,
      attemptTimeoutMs: 1000,
      deadlineMs: 5000,
      maxInFlight: 1,
      maxQueued: 2,
      log: (l) => logs.push(l),
    });
    try {
      const m = monitor({ pool: busy, probeDeadlineMs: 1500 });
      const client = busy.get(target(0));
      await client.execute(getSelInfo, undefined); // the session, before the BMC slows down
      sim(0).setFaults({ slowMs: 150 });
      const reads = Array.from({ length: 3 }, () => client.execute(getSelInfo, undefined));
      // The queue is full: an ordinary call is refused at once; the probe is not.
      await expect(client.execute(getSelInfo, undefined)).rejects.toThrow(/maxQueued/);
      const [h] = await m.probeAll();
      expect(h).toMatchObject({ name: "bmc-1", state: "ok", consecutiveFailures: 0 });
      const settled = await Promise.allSettled(reads);
      expect(settled.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    } finally {
      await busy.closeAll();
    }
  });

  it("probes the BMCs with an open incident first", async () => {
    const probed: string[] = [];
    const m = monitor({ concurrency: 1, onProbed: (h) => probed.push(h.name) });
    m.adopt(new Map([["bmc-2", new Date().toISOString()]]));
    await m.probeAll();
    expect(probed).toEqual(["bmc-2", "bmc-1"]);
    expect(resolved().map((n) => n.bmc.name)).toEqual(["bmc-2"]);
  });

  it("a monitor taking over (adopt) keeps the previous one's incident: no second alert, and its recovery", async () => {
    const first = monitor();
    sim(0).setFaults({ hang: true });
    await first.probeAll();
    await first.probeAll();
    expect(firing()).toHaveLength(1);
    // The open incident its worker leaves in Redis when it dies (src/pipeline/health/health-store.ts openIncidents).
    const left = new Map([["bmc-1", firing()[0]?.startsAt ?? ""]]);
    await first.stop();

    const next = monitor();
    next.adopt(left);
    await next.probeAll(); // still hung: the incident carries on, nothing new fires
    expect(firing()).toHaveLength(1);
    sim(0).setFaults({ hang: false });
    await probeUntil(next, "bmc-1", "ok");
    expect(resolved()).toHaveLength(1);
    // The recovery resolves the alert the first monitor sent: same start, and its firing id.
    expect(resolved()[0]?.startsAt).toBe(firing()[0]?.startsAt);
    expect(next.states()[0]).toMatchObject({ state: "ok", alerting: false });
  });

  it("a hung BMC fires one 'BMC unresponsive' after two bad probes, and resolves once when it answers", async () => {
    const m = monitor();
    await m.probeAll();
    sim(0).setFaults({ hang: true });

    const first = await m.probeAll();
    expect(first[0]).toMatchObject({ state: "unresponsive", consecutiveFailures: 1, alerting: false });
    expect(notifications).toEqual([]);

    await m.probeAll();
    await m.probeAll(); // still down: no second firing
    expect(notifications).toHaveLength(1);
    const n = notifications[0] as Notification;
    expect(n).toMatchObject({
      version: 1,
      status: "firing",
      severity: "critical",
      bmc: { name: "bmc-1", address: target(0).host, labels: { rack: "r1" } },
      event: { text: "BMC unresponsive", direction: "assertion", sensorType: "Management Subsystem Health" },
    });
    expect(n.summary).toBe("bmc-1: BMC unresponsive");
    expect(n.detail?.startsWith("no answer")).toBe(true);
    expect(n.detail).toContain("no answer to Get Device ID within 500 ms");
    expect(n.detail).toContain(
      `remedy: petgate bmc reset-cold -H ${target(0).host}:${target(0).port} -U admin (mc reset cold over lanplus)`,
    );
    expect(n.id).toMatch(/^[0-9a-f]{32}$/);
    expect(n.endsAt).toBeUndefined();
    expect(m.states()[0]).toMatchObject({ state: "unresponsive", consecutiveFailures: 3, alerting: true });
    expect(m.states()[0]?.downSince).toBe(n.startsAt);
    expect(m.states()[1]?.state).toBe("ok"); // the other BMC is unaffected

    sim(0).setFaults({ hang: false });
    await m.probeAll();
    await m.probeAll();
    expect(resolved()).toHaveLength(1);
    const r = resolved()[0] as Notification;
    expect(r.id).not.toBe(n.id);
    expect(r.id).toMatch(/^[0-9a-f]{32}$/);
    expect(r).toMatchObject({
      severity: n.severity,
      bmc: n.bmc,
      startsAt: n.startsAt,
      event: { ...n.event, direction: "deassertion" },
      summary: "bmc-1: BMC unresponsive",
      detail: expect.stringContaining("resolved: answers Get Device ID"),
    });
    expect(r.endsAt).toBeDefined();
    expect(Date.parse(r.endsAt as string)).toBeGreaterThanOrEqual(Date.parse(n.startsAt));
    expect(m.states()[0]).toMatchObject({ state: "ok", consecutiveFailures: 0, alerting: false });
    expect(notifications).toHaveLength(2);
  });

  it("one bad probe followed by a good one notifies nothing", async () => {
    const m = monitor();
    sim(1).setFaults({ hang: true });
    await m.probeAll();
    sim(1).setFaults({ hang: false });
    await m.probeAll();
    expect(notifications).toEqual([]);
    expect(m.states()[1]).toMatchObject({ state: "ok", consecutiveFailures: 0 });
  });

  it("a wedged BMC (sessions open, SEL silent) is named as such, with the remedy; no cold reset by default", async () => {
    const m = monitor();
    sim(0).setFaults({ wedged: true });
    await m.probeAll();
    await m.probeAll();
    expect(firing()).toHaveLength(1);
    const n = firing()[0] as Notification;
    expect(n.detail).toContain(
      "answers session set-up and Get Device ID, but not the SEL: no answer to Get SEL Info within 500 ms",
    );
    expect(n.detail).toContain(`remedy: ${remedyCommand(target(0))} (mc reset cold over lanplus)`);
    expect(n.event.text).toBe("BMC unresponsive");
    expect(m.states()[0]).toMatchObject({ state: "wedged", alerting: true, coldResets: 0 });
    expect(sim(0).counters().coldResets).toBe(0);

    // The operator applies the remedy; the next probes find it answering fully again.
    sim(0).coldReset();
    await probeUntil(m, "bmc-1", "ok");
    expect(firing()).toHaveLength(1);
    expect(resolved()).toHaveLength(1);
    expect(resolved()[0]?.startsAt).toBe(n.startsAt);
  });

  it("with autoColdReset a wedged BMC is cold-reset once, recovers, and is not reset again within minIntervalMs", async () => {
    const m = monitor({ autoColdReset: { enabled: true } });
    sim(0).setFaults({ wedged: true });
    await m.probeAll();
    expect(sim(0).counters().coldResets).toBe(0); // one bad probe is not an incident yet
    await m.probeAll();
    expect(firing()).toHaveLength(1);
    expect(sim(0).counters().coldResets).toBe(1);
    expect(logs.some((l) => /bmc-1: wedged; sending automatic cold reset \(1\/5/.test(l))).toBe(true);
    expect(logs.some((l) => /bmc-1: cold reset (accepted|sent)/.test(l))).toBe(true);

    const recovered = await probeUntil(m, "bmc-1", "ok");
    expect(recovered.coldResets).toBe(1);
    expect(recovered.lastColdResetAt).toBeDefined();
    expect(resolved()).toHaveLength(1);
    expect(resolved()[0]?.detail).toContain("after an automatic cold reset");

    // Wedged again at once: a new incident, alerted, but the reset is rate-limited (logged once).
    sim(0).setFaults({ wedged: true });
    await m.probeAll();
    await m.probeAll();
    await m.probeAll();
    expect(firing()).toHaveLength(2);
    expect(firing()[1]?.id).not.toBe(firing()[0]?.id);
    expect(sim(0).counters().coldResets).toBe(1);
    expect(m.states()[0]).toMatchObject({ state: "wedged", alerting: true, coldResets: 1 });
    expect(logs.filter((l) => l.includes("bmc-1: wedged; automatic cold reset NOT sent"))).toHaveLength(1);
  });

  it("the fleet-wide maxPerHour limit holds across BMCs", async () => {
    const m = monitor({ autoColdReset: { enabled: true, maxPerHour: 1 } });
    sim(0).setFaults({ wedged: true });
    sim(1).setFaults({ wedged: true });
    await m.probeAll();
    await m.probeAll();
    expect(firing()).toHaveLength(2);
    expect(sim(0).counters().coldResets + sim(1).counters().coldResets).toBe(1);
    expect(
      logs.filter((l) => /wedged; automatic cold reset NOT sent \(rate limit: 1 automatic/.test(l)),
    ).toHaveLength(1);
  });

  it("the per-BMC interval is measured on the injected clock", async () => {
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const m = monitor({ now: () => clock, autoColdReset: { enabled: true, minIntervalMs: 60_000 } });
    sim(0).setFaults({ wedged: true });
    await m.probeAll();
    await m.probeAll();
    expect(sim(0).counters().coldResets).toBe(1);
    expect(firing()[0]?.startsAt).toBe("2030-01-01T00:00:00.000Z");
    await probeUntil(m, "bmc-1", "ok");

    clock += 61_000;
    sim(0).setFaults({ wedged: true });
    await m.probeAll();
    await m.probeAll();
    expect(sim(0).counters().coldResets).toBe(2);
    expect(m.states()[0]?.coldResets).toBe(2);
  });

  it("probes stay within the pool's bounds on a hung BMC, and overlapping rounds share one probe per BMC", async () => {
    await pool.closeAll();
    pool = new BmcPool({ ...POOL, maxInFlight: 1, maxQueued: 1, log: (l) => logs.push(l) });
    const m = monitor();
    sim(0).setFaults({ hang: true });
    const client = pool.get(target(0));
    let maxInFlight = 0;
    let maxQueued = 0;
    const sampler = setInterval(() => {
      const s = client.stats();
      maxInFlight = Math.max(maxInFlight, s.inFlight);
      maxQueued = Math.max(maxQueued, s.queued);
    }, 5);
    try {
      // Enrichment-like calls compete for the same client while three rounds overlap.
      const others = Array.from({ length: 3 }, () =>
        client.execute(getSelInfo, undefined, { deadlineMs: 300 }).catch((e: Error) => e),
      );
      const rounds = await Promise.all([m.probeAll(), m.probeAll(), m.probeAll()]);
      await Promise.all(others);
      expect(rounds.map((r) => r[0]?.consecutiveFailures)).toEqual([1, 1, 1]);
      const before = client.stats().calls;
      await Promise.all([m.probe(target(0)), m.probe(target(0)), m.probe(target(0))]);
      expect(client.stats().calls - before).toBe(1); // one Get Device ID for three callers
    } finally {
      clearInterval(sampler);
    }
    expect(maxInFlight).toBeLessThanOrEqual(1);
    // maxQueued ordinary calls, and the one probe's one urgent call (a probe runs one at a time per BMC).
    expect(maxQueued).toBeLessThanOrEqual(2);
    expect(client.stats().inFlight).toBe(0);
    expect(firing()).toHaveLength(1);
  });

  it("a monitor that is not running (another process holds the lease) ignores the breaker: no probe, no alert of its own", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const m = monitor({ breaker, timers: { setTimeout: () => undefined, clearTimeout: () => undefined } });
    sim(0).setFaults({ wedged: true });
    const datagrams = sim(0).server.counters.datagrams;

    // The seed of the chaos soak's double alert: this process's enrichment timed out on a BMC the
    // lease holder has already alerted on and resolved; a probe here would open an incident of its own.
    breaker.failure("bmc-1", "no answer within 300 ms");
    await m.idle();
    expect(sim(0).server.counters.datagrams).toBe(datagrams);
    expect(notifications).toEqual([]);
    expect(m.states()[0]).toMatchObject({ state: "unknown", consecutiveFailures: 0, alerting: false });

    // Once it runs (it took the lease), the same evidence counts: its round and a reopened circuit
    // are two bad observations.
    breaker.success("bmc-1");
    m.start();
    await m.idle();
    expect(m.states()[0]).toMatchObject({ state: "wedged", consecutiveFailures: 1 });
    breaker.failure("bmc-1", "no answer within 300 ms");
    await m.idle();
    expect(firing()).toHaveLength(1);
    expect(firing()[0]?.detail).toContain("not the SEL");
  });

  it("a circuit breaker's evidence starts verification probes; only a probe fires or resolves", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const m = monitor({ breaker, timers: { setTimeout: () => undefined, clearTimeout: () => undefined } });
    m.start();
    await m.idle();

    // Open circuit on a BMC that answers: the verification probe clears it.
    breaker.failure("bmc-2", "no answer within 300 ms");
    await m.idle();
    expect(notifications).toEqual([]);
    expect(m.states()[1]).toMatchObject({ state: "ok", consecutiveFailures: 0 });
    breaker.success("bmc-2");

    // Open circuit on a hung BMC: the evidence and the probe make two bad observations.
    sim(0).setFaults({ hang: true });
    breaker.failure("bmc-1", "no answer within 300 ms");
    await m.idle();
    expect(firing()).toHaveLength(1);
    expect(firing()[0]?.detail).toContain("no answer to Get Device ID");

    sim(0).setFaults({ hang: false });
    breaker.success("bmc-1");
    await m.idle();
    expect(resolved()).toHaveLength(1);
    expect(m.states()[0]?.state).toBe("ok");

    // After stop the subscription is gone.
    await m.stop();
    breaker.failure("bmc-1");
    expect(m.states()[0]?.consecutiveFailures).toBe(0);
  });

  it("noteFailure / noteSuccess ignore BMCs not in the inventory", async () => {
    const m = monitor();
    expect(m.noteFailure("nope")).toBeUndefined();
    expect(m.noteSuccess("nope")).toBeUndefined();
    const after = await m.noteFailure("bmc-2");
    expect(after).toMatchObject({ name: "bmc-2", state: "ok", consecutiveFailures: 0 });
    expect(notifications).toEqual([]);
  });

  it("start() probes at once and then every intervalMs on the injected timers; stop() cancels", async () => {
    const scheduled: { fn: () => void; ms: number }[] = [];
    const cleared: unknown[] = [];
    const m = monitor({
      intervalMs: 12_345,
      timers: {
        setTimeout: (fn, ms) => scheduled.push({ fn, ms }),
        clearTimeout: (h) => cleared.push(h),
      },
    });
    m.start();
    await m.idle();
    await new Promise((r) => setImmediate(r));
    expect(m.states().map((h) => h.state)).toEqual(["ok", "ok"]);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.ms).toBe(12_345);

    sim(1).setFaults({ hang: true });
    scheduled[0]?.fn();
    await new Promise((r) => setImmediate(r));
    await m.idle();
    await new Promise((r) => setImmediate(r));
    expect(m.states()[1]).toMatchObject({ state: "unresponsive", consecutiveFailures: 1 });
    expect(scheduled).toHaveLength(2);

    await m.stop();
    expect(cleared).toEqual([2]);
    // A timer that fires after stop (or from before a restart) starts nothing.
    scheduled[1]?.fn();
    await m.idle();
    await new Promise((r) => setImmediate(r));
    expect(scheduled).toHaveLength(2);
    m.start();
    await m.idle();
    await new Promise((r) => setImmediate(r));
    scheduled[1]?.fn();
    await m.idle();
    await new Promise((r) => setImmediate(r));
    expect(scheduled).toHaveLength(3); // one chain only
  });
});

describe("healthNotification", () => {
  const t: BmcTarget = {
    name: "bmc-07",
    host: "10.0.0.7",
    port: 623,
    username: "ops",
    password: "x",
    cipherSuite: 3,
    allowCipherFallback: false,
    labels: { site: "a" },
  };
  const at = Date.parse("2030-01-01T00:00:00Z");

  it("has a deterministic id per BMC, incident start and status", () => {
    const a = healthNotification(t, { status: "firing", startsAt: at, detail: "x" });
    const b = healthNotification(t, { status: "firing", startsAt: at, detail: "y" });
    const later = healthNotification(t, { status: "firing", startsAt: at + 1000, detail: "x" });
    const other = healthNotification(
      { ...t, name: "bmc-08" },
      { status: "firing", startsAt: at, detail: "x" },
    );
    const done = healthNotification(t, { status: "resolved", startsAt: at, endsAt: at + 5000, detail: "x" });
    expect(a.id).toBe(b.id);
    expect(new Set([a.id, later.id, other.id, done.id]).size).toBe(4);
    expect(done.endsAt).toBe("2030-01-01T00:00:05.000Z");
    expect(done.startsAt).toBe(a.startsAt);
  });

  it("names the remedy with the inventory's address, user and cipher suite", () => {
    const n = healthNotification(t, { status: "firing", startsAt: at, detail: "no answer" });
    expect(n.summary).toBe("bmc-07: BMC unresponsive");
    expect(n.detail).toBe(
      "no answer; remedy: petgate bmc reset-cold -H 10.0.0.7 -U ops -C 3 (mc reset cold over lanplus)",
    );
    expect(remedyCommand({ ...t, host: "fe80::7", port: 6230, cipherSuite: 17 })).toBe(
      "petgate bmc reset-cold -H [fe80::7]:6230 -U ops",
    );
  });

  it("rejects nonsensical options", () => {
    const pool = new BmcPool();
    const base = { inventory: [], pool, onNotification: () => undefined };
    expect(() => new HealthMonitor({ ...base, failuresBeforeAlert: 0 })).toThrow(RangeError);
    expect(() => new HealthMonitor({ ...base, concurrency: 1.5 })).toThrow(RangeError);
    expect(() => new HealthMonitor({ ...base, probeDeadlineMs: -1 })).toThrow(RangeError);
  });
});
