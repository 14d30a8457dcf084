import { describe, expect, it } from "vitest";
import { getUserPayloadAccess, setUserPayloadAccess } from "../../../src/ipmi/commands/payload.js";
import {
  decodeSolParameter,
  encodeSolParameter,
  getSolConfigurationParameters,
  type SolParameter,
  setSolConfigurationParameters,
} from "../../../src/ipmi/commands/sol.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("SOL configuration parameters (IPMI 2.0 §26.2-26.3)", () => {
  it("decodes the Set requests ipmiutil lan -e sends, and encodes them back to the same bytes", () => {
    // Channel 1: enable SOL, authentication 82h (force encryption, user), 20 ms / 50 chars,
    // 6 retries 200 ms apart, 115.2 kbps (ipmiutil's defaults for a BMC it does not know).
    const requests: [string, SolParameter][] = [
      ["01 01 01", { parameter: "enable", enabled: true }],
      [
        "01 02 82",
        { parameter: "authentication", forceEncryption: true, forceAuthentication: false, privilege: 2 },
      ],
      ["01 03 04 32", { parameter: "characterAccumulate", interval: 4, sendThreshold: 50 }],
      ["01 04 06 14", { parameter: "retry", count: 6, interval: 20 }],
      ["01 05 0a", { parameter: "nonVolatileBitRate", rate: "115.2" }],
      ["01 06 06", { parameter: "volatileBitRate", rate: "9.6" }],
      ["01 08 6f 02", { parameter: "payloadPort", port: 623 }],
      ["01 00 02", { parameter: "setInProgress", state: "commitWrite" }],
    ];
    for (const [bytes, parameter] of requests) {
      expect(setSolConfigurationParameters.decodeRequest(hex(bytes))).toEqual({ channel: 1, parameter });
      expect(setSolConfigurationParameters.encodeRequest({ channel: 1, parameter })).toEqual(hex(bytes));
    }
  });

  it("Get shares Get LAN's layout; reserved values are refused, unknown selectors kept raw", () => {
    const req = { revisionOnly: false, channel: 1, selector: 7, setSelector: 0, blockSelector: 0 };
    expect(getSolConfigurationParameters.encodeRequest(req)).toEqual(hex("01 07 00 00"));
    expect(getSolConfigurationParameters.decodeResponse(hex("11 01"))).toEqual({
      revision: 0x11,
      data: hex("01"),
    });
    expect(decodeSolParameter(7, hex("01"))).toEqual({ parameter: "payloadChannel", channel: 1 });
    expect(() => decodeSolParameter(5, hex("05"))).toThrow(/bit rate code 5 is reserved/);
    expect(() => decodeSolParameter(3, hex("00 32"))).toThrow(/reserved/);
    expect(() => decodeSolParameter(2, hex("01"))).toThrow(/privilege level 1/);
    expect(() => decodeSolParameter(1, hex("01 00"))).toThrow(/2 bytes, not 1/);
    expect(decodeSolParameter(0xc0, hex("ab"))).toEqual({
      parameter: "raw",
      selector: 0xc0,
      data: hex("ab"),
    });
    expect(encodeSolParameter({ parameter: "raw", selector: 0xc0, data: hex("ab") })).toEqual({
      selector: 0xc0,
      data: hex("ab"),
    });
  });
});

describe("User Payload Access (IPMI 2.0 §24.6-24.7)", () => {
  it("reads ipmiutil's request enabling SOL for user 1, and round-trips Get's answer", () => {
    const request = hex("01 01 02 00 00 00");
    const decoded = setUserPayloadAccess.decodeRequest(request);
    expect(decoded).toEqual({
      channel: 1,
      userId: 1,
      operation: "enable",
      payloads: { standard: 2, oem: 0 },
    });
    expect(setUserPayloadAccess.encodeRequest(decoded)).toEqual(request);
    expect(setUserPayloadAccess.decodeRequest(hex("01 42 02 00 00 00")).operation).toBe("disable");
    expect(getUserPayloadAccess.decodeResponse(hex("03 00 01 00"))).toEqual({ standard: 2, oem: 1 });
    expect(getUserPayloadAccess.encodeResponse({ standard: 2, oem: 1 })).toEqual(hex("02 00 01 00"));
  });
});
