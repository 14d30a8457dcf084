import { describe, expect, it } from "vitest";
import type { SelRecord } from "../../src/ipmi/sel.js";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { CompletionCode } from "../../src/sim/handler.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { BmcState, ConfigStore, DEFAULT_MANUFACTURER_ID } from "../../src/sim/state.js";

const NOW = 1_750_000_000;
const GUID = Buffer.from("00112233445566778899aabbccddeeff", "hex");
const options = { adminPassword: "secret", systemGuid: GUID, now: () => NOW };
const event = {
  generatorId: { id: 0x41, channel: 0, lun: 0 },
  evmRev: 4,
  sensorType: 0x01,
  sensorNumber: 0x30,
  eventDirection: "assertion" as const,
  eventType: 0x01,
  eventData: [0x09, 0xff, 0xff] as [number, number, number],
};

function codeOf(f: () => void): number {
  try {
    f();
    return 0;
  } catch (err) {
    if (err instanceof CompletionCode) return err.code;
    throw err;
  }
}

describe("BmcState", () => {
  it("starts with the documented defaults", () => {
    const state = new BmcState(options);
    expect(state.deviceId.manufacturerId).toBe(DEFAULT_MANUFACTURER_ID);
    expect(state.users.find((u) => u.id === 2)).toEqual({
      id: 2,
      name: "admin",
      password: "secret",
      maxPrivilege: 4,
      enabled: true,
    });
    expect(state.pef.committed.eventFilters).toHaveLength(16);
    expect(state.pef.committed.eventFilters.every((f) => !f.enabled)).toBe(true);
    expect(state.pef.committed.alertPolicies).toHaveLength(16);
    expect(state.lan.committed).toMatchObject({ community: "public", ipAddress: "127.0.0.1" });
    expect(state.lan.committed.destinations).toHaveLength(16);
    expect(state.cipherSuites).toEqual([1, 2, 3, 15, 16, 17]);
    expect(state.lan.committed.cipherSuitePrivileges).toHaveLength(16);
    expect(state.sensors.get(SensorNumber.Psu1Status)?.asserted).toBe(1);
    expect(state.sensors.get(SensorNumber.Cpu1Temp)).toMatchObject({ raw: 45, asserted: 0 });
    expect(new BmcState({ adminPassword: "x" }).systemGuid).toHaveLength(16);
  });

  it("numbers SEL records from 1, timestamps them, and reports each system event, logged or lost to a full SEL", () => {
    const state = new BmcState({ ...options, selCapacity: 2 });
    const seen: number[] = [];
    state.onSelEvent = (r) => seen.push(r.recordId);
    expect(state.logEvent(event)).toEqual({ kind: "system", recordId: 1, timestamp: NOW, ...event });
    const oem: SelRecord = {
      kind: "oemTimestamped",
      recordId: 0,
      recordType: 0xc0,
      timestamp: 5,
      manufacturerId: 1,
      oemData: Buffer.alloc(6),
    };
    const reservation = state.reserve("sel");
    expect(state.addSelEntry(oem)).toMatchObject({ recordId: 2, timestamp: NOW });
    // A new record cancels the SEL reservation (IPMI 2.0 §31.4).
    expect(state.reservations.sel).not.toBe(reservation);
    const held = state.reserve("sel");
    expect(state.addSelEntry(oem)).toBeUndefined();
    expect(state.reservations.sel).toBe(held);
    // A full SEL loses the event message's record, not its PEF run: reported with record ID 0.
    expect(state.logEvent(event)).toBeUndefined();
    expect(state.sel.overflow).toBe(true);
    expect(seen).toEqual([1, 0]);
    state.clearSel();
    expect(state.sel).toMatchObject({ records: [], overflow: false, mostRecentErase: NOW, nextRecordId: 3 });
  });

  it("hands out a new reservation each time, never 0", () => {
    const state = new BmcState(options);
    expect([state.reserve("sel"), state.reserve("sel"), state.reserve("sdr")]).toEqual([1, 2, 1]);
    state.reservations.sel = 0xffff;
    expect(state.reserve("sel")).toBe(1);
  });

  it("round-trips its non-volatile store through JSON", () => {
    const state = new BmcState(options);
    state.logEvent(event);
    setSensorValue(state, SensorNumber.Cpu1Temp, 91);
    state.pef.committed.control.enable = true;
    state.pef.committed.alertStrings[1] = {
      filterNumber: 1,
      stringSet: 1,
      text: Buffer.from("disk on fire"),
    };
    state.lan.committed.community = "petgate";
    Object.assign(state.lan.committed.destinations[1] ?? {}, { ip: "192.0.2.1", acknowledge: true });
    Object.assign(state.lan.committed.destinations[0] ?? {}, { ip: "192.0.2.99" });
    state.users.push({ id: 3, name: "operator", password: "pw", maxPrivilege: 3, enabled: true });

    const json = JSON.parse(JSON.stringify(state));
    const restored = BmcState.fromJSON(json, { adminPassword: "from-options", now: () => NOW + 60 });
    expect(restored.systemGuid).toEqual(GUID);
    // Users are not stored: they come from the options (the command line) at every start.
    expect(json.users).toBeUndefined();
    expect(restored.users.map((u) => [u.name, u.password])).toEqual([
      ["", ""],
      ["admin", "from-options"],
    ]);
    expect(restored.sel.records).toEqual(state.sel.records);
    expect(restored.sel.records).toHaveLength(3);
    expect(restored.sel.nextRecordId).toBe(4);
    expect(restored.pef.committed).toEqual(state.pef.committed);
    expect(Buffer.isBuffer(restored.pef.committed.systemGuid.guid)).toBe(true);
    expect(restored.pef.committed.alertStrings[1]?.text.toString()).toBe("disk on fire");
    expect(restored.lan.committed.community).toBe("petgate");
    expect(restored.lan.committed.destinations[1]).toMatchObject({ ip: "192.0.2.1", acknowledge: true });
    // Destination 0 is volatile; sensors and reservations start over.
    expect(restored.lan.committed.destinations[0]?.ip).toBe("0.0.0.0");
    expect(restored.sensors.get(SensorNumber.Cpu1Temp)?.raw).toBe(45);
    expect(restored.reservations).toEqual({ sel: 0, sdr: 0 });
    expect(() => BmcState.fromJSON({ version: 2 }, options)).toThrow(/version 1/);
  });

  it("keeps toJSON() a snapshot, not a view", () => {
    const state = new BmcState(options);
    const snapshot = state.toJSON();
    state.lan.committed.community = "changed";
    expect(snapshot.lan.community).toBe("public");
  });
});

describe("ConfigStore (set in progress)", () => {
  it("stages, commits and rolls back as OpenIPMI does", () => {
    const store = new ConfigStore({ value: 1, guid: Buffer.of(1) });
    expect(codeOf(() => store.setInProgress("commitWrite"))).toBe(0x81);
    store.setInProgress("inProgress");
    expect(codeOf(() => store.setInProgress("inProgress"))).toBe(0x81);
    store.current.value = 2;
    expect(store.committed.value).toBe(1);
    store.setInProgress("commitWrite");
    expect(store.committed.value).toBe(2);
    expect(store.inProgress).toBe(true);
    store.current.value = 3;
    store.setInProgress("complete");
    expect(store.committed.value).toBe(2);
    expect(store.inProgress).toBe(false);
    expect(Buffer.isBuffer(store.committed.guid)).toBe(true);
    store.setInProgress("complete");
    store.current.value = 4;
    expect(store.committed.value).toBe(4);
  });
});
