import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { queuedPetEvent } from "../../bench/pet-event.js";
import type { BmcTarget } from "../../src/config/inventory.js";
import { getSensorReading, getSensorThresholds } from "../../src/ipmi/commands/sensor-event.js";
import { getSdr, getSdrRepositoryInfo, getSelEntry } from "../../src/ipmi/commands/storage.js";
import type { SystemEventRecord } from "../../src/ipmi/sel.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { formatGuid } from "../../src/pet/varbind.js";
import { BmcPool, type BmcPoolOptions, findBmc } from "../../src/pipeline/bmc/bmc-pool.js";
import { CircuitBreaker } from "../../src/pipeline/bmc/breaker.js";
import {
  type EnrichContext,
  enrich,
  enrichBatch,
  findSensorRecord,
} from "../../src/pipeline/enrich/enrich.js";
import { SdrCache } from "../../src/pipeline/enrich/sdr-cache.js";
import { warmEnrichment } from "../../src/pipeline/enrich/warm.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { defaultSensorRepository, SensorNumber } from "../../src/sim/default-sdr.js";
import { commandKey } from "../../src/sim/handler.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { bmcTarget } from "../support/notifications.js";
import { UCR_GOING_HIGH } from "../support/pef-fixtures.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

type Sims = Awaited<ReturnType<typeof startSims>>;
let sims: Sims;
let sim: BmcSimulator;
let inventory: BmcTarget[];
const pools: BmcPool[] = [];

beforeAll(async () => {
  sims = await startSims();
  sim = sims.sim as BmcSimulator;
  inventory = [
    bmcTarget({ host: sims.host, port: sims.port, password: SIM_PASSWORD, labels: { rack: "r1" } }),
    bmcTarget({ name: "bmc-2" }),
  ];
});
afterEach(async () => {
  sim.setFaults({ wedged: false, hang: false });
  setSensorValue(sim.state, SensorNumber.Cpu1Temp, NOMINAL);
  setSensorValue(sim.state, SensorNumber.Cpu2Temp, NOMINAL);
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
});
afterAll(() => sims.fleet.stop());

let sequence = 0;

/** The PET the simulated BMC would send for one of its SEL events (PET 1.0 §3; src/pet/build.ts). */
function petFor(
  record: SystemEventRecord,
  from: { address: string; agentAddress?: string } = { address: sims.host },
): QueuedEvent {
  return queuedPetEvent(record, {
    guid: sim.state.systemGuid,
    sequence: ++sequence,
    from,
    manufacturerId: sim.state.deviceId.manufacturerId,
    systemId: sim.state.deviceId.productId,
  });
}

const NOMINAL = 45;
const UNC_GOING_HIGH = 0x07;

const UNR_GOING_HIGH = 0x0b;

/**
 * Sets CPU1 Temp from nominal to `value` and returns the SEL record that logged for threshold event
 * `offset`: the assertion, or with `back` the deassertion when the reading returns to nominal.
 */
function cpuTemp(value: number, offset: number, back = false): SystemEventRecord {
  setSensorValue(sim.state, SensorNumber.Cpu1Temp, NOMINAL);
  const up = setSensorValue(sim.state, SensorNumber.Cpu1Temp, value);
  const logged = back ? setSensorValue(sim.state, SensorNumber.Cpu1Temp, NOMINAL) : up;
  const record = logged.find((r) => (r.eventData[0] & 0x0f) === offset);
  if (!record) throw new Error(`setting ${value} logged no event with offset ${offset}`);
  return record;
}

function context(
  overrides: Partial<EnrichContext> = {},
  poolOptions: BmcPoolOptions = {},
): EnrichContext & { pool: BmcPool; sdr: SdrCache; breaker: CircuitBreaker } {
  const pool = new BmcPool({ attemptTimeoutMs: 200, keepAliveMs: 0, ...poolOptions });
  pools.push(pool);
  return {
    inventory,
    pool,
    // Every batch asks (the recheck window has a test of its own).
    sdr: new SdrCache({ recheckMs: 0 }),
    breaker: new CircuitBreaker(),
    deadlineMs: 3000,
    ...overrides,
  };
}

describe("enrichment from a known BMC", () => {
  it("gets the sensor's name, reading, unit and thresholds, and leaves the SEL to reconciliation", async () => {
    const ctx = context();
    const record = cpuTemp(92, UCR_GOING_HIGH);
    const served = commandsSince();
    const e = await enrich(petFor(record), ctx);
    expect(e.error).toBeUndefined();
    expect(e.status).toBe("ok");
    expect(e.bmc).toEqual({ name: "bmc-1", address: sims.host, labels: { rack: "r1" } });
    expect(e.sensor).toMatchObject({
      name: "CPU1 Temp",
      reading: 92,
      unit: "degrees C",
      thresholds: { unc: 85, ucr: 90, unr: 95 },
      entityId: 3,
      entityInstance: 1,
      status: "cr",
    });
    expect(served(getSelEntry)).toBe(0);
    expect(ctx.breaker.state("bmc-1")).toBe("closed");
  });

  it('the same over an IPMI 1.5 session, for a BMC entry with ipmi: "1.5"', async () => {
    const old = { ...(inventory[0] as BmcTarget), ipmi: "1.5" as const };
    const ctx = context({ inventory: [old] });
    const record = cpuTemp(92, UCR_GOING_HIGH);
    const e = await enrich(petFor(record), ctx);
    expect(e.error).toBeUndefined();
    expect(e.status).toBe("ok");
    expect(e.sensor).toMatchObject({ name: "CPU1 Temp", reading: 92, thresholds: { ucr: 90 } });
    expect(ctx.pool.peek("bmc-1")?.protocol).toBe("1.5");
  });

  it("a second event for the same BMC reads no SDR: the repository is cached on its timestamps", async () => {
    const ctx = context();
    let before = sims.fleet.counters().requests;
    const e1 = await enrich(petFor(cpuTemp(95, UNR_GOING_HIGH)), ctx);
    const firstRequests = sims.fleet.counters().requests - before;
    expect(e1.status).toBe("ok");
    expect(e1.sensor?.reading).toBe(95);
    expect(ctx.sdr.stats()).toMatchObject({ hits: 0, misses: 1 });

    const reservations = sim.state.reservations.sdr;
    before = sims.fleet.counters().requests;
    const resolved = cpuTemp(92, UNC_GOING_HIGH, true); // the UNC deassertion as it returns to nominal
    const e2 = await enrich(petFor(resolved), ctx);
    const secondRequests = sims.fleet.counters().requests - before;
    expect(e2.status).toBe("ok");
    expect(e2.sensor?.name).toBe("CPU1 Temp");
    expect(ctx.sdr.stats()).toMatchObject({ hits: 1, misses: 1 });
    // No Reserve SDR Repository, no Get SDR: Info, reading and thresholds only.
    expect(sim.state.reservations.sdr).toBe(reservations);
    expect(secondRequests).toBeLessThan(firstRequests);
    expect(secondRequests).toBe(3);
  });

  it("re-reads the SDR once the repository says it changed", async () => {
    const ctx = context();
    await enrich(petFor(cpuTemp(92, UCR_GOING_HIGH)), ctx);
    sim.state.sdr.mostRecentAddition = (sim.state.sdr.mostRecentAddition ?? 0) + 1;
    const e = await enrich(petFor(cpuTemp(92, UCR_GOING_HIGH)), ctx);
    expect(e.status).toBe("ok");
    expect(ctx.sdr.stats()).toMatchObject({ hits: 0, misses: 2 });
  });

  it("matches by SNMP agent address, then by the GUID learned from earlier PETs", async () => {
    const ctx = context();
    const record = cpuTemp(92, UCR_GOING_HIGH);
    // Through NAT: the source is the gateway, the agent address the BMC's.
    const nat = petFor(record, { address: "198.51.100.9", agentAddress: sims.host });
    expect(findBmc(nat.trap, inventory)?.name).toBe("bmc-1");
    const e = await enrich(nat, ctx);
    expect(e.status).toBe("ok");
    // Neither address known now: the GUID the BMC's PETs carry identifies it.
    const anonymous = petFor(record, { address: "198.51.100.9" });
    expect(findBmc(anonymous.trap, inventory)).toBeUndefined();
    expect(findBmc(anonymous.trap, inventory, { guids: ctx.pool.guids })?.name).toBe("bmc-1");
    expect((await enrich(anonymous, ctx)).bmc?.name).toBe("bmc-1");
  });

  it("reads the system GUID on demand and maps it to the BMC", async () => {
    const ctx = context();
    const guid = await ctx.pool.readGuid(inventory[0] as BmcTarget);
    expect(guid.replaceAll("-", "")).toBe(sim.state.systemGuid.toString("hex"));
    const anonymous = petFor(cpuTemp(92, UCR_GOING_HIGH), { address: "198.51.100.10" });
    expect(findBmc(anonymous.trap, inventory, { guids: ctx.pool.guids })?.name).toBe("bmc-1");
  });
});

it("several BMCs behind one address: asks them for their GUIDs once, then tells their PETs apart", async () => {
  const two = await startSims({ count: 2 });
  try {
    const [a, b] = two.fleet.simulators as [BmcSimulator, BmcSimulator];
    const shared: BmcTarget[] = [a, b].map((s, i) => ({
      ...(inventory[0] as BmcTarget),
      name: `shared-${i + 1}`,
      host: s.address.host,
      port: s.address.port,
    }));
    const ctx = context({ inventory: shared });
    const record = cpuTemp(92, UCR_GOING_HIGH);
    // A PET carrying b's GUID, from the address both share.
    const fromB = petFor(record, { address: two.host });
    if (fromB.trap.kind !== "pet") throw new Error("not a PET");
    fromB.trap.pet.guid = formatGuid(b.state.systemGuid);
    expect(findBmc(fromB.trap, shared)).toBeUndefined();
    const before = two.fleet.counters().datagrams;
    expect((await enrich(fromB, ctx)).bmc?.name).toBe("shared-2");
    const asked = two.fleet.counters().datagrams - before;
    expect(asked).toBeGreaterThan(0);
    // Both GUIDs are known now: a's PET matches without asking again.
    const fromA = petFor(record, { address: two.host });
    if (fromA.trap.kind !== "pet") throw new Error("not a PET");
    fromA.trap.pet.guid = formatGuid(a.state.systemGuid);
    expect(findBmc(fromA.trap, shared, ctx.pool)?.name).toBe("shared-1");
    expect(ctx.pool.guids.size).toBe(2);
  } finally {
    await two.fleet.stop();
  }
});

/** Requests the simulated BMC served, by command, from now on. */
function commandsSince(): (command: { netFn: number; cmd: number }) => number {
  const before = new Map(sim.server.commandCounts);
  return (c) => {
    const key = commandKey(c.netFn, c.cmd);
    return (sim.server.commandCounts.get(key) ?? 0) - (before.get(key) ?? 0);
  };
}

describe("warm-up at start", () => {
  it("reads each answering BMC's SDR before any event, so the first event reads none; a silent BMC is skipped by the deadline", async () => {
    const silent = bmcTarget({ name: "silent", host: "127.77.0.1", port: 9, password: SIM_PASSWORD });
    const ctx = context({
      inventory: [inventory[0] as BmcTarget, silent],
      deadlineMs: 1_000,
    });
    ctx.sdr = new SdrCache(); // the recheck window as in service: the first event within it
    let served = commandsSince();
    expect(await warmEnrichment(ctx, () => false)).toMatchObject({ warmed: 1, of: 2 });
    expect(served(getSdr)).toBeGreaterThan(0);
    expect(ctx.breaker.state("silent")).toBe("closed"); // not the breaker's business

    served = commandsSince();
    const e = await enrich(petFor(cpuTemp(92, UCR_GOING_HIGH)), ctx);
    expect(e).toMatchObject({ status: "ok", sensor: { name: "CPU1 Temp", reading: 92 } });
    expect(served(getSdr)).toBe(0);
    expect(served(getSdrRepositoryInfo)).toBe(0);
  });

  it("stops when told to", async () => {
    const ctx = context();
    const served = commandsSince();
    expect(await warmEnrichment(ctx, () => true)).toMatchObject({ warmed: 0, of: 2 });
    expect(served(getSdrRepositoryInfo)).toBe(0);
  });
});

describe("a batch of events", () => {
  it("events of one BMC share its reads: one reading and thresholds per distinct sensor, one SDR check", async () => {
    const ctx = context();
    // The SDR cached by a first event.
    expect((await enrich(petFor(cpuTemp(92, UCR_GOING_HIGH)), ctx)).status).toBe("ok");
    setSensorValue(sim.state, SensorNumber.Cpu1Temp, NOMINAL);
    setSensorValue(sim.state, SensorNumber.Cpu2Temp, NOMINAL);
    const logged = [
      ...setSensorValue(sim.state, SensorNumber.Cpu1Temp, 96),
      ...setSensorValue(sim.state, SensorNumber.Cpu2Temp, 96),
    ];
    expect(logged).toHaveLength(6); // UNC, UCR and UNR going high, each CPU
    const events = logged.map((r) => petFor(r));

    const served = commandsSince();
    const results = await enrichBatch(events, ctx);
    expect(results.map((e) => e.status)).toEqual(logged.map(() => "ok"));
    expect(results.map((e) => e.sensor?.name)).toEqual([
      ...logged.slice(0, 3).map(() => "CPU1 Temp"),
      ...logged.slice(3).map(() => "CPU2 Temp"),
    ]);
    expect(results[5]?.sensor).toMatchObject({
      reading: 96,
      status: "nr",
      thresholds: { unc: 85, ucr: 90, unr: 95 },
    });
    expect(served(getSensorReading)).toBe(2);
    expect(served(getSensorThresholds)).toBe(2);
    expect(served(getSdrRepositoryInfo)).toBe(1);
    expect(served(getSdr)).toBe(0);
    expect(served(getSelEntry)).toBe(0);
  });

  it("within SdrCache's recheck time a batch sends no Get SDR Repository Info and no Get Sensor Thresholds; after it, both again, and a threshold changed meanwhile shows", async () => {
    let clock = 1_000_000;
    const ctx = context({ sdr: new SdrCache({ recheckMs: 10_000, now: () => clock }) });
    const event = petFor(cpuTemp(92, UCR_GOING_HIGH));
    expect((await enrich(event, ctx)).sensor?.thresholds).toMatchObject({ ucr: 90 });

    let served = commandsSince();
    clock += 9_999;
    const within = await enrich(event, ctx);
    expect(within.sensor).toMatchObject({ reading: 92, thresholds: { unc: 85, ucr: 90, unr: 95 } });
    expect(served(getSdrRepositoryInfo)).toBe(0);
    expect(served(getSensorThresholds)).toBe(0);
    expect(served(getSensorReading)).toBe(1);

    // An operator raises the upper critical threshold (ipmitool sensor thresh … ucr 91).
    const record = sim.state.sensors.get(SensorNumber.Cpu1Temp)?.record;
    if (record?.kind !== "full") throw new Error("CPU1 Temp has no full record in the simulator");
    const ucr = record.thresholds.ucr;
    record.thresholds.ucr = 91;
    try {
      served = commandsSince();
      clock += 1;
      const after = await enrich(event, ctx);
      expect(after.sensor?.thresholds).toMatchObject({ ucr: 91 });
      expect(served(getSdrRepositoryInfo)).toBe(1);
      expect(served(getSensorThresholds)).toBe(1);
    } finally {
      record.thresholds.ucr = ucr;
    }
  });

  it("with the SDR cached, the SDR check, reading and thresholds are on the wire at once; a BMC that stops answering ends by the deadline, one breaker failure a batch", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const ctx = context({ deadlineMs: 500, breaker });
    const record = cpuTemp(92, UCR_GOING_HIGH);
    expect((await enrich(petFor(record), ctx)).status).toBe("ok");
    sim.setFaults({ hang: true });
    const pending = enrichBatch([petFor(record), petFor(record), petFor(record)], ctx);
    expect(ctx.pool.peek("bmc-1")?.stats()).toMatchObject({ inFlight: 3, queued: 0 });
    const results = await pending;
    expect(results.map((e) => e.status)).toEqual(["timeout", "timeout", "timeout"]);
    // Three events, one batch: one failure, below the threshold of two; the next batch's is the second.
    expect(breaker.state("bmc-1")).toBe("closed");
    expect((await enrichBatch([petFor(record)], ctx))[0]?.status).toBe("timeout");
    expect(breaker.state("bmc-1")).toBe("open");
  });

  it("results keep the events' order across BMCs, unknown senders and generic traps", async () => {
    const ctx = context();
    const record = cpuTemp(92, UCR_GOING_HIGH);
    const trap: TrapEvent = {
      kind: "trap",
      receivedAt: new Date().toISOString(),
      source: { address: sims.host, port: 40_000 },
      snmp: { version: "v2c", pdu: "trap", community: "public", trapOid: "1.3.6.1.6.3.1.1.5.3" },
      varbinds: [],
      varbindsDigest: "",
    };
    const results = await enrichBatch(
      [petFor(record, { address: "203.0.113.5" }), petFor(record), { id: eventId(trap), trap }],
      ctx,
    );
    expect(results.map((e) => e.status)).toEqual(["unknown-bmc", "ok", "none"]);
    expect(results[1]?.sensor).toMatchObject({ name: "CPU1 Temp", reading: 92 });
    expect(results[2]?.bmc?.name).toBe("bmc-1");
  });
});

describe("events that cannot be enriched", () => {
  it("an unknown source is unknown-bmc, and nothing is sent anywhere", async () => {
    const ctx = context();
    const before = sims.fleet.counters().datagrams;
    const e = await enrich(petFor(cpuTemp(92, UCR_GOING_HIGH), { address: "203.0.113.5" }), ctx);
    expect(e).toEqual({ status: "unknown-bmc" });
    expect(sims.fleet.counters().datagrams).toBe(before);
    expect(ctx.pool.size).toBe(0);
  });

  it("a generic trap is none, with its BMC when known, without asking the BMC", async () => {
    const ctx = context();
    const trap: TrapEvent = {
      kind: "trap",
      receivedAt: new Date().toISOString(),
      source: { address: sims.host, port: 40_000 },
      snmp: { version: "v2c", pdu: "trap", community: "public", trapOid: "1.3.6.1.6.3.1.1.5.3" },
      varbinds: [],
      varbindsDigest: "",
    };
    expect(await enrich({ id: eventId(trap), trap }, ctx)).toEqual({
      status: "none",
      bmc: { name: "bmc-1", address: sims.host, labels: { rack: "r1" } },
    });
    const elsewhere = { ...trap, source: { address: "203.0.113.5", port: 40_000 } };
    expect(await enrich({ id: eventId(elsewhere), trap: elsewhere }, ctx)).toEqual({ status: "none" });
    expect(ctx.pool.size).toBe(0);
  });
});

describe("an unresponsive BMC", () => {
  it("wedged: timeout within the deadline; after 3 the circuit opens; half-open after the cool-down; closed when healed", async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ now: () => now });
    const changes: string[] = [];
    breaker.onChange((c) => changes.push(`${c.from}>${c.to}`));
    const ctx = context({ breaker, deadlineMs: 800 });
    const event = petFor(cpuTemp(92, UCR_GOING_HIGH));
    sim.setFaults({ wedged: true });
    for (let i = 0; i < 3; i++) {
      const e = await enrich(event, ctx);
      expect(e.status).toBe("timeout");
      expect(e.bmc?.name).toBe("bmc-1");
      expect(e.sensor).toBeUndefined();
    }
    expect(breaker.state("bmc-1")).toBe("open");

    // Let the last calls' retransmissions end, then: no datagram at all reaches the BMC.
    await new Promise((r) => setTimeout(r, 300));
    const stats = ctx.pool.peek("bmc-1")?.stats();
    expect(stats).toMatchObject({ inFlight: 0, queued: 0 });
    const before = sims.fleet.counters().datagrams;
    expect(await enrich(event, ctx)).toEqual({
      status: "circuit-open",
      bmc: { name: "bmc-1", address: sims.host, labels: { rack: "r1" } },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(sims.fleet.counters().datagrams).toBe(before);

    now += 30_000;
    expect(breaker.state("bmc-1")).toBe("half-open");
    sim.setFaults({ wedged: false });
    const probe = await enrich(event, { ...ctx, deadlineMs: 3000 });
    expect(probe.status).toBe("ok");
    expect(probe.sensor?.name).toBe("CPU1 Temp");
    expect(breaker.state("bmc-1")).toBe("closed");
    expect(changes).toEqual(["closed>open", "open>half-open", "half-open>closed"]);
  });

  it("a failed half-open probe opens the circuit again", async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ now: () => now, failureThreshold: 1 });
    const ctx = context({ breaker, deadlineMs: 500 });
    const event = petFor(cpuTemp(92, UCR_GOING_HIGH));
    sim.setFaults({ hang: true });
    expect((await enrich(event, ctx)).status).toBe("timeout");
    expect(breaker.state("bmc-1")).toBe("open");
    now += 30_000;
    expect((await enrich(event, ctx)).status).toBe("timeout");
    expect(breaker.state("bmc-1")).toBe("open");
    expect((await enrich(event, ctx)).status).toBe("circuit-open");
  });

  it("50 events for a hung BMC: at most maxInFlight calls on the wire, the queue bounded, all resolve", async () => {
    const ctx = context({ deadlineMs: 1000 }, { maxInFlight: 2, maxQueued: 4 });
    const event = petFor(cpuTemp(92, UCR_GOING_HIGH));
    sim.setFaults({ hang: true });
    let maxInFlight = 0;
    let maxQueued = 0;
    const sample = setInterval(() => {
      const s = ctx.pool.peek("bmc-1")?.stats();
      maxInFlight = Math.max(maxInFlight, s?.inFlight ?? 0);
      maxQueued = Math.max(maxQueued, s?.queued ?? 0);
    }, 5);
    try {
      const pending = Array.from({ length: 50 }, () => enrich(event, ctx));
      const client = ctx.pool.peek("bmc-1");
      expect(client?.stats()).toMatchObject({ inFlight: 2, queued: 4 });
      const results = await Promise.all(pending);
      expect(new Set(results.map((r) => r.status))).toEqual(new Set(["timeout"]));
      expect(results.filter((r) => /waiting \(maxQueued\)/.test(r.error ?? "")).length).toBeGreaterThan(40);
      // The calls themselves end at the same deadline (give or take a timer tick), not later.
      await vi.waitFor(() => expect(client?.stats()).toMatchObject({ inFlight: 0, queued: 0 }), {
        timeout: 300,
        interval: 5,
      });
    } finally {
      clearInterval(sample);
    }
    expect(maxInFlight).toBeLessThanOrEqual(2);
    expect(maxQueued).toBeLessThanOrEqual(4);
    expect(ctx.pool.size).toBe(1);
    // The events that waited and timed out opened the circuit: the next one is not even queued.
    expect(ctx.breaker.state("bmc-1")).toBe("open");
    expect((await enrich(event, ctx)).status).toBe("circuit-open");
  });
});

describe("finding the sensor's SDR", () => {
  it("by owner and number; a shared record covers its range with instance-modified names", () => {
    const records = defaultSensorRepository().records;
    expect(findSensorRecord(records, 0x20, SensorNumber.Cpu1Temp)?.idString).toBe("CPU1 Temp");
    // A sensor device the SDR does not name as owner still finds the only sensor with that number.
    expect(findSensorRecord(records, 0x00, SensorNumber.Cpu1Temp)?.idString).toBe("CPU1 Temp");
    expect(findSensorRecord(records, 0x20, 0xfe)).toBeUndefined();
    const drive = records.find((r) => r.kind === "compact" && r.sensorNumber === SensorNumber.DriveSlot0);
    if (drive?.kind !== "compact") throw new Error("no compact drive record");
    drive.idString = "Drive ";
    drive.recordSharing = {
      idStringInstanceModifierType: "numeric",
      shareCount: 4,
      entityInstanceIncrements: true,
      idStringInstanceModifierOffset: 0,
    };
    const third = findSensorRecord(records, 0x20, SensorNumber.DriveSlot0 + 2);
    expect(third).toMatchObject({
      idString: "Drive 2",
      sensorNumber: SensorNumber.DriveSlot0 + 2,
      entityInstance: drive.entityInstance + 2,
    });
    drive.recordSharing.idStringInstanceModifierType = "alpha";
    expect(findSensorRecord(records, 0x20, SensorNumber.DriveSlot0 + 1)?.idString).toBe("Drive B");
    expect(findSensorRecord(records, 0x20, SensorNumber.DriveSlot0 + 4)).toBeUndefined();
  });
});
