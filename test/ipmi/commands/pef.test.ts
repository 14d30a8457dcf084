import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { setPefConfigurationParameters } from "../../../src/ipmi/commands/sensor-event.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";
import {
  type AlertPolicyEntry,
  decodePefParameter,
  type EventFilterEntry,
  encodePefParameter,
  FilterConfigType,
  type PefParameter,
  pefParameterSelector,
} from "../../../src/ipmi/pef.js";
import { TEMPERATURE_FILTER } from "../../support/pef-fixtures.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const byte = fc.integer({ min: 0, max: 0xff });
const LOG = new URL("../../fixtures/ipmi/ipmiutil-lan-e-against-ipmi_sim.log", import.meta.url);

/**
 * Every Set PEF Configuration Parameters request ipmiutil sent, in order, taken from the log's
 * "encrypting this data" dumps (the plaintext IPMI messages; the command dumps are interleaved with
 * other output in places): strip the AES pad (`01 02 … N N`), then `rsAddr netFn chk rqAddr seq cmd
 * data chk2`.
 */
function setPefRequestsInLog(): Buffer[] {
  const lines = readFileSync(LOG, "utf8").split(/\r?\n/);
  const out: Buffer[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("encrypting this data")) return;
    const bytes: number[] = [];
    for (let j = i + 1; /^( [0-9a-f]{2})+$/.test(lines[j] ?? ""); j++) {
      bytes.push(
        ...(lines[j] ?? "")
          .trim()
          .split(" ")
          .map((h) => Number.parseInt(h, 16)),
      );
    }
    const msg = bytes.slice(0, bytes.length - 1 - (bytes.at(-1) ?? 0));
    if (msg[1] === 0x04 << 2 && msg[5] === 0x12) out.push(Buffer.from(msg.slice(6, -1)));
  });
  return out;
}

/**
 * The event filter writes of `ipmiutil lan -e` (PROTOCOL.md §6): filters 1-13 as config 80h then C0h,
 * 14-16 once. Parameter 6, filter number, then the 20-byte entry.
 */
const FILTER_WRITES = [
  "06 01 80 01 01 10 ff ff 01 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 01 c0 01 01 10 ff ff 01 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 02 80 01 01 10 ff ff 02 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 02 c0 01 01 10 ff ff 02 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 03 80 01 01 10 ff ff 04 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 03 c0 01 01 10 ff ff 04 ff 01 95 0a 00 00 00 00 00 00 00 00 00",
  "06 04 80 01 01 08 ff ff 05 05 03 01 00 00 00 00 00 00 00 00 00 00",
  "06 04 c0 01 01 08 ff ff 05 05 03 01 00 00 00 00 00 00 00 00 00 00",
  "06 05 80 01 01 08 ff ff 08 ff 6f 06 00 00 00 00 00 00 00 00 00 00",
  "06 05 c0 01 01 08 ff ff 08 ff 6f 06 00 00 00 00 00 00 00 00 00 00",
  "06 06 80 01 01 08 ff ff 0c 08 6f 02 00 00 00 00 00 00 00 00 00 00",
  "06 06 c0 01 01 08 ff ff 0c 08 6f 02 00 00 00 00 00 00 00 00 00 00",
  "06 07 80 01 01 10 ff ff 0f 06 6f 01 00 00 00 00 00 00 00 00 00 00",
  "06 07 c0 01 01 10 ff ff 0f 06 6f 01 00 00 00 00 00 00 00 00 00 00",
  "06 08 80 01 01 08 ff ff 07 ff 6f 1c 00 00 00 00 00 00 00 00 00 00",
  "06 08 c0 01 01 08 ff ff 07 ff 6f 1c 00 00 00 00 00 00 00 00 00 00",
  "06 09 80 01 01 10 ff ff 13 ff 6f 3e 03 00 00 00 00 00 00 00 00 00",
  "06 09 c0 01 01 10 ff ff 13 ff 6f 3e 03 00 00 00 00 00 00 00 00 00",
  "06 0a 80 01 01 02 ff ff 23 03 6f 0e 00 00 00 00 00 00 00 00 00 00",
  "06 0a c0 01 01 02 ff ff 23 03 6f 0e 00 00 00 00 00 00 00 00 00 00",
  "06 0b 80 01 01 01 ff ff 12 ff 6f 02 00 00 00 00 00 00 00 00 00 00",
  "06 0b c0 01 01 01 ff ff 12 ff 6f 02 00 00 00 00 00 00 00 00 00 00",
  "06 0c 80 01 01 01 01 01 15 02 01 04 11 01 03 12 40 40 10 1e 00 00",
  "06 0c c0 01 01 01 01 01 15 02 01 04 11 01 03 12 40 40 10 1e 00 00",
  "06 0d 80 01 01 04 32 0a 05 01 ff 01 04 ff ff ff 04 00 00 00 00 65",
  "06 0d c0 01 01 04 32 0a 05 01 ff 01 04 ff ff ff 04 00 00 00 00 65",
  "06 0e 68 00 00 00 00 00 00 00 00 00 00 00 00 00 65 74 68 30 00 00",
  "06 0f 80 01 01 10 ff ff 20 ff 6f ff 00 00 00 00 00 00 00 00 00 00",
  "06 10 80 01 01 08 ff ff 09 ff 0b 02 00 00 00 00 00 00 00 00 00 00",
].map(hex);

/** PROTOCOL.md §6 table: # → severity, generator ID (byte 1, byte 2), sensor type, sensor number, trigger, offset mask. */
const SECTION_6: Record<number, [number, number, number, number, number, number, number]> = {
  1: [0x10, 0xff, 0xff, 0x01, 0xff, 0x01, 0x0a95],
  2: [0x10, 0xff, 0xff, 0x02, 0xff, 0x01, 0x0a95],
  3: [0x10, 0xff, 0xff, 0x04, 0xff, 0x01, 0x0a95],
  4: [0x08, 0xff, 0xff, 0x05, 0x05, 0x03, 0x0001],
  5: [0x08, 0xff, 0xff, 0x08, 0xff, 0x6f, 0x0006],
  6: [0x08, 0xff, 0xff, 0x0c, 0x08, 0x6f, 0x0002],
  7: [0x10, 0xff, 0xff, 0x0f, 0x06, 0x6f, 0x0001],
  8: [0x08, 0xff, 0xff, 0x07, 0xff, 0x6f, 0x001c],
  9: [0x10, 0xff, 0xff, 0x13, 0xff, 0x6f, 0x033e],
  10: [0x02, 0xff, 0xff, 0x23, 0x03, 0x6f, 0x000e],
  11: [0x01, 0xff, 0xff, 0x12, 0xff, 0x6f, 0x0002],
  12: [0x01, 0x01, 0x01, 0x15, 0x02, 0x01, 0x1104],
  13: [0x04, 0x32, 0x0a, 0x05, 0x01, 0xff, 0x0401],
  14: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0000],
  15: [0x10, 0xff, 0xff, 0x20, 0xff, 0x6f, 0x00ff],
  16: [0x08, 0xff, 0xff, 0x09, 0xff, 0x0b, 0x0002],
};

const asFilter = (p: PefParameter): { filterNumber: number; entry: EventFilterEntry } => {
  if (p.parameter !== "eventFilter") throw new Error(`expected an event filter, got ${p.parameter}`);
  return p;
};

describe("PEF event filter entries written by ipmiutil (parameter 6)", () => {
  it("decode to what PROTOCOL.md §6 lists for each filter", () => {
    for (const bytes of FILTER_WRITES) {
      const { filterNumber, entry } = asFilter(setPefConfigurationParameters.decodeRequest(bytes));
      const [severity, generatorId1, generatorId2, sensorType, sensorNumber, eventTrigger, mask] =
        SECTION_6[filterNumber] ?? [];
      expect(entry, `filter ${filterNumber}`).toMatchObject({
        severity,
        generatorId1,
        generatorId2,
        sensorType,
        sensorNumber,
        eventTrigger,
        eventData1OffsetMask: mask,
      });
      // Every filter alerts through policy 1, except the all-zero #14.
      const alert = filterNumber !== 14;
      expect(entry.actions.alert).toBe(alert);
      expect(entry.alertPolicyNumber).toBe(alert ? 1 : 0);
    }
  });

  it("decode filter 1 field by field: temperature, critical, any generator/sensor, threshold offsets 0,2,4,7,9,11", () => {
    const { filterNumber, entry } = asFilter(
      setPefConfigurationParameters.decodeRequest(FILTER_WRITES[0] as Buffer),
    );
    expect(filterNumber).toBe(1);
    expect(entry).toEqual(TEMPERATURE_FILTER);
    const offsets = [...Array(16).keys()].filter((i) => (entry.eventData1OffsetMask >> i) & 1);
    expect(offsets).toEqual([0, 2, 4, 7, 9, 11]);
  });

  it("read the second write's C0h as enabled + manufacturer pre-configured", () => {
    const { entry } = asFilter(setPefConfigurationParameters.decodeRequest(FILTER_WRITES[1] as Buffer));
    expect(entry).toMatchObject({ enabled: true, configType: FilterConfigType.ManufacturerPreset });
  });

  it("keep filter 12's junk event data bytes and filter 14's reserved configuration bits", () => {
    const f12 = asFilter(setPefConfigurationParameters.decodeRequest(FILTER_WRITES[22] as Buffer)).entry;
    expect([f12.eventData1, f12.eventData2, f12.eventData3]).toEqual([
      { andMask: 0x01, compare1: 0x03, compare2: 0x12 },
      { andMask: 0x40, compare1: 0x40, compare2: 0x10 },
      { andMask: 0x1e, compare1: 0x00, compare2: 0x00 },
    ]);
    const f14 = asFilter(setPefConfigurationParameters.decodeRequest(FILTER_WRITES[26] as Buffer)).entry;
    // 68h = 0110_1000b: disabled, type 11b (reserved), reserved bit 3 set; "eth" in event data 2.
    expect(f14).toMatchObject({ enabled: false, configType: 3, reservedConfigBits: 0x08 });
    expect(f14.eventData2).toEqual({ andMask: 0x65, compare1: 0x74, compare2: 0x68 });
  });

  it("re-encode to the identical 22 bytes", () => {
    for (const bytes of FILTER_WRITES) {
      const p = setPefConfigurationParameters.decodeRequest(bytes);
      expect(setPefConfigurationParameters.encodeRequest(p)).toEqual(bytes);
    }
  });

  it("reject an entry cut short", () => {
    const short = (FILTER_WRITES[0] as Buffer).subarray(0, 21);
    expect(() => setPefConfigurationParameters.decodeRequest(short)).toThrow(IpmiDecodeError);
    expect(() => decodePefParameter(6, short.subarray(1))).toThrow(/PEF configuration parameter 6/);
  });
});

describe("every Set PEF Configuration Parameters request in the log", () => {
  it("is the 29 filter writes, then PEF control, global action control and policy entry 1", () => {
    expect(setPefRequestsInLog()).toEqual([
      ...FILTER_WRITES,
      hex("01 01"),
      hex("02 0f"),
      hex("09 01 18 11 00"),
    ]);
  });

  it("decodes to a typed parameter and re-encodes to the identical bytes", () => {
    for (const bytes of setPefRequestsInLog()) {
      const p = setPefConfigurationParameters.decodeRequest(bytes);
      expect(p.parameter).not.toBe("raw");
      expect(setPefConfigurationParameters.encodeRequest(p)).toEqual(bytes);
    }
  });
});

describe("PEF alert policy entry written by ipmiutil (parameter 9)", () => {
  it("decodes `09 01 18 11 00` as policy 1, enabled, always, channel 1, destination 1", () => {
    const bytes = hex("09 01 18 11 00");
    expect(setPefRequestsInLog()).toContainEqual(bytes);
    const p = setPefConfigurationParameters.decodeRequest(bytes);
    expect(p).toEqual({
      parameter: "alertPolicy",
      entryNumber: 1,
      entry: {
        policyNumber: 1,
        enabled: true,
        policyType: 0,
        channel: 1,
        destinationSelector: 1,
        eventSpecificAlertString: false,
        alertStringSet: 0,
      } satisfies AlertPolicyEntry,
    });
    expect(setPefConfigurationParameters.encodeRequest(p)).toEqual(bytes);
  });
});

describe("PEF control and global action control written by ipmiutil (parameters 1, 2)", () => {
  it("decodes `01 01` as PEF enabled and `02 0f` as alert, power down, reset, power cycle", () => {
    expect(setPefConfigurationParameters.decodeRequest(hex("01 01"))).toEqual({
      parameter: "pefControl",
      enable: true,
      eventMessages: false,
      startupDelay: false,
      alertStartupDelay: false,
    });
    expect(setPefConfigurationParameters.decodeRequest(hex("02 0f"))).toEqual({
      parameter: "actionGlobalControl",
      actions: {
        alert: true,
        powerDown: true,
        reset: true,
        powerCycle: true,
        oemAction: false,
        diagnosticInterrupt: false,
      },
    });
    expect(setPefRequestsInLog()).toEqual(expect.arrayContaining([hex("01 01"), hex("02 0f")]));
  });
});

describe("PEF parameter codec", () => {
  it("decodes each set-in-progress state and rejects the reserved 11b", () => {
    expect(decodePefParameter(0, hex("00"))).toEqual({ parameter: "setInProgress", state: "complete" });
    expect(decodePefParameter(0, hex("01"))).toEqual({ parameter: "setInProgress", state: "inProgress" });
    expect(decodePefParameter(0, hex("02"))).toEqual({ parameter: "setInProgress", state: "commitWrite" });
    expect(() => decodePefParameter(0, hex("03"))).toThrow(IpmiDecodeError);
  });

  it("reads the read-only counts without their reserved bit 7", () => {
    expect(decodePefParameter(5, hex("10"))).toEqual({ parameter: "numberOfEventFilters", count: 16 });
    expect(decodePefParameter(8, hex("8f"))).toEqual({ parameter: "numberOfAlertPolicyEntries", count: 15 });
    expect(decodePefParameter(11, hex("00"))).toEqual({ parameter: "numberOfAlertStrings", count: 0 });
  });

  it("decodes the system GUID, alert string keys and a 16-byte alert string block", () => {
    const guid = hex("a123456789abcdefa123456789abcdef");
    expect(decodePefParameter(10, Buffer.concat([hex("01"), guid]))).toEqual({
      parameter: "systemGuid",
      useGuid: true,
      guid,
    });
    expect(decodePefParameter(12, hex("01 02 03"))).toEqual({
      parameter: "alertStringKeys",
      stringSelector: 1,
      filterNumber: 2,
      stringSet: 3,
    });
    const text = Buffer.from("Chassis intrusio");
    expect(decodePefParameter(13, Buffer.concat([hex("01 01"), text]))).toEqual({
      parameter: "alertString",
      stringSelector: 1,
      blockSelector: 1,
      data: text,
    });
    expect(() => decodePefParameter(13, Buffer.concat([hex("01 01"), text, hex("00")]))).toThrow(
      /at most 16/,
    );
  });

  it("keeps the group control table (15), OEM and unassigned selectors raw", () => {
    expect(decodePefParameter(15, hex("01 02 03"))).toEqual({
      parameter: "groupControlTable",
      raw: hex("010203"),
    });
    expect(decodePefParameter(0x60, hex("de ad"))).toEqual({
      parameter: "raw",
      selector: 0x60,
      data: hex("dead"),
    });
    expect(decodePefParameter(0x20, hex(""))).toEqual({
      parameter: "raw",
      selector: 0x20,
      data: Buffer.alloc(0),
    });
  });

  it("rejects trailing bytes after a fixed-size parameter and empty data", () => {
    expect(() => decodePefParameter(1, hex("01 00"))).toThrow(/trailing/);
    expect(() => decodePefParameter(3, hex(""))).toThrow(IpmiDecodeError);
    expect(() => decodePefParameter(10, hex("01 00"))).toThrow(IpmiDecodeError);
  });

  const bool = fc.boolean();
  const dataFilter = fc.record({ andMask: byte, compare1: byte, compare2: byte });
  const filterEntry: fc.Arbitrary<EventFilterEntry> = fc
    .record({
      enabled: bool,
      configType: fc.integer({ min: 0, max: 3 }),
      reservedConfigBits: fc.option(fc.integer({ min: 1, max: 0x1f }), { nil: undefined }),
      actions: fc.record({
        alert: bool,
        powerOff: bool,
        reset: bool,
        powerCycle: bool,
        oem: bool,
        diagnosticInterrupt: bool,
        groupControl: bool,
      }),
      alertPolicyNumber: fc.integer({ min: 0, max: 15 }),
      groupControlSelector: fc.integer({ min: 0, max: 7 }),
      severity: byte,
      generatorId1: byte,
      generatorId2: byte,
      sensorType: byte,
      sensorNumber: byte,
      eventTrigger: byte,
      eventData1OffsetMask: fc.integer({ min: 0, max: 0xffff }),
      eventData1: dataFilter,
      eventData2: dataFilter,
      eventData3: dataFilter,
    })
    .map(({ reservedConfigBits, ...e }) => ({
      ...e,
      ...(reservedConfigBits !== undefined && { reservedConfigBits }),
    }));
  const seven = fc.integer({ min: 0, max: 0x7f });
  const arbParameter: fc.Arbitrary<PefParameter> = fc.oneof(
    fc.record({
      parameter: fc.constant("setInProgress" as const),
      state: fc.constantFrom("complete", "inProgress", "commitWrite" as const),
    }),
    fc.record({
      parameter: fc.constant("pefControl" as const),
      enable: bool,
      eventMessages: bool,
      startupDelay: bool,
      alertStartupDelay: bool,
    }),
    fc.record({
      parameter: fc.constant("actionGlobalControl" as const),
      actions: fc.record({
        alert: bool,
        powerDown: bool,
        reset: bool,
        powerCycle: bool,
        oemAction: bool,
        diagnosticInterrupt: bool,
      }),
    }),
    fc.record({ parameter: fc.constantFrom("startupDelay", "alertStartupDelay" as const), seconds: byte }),
    fc.record({
      parameter: fc.constantFrom(
        "numberOfEventFilters",
        "numberOfAlertPolicyEntries",
        "numberOfAlertStrings" as const,
      ),
      count: seven,
    }),
    fc.record({ parameter: fc.constant("numberOfGroupControlEntries" as const), count: byte }),
    fc.record({ parameter: fc.constant("eventFilter" as const), filterNumber: byte, entry: filterEntry }),
    filterEntry.chain((e) =>
      fc.record({
        parameter: fc.constant("eventFilterData1" as const),
        filterNumber: byte,
        enabled: fc.constant(e.enabled),
        configType: fc.constant(e.configType),
        ...(e.reservedConfigBits !== undefined && { reservedConfigBits: fc.constant(e.reservedConfigBits) }),
      }),
    ),
    fc.record({
      parameter: fc.constant("alertPolicy" as const),
      entryNumber: byte,
      entry: fc.record({
        policyNumber: fc.integer({ min: 0, max: 15 }),
        enabled: bool,
        policyType: fc.integer({ min: 0, max: 7 }),
        channel: fc.integer({ min: 0, max: 15 }),
        destinationSelector: fc.integer({ min: 0, max: 15 }),
        eventSpecificAlertString: bool,
        alertStringSet: seven,
      }),
    }),
    fc.record({
      parameter: fc.constant("systemGuid" as const),
      useGuid: bool,
      guid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(Buffer.from),
    }),
    fc.record({
      parameter: fc.constant("alertStringKeys" as const),
      stringSelector: seven,
      filterNumber: seven,
      stringSet: seven,
    }),
    fc.record({
      parameter: fc.constant("alertString" as const),
      stringSelector: seven,
      blockSelector: byte,
      data: fc.uint8Array({ maxLength: 16 }).map(Buffer.from),
    }),
    fc.record({
      parameter: fc.constant("groupControlTable" as const),
      raw: fc.uint8Array({ maxLength: 12 }).map(Buffer.from),
    }),
    fc.record({
      parameter: fc.constant("raw" as const),
      selector: fc.integer({ min: 0x60, max: 0x7f }),
      data: fc.uint8Array({ maxLength: 20 }).map(Buffer.from),
    }),
  );

  it("round-trips every typed parameter through its selector and data", () => {
    fc.assert(
      fc.property(arbParameter, (p) => {
        expect(decodePefParameter(pefParameterSelector(p), encodePefParameter(p))).toEqual(p);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips every typed parameter through Set PEF Configuration Parameters", () => {
    fc.assert(
      fc.property(arbParameter, (p) => {
        const cmd = setPefConfigurationParameters;
        expect(cmd.decodeRequest(cmd.encodeRequest(p))).toEqual(p);
      }),
    );
  });
});
