import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";
import {
  type CompactSensorRecord,
  decodeIdString,
  decodeSdr,
  decodeSdrHeader,
  type EventOnlySensorRecord,
  encodeIdStringBytes,
  encodeSdr,
  type FruDeviceLocatorRecord,
  type FullSensorRecord,
  type IdStringType,
  type McDeviceLocatorRecord,
  type SdrRecord,
  thresholdMasks,
  thresholdMasksToRaw,
} from "../../../src/ipmi/sdr/records.js";
import { formatUnit } from "../../../src/ipmi/sdr/units.js";
import { hex, IPMI_SIM_SDR_LIST, IPMI_SIM_SDRS } from "./ipmi-sim-sdrs.js";

/** The file `ipmitool sdr dump` wrote for ipmi_sim, as one hex string (xxd -p). */
const IPMI_SIM_SDR_DUMP =
  "01005112142000008f000000070100c949504d492073696d3102005103142000000701236f00000000c87761746368646f67" +
  "03005101312000010701450001010000000000000001000001000001010000000000ff000000000000000000000000c64d4254656d70" +
  "04005101323000010701450001010000000000000001000001000001010000000000ff000000000000000000000000c753756254656d70" +
  "050051022220000208010000256f030003000300c000000000000000000000c76d6d3170726573" +
  "060051111430038000001000080200c96d6d32667275646576";

describe("SDR records (IPMI 2.0 §43)", () => {
  it("the named fixtures are exactly ipmitool's dump", () => {
    expect(Buffer.concat(IPMI_SIM_SDR_LIST).toString("hex")).toBe(IPMI_SIM_SDR_DUMP);
  });

  it("reads the 5-byte header", () => {
    expect(decodeSdrHeader(IPMI_SIM_SDRS.mbTemp)).toEqual({
      recordId: 3,
      sdrVersion: 0x51,
      recordType: 0x01,
      recordLength: 0x31,
    });
  });

  it("decodes MBTemp (full) as sdrs.txt declares it", () => {
    const r = decodeSdr(IPMI_SIM_SDRS.mbTemp) as FullSensorRecord;
    expect(r).toEqual({
      kind: "full",
      recordId: 3,
      sdrVersion: 0x51,
      owner: { id: 0x20, channel: 0, lun: 0 },
      sensorNumber: 1,
      entityId: 7,
      entityInstance: 1,
      logicalEntity: false,
      initialization: {
        settable: false,
        initScanning: true,
        initEvents: false,
        initThresholds: false,
        initHysteresis: false,
        initSensorType: true,
        eventGenerationEnabled: false,
        sensorScanningEnabled: true,
      },
      capabilities: {
        ignoreSensor: false,
        autoRearm: false,
        hysteresisSupport: "none",
        thresholdAccess: "none",
        eventMessageControl: "perThresholdOrState",
      },
      sensorType: 0x01,
      eventReadingType: 0x01,
      assertionMask: 0,
      deassertionMask: 0,
      readingMask: 0,
      units: {
        analogDataFormat: "unsigned",
        rateUnit: "none",
        modifierUnit: "none",
        percentage: false,
        baseUnit: 1,
        modifierUnitCode: 0,
      },
      linearization: 0,
      m: 1,
      tolerance: 0,
      b: 0,
      accuracy: 1,
      accuracyExp: 0,
      sensorDirection: "input",
      rExp: 0,
      bExp: 0,
      nominalReadingSpecified: false,
      normalMaximumSpecified: false,
      normalMinimumSpecified: false,
      nominalReading: 0,
      normalMaximum: 0,
      normalMinimum: 0,
      sensorMaximum: 255,
      sensorMinimum: 0,
      thresholds: { unr: 0, ucr: 0, unc: 0, lnr: 0, lcr: 0, lnc: 0 },
      positiveHysteresis: 0,
      negativeHysteresis: 0,
      oem: 0,
      idStringType: "ascii8",
      idString: "MBTemp",
    });
    expect(formatUnit(r.units)).toBe("°C");
    expect(formatUnit(r.units, "name")).toBe("degrees C");
  });

  it("decodes SubTemp's owner 30h", () => {
    expect(decodeSdr(IPMI_SIM_SDRS.subTemp)).toMatchObject({
      kind: "full",
      owner: { id: 0x30 },
      idString: "SubTemp",
    });
  });

  it("decodes the watchdog event-only record", () => {
    expect(decodeSdr(IPMI_SIM_SDRS.watchdog)).toEqual({
      kind: "eventOnly",
      recordId: 2,
      sdrVersion: 0x51,
      owner: { id: 0x20, channel: 0, lun: 0 },
      fruOwnerLun: 0,
      sensorNumber: 0,
      entityId: 7,
      entityInstance: 1,
      logicalEntity: false,
      sensorType: 0x23,
      eventReadingType: 0x6f,
      recordSharing: {
        idStringInstanceModifierType: "numeric",
        shareCount: 0,
        entityInstanceIncrements: false,
        idStringInstanceModifierOffset: 0,
      },
      oem: 0,
      idStringType: "ascii8",
      idString: "watchdog",
    } satisfies EventOnlySensorRecord);
  });

  it("decodes mm1pres (compact): entity presence, states 0 and 1 in every mask, no analog reading", () => {
    const r = decodeSdr(IPMI_SIM_SDRS.mm1pres) as CompactSensorRecord;
    expect(r).toMatchObject({
      kind: "compact",
      recordId: 5,
      sensorNumber: 2,
      entityId: 8,
      entityInstance: 1,
      sensorType: 0x25,
      eventReadingType: 0x6f,
      assertionMask: 0x0003,
      deassertionMask: 0x0003,
      readingMask: 0x0003,
      units: { analogDataFormat: "none", baseUnit: 0 },
      recordSharing: { shareCount: 0 },
      idString: "mm1pres",
    });
  });

  it("decodes the FRU device locator as ipmitool -v printed it (access 30h, logical FRU 3, type 10h)", () => {
    expect(decodeSdr(IPMI_SIM_SDRS.mm2frudev)).toEqual({
      kind: "fruDeviceLocator",
      recordId: 6,
      sdrVersion: 0x51,
      deviceAccessAddress: 0x30,
      fruDeviceId: 3,
      logical: true,
      accessLun: 0,
      privateBusId: 0,
      channel: 0,
      deviceType: 0x10,
      deviceTypeModifier: 0,
      entityId: 8,
      entityInstance: 2,
      oem: 0,
      idStringType: "ascii8",
      idString: "mm2frudev",
    } satisfies FruDeviceLocatorRecord);
  });

  it("decodes the MC device locator as ipmitool -v printed it (chassis, FRU, SEL, SDR, sensor device)", () => {
    expect(decodeSdr(IPMI_SIM_SDRS.mcLocator)).toEqual({
      kind: "mcDeviceLocator",
      recordId: 1,
      sdrVersion: 0x51,
      deviceSlaveAddress: 0x20,
      channel: 0,
      acpiSystemPowerStateNotificationRequired: false,
      acpiDevicePowerStateNotificationRequired: false,
      staticController: false,
      logsInitializationAgentErrors: false,
      logInitializationAgentErrorsAccessing: false,
      eventMessageGeneration: "enable",
      capabilities: {
        chassisDevice: true,
        bridge: false,
        ipmbEventGenerator: false,
        ipmbEventReceiver: false,
        fruInventoryDevice: true,
        selDevice: true,
        sdrRepositoryDevice: true,
        sensorDevice: true,
      },
      entityId: 7,
      entityInstance: 1,
      oem: 0,
      idStringType: "ascii8",
      idString: "IPMI sim1",
    } satisfies McDeviceLocatorRecord);
  });

  it("encodes every ipmi_sim record back to the same bytes", () => {
    for (const b of IPMI_SIM_SDR_LIST)
      expect(encodeSdr(decodeSdr(b)).toString("hex")).toBe(b.toString("hex"));
  });

  it("decodes M and B as 10-bit two's complement and the exponents as signed nibbles", () => {
    const b = Buffer.from(IPMI_SIM_SDRS.mbTemp);
    // M = -3 (3FDh): byte 25 FDh, byte 26 [7:6] 11b | tolerance 5; B = -200 (338h): byte 27 38h,
    // byte 28 [7:6] 11b | accuracy low 6 bits; R exp -2 (Eh), B exp 1.
    b[24] = 0xfd;
    b[25] = 0xc5;
    b[26] = 0x38;
    b[27] = 0xc0 | 0x15;
    b[28] = (0x3 << 4) | (2 << 2) | 2; // accuracy high bits 3, accuracy exp 2, output
    b[29] = 0xe1;
    const r = decodeSdr(b) as FullSensorRecord;
    expect(r).toMatchObject({
      m: -3,
      tolerance: 5,
      b: -200,
      accuracy: 0xd5,
      accuracyExp: 2,
      sensorDirection: "output",
    });
    expect(r).toMatchObject({ rExp: -2, bExp: 1 });
    expect(encodeSdr(r)).toEqual(b);
  });

  it("reads the threshold masks of a threshold sensor", () => {
    // As bmc.emu sets MBTemp up (ipmi_sim's SDR itself leaves the masks 0): UNR/UCR/UNC readable and
    // settable (111000b), events for UNC/UCR/UNR going low and high (offsets 6-11).
    const view = thresholdMasks({ assertionMask: 0x0fc0, deassertionMask: 0x7fc0, readingMask: 0x3838 });
    expect(view.assertionEvents).toBe(0x0fc0);
    expect(view.readable).toEqual({ lnc: false, lcr: false, lnr: false, unc: true, ucr: true, unr: true });
    expect(view.settable).toEqual(view.readable);
    expect(view.readingComparisons).toEqual({
      lnc: false,
      lcr: false,
      lnr: false,
      unc: true,
      ucr: true,
      unr: true,
    });
    expect(thresholdMasksToRaw(view)).toEqual({
      assertionMask: 0x0fc0,
      deassertionMask: 0x7fc0,
      readingMask: 0x3838,
    });
  });

  it("keeps unknown record types raw (08h entity association) and encodes them back", () => {
    const b = hex("0700 51 08 0b 07 01 80 08 01 08 02 00 00 00 00");
    const r = decodeSdr(b);
    expect(r).toMatchObject({ kind: "unknown", recordType: 0x08, recordId: 7 });
    expect(encodeSdr(r)).toEqual(b);
  });

  it("rejects a record shorter or longer than its header says, and a truncated body", () => {
    expect(() => decodeSdr(IPMI_SIM_SDRS.mbTemp.subarray(0, 40))).toThrow(IpmiDecodeError);
    expect(() => decodeSdr(Buffer.concat([IPMI_SIM_SDRS.mbTemp, Buffer.of(0)]))).toThrow(IpmiDecodeError);
    const short = Buffer.from(IPMI_SIM_SDRS.mbTemp.subarray(0, 30));
    short[4] = 25;
    expect(() => decodeSdr(short)).toThrow(IpmiDecodeError);
    expect(() => decodeSdr(Buffer.of(1, 0, 0x51))).toThrow(IpmiDecodeError);
  });

  it("rejects an ID string longer than the record", () => {
    const b = Buffer.from(IPMI_SIM_SDRS.watchdog);
    b[16] = 0xc9; // claims 9 bytes; "watchdog" is 8
    expect(() => decodeSdr(b)).toThrow(IpmiDecodeError);
  });
});

describe("SDR ID strings (IPMI 2.0 §43.15)", () => {
  it("packs 6-bit ASCII least-significant bits first: 'IPMI' = 29 DC A6", () => {
    expect(encodeIdStringBytes("ascii6", "IPMI").toString("hex")).toBe("29dca6");
    expect(decodeIdString("ascii6", hex("29dca6"))).toBe("IPMI");
  });

  it("reads BCD plus two digits a byte, high nibble first", () => {
    expect(decodeIdString("bcdPlus", hex("12ab c3"))).toBe("12 -.3");
    expect(encodeIdStringBytes("bcdPlus", "12 -.3")).toEqual(hex("12abc3"));
    expect(encodeIdStringBytes("bcdPlus", "7")).toEqual(hex("7a"));
  });

  it("refuses characters the type cannot hold", () => {
    expect(() => encodeIdStringBytes("ascii6", "abc")).toThrow(RangeError);
    expect(() => encodeIdStringBytes("bcdPlus", "12a")).toThrow(RangeError);
    expect(() => encodeIdStringBytes("ascii8", "€")).toThrow(RangeError);
  });

  it("round-trips the bytes of every type", () => {
    const types: IdStringType[] = ["unicode", "bcdPlus", "ascii6", "ascii8"];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 16 }), (type, a) => {
        const b = Buffer.from(a);
        // 6-bit ASCII leaves the top 2 or 4 bits of a last, partly filled byte unused.
        const unused = (b.length * 8) % 6;
        fc.pre(type !== "ascii6" || unused === 0 || (b[b.length - 1] as number) >> (8 - unused) === 0);
        expect(encodeIdStringBytes(type, decodeIdString(type, b))).toEqual(b);
      }),
    );
  });
});

// ---- arbitraries for round trips ----

const byte = fc.nat(0xff);
const bool = fc.boolean();
const u16 = fc.nat(0xffff);
const idString = fc.oneof(
  fc.record({
    idStringType: fc.constant("ascii8" as const),
    idString: fc.string({ maxLength: 16, unit: fc.nat({ max: 0xff }).map((c) => String.fromCharCode(c)) }),
  }),
  fc.record({
    idStringType: fc.constant("ascii6" as const),
    // Character counts that fill whole bytes (1, 2, 4, 5, 6, 8 … chars) decode to the same count.
    idString: fc
      .string({
        maxLength: 21,
        unit: fc.integer({ min: 0x20, max: 0x5f }).map((c) => String.fromCharCode(c)),
      })
      .filter((s) => s.length % 4 !== 3),
  }),
  fc.record({
    idStringType: fc.constant("bcdPlus" as const),
    idString: fc
      .string({ maxLength: 32, unit: fc.constantFrom(..."0123456789 -.:,_") })
      .filter((s) => s.length % 2 === 0),
  }),
);
const keys = {
  recordId: u16,
  sdrVersion: fc.constant(0x51),
  owner: fc.record({ id: byte, channel: fc.nat(15), lun: fc.nat(3) }),
  sensorNumber: byte,
  entityId: byte,
  entityInstance: fc.nat(0x7f),
  logicalEntity: bool,
};
const access = fc.constantFrom(
  "none" as const,
  "readable" as const,
  "readableSettable" as const,
  "fixed" as const,
);
const common = {
  ...keys,
  initialization: fc.record({
    settable: bool,
    initScanning: bool,
    initEvents: bool,
    initThresholds: bool,
    initHysteresis: bool,
    initSensorType: bool,
    eventGenerationEnabled: bool,
    sensorScanningEnabled: bool,
  }),
  capabilities: fc.record({
    ignoreSensor: bool,
    autoRearm: bool,
    hysteresisSupport: access,
    thresholdAccess: access,
    eventMessageControl: fc.constantFrom(
      "perThresholdOrState" as const,
      "entireSensor" as const,
      "globalDisable" as const,
      "none" as const,
    ),
  }),
  sensorType: byte,
  eventReadingType: byte,
  assertionMask: u16,
  deassertionMask: u16,
  readingMask: u16,
  units: fc.record({
    analogDataFormat: fc.constantFrom(
      "unsigned" as const,
      "onesComplement" as const,
      "twosComplement" as const,
      "none" as const,
    ),
    rateUnit: fc.constantFrom(
      "none" as const,
      "perMicrosecond" as const,
      "perMillisecond" as const,
      "perSecond" as const,
      "perMinute" as const,
      "perHour" as const,
      "perDay" as const,
      "reserved" as const,
    ),
    modifierUnit: fc.constantFrom(
      "none" as const,
      "divide" as const,
      "multiply" as const,
      "reserved" as const,
    ),
    percentage: bool,
    baseUnit: byte,
    modifierUnitCode: byte,
  }),
  oem: byte,
};
const sharing = fc.record({
  idStringInstanceModifierType: fc.constantFrom("numeric" as const, "alpha" as const),
  shareCount: fc.nat(15),
  entityInstanceIncrements: bool,
  idStringInstanceModifierOffset: fc.nat(0x7f),
});
const withId = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T & { idStringType: IdStringType; idString: string }> =>
  fc.tuple(a, idString).map(([r, id]) => ({ ...r, ...id }));

const arbFull: fc.Arbitrary<FullSensorRecord> = withId(
  fc.record({
    kind: fc.constant("full" as const),
    ...common,
    linearization: byte,
    m: fc.integer({ min: -512, max: 511 }),
    tolerance: fc.nat(0x3f),
    b: fc.integer({ min: -512, max: 511 }),
    accuracy: fc.nat(0x3ff),
    accuracyExp: fc.nat(3),
    sensorDirection: fc.constantFrom(
      "unspecified" as const,
      "input" as const,
      "output" as const,
      "reserved" as const,
    ),
    rExp: fc.integer({ min: -8, max: 7 }),
    bExp: fc.integer({ min: -8, max: 7 }),
    nominalReadingSpecified: bool,
    normalMaximumSpecified: bool,
    normalMinimumSpecified: bool,
    nominalReading: byte,
    normalMaximum: byte,
    normalMinimum: byte,
    sensorMaximum: byte,
    sensorMinimum: byte,
    thresholds: fc.record({ unr: byte, ucr: byte, unc: byte, lnr: byte, lcr: byte, lnc: byte }),
    positiveHysteresis: byte,
    negativeHysteresis: byte,
  }),
);
const arbCompact: fc.Arbitrary<CompactSensorRecord> = withId(
  fc.record({
    kind: fc.constant("compact" as const),
    ...common,
    recordSharing: sharing,
    positiveHysteresis: byte,
    negativeHysteresis: byte,
  }),
);
const arbEventOnly: fc.Arbitrary<EventOnlySensorRecord> = withId(
  fc.record({
    kind: fc.constant("eventOnly" as const),
    ...keys,
    fruOwnerLun: fc.nat(3),
    sensorType: byte,
    eventReadingType: byte,
    recordSharing: sharing,
    oem: byte,
  }),
);
const arbFru: fc.Arbitrary<FruDeviceLocatorRecord> = withId(
  fc.record({
    kind: fc.constant("fruDeviceLocator" as const),
    recordId: u16,
    sdrVersion: fc.constant(0x51),
    deviceAccessAddress: fc.nat(0x7f).map((a) => a << 1),
    fruDeviceId: byte,
    logical: bool,
    accessLun: fc.nat(3),
    privateBusId: fc.nat(7),
    channel: fc.nat(15),
    deviceType: byte,
    deviceTypeModifier: byte,
    entityId: byte,
    entityInstance: byte,
    oem: byte,
  }),
);
const arbMc: fc.Arbitrary<McDeviceLocatorRecord> = withId(
  fc.record({
    kind: fc.constant("mcDeviceLocator" as const),
    recordId: u16,
    sdrVersion: fc.constant(0x51),
    deviceSlaveAddress: fc.nat(0x7f).map((a) => a << 1),
    channel: fc.nat(15),
    acpiSystemPowerStateNotificationRequired: bool,
    acpiDevicePowerStateNotificationRequired: bool,
    staticController: bool,
    logsInitializationAgentErrors: bool,
    logInitializationAgentErrorsAccessing: bool,
    eventMessageGeneration: fc.constantFrom(
      "enable" as const,
      "disable" as const,
      "doNotInitialize" as const,
      "reserved" as const,
    ),
    capabilities: fc.record({
      chassisDevice: bool,
      bridge: bool,
      ipmbEventGenerator: bool,
      ipmbEventReceiver: bool,
      fruInventoryDevice: bool,
      selDevice: bool,
      sdrRepositoryDevice: bool,
      sensorDevice: bool,
    }),
    entityId: byte,
    entityInstance: byte,
    oem: byte,
  }),
);

describe("SDR record round trips", () => {
  it("decode(encode(r)) = r for every supported record type", () => {
    const arb: fc.Arbitrary<SdrRecord> = fc.oneof(arbFull, arbCompact, arbEventOnly, arbFru, arbMc);
    fc.assert(
      fc.property(arb, (r) => {
        expect(decodeSdr(encodeSdr(r))).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it("thresholdMasksToRaw(thresholdMasks(m)) keeps every bit the threshold layout defines", () => {
    fc.assert(
      fc.property(u16, u16, u16, (a, d, r) => {
        const masks = { assertionMask: a & 0x7fff, deassertionMask: d & 0x7fff, readingMask: r & 0x3f3f };
        expect(thresholdMasksToRaw(thresholdMasks(masks))).toEqual(masks);
      }),
    );
  });
});
