import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IpmiClient } from "../../src/ipmi/client/client.js";
import type { Execute, IpmiCommand } from "../../src/ipmi/commands/command.js";
import {
  clearSel,
  getSelEntry,
  type RecordReadRequest,
  reserveSel,
} from "../../src/ipmi/commands/storage.js";
import { encodeSelRecord } from "../../src/ipmi/sel.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import { MAX_RECORDS_PER_READ, readNewRecords, type SelCursor } from "../../src/pipeline/sel/read.js";
import type { BmcState } from "../../src/sim/state.js";
import { bmcTarget } from "../support/notifications.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

/*
 * readNewRecords against a simulated BMC over RMCP+ on loopback: the SEL bytes are what the
 * simulator's Get SEL Entry answers. The tests arrange the SEL through the simulator's state (its
 * clock, a wrapped ring's reused record IDs, a broken next-record-ID chain) as a BMC would hold it.
 */

/** 2027-01-15, the SEL clock the records are stamped with; later records a minute on. */
const T0 = 1_800_000_000;

let sims: Awaited<ReturnType<typeof startSims>>;
let pool: BmcPool;
let client: IpmiClient;
let state: BmcState;
/** The requests readNewRecords sent, as "Get SEL Info" / "Get SEL Entry 0003h". */
let requests: string[];

const hex4 = (id: number) => `${id.toString(16).toUpperCase().padStart(4, "0")}h`;
const execute: Execute = ((command: IpmiCommand<unknown, unknown>, request: unknown) => {
  requests.push(
    command.name === getSelEntry.name
      ? `${command.name} ${hex4((request as RecordReadRequest).recordId)}`
      : command.name,
  );
  return client.execute(command, request);
}) as Execute;

/** One read, with the requests it sent. */
async function read(cursor: SelCursor | undefined, limit?: number) {
  requests = [];
  const result = await readNewRecords(execute, cursor, limit);
  return { ...result, ids: result.records.map((r) => r.recordId), requests };
}

/** A temperature event on sensor `n` (a distinct record per n), logged at SEL time `at`. */
function log(n: number, at = T0) {
  state.setSelTime(at);
  const record = state.logEvent({
    generatorId: { id: 0x20, channel: 0, lun: 0 },
    evmRev: 4,
    sensorType: 0x01,
    sensorNumber: n,
    eventDirection: "assertion",
    eventType: 0x01,
    eventData: [0x59, n, 0x90],
  });
  if (!record) throw new Error("the simulated SEL is full");
  return record;
}

/** As a circular SEL overwrites its oldest record: record `id` replaced by a new one at the end of the chain. */
function overwrite(id: number, n: number, at: number) {
  state.sel.records = state.sel.records.filter((r) => r.recordId !== id);
  state.sel.nextRecordId = id;
  return log(n, at);
}

/** The simulator's bytes of record `id`, as readNewRecords keeps them. */
const bytesOf = (id: number) => {
  const record = state.sel.records.find((r) => r.recordId === id);
  if (!record) throw new Error(`no record ${id}`);
  return encodeSelRecord(record).toString("hex");
};

beforeEach(async () => {
  sims = await startSims();
  state = (sims.sim as NonNullable<typeof sims.sim>).state;
  pool = new BmcPool();
  client = pool.get(bmcTarget({ host: sims.host, port: sims.port, password: SIM_PASSWORD }));
});

afterEach(async () => {
  await pool?.closeAll();
  await sims?.fleet.stop();
});

describe("readNewRecords against petgate sim", () => {
  it("first contact remembers the newest record and returns none; the next read returns what came after it", async () => {
    for (const n of [1, 2, 3]) log(n);
    const first = await read(undefined);
    expect(first).toMatchObject({ firstContact: true, records: [], cursor: { recordId: 3, entries: 3 } });
    expect(first.cursor.record).toBe(bytesOf(3));
    expect(first.requests).toEqual(["Get SEL Info", "Get SEL Entry FFFFh"]);

    log(4, T0 + 60);
    const next = await read(first.cursor);
    expect(next.firstContact).toBe(false);
    expect(next.ids).toEqual([4]);
    expect(next.records[0]?.bytes.toString("hex")).toBe(bytesOf(4));
    expect(next.requests).toEqual(["Get SEL Info", "Get SEL Entry 0003h", "Get SEL Entry 0004h"]);
    expect(next.cursor).toMatchObject({ recordId: 4, record: bytesOf(4), addedAt: T0 + 60, entries: 4 });
  });

  it("a SEL with nothing new costs one Get SEL Info", async () => {
    for (const n of [1, 2]) log(n);
    const first = await read(undefined);
    const quiet = await read(first.cursor);
    expect(quiet.requests).toEqual(["Get SEL Info"]);
    expect(quiet.records).toEqual([]);
    expect(quiet.cursor).toEqual(first.cursor);
  });

  it("first contact with an empty SEL reads every record logged after it from the first", async () => {
    const first = await read(undefined);
    expect(first.requests).toEqual(["Get SEL Info"]);
    expect(first.cursor.recordId).toBeUndefined();
    for (const n of [1, 2]) log(n);
    const next = await read(first.cursor);
    expect(next.ids).toEqual([1, 2]);
    expect(next.requests).toEqual(["Get SEL Info", "Get SEL Entry 0000h", "Get SEL Entry 0002h"]);
  });

  it("a cleared SEL refilled with the same record IDs is read again from its first record", async () => {
    for (const n of [1, 2, 3]) log(n);
    const first = await read(undefined);
    // Clear SEL through the BMC (IPMI 2.0 §31.9), which numbers from 1 again, then as many records as before.
    state.setSelTime(T0 + 30);
    const { reservationId } = await client.execute(reserveSel, undefined);
    await client.execute(clearSel, { reservationId, action: "initiate" });
    state.sel.nextRecordId = 1;
    for (const n of [11, 12, 13]) log(n, T0 + 60);
    const next = await read(first.cursor);
    expect(next.ids).toEqual([1, 2, 3]);
    expect(next.records.map((r) => r.bytes.toString("hex"))).toEqual([1, 2, 3].map(bytesOf));
    expect(next.records.map((r) => r.record?.sensorNumber)).toEqual([11, 12, 13]);
    expect(next.requests).toEqual([
      "Get SEL Info",
      "Get SEL Entry 0000h",
      "Get SEL Entry 0002h",
      "Get SEL Entry 0003h",
    ]);
    expect(next.cursor).toMatchObject({ recordId: 3, record: bytesOf(3), erasedAt: T0 + 30 });
  });

  it("a wrapped SEL that overwrote the cursor's record gives every record logged after it, in chain order", async () => {
    // A ring of four: records 1-3, the cursor at 3; then 4, and 1, 2, 3 overwritten.
    for (const n of [1, 2, 3]) log(n);
    const first = await read(undefined);
    log(4, T0 + 60);
    overwrite(1, 5, T0 + 60);
    overwrite(2, 6, T0 + 120);
    overwrite(3, 7, T0 + 120);
    const next = await read(first.cursor);
    expect(next.ids).toEqual([4, 1, 2, 3]);
    expect(next.records.map((r) => r.record?.sensorNumber)).toEqual([4, 5, 6, 7]);
    expect(next.requests).toEqual([
      "Get SEL Info",
      "Get SEL Entry 0003h",
      "Get SEL Entry 0000h",
      "Get SEL Entry 0001h",
      "Get SEL Entry 0002h",
      "Get SEL Entry 0003h",
    ]);
    expect(next.cursor).toMatchObject({ recordId: 3, record: bytesOf(3) });
  });

  it("the cursor's record gone, records stamped before it are not read as new again", async () => {
    for (const n of [1, 2, 3]) log(n);
    const first = await read(undefined);
    // Record 3 deleted (Delete SEL Entry, §31.8); 1 and 2 stay; 4 logged the same second, 5 later.
    state.sel.records = state.sel.records.filter((r) => r.recordId !== 3);
    log(4);
    log(5, T0 + 60);
    const next = await read(first.cursor);
    expect(next.ids).toEqual([4, 5]);
  });

  it(`reads at most ${MAX_RECORDS_PER_READ} records, and the rest at the next read`, async () => {
    log(1);
    const first = await read(undefined);
    const logged = MAX_RECORDS_PER_READ + 88;
    for (let n = 2; n <= logged + 1; n++) log(n & 0xff, T0 + 60);
    const bounded = await read(first.cursor);
    expect(bounded.ids).toEqual(Array.from({ length: MAX_RECORDS_PER_READ }, (_, i) => i + 2));
    expect(bounded.requests).toHaveLength(2 + MAX_RECORDS_PER_READ);
    expect(bounded.cursor).toMatchObject({ recordId: MAX_RECORDS_PER_READ + 1, partial: true });
    // The SEL has not changed since, and yet the rest is read: the cursor said it stopped short.
    const rest = await read(bounded.cursor);
    expect(rest.ids).toEqual(Array.from({ length: 88 }, (_, i) => i + MAX_RECORDS_PER_READ + 2));
    expect(rest.requests.slice(0, 2)).toEqual([
      "Get SEL Info",
      `Get SEL Entry ${hex4(MAX_RECORDS_PER_READ + 1)}`,
    ]);
    expect(rest.cursor.partial).toBeUndefined();
    expect((await read(rest.cursor)).requests).toEqual(["Get SEL Info"]);
  });

  it("a next-record-ID chain that loops ends at the first record read twice", async () => {
    const first = await read(undefined);
    for (const n of [1, 2, 3]) log(n);
    // A BMC whose record after 3 names record 2 again: 1 → 2 → 3 → 2 → 3 → … without the check.
    const second = state.sel.records[1];
    if (second?.kind !== "system") throw new Error("record 2 is a system event record");
    state.sel.records.push({ ...second, sensorNumber: 9 });
    const next = await read(first.cursor);
    expect(next.ids).toEqual([1, 2, 3]);
    expect(next.requests).toEqual([
      "Get SEL Info",
      "Get SEL Entry 0000h",
      "Get SEL Entry 0002h",
      "Get SEL Entry 0003h",
      "Get SEL Entry 0002h",
    ]);
    expect(next.cursor).toMatchObject({ recordId: 3, record: bytesOf(3) });
    expect(next.cursor.partial).toBeUndefined();
  });
});
