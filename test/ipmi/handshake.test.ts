import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IpmiDecodeError } from "../../src/ipmi/errors.js";
import {
  decodeRequestMessage,
  decodeResponseMessage,
  encodeRequestMessage,
  encodeResponseMessage,
} from "../../src/ipmi/message.js";
import {
  additionalKeys,
  decodeOpenSessionResponse,
  decodeRakp2,
  encodeOpenSessionRequest,
  encodeRakp1,
  type RakpExchange,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
  userKey,
} from "../../src/ipmi/rakp.js";
import {
  decodeAsf,
  decodeRmcp,
  encodePresencePing,
  encodePresencePong,
  encodeRmcp,
  RmcpClass,
} from "../../src/ipmi/rmcp.js";
import { decodeIpmi15, encodeIpmi15 } from "../../src/ipmi/session15.js";
import { decodeIpmi20, encodeIpmi20, PayloadType, type SessionSecurity } from "../../src/ipmi/session20.js";

/** PROTOCOL.md §3.1: ipmiutil against OpenIPMI ipmi_sim, user admin / secret, cipher suite 3. */
const b = (hex: string) => Buffer.from(hex.replace(/\s+/g, ""), "hex");
const V = {
  consoleSid: 0xa0a2a3a4,
  bmcSid: 0x00000082,
  rm: b("b4 15 b3 74 e8 0b a6 af dc 7d 38 0c cb 7d 56 95"),
  rc: b("8b b9 f5 8b bc 08 ed 8f 1f eb d0 7d 35 8b 56 ca"),
  guid: b("a1 23 45 67 89 ab cd ef a1 23 45 67 89 ab cd ef"),
  authCaps: b("06 00 ff 07 00 00 00 00 00 00 00 00 00 09 20 18 c8 81 00 38 8e 04 b5"),
  authCapsReply: b(
    "06 00 ff 07 00 00 00 00 00 00 00 00 00 10 81 1c 63 20 00 38 00 01 97 06 03 00 00 00 00 07",
  ),
  openSession: b(`06 00 ff 07 06 10 00 00 00 00 00 00 00 00 20 00 00 00 00 00 a4 a3 a2 a0
    00 00 00 08 01 00 00 00 01 00 00 08 01 00 00 00 02 00 00 08 01 00 00 00`),
  openSessionReply: b(`06 00 ff 07 06 11 00 00 00 00 00 00 00 00 24 00 00 00 00 00 a4 a3 a2 a0
    82 00 00 00 00 00 00 08 01 00 00 00 01 00 00 08 01 00 00 00 02 00 00 08 01 00 00 00`),
  rakp1: b(`06 00 ff 07 06 12 00 00 00 00 00 00 00 00 21 00 00 00 00 00 82 00 00 00
    b4 15 b3 74 e8 0b a6 af dc 7d 38 0c cb 7d 56 95 14 00 00 05 61 64 6d 69 6e`),
  rakp2: b(`06 00 ff 07 06 13 00 00 00 00 00 00 00 00 3c 00 00 00 00 00 a4 a3 a2 a0
    8b b9 f5 8b bc 08 ed 8f 1f eb d0 7d 35 8b 56 ca a1 23 45 67 89 ab cd ef
    a1 23 45 67 89 ab cd ef 4c 85 f2 95 5b 07 fa 7f 26 85 c5 09 a9 9a 3f 9a eb 94 e7 5f`),
  rakp3Mac: b("95 0f 46 83 a6 40 cd fe 7f 73 b8 83 53 86 2a 94 de 73 b5 68"),
  sik: b("2c 68 90 da 7b 72 a8 3b db 64 29 52 9d bc e9 3e 43 b2 14 9d"),
  k1: b("36 18 44 5a ea 47 ba 06 e5 38 4a 42 bc 76 92 17 2d 8b 0a 9c"),
  k2: b("ca e1 e2 8b 2b f0 b7 2d e9 ed 12 51 a0 98 4d 62 b9 fe a4 e9"),
  rakp4Icv: b("37 e9 74 ed 5b 30 b8 29 45 9c 66 8e"),
  setPrivRequest: b(`06 00 ff 07 06 c0 82 00 00 00 03 00 00 00 20 00
    8d d4 1e 2e 70 b1 16 31 b3 a9 d6 96 8c 9c b0 a2 20 7f cb 35 ce a6 9b cc 25 45 49 07 74 55 f4 fd
    ff ff 02 07 47 64 d7 71 9f be d6 ea 74 b0 06 b0`),
  setPrivReply: b(`06 00 ff 07 06 c0 a4 a3 a2 a0 01 00 00 00 20 00
    81 6d a2 c6 fd 0c c6 fe 98 5c cb 9d 5f 1e 78 72 51 39 7f 9d 0e ec ad 98 ac 98 a4 90 a5 fe da 99
    ff ff 02 07 2e 08 8d 47 fe 40 8d 20 ae 5b be e3`),
};

const exchange: RakpExchange = {
  authentication: 1,
  consoleSessionId: V.consoleSid,
  bmcSessionId: V.bmcSid,
  consoleRandom: V.rm,
  bmcRandom: V.rc,
  bmcGuid: V.guid,
  role: 0x14,
  username: "admin",
};
const security: SessionSecurity = { integrity: 1, k1: V.k1, confidentiality: 1, k2: V.k2 };

describe("RMCP and IPMI 1.5 framing", () => {
  it("encodes Get Channel Authentication Capabilities outside a session, byte for byte", () => {
    const message = encodeRequestMessage({
      rsAddr: 0x20,
      netFn: 0x06,
      rsLun: 0,
      rqAddr: 0x81,
      rqSeq: 0,
      rqLun: 0,
      cmd: 0x38,
      data: b("8e 04"),
    });
    const packet = encodeRmcp(
      RmcpClass.IPMI,
      encodeIpmi15({ authType: 0, sequence: 0, sessionId: 0, message }),
    );
    expect(packet.toString("hex")).toBe(V.authCaps.toString("hex"));
  });

  it("decodes ipmi_sim's reply down to the completion code and data", () => {
    const rmcp = decodeRmcp(V.authCapsReply);
    expect(rmcp.class).toBe(RmcpClass.IPMI);
    const m = decodeResponseMessage(decodeIpmi15(rmcp.body).message);
    expect(m).toMatchObject({
      rqAddr: 0x81,
      netFn: 0x07,
      rsAddr: 0x20,
      rqSeq: 0,
      cmd: 0x38,
      completionCode: 0,
    });
    expect(m.data.toString("hex")).toBe("0197060300000000");
    expect(encodeResponseMessage(m).toString("hex")).toBe(decodeIpmi15(rmcp.body).message.toString("hex"));
  });

  it("refuses a message whose checksum is wrong", () => {
    const bad = Buffer.from(decodeIpmi15(decodeRmcp(V.authCapsReply).body).message);
    bad.writeUInt8((bad.at(-1) as number) ^ 1, bad.length - 1);
    expect(() => decodeResponseMessage(bad)).toThrow(/data checksum .* does not match/);
  });

  it("round-trips request messages", () => {
    fc.assert(
      fc.property(
        fc.record({
          rsAddr: fc.integer({ min: 0, max: 255 }),
          netFn: fc.integer({ min: 0, max: 63 }),
          rsLun: fc.integer({ min: 0, max: 3 }),
          rqAddr: fc.integer({ min: 0, max: 255 }),
          rqSeq: fc.integer({ min: 0, max: 63 }),
          rqLun: fc.integer({ min: 0, max: 3 }),
          cmd: fc.integer({ min: 0, max: 255 }),
          data: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        }),
        (m) => {
          expect(decodeRequestMessage(encodeRequestMessage(m))).toEqual(m);
        },
      ),
    );
  });
});

describe("RMCP+ session establishment (IPMI 2.0 §13.17-13.23)", () => {
  it("encodes Open Session Request and RAKP 1 exactly as ipmiutil did", () => {
    const open = encodeOpenSessionRequest({
      tag: 0,
      maxPrivilege: 0,
      consoleSessionId: V.consoleSid,
      authentication: 1,
      integrity: 1,
      confidentiality: 1,
    });
    expect(
      encodeRmcp(
        RmcpClass.IPMI,
        encodeIpmi20({
          payloadType: PayloadType.OpenSessionRequest,
          sessionId: 0,
          sequence: 0,
          payload: open,
        }),
      ).toString("hex"),
    ).toBe(V.openSession.toString("hex"));
    const rakp1 = encodeRakp1({
      tag: 0,
      bmcSessionId: V.bmcSid,
      consoleRandom: V.rm,
      role: 0x14,
      username: "admin",
    });
    expect(
      encodeRmcp(
        RmcpClass.IPMI,
        encodeIpmi20({ payloadType: PayloadType.Rakp1, sessionId: 0, sequence: 0, payload: rakp1 }),
      ).toString("hex"),
    ).toBe(V.rakp1.toString("hex"));
  });

  it("decodes ipmi_sim's Open Session Response and RAKP 2", () => {
    const open = decodeOpenSessionResponse(decodeIpmi20(decodeRmcp(V.openSessionReply).body).payload);
    expect(open).toMatchObject({
      status: 0,
      consoleSessionId: V.consoleSid,
      bmcSessionId: V.bmcSid,
      authentication: 1,
      integrity: 1,
      confidentiality: 1,
      maxPrivilege: 0,
    });
    const rakp2 = decodeRakp2(decodeIpmi20(decodeRmcp(V.rakp2).body).payload);
    expect(rakp2.bmcRandom.equals(V.rc)).toBe(true);
    expect(rakp2.bmcGuid.equals(V.guid)).toBe(true);
    expect(rakp2.keyExchangeAuthCode.equals(rakp2AuthCode(exchange, userKey("secret")))).toBe(true);
  });

  it("derives RAKP 3's auth code, SIK, K1, K2 and RAKP 4's ICV from the vector's inputs", () => {
    expect(rakp3AuthCode(exchange, userKey("secret")).toString("hex")).toBe(V.rakp3Mac.toString("hex"));
    const sik = sessionIntegrityKey(exchange, userKey("secret"));
    expect(sik.toString("hex")).toBe(V.sik.toString("hex"));
    const { k1, k2 } = additionalKeys(1, sik);
    expect(k1.toString("hex")).toBe(V.k1.toString("hex"));
    expect(k2.toString("hex")).toBe(V.k2.toString("hex"));
    expect(rakp4Icv(exchange, sik).toString("hex")).toBe(V.rakp4Icv.toString("hex"));
  });

  it("a wrong password gives a different RAKP 2 auth code", () => {
    expect(
      rakp2AuthCode(exchange, userKey("Secret")).equals(rakp2AuthCode(exchange, userKey("secret"))),
    ).toBe(false);
  });
});

describe("RMCP+ session packets with HMAC-SHA1-96 and AES-CBC-128", () => {
  it("encrypts and signs Set Session Privilege Level byte for byte (given ipmiutil's IV)", () => {
    const message = b("20 18 c8 81 04 3b 04 3c");
    const iv = V.setPrivRequest.subarray(16, 32);
    const packet = encodeRmcp(
      RmcpClass.IPMI,
      encodeIpmi20(
        { payloadType: PayloadType.Ipmi, sessionId: V.bmcSid, sequence: 3, payload: message },
        security,
        iv,
      ),
    );
    expect(packet.toString("hex")).toBe(V.setPrivRequest.toString("hex"));
  });

  it("checks and decrypts ipmi_sim's reply", () => {
    const p = decodeIpmi20(decodeRmcp(V.setPrivReply).body, security);
    expect(p).toMatchObject({
      payloadType: 0,
      sessionId: V.consoleSid,
      sequence: 1,
      encrypted: true,
      authenticated: true,
    });
    expect(p.payload.toString("hex")).toBe("811c6320043b00049d");
    expect(decodeResponseMessage(p.payload)).toMatchObject({ cmd: 0x3b, completionCode: 0, rqSeq: 1 });
  });

  it("refuses a packet altered in flight, or checked with the wrong key", () => {
    const altered = Buffer.from(V.setPrivReply);
    altered.writeUInt8((altered[20] as number) ^ 0x01, 20);
    expect(() => decodeIpmi20(decodeRmcp(altered).body, security)).toThrow(/AuthCode does not match/);
    expect(() => decodeIpmi20(decodeRmcp(V.setPrivReply).body, { ...security, k1: V.k2 })).toThrow(
      IpmiDecodeError,
    );
    expect(() => decodeIpmi20(decodeRmcp(V.setPrivReply).body)).toThrow(/no integrity key/);
  });

  it("round-trips any payload through integrity and encryption, for SHA-1 and SHA-256 suites", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
        fc.constantFrom(
          { integrity: 1, confidentiality: 1 },
          { integrity: 4, confidentiality: 1 },
          { integrity: 4, confidentiality: 0 },
          { integrity: 1, confidentiality: 0 },
        ),
        fc.integer({ min: 0, max: 0xffffffff }),
        (payload, algorithms, sequence) => {
          const sec = { ...algorithms, k1: V.k1, k2: V.k2 };
          const p = decodeIpmi20(encodeIpmi20({ payloadType: 0, sessionId: 7, sequence, payload }, sec), sec);
          expect(p.payload.equals(payload)).toBe(true);
          expect(p.sequence).toBe(sequence);
        },
      ),
    );
  });

  it("never throws anything but IpmiDecodeError on mutated packets", () => {
    fc.assert(
      fc.property(
        fc.nat(V.setPrivReply.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(60),
        (at, x, cut) => {
          const m = Buffer.from(V.setPrivReply);
          m.writeUInt8((m[at] as number) ^ x, at);
          const body = m.subarray(4, 4 + 12 + cut);
          for (const input of [m.subarray(4), body]) {
            try {
              decodeIpmi20(input, security);
            } catch (err) {
              expect(err).toBeInstanceOf(IpmiDecodeError);
            }
          }
        },
      ),
    );
  });
});

describe("ASF presence ping (ASF 2.0 §3.2.4)", () => {
  it("encodes a ping that decodes back, and decodes rmcpping's pong fields", () => {
    const ping = decodeRmcp(encodePresencePing(0x2a));
    expect(ping.class).toBe(RmcpClass.ASF);
    expect(decodeAsf(ping.body)).toEqual({ type: "ping", tag: 0x2a });
    const pong = decodeRmcp(
      encodePresencePong({
        tag: 0x2a,
        oemIana: 0,
        oemDefined: 0,
        ipmiSupported: true,
        rmcpSecurityExtensions: true,
      }),
    );
    expect(decodeAsf(pong.body)).toEqual({
      type: "pong",
      tag: 0x2a,
      oemIana: 0,
      oemDefined: 0,
      ipmiSupported: true,
      rmcpSecurityExtensions: true,
    });
  });
});
