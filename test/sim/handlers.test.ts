import { describe, expect, it } from "vitest";
import {
  coldReset,
  getDeviceId,
  getSelfTestResults,
  getSystemGuid,
  PrivilegeLevel,
} from "../../src/ipmi/commands/app.js";
import { getChassisStatus } from "../../src/ipmi/commands/chassis.js";
import type { Execute, IpmiCommand } from "../../src/ipmi/commands/command.js";
import { NetFn } from "../../src/ipmi/commands/command.js";
import {
  armPefPostponeTimer,
  getPefCapabilities,
  getPefConfigurationParameters,
  getSensorReading,
  getSensorThresholds,
  type PetAcknowledgeRequest,
  petAcknowledge,
  readPefParameter,
  setPefConfigurationParameters,
  thresholdStatus,
} from "../../src/ipmi/commands/sensor-event.js";
import {
  addSelEntry,
  clearSel,
  getSdr,
  getSdrRepositoryInfo,
  getSelEntry,
  getSelInfo,
  getSelTime,
  reserveSdrRepository,
  reserveSel,
} from "../../src/ipmi/commands/storage.js";
import {
  decodeLanParameter,
  getLanConfigurationParameters,
  type LanParameter,
  setLanConfigurationParameters,
} from "../../src/ipmi/commands/transport.js";
import { completionCodeName } from "../../src/ipmi/completion-codes.js";
import { CompletionCodeError } from "../../src/ipmi/errors.js";
import { readSdrRepository, readSelEntries } from "../../src/ipmi/sdr/read.js";
import { decodeSelRecord, type SystemEventRecord } from "../../src/ipmi/sel.js";
import { readSensors } from "../../src/ipmi/sensors.js";
import { defaultSensorRepository, SensorNumber } from "../../src/sim/default-sdr.js";
import { commandKey, type HandlerResult } from "../../src/sim/handler.js";
import { bmcHandlers } from "../../src/sim/handlers.js";
import { setSensorState, setSensorValue } from "../../src/sim/sensors.js";
import { BmcState, DEFAULT_MANUFACTURER_ID } from "../../src/sim/state.js";
import { ALERT_POLICY_1, TEMPERATURE_FILTER } from "../support/pef-fixtures.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const GUID = hex("00112233445566778899aabbccddeeff");
const NOW = 1_750_000_000;

/** A simulated BMC behind the real codecs: requests encoded, handled, responses decoded, as on a wire. */
function simulator() {
  let clock = NOW;
  const state = new BmcState({ adminPassword: "secret", systemGuid: GUID, now: () => clock });
  const acks: PetAcknowledgeRequest[] = [];
  const resets: string[] = [];
  const events: SystemEventRecord[] = [];
  state.onSelEvent = (r) => events.push(r);
  const handlers = bmcHandlers(state, {
    coldReset: () => resets.push("reset"),
    petAcknowledge: (ack) => {
      acks.push(ack);
      return true;
    },
  });
  const raw = async (netFn: number, cmd: number, data: Buffer, privilege = 4): Promise<HandlerResult> => {
    const handler = handlers.get(commandKey(netFn, cmd));
    if (!handler) return { completionCode: 0xc1, data: Buffer.alloc(0) };
    return handler(data, { privilege, userId: 2, sessionId: 0x1234 });
  };
  const as =
    (privilege: number): Execute =>
    async <Req, Res>(command: IpmiCommand<Req, Res>, request: Req): Promise<Res> => {
      const res = await raw(command.netFn, command.cmd, command.encodeRequest(request), privilege);
      if (res.completionCode !== 0) {
        throw new CompletionCodeError(
          command.name,
          res.completionCode,
          completionCodeName(res.completionCode),
        );
      }
      return command.decodeResponse(res.data);
    };
  return {
    state,
    raw,
    execute: as(PrivilegeLevel.Administrator),
    as,
    acks,
    resets,
    events,
    tick: (s: number) => (clock += s),
  };
}

/** The completion code a command answers with. */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof CompletionCodeError) return err.code;
    throw err;
  }
}

describe("device and chassis commands", () => {
  it("answers Get Device ID with the configured identity", async () => {
    const { execute } = simulator();
    const id = await execute(getDeviceId, undefined);
    expect(id.manufacturerId).toBe(DEFAULT_MANUFACTURER_ID);
    expect(id.ipmiVersion).toEqual({ major: 2, minor: 0 });
    expect(id.additionalDeviceSupport).toMatchObject({
      sel: true,
      sdrRepository: true,
      sensor: true,
      chassis: true,
    });
    const custom = new BmcState({ adminPassword: "x", manufacturerId: 343, productId: 0x1234 });
    expect(custom.deviceId).toMatchObject({ manufacturerId: 343, productId: 0x1234 });
  });

  it("answers self test, GUID and chassis status", async () => {
    const { execute } = simulator();
    expect(await execute(getSelfTestResults, undefined)).toEqual({ result: "passed" });
    expect((await execute(getSystemGuid, undefined)).guid).toEqual(GUID);
    expect((await execute(getChassisStatus, undefined)).currentPowerState.powerOn).toBe(true);
  });

  it("answers Cold Reset before resetting", async () => {
    const { execute, resets } = simulator();
    await execute(coldReset, undefined);
    expect(resets).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(resets).toEqual(["reset"]);
  });

  it("refuses a user-level session an administrator command (D4h) and a short request (C7h)", async () => {
    const { as, raw } = simulator();
    expect(await codeOf(as(PrivilegeLevel.User)(coldReset, undefined))).toBe(0xd4);
    expect(
      await codeOf(
        as(PrivilegeLevel.Operator)(setPefConfigurationParameters, { parameter: "startupDelay", seconds: 1 }),
      ),
    ).toBe(0xd4);
    expect((await raw(NetFn.SensorEvent, 0x2d, Buffer.alloc(0))).completionCode).toBe(0xc7);
    expect((await raw(NetFn.App, 0x7f, Buffer.alloc(0))).completionCode).toBe(0xc1);
  });
});

describe("events and the SEL", () => {
  it("logs `ipmitool event 1` (04 01 30 01 09 FF FF) and reads it back with Get SEL Entry", async () => {
    const { raw, execute, events } = simulator();
    const res = await raw(NetFn.SensorEvent, 0x02, hex("04 01 30 01 09 FF FF"), PrivilegeLevel.Operator);
    expect(res).toEqual({ completionCode: 0, data: Buffer.alloc(0) });
    const entry = await execute(getSelEntry, { reservationId: 0, recordId: 0, offset: 0, bytesToRead: 0xff });
    expect(entry.nextRecordId).toBe(0xffff);
    const record = decodeSelRecord(entry.recordData);
    const expected: SystemEventRecord = {
      kind: "system",
      recordId: 1,
      timestamp: NOW,
      generatorId: { id: 0x41, channel: 0, lun: 0 },
      evmRev: 4,
      sensorType: 0x01,
      sensorNumber: 0x30,
      eventDirection: "assertion",
      eventType: 0x01,
      eventData: [0x09, 0xff, 0xff],
    };
    expect(record).toEqual(expected);
    expect(events).toEqual([expected]);
  });

  it("keeps the system-interface form's generator ID", async () => {
    const { raw, state } = simulator();
    await raw(NetFn.SensorEvent, 0x02, hex("20 04 0C 53 6F 00 FF FF"));
    expect(state.sel.records[0]).toMatchObject({
      generatorId: { id: 0x20 },
      sensorType: 0x0c,
      eventType: 0x6f,
    });
  });

  it("reads the SEL with the client reader: first, last, next IDs, CBh, C5h", async () => {
    const { raw, execute, state, tick } = simulator();
    expect(await readSelEntries(execute)).toEqual([]);
    for (const ed1 of [0x07, 0x09, 0x0b]) {
      tick(1);
      await raw(NetFn.SensorEvent, 0x02, Buffer.of(0x04, 0x01, 0x30, 0x01, ed1, 0xff, 0xff));
    }
    const records = await readSelEntries(execute);
    expect(records.map((r) => r.recordId)).toEqual([1, 2, 3]);
    expect(records.map((r) => (r.kind === "system" ? r.timestamp : 0))).toEqual([NOW + 1, NOW + 2, NOW + 3]);
    const last = await execute(getSelEntry, {
      reservationId: 0,
      recordId: 0xffff,
      offset: 0,
      bytesToRead: 0xff,
    });
    expect(decodeSelRecord(last.recordData).recordId).toBe(3);
    expect(
      await codeOf(execute(getSelEntry, { reservationId: 0, recordId: 9, offset: 0, bytesToRead: 0xff })),
    ).toBe(0xcb);
    // A partial read needs the current reservation.
    const { reservationId } = await execute(reserveSel, undefined);
    const part = await execute(getSelEntry, { reservationId, recordId: 2, offset: 3, bytesToRead: 4 });
    expect(part).toEqual({
      nextRecordId: 3,
      recordData: Buffer.from(
        [NOW + 2, (NOW + 2) >> 8, (NOW + 2) >> 16, (NOW + 2) >>> 24].map((b) => b & 0xff),
      ),
    });
    await execute(reserveSel, undefined);
    expect(
      await codeOf(execute(getSelEntry, { reservationId, recordId: 2, offset: 3, bytesToRead: 4 })),
    ).toBe(0xc5);
    expect(state.sel.records).toHaveLength(3);
  });

  it("adds SEL entries with its own record ID and timestamp", async () => {
    const { execute, events, state } = simulator();
    const record: SystemEventRecord = {
      kind: "system",
      recordId: 0x9999,
      timestamp: 0,
      generatorId: { id: 0x41, channel: 0, lun: 0 },
      evmRev: 4,
      sensorType: 0x0c,
      sensorNumber: 0x53,
      eventDirection: "assertion",
      eventType: 0x6f,
      eventData: [0, 0xff, 0xff],
    };
    expect(await execute(addSelEntry, { record })).toEqual({ recordId: 1 });
    const oem = {
      kind: "oemNonTimestamped" as const,
      recordId: 0,
      recordType: 0xe0,
      oemData: Buffer.alloc(13, 7),
    };
    expect(await execute(addSelEntry, { record: oem })).toEqual({ recordId: 2 });
    expect(events).toEqual([{ ...record, recordId: 1, timestamp: NOW }]);
    expect(state.sel.records[1]).toEqual({ ...oem, recordId: 2 });
    const info = await execute(getSelInfo, undefined);
    expect(info).toMatchObject({
      version: 0x51,
      entries: 2,
      freeBytes: 1022 * 16,
      mostRecentAddition: NOW,
      mostRecentErase: null,
    });
    expect(await execute(getSelTime, undefined)).toEqual({ time: NOW });
  });

  it("answers C4h when the SEL is full", async () => {
    const state = new BmcState({ adminPassword: "x", selCapacity: 1 });
    const execute = simulatorFor(state);
    const record = decodeSelRecord(hex("0000 02 00000000 41 00 04 01 30 01 09 ff ff"));
    await execute(addSelEntry, { record });
    expect(await codeOf(execute(addSelEntry, { record }))).toBe(0xc4);
    expect((await execute(getSelInfo, undefined)).overflow).toBe(true);
  });

  it("clears the SEL with the current reservation and 'CLR'", async () => {
    const { raw, execute, tick } = simulator();
    await raw(NetFn.SensorEvent, 0x02, hex("04 01 30 01 09 FF FF"));
    expect(await codeOf(execute(clearSel, { reservationId: 0, action: "initiate" }))).toBe(0xc5);
    const { reservationId } = await execute(reserveSel, undefined);
    tick(5);
    expect(await execute(clearSel, { reservationId, action: "initiate" })).toEqual({
      erasureProgress: "completed",
    });
    expect(await execute(clearSel, { reservationId, action: "getStatus" })).toEqual({
      erasureProgress: "completed",
    });
    expect(await execute(getSelInfo, undefined)).toMatchObject({ entries: 0, mostRecentErase: NOW + 5 });
    expect((await raw(NetFn.Storage, 0x47, hex("0100 434c58 aa"))).completionCode).toBe(0xcc);
  });

  it("hands PET Acknowledge to the hook and answers 00h at any privilege", async () => {
    const { as, acks } = simulator();
    const ack = {
      sequence: 2,
      localTimestamp: 0x19e87e26,
      eventSourceType: 0x20,
      sensorDevice: 0x20,
      sensorNumber: 0x73,
      eventData: hex("8001ff"),
    };
    await as(0)(petAcknowledge, ack);
    expect(acks).toEqual([ack]);
  });
});

describe("sensors", () => {
  it("serves every default sensor to the client's readSensors, all ok", async () => {
    const { execute } = simulator();
    const views = await readSensors(execute, await readSdrRepository(execute));
    expect(views).toHaveLength(16);
    expect(views.every((v) => v.status === "ok")).toBe(true);
    const byName = Object.fromEntries(views.map((v) => [v.name, v]));
    expect(byName["CPU1 Temp"]).toMatchObject({
      value: 45,
      unit: "degrees C",
      thresholds: { unc: 85, ucr: 90, unr: 95 },
    });
    expect(byName["12V"]).toMatchObject({ value: 12, unit: "Volts" });
    expect(byName.FAN1).toMatchObject({
      value: 6000,
      unit: "RPM",
      thresholds: { lnc: 1000, lcr: 600, lnr: 300 },
    });
    expect(byName["PSU1 Status"]).toMatchObject({ states: 0x01, unit: "discrete" });
  });

  it("logs exactly one assertion when CPU1 Temp crosses UCR and the deassertions on the way back", async () => {
    const { state, execute, events } = simulator();
    setSensorValue(state, SensorNumber.Cpu1Temp, 87);
    expect(events.map((e) => e.eventData[0])).toEqual([0x57]);
    events.length = 0;
    const logged = setSensorValue(state, SensorNumber.Cpu1Temp, 91);
    expect(logged).toEqual(events);
    expect(events).toEqual([
      expect.objectContaining({
        sensorType: 0x01,
        sensorNumber: 0x30,
        generatorId: { id: 0x20, channel: 0, lun: 0 },
        evmRev: 4,
        eventType: 0x01,
        eventDirection: "assertion",
        eventData: [0x59, 91, 90],
      }),
    ]);
    expect(setSensorValue(state, SensorNumber.Cpu1Temp, 92)).toEqual([]);
    const reading = await execute(getSensorReading, { sensorNumber: SensorNumber.Cpu1Temp });
    expect(reading.reading).toBe(92);
    expect(thresholdStatus(reading)).toMatchObject({ unc: true, ucr: true, unr: false });
    // Within the 2-count hysteresis of UCR (90) the event stays asserted.
    expect(setSensorValue(state, SensorNumber.Cpu1Temp, 89)).toEqual([]);
    events.length = 0;
    setSensorValue(state, SensorNumber.Cpu1Temp, 50);
    expect(events.map((e) => [e.eventDirection, e.eventData[0]])).toEqual([
      ["deassertion", 0x59],
      ["deassertion", 0x57],
    ]);
    expect(
      thresholdStatus(await execute(getSensorReading, { sensorNumber: SensorNumber.Cpu1Temp })),
    ).toMatchObject({ unc: false, ucr: false });
  });

  it("logs only what the SDR's event masks enable", () => {
    const repo = defaultSensorRepository();
    const cpu = repo.records.find((r) => r.kind === "full" && r.sensorNumber === SensorNumber.Cpu1Temp);
    if (cpu?.kind !== "full") throw new Error("no CPU1 Temp");
    cpu.assertionMask &= ~(1 << 7); // no UNC going-high assertion
    cpu.deassertionMask = 0;
    const state = new BmcState({ adminPassword: "x", sensors: repo });
    expect(setSensorValue(state, SensorNumber.Cpu1Temp, 88)).toEqual([]);
    expect(setSensorValue(state, SensorNumber.Cpu1Temp, 91).map((e) => e.eventData[0])).toEqual([0x59]);
    expect(setSensorValue(state, SensorNumber.Cpu1Temp, 40)).toEqual([]);
  });

  it("logs discrete state changes with event type 6Fh and the offset", async () => {
    const { state, execute } = simulator();
    const [failure] = setSensorState(state, SensorNumber.Psu1Status, 1, true);
    expect(failure).toMatchObject({
      sensorType: 0x08,
      eventType: 0x6f,
      eventDirection: "assertion",
      eventData: [0x01, 0xff, 0xff],
    });
    const reading = await execute(getSensorReading, { sensorNumber: SensorNumber.Psu1Status });
    expect(reading.states0to7).toBe(0x03);
    const [restored] = setSensorState(state, SensorNumber.Psu1Status, 1, false);
    expect(restored).toMatchObject({ eventDirection: "deassertion", eventData: [0x01, 0xff, 0xff] });
    // Event-only sensors log but have no reading.
    expect(setSensorState(state, SensorNumber.Watchdog, 1, true)).toHaveLength(1);
    expect(await codeOf(execute(getSensorReading, { sensorNumber: SensorNumber.Watchdog }))).toBe(0xcb);
  });

  it("answers CBh for an unknown sensor and CDh for thresholds of a discrete one", async () => {
    const { execute } = simulator();
    expect(await codeOf(execute(getSensorReading, { sensorNumber: 0xee }))).toBe(0xcb);
    expect(await codeOf(execute(getSensorThresholds, { sensorNumber: SensorNumber.MemoryEcc }))).toBe(0xcd);
    expect(await execute(getSensorThresholds, { sensorNumber: SensorNumber.Fan2 })).toEqual({
      lnc: 10,
      lcr: 6,
      lnr: 3,
    });
  });
});

describe("SDR repository", () => {
  it("reads back the default records in chunks of every size the client tries", async () => {
    const { execute } = simulator();
    const expected = defaultSensorRepository().records;
    for (const maxChunk of [4, 16, 64]) {
      expect(await readSdrRepository(execute, { maxChunk, minChunk: 4 })).toEqual(expected);
    }
    expect(await execute(getSdrRepositoryInfo, undefined)).toMatchObject({
      version: 0x51,
      recordCount: expected.length,
      mostRecentAddition: NOW,
    });
  });

  it("answers C5h for a stale reservation at an offset, CAh for too much, CBh for no record", async () => {
    const { execute } = simulator();
    const { reservationId } = await execute(reserveSdrRepository, undefined);
    const head = await execute(getSdr, { reservationId: 0, recordId: 0, offset: 0, bytesToRead: 5 });
    expect(head.nextRecordId).toBe(2);
    expect(head.recordData.subarray(0, 4)).toEqual(hex("0100 51 12"));
    await execute(reserveSdrRepository, undefined);
    expect(await codeOf(execute(getSdr, { reservationId, recordId: 2, offset: 5, bytesToRead: 8 }))).toBe(
      0xc5,
    );
    expect(
      await codeOf(
        execute(getSdr, { reservationId: reservationId + 1, recordId: 2, offset: 0, bytesToRead: 65 }),
      ),
    ).toBe(0xca);
    expect(
      await codeOf(execute(getSdr, { reservationId: 0, recordId: 0xffff, offset: 0, bytesToRead: 5 })),
    ).toBe(0xcb);
  });
});

describe("PEF", () => {
  const filter = TEMPERATURE_FILTER;

  it("reports its capabilities and every parameter 0-14", async () => {
    const { execute } = simulator();
    expect(await execute(getPefCapabilities, undefined)).toMatchObject({
      pefVersion: { major: 1, minor: 5 },
      filterTableSize: 16,
    });
    for (let selector = 0; selector <= 14; selector++) {
      const set = [6, 7, 9].includes(selector) ? 1 : 0;
      const block = selector === 13 ? 1 : 0;
      await expect(readPefParameter(execute, selector, set, block)).resolves.toBeDefined();
    }
    expect(await readPefParameter(execute, 5)).toEqual({ parameter: "numberOfEventFilters", count: 16 });
    expect(await readPefParameter(execute, 10)).toEqual({
      parameter: "systemGuid",
      useGuid: false,
      guid: GUID,
    });
    const revision = await execute(getPefConfigurationParameters, {
      revisionOnly: true,
      selector: 6,
      setSelector: 1,
      blockSelector: 0,
    });
    expect(revision).toEqual({ revision: 0x11, data: Buffer.alloc(0) });
  });

  it("commits staged writes on 'commit write' (ipmitool's order 1, write, 2, 0)", async () => {
    const { execute, state } = simulator();
    await execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "inProgress" });
    await execute(setPefConfigurationParameters, {
      parameter: "eventFilter",
      filterNumber: 1,
      entry: filter,
    });
    expect(await readPefParameter(execute, 6, 1)).toEqual({
      parameter: "eventFilter",
      filterNumber: 1,
      entry: filter,
    });
    expect(state.pef.committed.eventFilters[0]?.enabled).toBe(false);
    await execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "commitWrite" });
    await execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "complete" });
    expect(state.pef.committed.eventFilters[0]).toEqual(filter);
    expect(await readPefParameter(execute, 0)).toEqual({ parameter: "setInProgress", state: "complete" });
  });

  it("rolls back on 'set complete' without a commit, and refuses a second 'in progress' (81h)", async () => {
    const { execute, state } = simulator();
    await execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "inProgress" });
    expect(await readPefParameter(execute, 0)).toEqual({ parameter: "setInProgress", state: "inProgress" });
    expect(
      await codeOf(
        execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "inProgress" }),
      ),
    ).toBe(0x81);
    await execute(setPefConfigurationParameters, {
      parameter: "pefControl",
      enable: true,
      eventMessages: true,
      startupDelay: false,
      alertStartupDelay: false,
    });
    await execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "complete" });
    expect(state.pef.committed.control.enable).toBe(false);
    expect(await readPefParameter(execute, 1)).toMatchObject({ enable: false });
    expect(
      await codeOf(
        execute(setPefConfigurationParameters, { parameter: "setInProgress", state: "commitWrite" }),
      ),
    ).toBe(0x81);
    // Without set in progress, writes apply at once (ipmiutil's way).
    await execute(setPefConfigurationParameters, {
      parameter: "eventFilterData1",
      filterNumber: 2,
      enabled: true,
      configType: 0,
    });
    expect(state.pef.committed.eventFilters[1]?.enabled).toBe(true);
  });

  it("answers 82h for read-only, 80h for unsupported, C9h for entries outside the tables", async () => {
    const { execute, raw } = simulator();
    expect(
      await codeOf(execute(setPefConfigurationParameters, { parameter: "numberOfEventFilters", count: 3 })),
    ).toBe(0x82);
    expect(
      await codeOf(
        execute(setPefConfigurationParameters, { parameter: "raw", selector: 0x60, data: hex("00") }),
      ),
    ).toBe(0x80);
    expect(await codeOf(readPefParameter(execute, 15))).toBe(0x80);
    expect(
      await codeOf(
        execute(setPefConfigurationParameters, { parameter: "eventFilter", filterNumber: 17, entry: filter }),
      ),
    ).toBe(0xc9);
    expect(await codeOf(readPefParameter(execute, 6, 0))).toBe(0xc9);
    expect(await codeOf(readPefParameter(execute, 9, 17))).toBe(0xc9);
    expect(await codeOf(readPefParameter(execute, 13, 0, 0))).toBe(0xc9);
    // Parameter 6 two bytes short.
    expect((await raw(NetFn.SensorEvent, 0x12, Buffer.alloc(20, 0).fill(6, 0, 1))).completionCode).toBe(0xc7);
  });

  it("stores policies and alert strings", async () => {
    const { execute } = simulator();
    const entry = ALERT_POLICY_1;
    await execute(setPefConfigurationParameters, { parameter: "alertPolicy", entryNumber: 1, entry });
    expect(await readPefParameter(execute, 9, 1)).toEqual({
      parameter: "alertPolicy",
      entryNumber: 1,
      entry,
    });
    await execute(setPefConfigurationParameters, {
      parameter: "alertString",
      stringSelector: 1,
      blockSelector: 2,
      data: Buffer.from("second block\0"),
    });
    expect(await readPefParameter(execute, 13, 1, 2)).toMatchObject({ data: Buffer.from("second block\0") });
    expect(await readPefParameter(execute, 13, 1, 1)).toMatchObject({ data: Buffer.alloc(16) });
  });

  it("arms, reads and disables the postpone timer", async () => {
    const { execute, tick } = simulator();
    expect(await execute(armPefPostponeTimer, { timeout: 30 })).toEqual({ countdown: 30 });
    tick(10);
    expect(await execute(armPefPostponeTimer, { timeout: 0xff })).toEqual({ countdown: 20 });
    expect(await execute(armPefPostponeTimer, { timeout: 0xfe })).toEqual({ countdown: 0xfe });
    expect(await execute(armPefPostponeTimer, { timeout: 0 })).toEqual({ countdown: 0 });
  });
});

describe("LAN configuration", () => {
  const setLan = (execute: Execute, parameter: LanParameter, channel = 1) =>
    execute(setLanConfigurationParameters, { channel, parameter });
  const getLan = async (execute: Execute, selector: number, setSelector = 0, channel = 1) =>
    decodeLanParameter(
      selector,
      (
        await execute(getLanConfigurationParameters, {
          revisionOnly: false,
          channel,
          selector,
          setSelector,
          blockSelector: 0,
        })
      ).data,
    );

  it("answers every parameter 0-26 the codec knows, and 80h past them", async () => {
    const { execute } = simulator();
    for (let selector = 0; selector <= 26; selector++) {
      expect((await getLan(execute, selector, [18, 19, 25].includes(selector) ? 1 : 0)).parameter).not.toBe(
        "raw",
      );
    }
    expect(await getLan(execute, 17)).toEqual({ parameter: "destinationCount", count: 15 });
    expect(await getLan(execute, 23)).toEqual({
      parameter: "cipherSuiteEntries",
      ids: [1, 2, 3, 15, 16, 17],
    });
    expect(await getLan(execute, 3, 0, 0x0e)).toEqual({ parameter: "ipAddress", ip: "127.0.0.1" });
    expect(await codeOf(getLan(execute, 27))).toBe(0x80);
    expect(await codeOf(getLan(execute, 3, 0, 2))).toBe(0xcc);
  });

  it("sets and gets community and alert destinations (params 16-19)", async () => {
    const { execute, state } = simulator();
    const community: LanParameter = { parameter: "community", community: "petgate" };
    const type: LanParameter = {
      parameter: "destinationType",
      set: 1,
      acknowledge: true,
      type: "pet",
      ackTimeoutSeconds: 5,
      retries: 2,
    };
    const address: LanParameter = {
      parameter: "destinationAddress",
      set: 1,
      gateway: "default",
      ip: "192.0.2.10",
      mac: "02:00:00:00:00:0a",
    };
    for (const p of [community, type, address]) await setLan(execute, p);
    expect(await getLan(execute, 16)).toEqual(community);
    expect(await getLan(execute, 18, 1)).toEqual(type);
    expect(await getLan(execute, 19, 1)).toEqual(address);
    expect(state.lan.committed.destinations[1]).toMatchObject({ acknowledge: true, ip: "192.0.2.10" });
    expect(await codeOf(setLan(execute, { parameter: "destinationCount", count: 4 }))).toBe(0x82);
    expect(await codeOf(setLan(execute, { ...address, set: 0 }, 0x0e))).toBe(0);
    expect(await codeOf(getLan(execute, 19, 16))).toBe(0xc9);
    expect(await codeOf(setLan(execute, community, 3))).toBe(0xcc);
  });

  it("stages LAN writes while a set is in progress", async () => {
    const { execute, state } = simulator();
    await setLan(execute, { parameter: "setInProgress", state: "setInProgress" });
    await setLan(execute, { parameter: "community", community: "staged" });
    expect(state.lan.committed.community).toBe("public");
    await setLan(execute, { parameter: "setInProgress", state: "setComplete" });
    expect(await getLan(execute, 16)).toEqual({ parameter: "community", community: "public" });
    await setLan(execute, { parameter: "setInProgress", state: "setInProgress" });
    await setLan(execute, { parameter: "cipherSuitePrivilegeLevels", levels: ["unused", "user"] });
    await setLan(execute, { parameter: "setInProgress", state: "commitWrite" });
    await setLan(execute, { parameter: "setInProgress", state: "setComplete" });
    expect(state.lan.committed.cipherSuitePrivileges.slice(0, 3)).toEqual([
      "unused",
      "user",
      "administrator",
    ]);
  });
});

function simulatorFor(state: BmcState): Execute {
  const handlers = bmcHandlers(state, { coldReset: () => undefined, petAcknowledge: () => false });
  return async (command, request) => {
    const handler = handlers.get(commandKey(command.netFn, command.cmd));
    if (!handler) throw new Error(`no handler for ${command.name}`);
    const res = await handler(command.encodeRequest(request), { privilege: 4, userId: 2, sessionId: 1 });
    if (res.completionCode !== 0) {
      throw new CompletionCodeError(command.name, res.completionCode, completionCodeName(res.completionCode));
    }
    return command.decodeResponse(res.data);
  };
}
