import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { authCode15, authentic15, password16, sealIpmi15 } from "../../src/ipmi/auth15.js";
import { activateSession, getSessionChallenge } from "../../src/ipmi/commands/app.js";
import { IpmiDecodeError } from "../../src/ipmi/errors.js";
import { decodeRequestMessage, decodeResponseMessage } from "../../src/ipmi/message.js";
import { decodeRmcp } from "../../src/ipmi/rmcp.js";
import { AuthType, decodeIpmi15 } from "../../src/ipmi/session15.js";

/**
 * Datagrams captured with `ipmitool -I lan -A MD5|PASSWORD -vvvvv mc info` (ipmitool 1.8.19) against
 * OpenIPMI's ipmi_sim, user admin, password "secret": neither side is petgate's code.
 */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const CAPTURED = {
  /** ipmitool → ipmi_sim: Set Session Privilege Level (administrator), MD5, session 82h. */
  md5Request: hex(`06 00 ff 07 02 96 70 32 fd 82 00 00 00 45 61 cb 3a 7d a6 3f 17 3f 80 33 05 6b ec 2b 82
    08 20 18 c8 81 10 3b 04 30`),
  /** ipmi_sim → ipmitool: its response (completion code 00h, privilege 4). */
  md5Response: hex(`06 00 ff 07 02 49 f5 f4 54 82 00 00 00 b1 e2 2f 2d ea 8b 8d 78 f8 88 ff 85 85 97 48 fa
    09 81 1c 63 20 10 3b 00 04 91`),
  /** ipmitool → ipmi_sim: Get Device ID, MD5, the next session sequence number. */
  md5GetDeviceId: hex(`06 00 ff 07 02 98 70 32 fd 82 00 00 00 25 fe 79 2b e6 11 b7 da 9c b2 7e c8 f6 7f de 23
    07 20 18 c8 81 18 01 66`),
  /** ipmitool → ipmi_sim: Set Session Privilege Level, straight password. */
  passwordRequest: hex(`06 00 ff 07 04 ee 2c 6a d7 02 01 00 00 73 65 63 72 65 74 00 00 00 00 00 00 00 00 00 00
    08 20 18 c8 81 10 3b 04 30`),
};
const SECRET = password16("secret");
const packet = (datagram: Buffer) => decodeIpmi15(decodeRmcp(datagram).body);

describe("IPMI 1.5 auth codes (IPMI 1.5 §6.12), against ipmitool's and ipmi_sim's bytes", () => {
  it.each([
    ["ipmitool's request", CAPTURED.md5Request],
    ["ipmi_sim's response", CAPTURED.md5Response],
    ["ipmitool's next request", CAPTURED.md5GetDeviceId],
  ])("MD5(password, session ID, message, sequence, password) is the auth code of %s", (_, datagram) => {
    const p = packet(datagram);
    expect(p.authType).toBe(AuthType.MD5);
    expect(p.sessionId).toBe(0x82);
    expect(authCode15(AuthType.MD5, SECRET, p)).toEqual(p.authCode);
    expect(authentic15(p, SECRET)).toBe(true);
  });

  it("a wrong password, another sequence number or an altered message fails the check", () => {
    const p = packet(CAPTURED.md5Request);
    expect(authentic15(p, password16("secreT"))).toBe(false);
    expect(authentic15({ ...p, sequence: p.sequence + 1 }, SECRET)).toBe(false);
    const altered = Buffer.from(p.message);
    altered[6] = 0x03; // operator instead of administrator
    expect(authentic15({ ...p, message: altered }, SECRET)).toBe(false);
  });

  it("straight password: the auth code on the wire is the password itself, zero-padded", () => {
    const p = packet(CAPTURED.passwordRequest);
    expect(p.authType).toBe(AuthType.Password);
    expect(p.authCode?.toString("latin1")).toBe(`secret${"\0".repeat(10)}`);
    expect(authentic15(p, SECRET)).toBe(true);
    expect(authentic15(p, password16("other"))).toBe(false);
  });

  it("seals the captured packets byte for byte", () => {
    for (const datagram of [CAPTURED.md5Request, CAPTURED.md5Response, CAPTURED.passwordRequest]) {
      const { authCode: _, ...p } = packet(datagram);
      expect(sealIpmi15(p, SECRET)).toEqual(datagram.subarray(4));
    }
  });

  it("the captured messages are the commands they claim", () => {
    const request = decodeRequestMessage(packet(CAPTURED.md5Request).message);
    expect([request.netFn, request.cmd, [...request.data]]).toEqual([6, 0x3b, [4]]);
    const response = decodeResponseMessage(packet(CAPTURED.md5Response).message);
    expect([response.completionCode, [...response.data]]).toEqual([0, [4]]);
  });

  it("refuses a password longer than the 16 bytes a 1.5 session has", () => {
    expect(() => password16("x".repeat(17))).toThrow(RangeError);
    expect(password16("x".repeat(16))).toHaveLength(16);
  });

  it("round-trips any sealed packet, and the seal checks only with the same password", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(AuthType.MD5, AuthType.Password),
        fc.string({ maxLength: 16 }).filter((s) => Buffer.byteLength(s, "latin1") <= 16),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
        (authType, password, sequence, sessionId, message) => {
          const key = password16(password);
          const decoded = decodeIpmi15(sealIpmi15({ authType, sequence, sessionId, message }, key));
          expect(decoded).toMatchObject({ authType, sequence, sessionId, message });
          expect(authentic15(decoded, key)).toBe(true);
          expect(authentic15(decoded, password16(`${password}!`.slice(0, 16)))).toBe(
            `${password}!`.slice(0, 16) === password,
          );
        },
      ),
    );
  });
});

describe("IPMI 1.5 decoders take any bytes", () => {
  const onlyDecodeErrors = (decode: (b: Buffer) => unknown) =>
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        (bytes) => {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(IpmiDecodeError);
          }
        },
      ),
      { numRuns: 2000 },
    );

  it("the session header throws nothing but IpmiDecodeError", () => onlyDecodeErrors(decodeIpmi15));
  it("Activate Session requests and responses throw nothing but IpmiDecodeError", () => {
    onlyDecodeErrors(activateSession.decodeRequest);
    onlyDecodeErrors(activateSession.decodeResponse);
  });
  it("Get Session Challenge requests and responses throw nothing but IpmiDecodeError", () => {
    onlyDecodeErrors(getSessionChallenge.decodeRequest);
    onlyDecodeErrors(getSessionChallenge.decodeResponse);
  });

  it("round-trips Activate Session and Get Session Challenge", () => {
    const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const level = fc.integer({ min: 1, max: 5 });
    const nibble = fc.integer({ min: 0, max: 15 });
    fc.assert(
      fc.property(
        fc.record({
          authType: nibble,
          maxPrivilege: level,
          challenge: bytes16,
          initialOutboundSequence: u32,
        }),
        fc.record({ authType: nibble, sessionId: u32, initialInboundSequence: u32, maxPrivilege: level }),
        fc.record({ temporarySessionId: u32, challenge: bytes16 }),
        fc.record({ authType: nibble, username: fc.stringMatching(/^[a-z0-9]{0,16}$/) }),
        (q, s, c, cq) => {
          expect(activateSession.decodeRequest(activateSession.encodeRequest(q))).toEqual(q);
          expect(activateSession.decodeResponse(activateSession.encodeResponse(s))).toEqual(s);
          expect(getSessionChallenge.decodeResponse(getSessionChallenge.encodeResponse(c))).toEqual(c);
          expect(getSessionChallenge.decodeRequest(getSessionChallenge.encodeRequest(cq))).toEqual(cq);
        },
      ),
    );
  });
});
