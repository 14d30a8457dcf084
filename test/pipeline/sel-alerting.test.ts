import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { configSchema } from "../../src/config/schema.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import type { QueuedEvent } from "../../src/pipeline/intake/event.js";
import { createRedis, ingestQueue } from "../../src/pipeline/queues.js";
import { MAX_RECORDS_PER_READ } from "../../src/pipeline/sel/read.js";
import { selAlerting } from "../../src/pipeline/sel/record-event.js";
import { readProgress } from "../../src/pipeline/sel/store.js";
import { SelSweeper } from "../../src/pipeline/sel/sweep.js";
import type { EventMessage } from "../../src/sim/state.js";
import { bmcTarget } from "../support/notifications.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

/*
 * Which SEL records the sweep alerts (SelSweeper, as `petgate serve` runs it, on a real Redis) when
 * their PET never came: those the provisioned PEF filters match, and with `sel.min_severity` those
 * at least that severe by petgate's default filter table. A BMC logs the records (a simulated one,
 * read over RMCP+); what is alerted is what the sweep queues into INGEST. No grace: a record without
 * its PET is alerted at the sweep that read it.
 */

/** Event messages as the BMC logs them (IPMI 2.0 §29.3; offsets Table 42-2/42-3). */
const RECORDS = {
  /** Temperature, upper critical going high (default table: critical). */
  temperature: { sensorType: 0x01, sensorNumber: 0x30, eventType: 0x01, eventData: [0x59, 0xa5, 0x90] },
  /** Fan, lower critical going low (default table: critical). */
  fan: { sensorType: 0x04, sensorNumber: 0x40, eventType: 0x01, eventData: [0x52, 0x05, 0x10] },
  /** Memory, correctable ECC (default table: non-critical). */
  ecc: { sensorType: 0x0c, sensorNumber: 0x50, eventType: 0x6f, eventData: [0x00, 0xff, 0xff] },
  /** Version change, firmware changed: no filter of the default table. */
  versionChange: { sensorType: 0x2b, sensorNumber: 0x60, eventType: 0x6f, eventData: [0x07, 0xff, 0xff] },
} as const;
type RecordName = keyof typeof RECORDS;

/** Provisioned: fan thresholds only, at "non-critical" (below the minimum severity some tests set). */
const FAN_ONLY_PEF = {
  filters: [{ sensorType: 0x04, trigger: 1, offsets: [0, 2, 4, 7, 9, 11], severity: "non-critical" }],
  destinations: [{ ip: "127.0.0.1" }],
};

let redis: TestRedis;
let client: Redis;
let sims: Awaited<ReturnType<typeof startSims>>;
let target: BmcTarget;
const pool = new BmcPool();
const logs: string[] = [];

beforeAll(async () => {
  [redis, sims] = await Promise.all([startRedis(), startSims()]);
  client = createRedis(redis.socket, "worker");
  target = bmcTarget({ host: sims.host, port: sims.port, password: SIM_PASSWORD });
});

afterAll(async () => {
  await pool.closeAll();
  client?.disconnect();
  await sims?.fleet.stop();
  await redis?.dispose();
});

function log(name: RecordName): number {
  const { eventData, ...event } = RECORDS[name];
  const message: EventMessage = {
    generatorId: { id: 0x20, channel: 0, lun: 0 },
    evmRev: 4,
    eventDirection: "assertion",
    eventData: [...eventData],
    ...event,
  };
  const record = sims.sim?.state.logEvent(message);
  if (!record) throw new Error("the simulated SEL is full");
  return record.recordId;
}

let prefixes = 0;

/**
 * A sweeper of the BMC under configuration `config` (its own Redis prefix, so its own cursor: the
 * first sweep is first contact). The SEL records logged by `before` precede that first sweep, those
 * of `after` follow it; gives the events the second sweep queued, by record name.
 */
async function reconcile(
  config: { pef?: object; sel?: object },
  records: { before?: RecordName[]; after: RecordName[] },
): Promise<{ firstQueued: QueuedEvent[]; alerted: Map<RecordName, QueuedEvent> }> {
  const prefix = `sel-alerting-${++prefixes}`;
  const ingest = ingestQueue(client, prefix);
  const sweeper = new SelSweeper({
    inventory: [target],
    pool,
    redis: client,
    prefix,
    ingest,
    alerting: selAlerting(configSchema.parse({ ...config, bmcs: [] })),
    intervalMs: 3_600_000,
    petGraceMs: 0,
    deadlineMs: 10_000,
    log: (line) => logs.push(line),
  });
  const queued = async () =>
    (await ingest.getJobs(["waiting"])).flatMap((job) => job.data.events).filter((e) => e.sel);
  try {
    for (const name of records.before ?? []) log(name);
    await sweeper.sweep(target);
    const firstQueued = await queued();
    const ids = new Map(records.after.map((name) => [log(name), name]));
    await sweeper.sweep(target);
    const { progress } = await readProgress(client, prefix, target.name);
    expect(progress?.cursor.recordId).toBe(Math.max(...ids.keys()));
    expect(progress?.pending).toEqual([]);
    const alerted = new Map<RecordName, QueuedEvent>();
    for (const event of await queued()) {
      const name = ids.get(event.sel?.recordId ?? -1);
      if (name) alerted.set(name, event);
    }
    expect(logs.filter((l) => l.includes("not read"))).toEqual([]);
    return { firstQueued, alerted };
  } finally {
    await ingest.close();
  }
}

const severityOf = (event: QueuedEvent | undefined) =>
  event?.trap.kind === "pet" ? event.trap.pet.severity : undefined;

describe("which SEL records the sweep alerts", () => {
  it("sel.min_severity: a record no provisioned filter matches is alerted at that severity or above, not below", async () => {
    const { alerted } = await reconcile(
      { pef: FAN_ONLY_PEF, sel: { min_severity: "critical" } },
      { after: ["temperature", "ecc", "versionChange", "fan"] },
    );
    expect([...alerted.keys()].sort()).toEqual(["fan", "temperature"]);
    expect(severityOf(alerted.get("temperature"))).toBe("critical");
    // A provisioned filter's match alerts at the filter's severity, below the minimum or not.
    expect(severityOf(alerted.get("fan"))).toBe("non-critical");
  });

  it("a lower sel.min_severity takes in the records of that severity too", async () => {
    const { alerted } = await reconcile(
      { pef: FAN_ONLY_PEF, sel: { min_severity: "non-critical" } },
      { after: ["temperature", "ecc", "versionChange"] },
    );
    expect([...alerted.keys()].sort()).toEqual(["ecc", "temperature"]);
    expect(severityOf(alerted.get("ecc"))).toBe("non-critical");
  });

  it("without sel.min_severity only the provisioned filters' matches are alerted", async () => {
    const { alerted } = await reconcile({ pef: FAN_ONLY_PEF }, { after: ["temperature", "ecc", "fan"] });
    expect([...alerted.keys()]).toEqual(["fan"]);
  });

  it("without a pef: block nothing is alerted from the SEL unless sel.min_severity is set", async () => {
    const none = await reconcile({}, { after: ["temperature", "fan", "ecc"] });
    expect([...none.alerted.keys()]).toEqual([]);
    const { alerted } = await reconcile(
      { sel: { min_severity: "critical" } },
      { after: ["temperature", "fan", "ecc", "versionChange"] },
    );
    expect([...alerted.keys()].sort()).toEqual(["fan", "temperature"]);
  });

  it("first contact alerts none of the records already in the SEL, then those logged after it", async () => {
    const { firstQueued, alerted } = await reconcile(
      { pef: FAN_ONLY_PEF, sel: { min_severity: "non-critical" } },
      { before: ["temperature", "fan", "ecc"], after: ["temperature"] },
    );
    expect(firstQueued).toEqual([]);
    expect([...alerted.keys()]).toEqual(["temperature"]);
    expect(logs.some((l) => /bmc-1: first read; \d+ record\(s\) before now are not alerted/.test(l))).toBe(
      true,
    );
  });

  // Last: it logs more records than one read takes.
  it("SEL health is not asked while a read stopped at its bound: an archive-and-clear would clear unread records", async () => {
    const observed: number[] = [];
    const ingest = ingestQueue(client, `sel-alerting-${++prefixes}`);
    const sweeper = new SelSweeper({
      inventory: [target],
      pool,
      redis: client,
      prefix: `sel-alerting-${prefixes}`,
      ingest,
      alerting: selAlerting(configSchema.parse({ bmcs: [] })),
      intervalMs: 3_600_000,
      petGraceMs: 0,
      deadlineMs: 30_000,
      log: (line) => logs.push(line),
      observer: {
        observe: async (_target, info) => {
          observed.push(info.entries);
          return "kept";
        },
        state: () => undefined,
      },
    });
    try {
      await sweeper.sweep(target); // first contact
      expect(observed).toHaveLength(1);
      for (let i = 0; i <= MAX_RECORDS_PER_READ; i++) log("versionChange");
      await sweeper.sweep(target); // reads MAX_RECORDS_PER_READ of them
      expect(observed).toHaveLength(1);
      const { progress } = await readProgress(client, `sel-alerting-${prefixes}`, target.name);
      expect(progress?.cursor.partial).toBe(true);
      await sweeper.sweep(target); // reads the last one
      expect(observed).toHaveLength(2);
    } finally {
      await ingest.close();
    }
  });
});
