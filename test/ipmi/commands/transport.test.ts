import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AuthTypes,
  decodeLanParameter,
  encodeLanParameter,
  getLanConfigurationParameters,
  LAN_PARAMETER_SELECTORS,
  type LanParameter,
  setLanConfigurationParameters,
} from "../../../src/ipmi/commands/transport.js";
import { completionCodeName } from "../../../src/ipmi/completion-codes.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/**
 * Decrypted Set LAN Configuration Parameters requests ipmiutil sent to ipmi_sim, from
 * test/fixtures/ipmi/ipmiutil-lan-e-against-ipmi_sim.log (channel 1), with ipmi_sim's completion code.
 */
const IPMIUTIL_SETS: [request: string, completionCode: number][] = [
  ["01 02 16161616 00", 0x82], // auth type enables: read-only in ipmi_sim
  ["01 0a 00", 0x80],
  ["01 03 7f000005", 0x00],
  ["01 06 ff000000", 0x00],
  ["01 07 404010", 0x00],
  ["01 0a 01", 0x80],
  ["01 0b 04", 0x80],
  ["01 0c 7f000001", 0x00],
  ["01 0d 001122334455", 0x00],
];

/**
 * Get LAN Configuration Parameters `01 <param> 00 00` → response data after the completion code:
 * the same bytes in the ipmiutil log and from `ipmitool … raw 0x0c 0x02 0x01 <param> 0 0` against
 * ipmi_sim (params 8-11, 18, 19, 25, 26 answered 80h, not supported).
 */
const IPMI_SIM_GETS: Record<number, string> = {
  0: "11 00",
  1: "11 1f",
  2: "11 17 17 17 17 00",
  3: "11 00000000",
  4: "11 00",
  5: "11 000000000000",
  6: "11 00000000",
  7: "11 000000",
  12: "11 00000000",
  13: "11 000000000000",
  14: "11 00000000",
  15: "11 000000000000",
  16: "11 7075626c6963 000000000000000000000000",
  17: "11 00",
  20: "11 0000",
  21: "11 00",
  22: "11 0f",
  23: "11 00 0102030405060708090a0b0c0d0e0f10",
  24: "11 44 4444444444444444",
};

const ALL: AuthTypes = { none: true, md2: true, md5: true, password: true, oem: false };
const NONE: AuthTypes = { none: false, md2: false, md5: false, password: false, oem: false };

describe("Set / Get LAN Configuration Parameters (netFn 0Ch)", () => {
  it("carry the spec's command numbers and name the 80h-83h codes", () => {
    expect([setLanConfigurationParameters.netFn, setLanConfigurationParameters.cmd]).toEqual([0x0c, 0x01]);
    expect([getLanConfigurationParameters.netFn, getLanConfigurationParameters.cmd]).toEqual([0x0c, 0x02]);
    expect(completionCodeName(0x82, setLanConfigurationParameters.completionCodes)).toBe(
      "Attempt to write a read-only parameter",
    );
  });

  it("decodes ipmiutil's Set requests to typed parameters and encodes them back byte for byte", () => {
    const decoded = IPMIUTIL_SETS.map(([b]) => setLanConfigurationParameters.decodeRequest(hex(b)));
    expect(decoded.map((d) => d.channel)).toEqual(IPMIUTIL_SETS.map(() => 1));
    expect(decoded.map((d) => d.parameter)).toEqual([
      {
        parameter: "authTypeEnables",
        callback: { none: false, md2: true, md5: true, password: true, oem: false },
        user: { none: false, md2: true, md5: true, password: true, oem: false },
        operator: { none: false, md2: true, md5: true, password: true, oem: false },
        admin: { none: false, md2: true, md5: true, password: true, oem: false },
        oem: NONE,
      },
      { parameter: "bmcGeneratedArpControl", arpResponses: false, gratuitousArps: false },
      { parameter: "ipAddress", ip: "127.0.0.5" },
      { parameter: "subnetMask", mask: "255.0.0.0" },
      {
        parameter: "ipv4HeaderParameters",
        timeToLive: 0x40,
        flags: 0b010,
        precedence: 0,
        typeOfService: 0b1000,
      },
      { parameter: "bmcGeneratedArpControl", arpResponses: false, gratuitousArps: true },
      { parameter: "gratuitousArpInterval", interval: 4 },
      { parameter: "defaultGatewayAddress", ip: "127.0.0.1" },
      { parameter: "defaultGatewayMacAddress", mac: "00:11:22:33:44:55" },
    ]);
    for (const [b] of IPMIUTIL_SETS) {
      expect(
        setLanConfigurationParameters.encodeRequest(setLanConfigurationParameters.decodeRequest(hex(b))),
      ).toEqual(hex(b));
    }
  });

  it("encodes the Get requests ipmiutil sent (`01 05 00 00`) and the revision-only flag", () => {
    const req = { revisionOnly: false, channel: 1, selector: 5, setSelector: 0, blockSelector: 0 };
    expect(getLanConfigurationParameters.encodeRequest(req)).toEqual(hex("01 05 00 00"));
    expect(getLanConfigurationParameters.decodeRequest(hex("01 05 00 00"))).toEqual(req);
    expect(getLanConfigurationParameters.encodeRequest({ ...req, revisionOnly: true, selector: 3 })).toEqual(
      hex("81 03 00 00"),
    );
    expect(getLanConfigurationParameters.decodeResponse(hex("11"))).toEqual({
      revision: 0x11,
      data: Buffer.alloc(0),
    });
  });

  it("decodes ipmi_sim's answers as `ipmitool lan print 1` showed them", () => {
    const get = (selector: number) => {
      const res = getLanConfigurationParameters.decodeResponse(hex(IPMI_SIM_GETS[selector] as string));
      expect(res.revision).toBe(0x11);
      return decodeLanParameter(selector, res.data);
    };
    expect(get(0)).toEqual({ parameter: "setInProgress", state: "setComplete" });
    // "Auth Type Support : NONE MD2 MD5 PASSWORD"
    expect(get(1)).toEqual({ parameter: "authTypeSupport", types: ALL });
    expect(get(2)).toEqual({
      parameter: "authTypeEnables",
      callback: ALL,
      user: ALL,
      operator: ALL,
      admin: ALL,
      oem: NONE,
    });
    expect(get(3)).toEqual({ parameter: "ipAddress", ip: "0.0.0.0" });
    expect(get(4)).toEqual({ parameter: "ipAddressSource", source: "unspecified" });
    expect(get(5)).toEqual({ parameter: "macAddress", mac: "00:00:00:00:00:00" });
    expect(get(7)).toEqual({
      parameter: "ipv4HeaderParameters",
      timeToLive: 0,
      flags: 0,
      precedence: 0,
      typeOfService: 0,
    });
    expect(get(16)).toEqual({ parameter: "community", community: "public" });
    expect(get(17)).toEqual({ parameter: "destinationCount", count: 0 });
    // "802.1q VLAN ID : Disabled", "802.1q VLAN Priority : 0"
    expect(get(20)).toEqual({ parameter: "vlanId", enabled: false, vlanId: 0 });
    expect(get(21)).toEqual({ parameter: "vlanPriority", priority: 0 });
    expect(get(22)).toEqual({ parameter: "cipherSuiteEntrySupport", count: 15 });
    // "RMCP+ Cipher Suites : 1,2,…,15" (the first 15 of the 16 IDs sent)
    expect(get(23)).toEqual({
      parameter: "cipherSuiteEntries",
      ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    });
    // "Cipher Suite Priv Max : aaaaaaaaaaaaaaa" (a = ADMIN, nibble 4)
    expect(get(24)).toEqual({
      parameter: "cipherSuitePrivilegeLevels",
      levels: Array(16).fill("administrator"),
    });
  });

  it("encodes every ipmi_sim answer back to its bytes, except reserved bits ipmi_sim sets", () => {
    for (const [selector, text] of Object.entries(IPMI_SIM_GETS)) {
      const data = hex(text).subarray(1);
      const back = encodeLanParameter(decodeLanParameter(Number(selector), data));
      expect(back.selector).toBe(Number(selector));
      if (selector === "1")
        expect(back.data).toEqual(hex("17")); // [3] reserved: 1Fh → 17h
      else if (selector === "24")
        expect(back.data).toEqual(hex("00 4444444444444444")); // reserved byte 44h → 00h
      else expect(back.data).toEqual(data);
    }
  });

  describe("alert destinations (params 17-19, 25)", () => {
    it("param 18: ipmiutil's `n 00 01 00` is a PET destination, no ack, timeout 1, no retries", () => {
      const p: LanParameter = {
        parameter: "destinationType",
        set: 1,
        acknowledge: false,
        type: "pet",
        ackTimeoutSeconds: 1,
        retries: 0,
      };
      expect(encodeLanParameter(p)).toEqual({ selector: 18, data: hex("01 00 01 00") });
      expect(decodeLanParameter(18, hex("01 00 01 00"))).toEqual(p);
      expect(decodeLanParameter(18, hex("02 87 05 03"))).toEqual({
        parameter: "destinationType",
        set: 2,
        acknowledge: true,
        type: "oem2",
        ackTimeoutSeconds: 5,
        retries: 3,
      });
    });

    it("param 19: set, format 0 (IPv4 + MAC), gateway, IP, MAC", () => {
      const p: LanParameter = {
        parameter: "destinationAddress",
        set: 1,
        gateway: "default",
        ip: "192.168.1.10",
        mac: "aa:bb:cc:dd:ee:ff",
      };
      const data = hex("01 00 00 c0a8010a aabbccddeeff");
      expect(encodeLanParameter(p)).toEqual({ selector: 19, data });
      expect(decodeLanParameter(19, data)).toEqual(p);
      expect(decodeLanParameter(19, hex("03 00 01 0a000001 001122334455"))).toMatchObject({
        set: 3,
        gateway: "backup",
      });
    });

    it("keeps a destination address in another format raw", () => {
      const data = hex("01 10 00 c0a8010a aabbccddeeff");
      expect(decodeLanParameter(19, data)).toEqual({ parameter: "raw", selector: 19, data });
    });

    it("param 25: the VLAN TAG stays a raw 16-bit value", () => {
      const data = hex("01 10 6400");
      expect(decodeLanParameter(25, data)).toEqual({
        parameter: "destinationVlanTag",
        set: 1,
        format: "vlanTag",
        vlanTag: 100,
      });
      expect(encodeLanParameter(decodeLanParameter(25, data)).data).toEqual(data);
    });

    it("rejects reserved destination types", () => {
      expect(() => decodeLanParameter(18, hex("01 03 01 00"))).toThrow(IpmiDecodeError);
    });
  });

  it("param 20: VLAN ID 100 enabled is 64h, 80h", () => {
    expect(encodeLanParameter({ parameter: "vlanId", enabled: true, vlanId: 100 }).data).toEqual(
      hex("64 80"),
    );
    expect(decodeLanParameter(20, hex("ff 8f"))).toEqual({
      parameter: "vlanId",
      enabled: true,
      vlanId: 0xfff,
    });
  });

  it("param 24: disabling cipher 0 writes privilege 0 in the low nibble of the first byte", () => {
    const levels = ["unused", "administrator", "administrator", "administrator"] as const;
    expect(encodeLanParameter({ parameter: "cipherSuitePrivilegeLevels", levels: [...levels] }).data).toEqual(
      hex("00 40 44"),
    );
  });

  it("param 26: bad password threshold, intervals LE in 10-second units", () => {
    const data = hex("01 03 0600 1e00");
    expect(decodeLanParameter(26, data)).toEqual({
      parameter: "badPasswordThreshold",
      userDisabledEventMessage: true,
      threshold: 3,
      attemptCountResetInterval: 6,
      userLockoutInterval: 30,
    });
  });

  it("params 8/9: RMCP ports little-endian (26Fh = 623)", () => {
    expect(encodeLanParameter({ parameter: "primaryRmcpPort", port: 623 })).toEqual({
      selector: 8,
      data: hex("6f02"),
    });
    expect(decodeLanParameter(9, hex("9802"))).toEqual({ parameter: "secondaryRmcpPort", port: 664 });
  });

  it("community: NUL-padded to 18 bytes, at most 18 characters", () => {
    expect(encodeLanParameter({ parameter: "community", community: "public" }).data).toEqual(
      hex(IPMI_SIM_GETS[16] as string).subarray(1),
    );
    expect(() => encodeLanParameter({ parameter: "community", community: "x".repeat(19) })).toThrow(
      RangeError,
    );
  });

  it("rejects data of the wrong length, reserved IP sources, and bad addresses", () => {
    expect(() => decodeLanParameter(3, hex("7f0000"))).toThrow(IpmiDecodeError);
    expect(() => decodeLanParameter(16, hex("7075626c6963"))).toThrow(IpmiDecodeError);
    expect(() => decodeLanParameter(4, hex("05"))).toThrow(IpmiDecodeError);
    expect(() => setLanConfigurationParameters.decodeRequest(hex("01 03 7f00"))).toThrow(IpmiDecodeError);
    expect(() => encodeLanParameter({ parameter: "ipAddress", ip: "10.0.0.256" })).toThrow(RangeError);
    expect(() => encodeLanParameter({ parameter: "macAddress", mac: "00:11:22:33:44" })).toThrow(RangeError);
  });

  it("passes parameters above 26 through raw", () => {
    const p = decodeLanParameter(0xc0, hex("010203"));
    expect(p).toEqual({ parameter: "raw", selector: 0xc0, data: hex("010203") });
    expect(setLanConfigurationParameters.encodeRequest({ channel: 1, parameter: p })).toEqual(
      hex("01 c0 010203"),
    );
  });

  it("round-trips every typed parameter through Set's request codec", () => {
    const byte = fc.nat(0xff);
    const ip = fc.tuple(byte, byte, byte, byte).map((b) => b.join("."));
    const mac = fc
      .uint8Array({ minLength: 6, maxLength: 6 })
      .map((a) => [...a].map((b) => b.toString(16).padStart(2, "0")).join(":"));
    const auth = fc.record({
      none: fc.boolean(),
      md2: fc.boolean(),
      md5: fc.boolean(),
      password: fc.boolean(),
      oem: fc.boolean(),
    });
    const privilege = fc.constantFrom(
      "unused",
      "callback",
      "user",
      "operator",
      "administrator",
      "oem" as const,
    );
    const arb: fc.Arbitrary<LanParameter> = fc.oneof(
      fc.record({
        parameter: fc.constant("setInProgress" as const),
        state: fc.constantFrom("setComplete", "setInProgress", "commitWrite", "reserved" as const),
      }),
      fc.record({ parameter: fc.constant("authTypeSupport" as const), types: auth }),
      fc.record({
        parameter: fc.constant("authTypeEnables" as const),
        callback: auth,
        user: auth,
        operator: auth,
        admin: auth,
        oem: auth,
      }),
      fc.record({
        parameter: fc.constantFrom("ipAddress", "defaultGatewayAddress", "backupGatewayAddress" as const),
        ip,
      }),
      fc.record({
        parameter: fc.constant("ipAddressSource" as const),
        source: fc.constantFrom("unspecified", "static", "dhcp", "bios", "other" as const),
      }),
      fc.record({
        parameter: fc.constantFrom(
          "macAddress",
          "defaultGatewayMacAddress",
          "backupGatewayMacAddress" as const,
        ),
        mac,
      }),
      fc.record({ parameter: fc.constant("subnetMask" as const), mask: ip }),
      fc.record({
        parameter: fc.constant("ipv4HeaderParameters" as const),
        timeToLive: byte,
        flags: fc.nat(7),
        precedence: fc.nat(7),
        typeOfService: fc.nat(15),
      }),
      fc.record({
        parameter: fc.constantFrom("primaryRmcpPort", "secondaryRmcpPort" as const),
        port: fc.nat(0xffff),
      }),
      fc.record({
        parameter: fc.constant("bmcGeneratedArpControl" as const),
        arpResponses: fc.boolean(),
        gratuitousArps: fc.boolean(),
      }),
      fc.record({ parameter: fc.constant("gratuitousArpInterval" as const), interval: byte }),
      fc.record({
        parameter: fc.constant("community" as const),
        community: fc.string({
          maxLength: 18,
          unit: fc.integer({ min: 1, max: 0xff }).map((c) => String.fromCharCode(c)),
        }),
      }),
      fc.record({ parameter: fc.constant("destinationCount" as const), count: fc.nat(15) }),
      fc.record({
        parameter: fc.constant("destinationType" as const),
        set: fc.nat(15),
        acknowledge: fc.boolean(),
        type: fc.constantFrom("pet", "oem1", "oem2" as const),
        ackTimeoutSeconds: byte,
        retries: fc.nat(7),
      }),
      fc.record({
        parameter: fc.constant("destinationAddress" as const),
        set: fc.nat(15),
        gateway: fc.constantFrom("default", "backup" as const),
        ip,
        mac,
      }),
      fc.record({ parameter: fc.constant("vlanId" as const), enabled: fc.boolean(), vlanId: fc.nat(0xfff) }),
      fc.record({ parameter: fc.constant("vlanPriority" as const), priority: fc.nat(7) }),
      fc.record({ parameter: fc.constant("cipherSuiteEntrySupport" as const), count: fc.nat(16) }),
      fc.record({
        parameter: fc.constant("cipherSuiteEntries" as const),
        ids: fc.array(byte, { maxLength: 16 }),
      }),
      fc.record({
        parameter: fc.constant("cipherSuitePrivilegeLevels" as const),
        levels: fc
          .integer({ min: 0, max: 8 })
          .chain((n) => fc.array(privilege, { minLength: 2 * n, maxLength: 2 * n })),
      }),
      fc.record({
        parameter: fc.constant("destinationVlanTag" as const),
        set: fc.nat(15),
        format: fc.constantFrom("none", "vlanTag" as const),
        vlanTag: fc.nat(0xffff),
      }),
      fc.record({
        parameter: fc.constant("badPasswordThreshold" as const),
        userDisabledEventMessage: fc.boolean(),
        threshold: byte,
        attemptCountResetInterval: fc.nat(0xffff),
        userLockoutInterval: fc.nat(0xffff),
      }),
      fc.record({
        parameter: fc.constant("raw" as const),
        selector: fc.integer({ min: 27, max: 0xff }),
        data: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
      }),
    );
    fc.assert(
      fc.property(arb, fc.nat(15), (parameter, channel) => {
        const wire = setLanConfigurationParameters.encodeRequest({ channel, parameter });
        expect(setLanConfigurationParameters.decodeRequest(wire)).toEqual({ channel, parameter });
      }),
      { numRuns: 500 },
    );
  });

  it("numbers the parameters 0-26 in spec order", () => {
    expect(Object.values(LAN_PARAMETER_SELECTORS)).toEqual([...Array(27).keys()]);
  });
});
