import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Execute } from "../../../src/ipmi/commands/command.js";
import { NetFn } from "../../../src/ipmi/commands/command.js";
import {
  armPefPostponeTimer,
  discreteStates,
  getPefCapabilities,
  getPefConfigurationParameters,
  getSensorReading,
  getSensorThresholds,
  type PefCapabilities,
  PefPostpone,
  type PetAcknowledgeRequest,
  type PlatformEventMessage,
  pefParameterResponse,
  petAckFromVarbind,
  petAcknowledge,
  platformEvent,
  readPefParameter,
  type SensorReading,
  type SensorThresholds,
  setPefConfigurationParameters,
  THRESHOLD_NAMES,
  thresholdStatus,
} from "../../../src/ipmi/commands/sensor-event.js";
import { completionCodeName } from "../../../src/ipmi/completion-codes.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";
import { decodePetVarbind } from "../../../src/pet/varbind.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../../pet/vectors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const byte = fc.integer({ min: 0, max: 0xff });

describe("Platform Event Message", () => {
  it("is S/E 02h", () => {
    expect([platformEvent.netFn, platformEvent.cmd]).toEqual([NetFn.SensorEvent, 0x02]);
  });

  it("decodes `ipmitool event 1` (LAN form): temperature sensor 30h, threshold, UCR going high", () => {
    const bytes = hex("04 01 30 01 09 FF FF");
    const m = platformEvent.decodeRequest(bytes);
    expect(m).toEqual({
      evmRev: 0x04,
      sensorType: 0x01,
      sensorNumber: 0x30,
      eventDirection: "assertion",
      eventType: 0x01,
      eventData1: 0x09,
      eventData2: 0xff,
      eventData3: 0xff,
    } satisfies PlatformEventMessage);
    expect(platformEvent.encodeRequest(m)).toEqual(bytes);
  });

  it("decodes `ipmitool event 2` and `event 3` and re-encodes them", () => {
    for (const [bytes, sensorType, eventType] of [
      [hex("04 02 60 01 02 FF FF"), 0x02, 0x01],
      [hex("04 0C 53 6F 00 FF FF"), 0x0c, 0x6f],
    ] as const) {
      const m = platformEvent.decodeRequest(bytes);
      expect(m).toMatchObject({ sensorType, eventType, eventDirection: "assertion" });
      expect(platformEvent.encodeRequest(m)).toEqual(bytes);
    }
  });

  it("reads a leading generator ID when 8 bytes arrive (system interface) and a deassertion", () => {
    const bytes = hex("41 04 05 73 EF 00 FF FF");
    expect(platformEvent.decodeRequest(bytes)).toMatchObject({
      generatorId: 0x41,
      sensorType: 0x05,
      sensorNumber: 0x73,
      eventDirection: "deassertion",
      eventType: 0x6f,
    });
    expect(platformEvent.encodeRequest(platformEvent.decodeRequest(bytes))).toEqual(bytes);
  });

  it("rejects any length but 7 or 8", () => {
    expect(() => platformEvent.decodeRequest(hex("04 01 30 01 09 FF"))).toThrow(IpmiDecodeError);
    expect(() => platformEvent.decodeRequest(hex("41 04 01 30 01 09 FF FF 00"))).toThrow(/expected 7/);
  });

  it("round-trips both forms", () => {
    const arb: fc.Arbitrary<PlatformEventMessage> = fc
      .record({
        generatorId: fc.option(byte, { nil: undefined }),
        evmRev: byte,
        sensorType: byte,
        sensorNumber: byte,
        eventDirection: fc.constantFrom("assertion", "deassertion" as const),
        eventType: fc.integer({ min: 0, max: 0x7f }),
        eventData1: byte,
        eventData2: byte,
        eventData3: byte,
      })
      .map(({ generatorId, ...m }) => ({ ...m, ...(generatorId !== undefined && { generatorId }) }));
    fc.assert(
      fc.property(arb, (m) => {
        expect(platformEvent.decodeRequest(platformEvent.encodeRequest(m))).toEqual(m);
      }),
    );
  });
});

describe("Get PEF Capabilities", () => {
  // ipmiutil-lan-e-against-ipmi_sim.log, seq 3: `81 14 6b 20 0c 10 00 | 51 3f 10 | 24`.
  const IPMI_SIM = hex("51 3F 10");

  it("decodes ipmi_sim's answer: PEF 1.5, all six actions, 16 filters", () => {
    expect(getPefCapabilities.decodeResponse(IPMI_SIM)).toEqual({
      pefVersion: { major: 1, minor: 5 },
      actionSupport: {
        alert: true,
        powerDown: true,
        reset: true,
        powerCycle: true,
        oemAction: true,
        diagnosticInterrupt: true,
      },
      oemEventRecordFiltering: false,
      filterTableSize: 16,
    } satisfies PefCapabilities);
    expect(getPefCapabilities.encodeResponse(getPefCapabilities.decodeResponse(IPMI_SIM))).toEqual(IPMI_SIM);
  });

  it("rejects a truncated answer", () => {
    expect(() => getPefCapabilities.decodeResponse(hex("51 3F"))).toThrow(IpmiDecodeError);
  });

  it("round-trips any capabilities", () => {
    const b = fc.boolean();
    const arb: fc.Arbitrary<PefCapabilities> = fc.record({
      pefVersion: fc.record({
        major: fc.integer({ min: 0, max: 15 }),
        minor: fc.integer({ min: 0, max: 15 }),
      }),
      actionSupport: fc.record({
        alert: b,
        powerDown: b,
        reset: b,
        powerCycle: b,
        oemAction: b,
        diagnosticInterrupt: b,
      }),
      oemEventRecordFiltering: b,
      filterTableSize: byte,
    });
    fc.assert(
      fc.property(arb, (c) => {
        expect(getPefCapabilities.decodeResponse(getPefCapabilities.encodeResponse(c))).toEqual(c);
      }),
    );
  });
});

describe("Arm PEF Postpone Timer", () => {
  it("sends the timeout byte and reads the countdown", () => {
    expect(armPefPostponeTimer.encodeRequest({ timeout: PefPostpone.GetCountdown })).toEqual(hex("FF"));
    expect(armPefPostponeTimer.decodeRequest(hex("3c"))).toEqual({ timeout: 60 });
    expect(armPefPostponeTimer.decodeResponse(hex("1e"))).toEqual({ countdown: 30 });
    expect(armPefPostponeTimer.encodeResponse({ countdown: 30 })).toEqual(hex("1e"));
    expect(() => armPefPostponeTimer.decodeResponse(Buffer.alloc(0))).toThrow(IpmiDecodeError);
  });
});

describe("Set / Get PEF Configuration Parameters", () => {
  it("are S/E 12h and 13h and share the configuration-parameter completion codes", () => {
    expect([setPefConfigurationParameters.cmd, getPefConfigurationParameters.cmd]).toEqual([0x12, 0x13]);
    expect(completionCodeName(0x82, setPefConfigurationParameters.completionCodes)).toBe(
      "Attempt to write a read-only parameter",
    );
    expect(completionCodeName(0x80, getPefConfigurationParameters.completionCodes)).toBe(
      "Parameter not supported",
    );
  });

  it("encodes ipmiutil's read of PEF control `01 00 00` and decodes ipmi_sim's `11 00`", () => {
    const q = { revisionOnly: false, selector: 1, setSelector: 0, blockSelector: 0 };
    expect(getPefConfigurationParameters.encodeRequest(q)).toEqual(hex("01 00 00"));
    expect(getPefConfigurationParameters.decodeRequest(hex("01 00 00"))).toEqual(q);
    const res = getPefConfigurationParameters.decodeResponse(hex("11 00"));
    expect(res).toEqual({ revision: 0x11, data: hex("00") });
    expect(getPefConfigurationParameters.encodeResponse(res)).toEqual(hex("11 00"));
  });

  it("asks for the revision only with byte 1 [7]", () => {
    const q = { revisionOnly: true, selector: 6, setSelector: 1, blockSelector: 0 };
    expect(getPefConfigurationParameters.encodeRequest(q)).toEqual(hex("86 01 00"));
    expect(getPefConfigurationParameters.decodeResponse(hex("11"))).toEqual({
      revision: 0x11,
      data: Buffer.alloc(0),
    });
    expect(() => getPefConfigurationParameters.decodeRequest(hex("86 01"))).toThrow(IpmiDecodeError);
  });

  it("readPefParameter runs Get and decodes the data by its selector", async () => {
    const filter = setPefConfigurationParameters.decodeRequest(
      hex("06 01 80 01 01 10 ff ff 01 ff 01 95 0a 00 00 00 00 00 00 00 00 00"),
    );
    const sent: unknown[] = [];
    const execute = (async (command, request) => {
      sent.push(request);
      return command.decodeResponse(
        getPefConfigurationParameters.encodeResponse(pefParameterResponse(filter)),
      );
    }) as Execute;
    await expect(readPefParameter(execute, 6, 1)).resolves.toEqual(filter);
    expect(sent).toEqual([{ revisionOnly: false, selector: 6, setSelector: 1, blockSelector: 0 }]);
  });

  it("pefParameterResponse answers a Get with revision 11h and the encoded data", () => {
    const res = pefParameterResponse({
      parameter: "pefControl",
      enable: false,
      eventMessages: false,
      startupDelay: false,
      alertStartupDelay: false,
    });
    expect(getPefConfigurationParameters.encodeResponse(res)).toEqual(hex("11 00"));
  });
});

describe("PET Acknowledge", () => {
  // PROTOCOL.md §1: FreeIPMI's session-less ack of the Dell PET: `… 17 | 02 00 26 7E E8 19 20 20 73 80 01 FF | C2`.
  const FREEIPMI_ACK = hex("02 00 26 7E E8 19 20 20 73 80 01 FF");

  it("is S/E 17h and decodes FreeIPMI's ack little-endian", () => {
    expect([petAcknowledge.netFn, petAcknowledge.cmd]).toEqual([NetFn.SensorEvent, 0x17]);
    expect(petAcknowledge.decodeRequest(FREEIPMI_ACK)).toEqual({
      sequence: 2,
      localTimestamp: 0x19e87e26,
      eventSourceType: 0x20,
      sensorDevice: 0x20,
      sensorNumber: 0x73,
      eventData: hex("80 01 FF"),
    } satisfies PetAcknowledgeRequest);
  });

  it("builds the same bytes from the Dell PET's varbind", () => {
    const ack = petAckFromVarbind(decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex)));
    expect(petAcknowledge.encodeRequest(ack)).toEqual(FREEIPMI_ACK);
  });

  it("rejects 11 bytes and refuses to encode event data that is not 3 bytes", () => {
    expect(() => petAcknowledge.decodeRequest(FREEIPMI_ACK.subarray(0, 11))).toThrow(IpmiDecodeError);
    const ack = petAcknowledge.decodeRequest(FREEIPMI_ACK);
    expect(() => petAcknowledge.encodeRequest({ ...ack, eventData: hex("80 01") })).toThrow(RangeError);
  });

  it("round-trips any ack", () => {
    const arb: fc.Arbitrary<PetAcknowledgeRequest> = fc.record({
      sequence: fc.integer({ min: 0, max: 0xffff }),
      localTimestamp: fc.integer({ min: 0, max: 0xffffffff }),
      eventSourceType: byte,
      sensorDevice: byte,
      sensorNumber: byte,
      eventData: fc.uint8Array({ minLength: 3, maxLength: 3 }).map(Buffer.from),
    });
    fc.assert(
      fc.property(arb, (a) => {
        expect(petAcknowledge.decodeRequest(petAcknowledge.encodeRequest(a))).toEqual(a);
      }),
    );
  });
});

describe("Get Sensor Reading", () => {
  // PROTOCOL.md §5: ipmi_sim answers `60 c0 00 00`.
  const IPMI_SIM = hex("60 c0 00 00");

  it("decodes ipmi_sim's answer: raw 60h, events and scanning on, nothing asserted", () => {
    const s = getSensorReading.decodeResponse(IPMI_SIM);
    expect(s).toEqual({
      reading: 0x60,
      eventMessagesEnabled: true,
      scanningEnabled: true,
      readingUnavailable: false,
      states0to7: 0,
      states8to14: 0,
    } satisfies SensorReading);
    expect(thresholdStatus(s)).toEqual({
      lnc: false,
      lcr: false,
      lnr: false,
      unc: false,
      ucr: false,
      unr: false,
    });
    expect(getSensorReading.encodeResponse(s)).toEqual(IPMI_SIM);
  });

  it("reads threshold comparison status and discrete states 0-14", () => {
    const s = getSensorReading.decodeResponse(hex("95 c0 d8"));
    expect(thresholdStatus(s)).toEqual({
      lnc: false,
      lcr: false,
      lnr: false,
      unc: true,
      ucr: true,
      unr: false,
    });
    expect(getSensorReading.decodeResponse(hex("00 20"))).toMatchObject({ readingUnavailable: true });
    expect(discreteStates(getSensorReading.decodeResponse(hex("00 c0 01 c0")))).toBe(0x4001);
    expect(thresholdStatus(getSensorReading.decodeResponse(hex("00 c0")))).toBeUndefined();
  });

  it("encodes the sensor number and rejects a one-byte or five-byte answer", () => {
    expect(getSensorReading.encodeRequest({ sensorNumber: 0x30 })).toEqual(hex("30"));
    expect(() => getSensorReading.decodeResponse(hex("60"))).toThrow(IpmiDecodeError);
    expect(() => getSensorReading.decodeResponse(hex("60 c0 00 00 00"))).toThrow(/trailing/);
  });

  it("round-trips any reading", () => {
    const arb: fc.Arbitrary<SensorReading> = fc
      .record({
        reading: byte,
        eventMessagesEnabled: fc.boolean(),
        scanningEnabled: fc.boolean(),
        readingUnavailable: fc.boolean(),
        states: fc.array(byte, { maxLength: 2 }),
      })
      .map(({ states: [a, b], ...s }) => ({
        ...s,
        ...(a !== undefined && { states0to7: a }),
        ...(b !== undefined && { states8to14: b }),
      }));
    fc.assert(
      fc.property(arb, (s) => {
        expect(getSensorReading.decodeResponse(getSensorReading.encodeResponse(s))).toEqual(s);
      }),
    );
  });
});

describe("Get Sensor Thresholds", () => {
  // PROTOCOL.md §5: ipmi_sim answers `38 00 00 00 70 90 a0` (upper thresholds only).
  const IPMI_SIM = hex("38 00 00 00 70 90 a0");

  it("decodes only the readable thresholds of ipmi_sim's answer", () => {
    const t = getSensorThresholds.decodeResponse(IPMI_SIM);
    expect(t).toEqual({ unc: 0x70, ucr: 0x90, unr: 0xa0 } satisfies SensorThresholds);
    expect(getSensorThresholds.encodeResponse(t)).toEqual(IPMI_SIM);
  });

  it("encodes the sensor number and rejects a truncated answer", () => {
    expect(getSensorThresholds.encodeRequest({ sensorNumber: 1 })).toEqual(hex("01"));
    expect(getSensorThresholds.decodeRequest(hex("01"))).toEqual({ sensorNumber: 1 });
    expect(() => getSensorThresholds.decodeResponse(IPMI_SIM.subarray(0, 6))).toThrow(IpmiDecodeError);
  });

  it("round-trips any set of readable thresholds", () => {
    const arb = fc.record(Object.fromEntries(THRESHOLD_NAMES.map((n) => [n, byte])), {
      requiredKeys: [],
    }) as fc.Arbitrary<SensorThresholds>;
    fc.assert(
      fc.property(arb, (t) => {
        expect(getSensorThresholds.decodeResponse(getSensorThresholds.encodeResponse(t))).toEqual(t);
      }),
    );
  });
});
