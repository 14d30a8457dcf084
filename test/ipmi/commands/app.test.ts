import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ChannelAuthCapabilities,
  type CipherSuiteRecord,
  CLOSE_SESSION_CODES,
  closeSession,
  coldReset,
  type DeviceId,
  encodeCipherSuiteRecords,
  fromBcd,
  getChannelAuthCapabilities,
  getChannelCipherSuites,
  getDeviceId,
  getSelfTestResults,
  getSystemGuid,
  PrivilegeLevel,
  parseCipherSuiteRecords,
  SET_SESSION_PRIVILEGE_CODES,
  type SelfTestResult,
  setSessionPrivilegeLevel,
} from "../../../src/ipmi/commands/app.js";
import { NetFn } from "../../../src/ipmi/commands/command.js";
import { completionCodeName } from "../../../src/ipmi/completion-codes.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const byte = fc.integer({ min: 0, max: 0xff });
const nibble = fc.integer({ min: 0, max: 0x0f });

describe("Get Device ID", () => {
  // ipmiutil-lan-e-against-ipmi_sim.log, seq 2: ipmiutil printed "firmware ver 9.08, IPMI v02, vendor=4753 prod=3842".
  const IPMI_SIM = hex("00 03 09 08 02 9f 91 12 00 02 0f 00 00 00 00");

  it("is App 01h with no request data", () => {
    expect([getDeviceId.netFn, getDeviceId.cmd]).toEqual([NetFn.App, 0x01]);
    expect(getDeviceId.encodeRequest()).toEqual(Buffer.alloc(0));
  });

  it("decodes ipmi_sim's answer as ipmiutil read it: firmware 9.08, IPMI 2.0, manufacturer 4753, product 0F02h", () => {
    expect(getDeviceId.decodeResponse(IPMI_SIM)).toEqual({
      deviceId: 0,
      deviceRevision: 3,
      providesSdrs: false,
      firmwareMajor: 9,
      updateInProgress: false,
      firmwareMinor: 8,
      firmwareMinorRaw: 0x08,
      ipmiVersion: { major: 2, minor: 0 },
      additionalDeviceSupport: {
        sensor: true,
        sdrRepository: true,
        sel: true,
        fruInventory: true,
        ipmbEventReceiver: true,
        ipmbEventGenerator: false,
        bridge: false,
        chassis: true,
      },
      manufacturerId: 4753,
      productId: 0x0f02,
      auxFirmwareRevision: hex("00000000"),
    } satisfies DeviceId);
  });

  it("re-encodes ipmi_sim's answer to the same bytes", () => {
    expect(getDeviceId.encodeResponse(getDeviceId.decodeResponse(IPMI_SIM))).toEqual(IPMI_SIM);
  });

  it("reads an IPMI 1.5 version byte (51h) and a BCD minor above 9", () => {
    const d = getDeviceId.decodeResponse(hex("20 81 85 42 51 00 a2 02 00 00 01"));
    expect(d).toMatchObject({
      deviceId: 0x20,
      providesSdrs: true,
      deviceRevision: 1,
      updateInProgress: true,
      firmwareMajor: 5,
      firmwareMinor: 42,
      ipmiVersion: { major: 1, minor: 5 },
      manufacturerId: 674,
      productId: 0x0100,
    });
    expect(d.auxFirmwareRevision).toBeUndefined();
  });

  it("takes a non-BCD minor revision as binary but keeps the raw byte", () => {
    expect(fromBcd(0x09)).toBe(9);
    expect(fromBcd(0x1a)).toBe(0x1a);
  });

  it("rejects a response cut short, and a partial auxiliary revision", () => {
    expect(() => getDeviceId.decodeResponse(IPMI_SIM.subarray(0, 10))).toThrow(IpmiDecodeError);
    expect(() => getDeviceId.decodeResponse(IPMI_SIM.subarray(0, 13))).toThrow(IpmiDecodeError);
    expect(() => getDeviceId.decodeResponse(Buffer.concat([IPMI_SIM, hex("00")]))).toThrow(/trailing/);
  });

  it("round-trips any device ID", () => {
    const arb: fc.Arbitrary<DeviceId> = fc
      .record({
        deviceId: byte,
        deviceRevision: nibble,
        providesSdrs: fc.boolean(),
        firmwareMajor: fc.integer({ min: 0, max: 0x7f }),
        updateInProgress: fc.boolean(),
        firmwareMinorRaw: byte,
        ipmiVersion: fc.record({ major: nibble, minor: nibble }),
        additionalDeviceSupport: fc.record({
          sensor: fc.boolean(),
          sdrRepository: fc.boolean(),
          sel: fc.boolean(),
          fruInventory: fc.boolean(),
          ipmbEventReceiver: fc.boolean(),
          ipmbEventGenerator: fc.boolean(),
          bridge: fc.boolean(),
          chassis: fc.boolean(),
        }),
        manufacturerId: fc.integer({ min: 0, max: 0xfffff }),
        productId: fc.integer({ min: 0, max: 0xffff }),
        auxFirmwareRevision: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }).map(Buffer.from), {
          nil: undefined,
        }),
      })
      .map(({ auxFirmwareRevision, ...d }) => ({
        ...d,
        firmwareMinor: fromBcd(d.firmwareMinorRaw),
        ...(auxFirmwareRevision && { auxFirmwareRevision }),
      }));
    fc.assert(
      fc.property(arb, (d) => {
        expect(getDeviceId.decodeResponse(getDeviceId.encodeResponse(d))).toEqual(d);
      }),
    );
  });
});

describe("Cold Reset", () => {
  it("is App 02h with no data either way", () => {
    expect([coldReset.netFn, coldReset.cmd]).toEqual([NetFn.App, 0x02]);
    expect(coldReset.encodeRequest()).toEqual(Buffer.alloc(0));
    expect(coldReset.decodeResponse(Buffer.alloc(0))).toBeUndefined();
    expect(() => coldReset.decodeRequest(hex("00"))).toThrow(IpmiDecodeError);
  });
});

describe("Get Self Test Results", () => {
  it("reads 55h as passed and 56h as not implemented", () => {
    expect(getSelfTestResults.decodeResponse(hex("55 00"))).toEqual({ result: "passed" });
    expect(getSelfTestResults.decodeResponse(hex("56 00"))).toEqual({ result: "notImplemented" });
  });

  it("names each failure bit of 57h", () => {
    expect(getSelfTestResults.decodeResponse(hex("57 81"))).toEqual({
      result: "corruptedOrInaccessible",
      failures: {
        selInaccessible: true,
        sdrRepositoryInaccessible: false,
        bmcFruInaccessible: false,
        ipmbSignalLinesUnresponsive: false,
        sdrRepositoryEmpty: false,
        fruInternalUseAreaCorrupted: false,
        bootBlockFirmwareCorrupted: false,
        operationalFirmwareCorrupted: true,
      },
    });
  });

  it("keeps 58h's and device-specific codes' second byte", () => {
    expect(getSelfTestResults.decodeResponse(hex("58 12"))).toEqual({
      result: "fatalHardwareError",
      detail: 0x12,
    });
    expect(getSelfTestResults.decodeResponse(hex("80 01"))).toEqual({
      result: "deviceSpecific",
      code: 0x80,
      detail: 1,
    });
  });

  it("rejects the reserved code FFh and a one-byte answer", () => {
    expect(() => getSelfTestResults.decodeResponse(hex("ff 00"))).toThrow(/reserved/);
    expect(() => getSelfTestResults.decodeResponse(hex("55"))).toThrow(IpmiDecodeError);
  });

  it("round-trips every result", () => {
    const arb: fc.Arbitrary<SelfTestResult> = fc.oneof(
      fc.constant({ result: "passed" as const }),
      fc.constant({ result: "notImplemented" as const }),
      fc.record({
        result: fc.constant("corruptedOrInaccessible" as const),
        failures: fc.record({
          selInaccessible: fc.boolean(),
          sdrRepositoryInaccessible: fc.boolean(),
          bmcFruInaccessible: fc.boolean(),
          ipmbSignalLinesUnresponsive: fc.boolean(),
          sdrRepositoryEmpty: fc.boolean(),
          fruInternalUseAreaCorrupted: fc.boolean(),
          bootBlockFirmwareCorrupted: fc.boolean(),
          operationalFirmwareCorrupted: fc.boolean(),
        }),
      }),
      fc.record({ result: fc.constant("fatalHardwareError" as const), detail: byte }),
      fc.record({
        result: fc.constant("deviceSpecific" as const),
        code: byte.filter((c) => (c < 0x55 || c > 0x58) && c !== 0xff),
        detail: byte,
      }),
    );
    fc.assert(
      fc.property(arb, (t) => {
        expect(getSelfTestResults.decodeResponse(getSelfTestResults.encodeResponse(t))).toEqual(t);
      }),
    );
  });
});

describe("Get System GUID", () => {
  it("returns the 16 bytes unchanged", () => {
    const guid = hex("a123456789abcdefa123456789abcdef");
    expect(getSystemGuid.decodeResponse(guid)).toEqual({ guid });
    expect(getSystemGuid.encodeResponse({ guid })).toEqual(guid);
    expect(() => getSystemGuid.decodeResponse(guid.subarray(0, 15))).toThrow(IpmiDecodeError);
  });
});

describe("Get Channel Authentication Capabilities", () => {
  // ipmiutil-lan-e-against-ipmi_sim.log, first packet: `20 18 c8 81 00 38 | 8e 04 | b5`.
  const REQUEST = hex("8e 04");
  const IPMI_SIM = hex("01 97 06 03 00 00 00 00");

  it("encodes ipmiutil's request: IPMI 2.0 data, this channel, administrator", () => {
    const q = { ipmi20ExtendedData: true, channel: 0x0e, maxPrivilege: PrivilegeLevel.Administrator };
    expect(getChannelAuthCapabilities.encodeRequest(q)).toEqual(REQUEST);
    expect(getChannelAuthCapabilities.decodeRequest(REQUEST)).toEqual(q);
  });

  it("decodes ipmi_sim's answer", () => {
    expect(getChannelAuthCapabilities.decodeResponse(IPMI_SIM)).toEqual({
      channel: 1,
      authTypes: { none: true, md2: true, md5: true, password: true, oem: false },
      ipmi20ExtendedData: true,
      kgSet: false,
      perMessageAuthDisabled: false,
      userLevelAuthDisabled: false,
      nonNullUsers: true,
      nullUsers: true,
      anonymousLogin: false,
      supportsIpmi20: true,
      supportsIpmi15: true,
      oemId: 0,
      oemAux: 0,
    } satisfies ChannelAuthCapabilities);
    expect(
      getChannelAuthCapabilities.encodeResponse(getChannelAuthCapabilities.decodeResponse(IPMI_SIM)),
    ).toEqual(IPMI_SIM);
  });

  it("rejects a reserved privilege level and a truncated answer", () => {
    expect(() => getChannelAuthCapabilities.decodeRequest(hex("8e 00"))).toThrow(/privilege level 0/);
    expect(() => getChannelAuthCapabilities.decodeRequest(hex("8e 06"))).toThrow(IpmiDecodeError);
    expect(() => getChannelAuthCapabilities.decodeResponse(IPMI_SIM.subarray(0, 7))).toThrow(IpmiDecodeError);
  });

  it("round-trips any answer", () => {
    const arb: fc.Arbitrary<ChannelAuthCapabilities> = fc.record({
      channel: byte,
      authTypes: fc.record({
        none: fc.boolean(),
        md2: fc.boolean(),
        md5: fc.boolean(),
        password: fc.boolean(),
        oem: fc.boolean(),
      }),
      ipmi20ExtendedData: fc.boolean(),
      kgSet: fc.boolean(),
      perMessageAuthDisabled: fc.boolean(),
      userLevelAuthDisabled: fc.boolean(),
      nonNullUsers: fc.boolean(),
      nullUsers: fc.boolean(),
      anonymousLogin: fc.boolean(),
      supportsIpmi20: fc.boolean(),
      supportsIpmi15: fc.boolean(),
      oemId: fc.integer({ min: 0, max: 0xffffff }),
      oemAux: byte,
    });
    fc.assert(
      fc.property(arb, (c) => {
        const cmd = getChannelAuthCapabilities;
        expect(cmd.decodeResponse(cmd.encodeResponse(c))).toEqual(c);
      }),
    );
  });
});

describe("Get Channel Cipher Suites", () => {
  // PROTOCOL.md §3: ipmi_sim's first two answers; the second record straddles them.
  const FIRST = hex("01 C0 00 00 40 80 C0 01 01 40 80 C0 02 01 41 80 C0");
  const SECOND_START = hex("01 03 01 41 81");

  it("encodes the request that steps through the list by suite", () => {
    const q = { channel: 0x0e, payloadType: 0, listBySuite: true, listIndex: 1 };
    expect(getChannelCipherSuites.encodeRequest(q)).toEqual(hex("0e 00 81"));
    expect(getChannelCipherSuites.decodeRequest(hex("0e 00 81"))).toEqual(q);
  });

  it("splits an answer into the channel and 16 record bytes", () => {
    const res = getChannelCipherSuites.decodeResponse(FIRST);
    expect(res.channel).toBe(1);
    expect(res.records).toEqual(FIRST.subarray(1));
    expect(getChannelCipherSuites.encodeResponse(res)).toEqual(FIRST);
  });

  it("parses the concatenated records of ipmi_sim's first answers into suites 0-3", () => {
    const first = getChannelCipherSuites.decodeResponse(FIRST).records;
    const second = getChannelCipherSuites.decodeResponse(SECOND_START).records;
    expect(parseCipherSuiteRecords(Buffer.concat([first, second]))).toEqual([
      { id: 0, authentication: 0, integrity: [0], confidentiality: [0] },
      { id: 1, authentication: 1, integrity: [0], confidentiality: [0] },
      { id: 2, authentication: 1, integrity: [1], confidentiality: [0] },
      { id: 3, authentication: 1, integrity: [1], confidentiality: [1] },
    ] satisfies CipherSuiteRecord[]);
  });

  it("reads an OEM record's IANA number", () => {
    expect(parseCipherSuiteRecords(hex("C1 80 91 12 00 03 44 81"))).toEqual([
      { id: 0x80, oemIana: 4753, authentication: 3, integrity: [4], confidentiality: [1] },
    ]);
  });

  it("rejects records that do not start with C0h/C1h, lack an authentication algorithm or end early", () => {
    expect(() => parseCipherSuiteRecords(hex("01 C0 00 00"))).toThrow(IpmiDecodeError);
    expect(() => parseCipherSuiteRecords(hex("C0 03 41 81"))).toThrow(/no authentication/);
    expect(() => parseCipherSuiteRecords(hex("C0"))).toThrow(IpmiDecodeError);
    expect(() => parseCipherSuiteRecords(hex("C1 80 91"))).toThrow(IpmiDecodeError);
    expect(() => getChannelCipherSuites.decodeResponse(Buffer.concat([FIRST, hex("00")]))).toThrow(
      /at most 16/,
    );
  });

  it("round-trips records through encodeCipherSuiteRecords", () => {
    const arb = fc.array(
      fc
        .record({
          id: byte,
          oemIana: fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
          authentication: fc.integer({ min: 0, max: 0x3f }),
          integrity: fc.array(fc.integer({ min: 0, max: 0x3f }), { maxLength: 3 }),
          confidentiality: fc.array(fc.integer({ min: 0, max: 0x3f }), { maxLength: 3 }),
        })
        .map(({ oemIana, ...r }): CipherSuiteRecord => ({ ...r, ...(oemIana !== undefined && { oemIana }) })),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(arb, (records) => {
        expect(parseCipherSuiteRecords(encodeCipherSuiteRecords(records))).toEqual(records);
      }),
    );
  });
});

describe("Set Session Privilege Level", () => {
  // ipmiutil-lan-e-against-ipmi_sim.log: `20 18 c8 81 04 3b | 04 | 3c` → `81 1c 63 20 04 3b 00 | 04 | 9d`.
  it("encodes ipmiutil's request for administrator and decodes ipmi_sim's answer", () => {
    expect(setSessionPrivilegeLevel.encodeRequest({ privilege: PrivilegeLevel.Administrator })).toEqual(
      hex("04"),
    );
    expect(setSessionPrivilegeLevel.decodeRequest(hex("04"))).toEqual({ privilege: 4 });
    expect(setSessionPrivilegeLevel.decodeResponse(hex("04"))).toEqual({ privilege: 4 });
    expect(setSessionPrivilegeLevel.encodeResponse({ privilege: 4 })).toEqual(hex("04"));
  });

  it("accepts 0 (query) in a request only, and rejects reserved levels", () => {
    expect(setSessionPrivilegeLevel.decodeRequest(hex("00"))).toEqual({ privilege: 0 });
    expect(() => setSessionPrivilegeLevel.decodeResponse(hex("00"))).toThrow(IpmiDecodeError);
    expect(() => setSessionPrivilegeLevel.decodeRequest(hex("06"))).toThrow(/reserved/);
    expect(() => setSessionPrivilegeLevel.decodeResponse(Buffer.alloc(0))).toThrow(IpmiDecodeError);
  });

  it("names its command-specific completion codes", () => {
    expect(completionCodeName(0x81, SET_SESSION_PRIVILEGE_CODES)).toMatch(/exceeds/);
    expect(completionCodeName(0x80, SET_SESSION_PRIVILEGE_CODES)).toMatch(/not available/);
  });
});

describe("Close Session", () => {
  // ipmiutil-lan-e-against-ipmi_sim.log, last command: `… 3c | 82 00 00 00`.
  it("encodes the BMC session ID 82h little-endian, as ipmiutil sent it", () => {
    expect(closeSession.encodeRequest({ sessionId: 0x82 })).toEqual(hex("82 00 00 00"));
    expect(closeSession.decodeRequest(hex("82 00 00 00"))).toEqual({ sessionId: 0x82 });
  });

  it("carries a session handle only with session ID 0", () => {
    expect(closeSession.encodeRequest({ sessionId: 0, sessionHandle: 3 })).toEqual(hex("00 00 00 00 03"));
    expect(closeSession.decodeRequest(hex("00 00 00 00 03"))).toEqual({ sessionId: 0, sessionHandle: 3 });
    expect(() => closeSession.decodeRequest(hex("82 00 00 00 03"))).toThrow(IpmiDecodeError);
    expect(() => closeSession.encodeRequest({ sessionId: 1, sessionHandle: 3 })).toThrow(RangeError);
    expect(() => closeSession.decodeRequest(hex("82 00 00"))).toThrow(IpmiDecodeError);
  });

  it("names 87h", () => {
    expect(completionCodeName(0x87, CLOSE_SESSION_CODES)).toBe("Invalid session ID in request");
  });

  it("round-trips any session ID", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (sessionId) => {
        expect(closeSession.decodeRequest(closeSession.encodeRequest({ sessionId }))).toEqual({ sessionId });
      }),
    );
  });
});
