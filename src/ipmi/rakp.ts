import { ByteReader, ByteWriter, TruncatedError } from "./bytes.js";
import { authHash, hmac } from "./cipher-suites.js";
import { IpmiDecodeError } from "./errors.js";

/** RMCP+ status codes (IPMI 2.0 §13.24, Table 13-15). */
export const RMCP_PLUS_STATUS: Readonly<Record<number, string>> = {
  0: "no errors",
  1: "insufficient resources to create a session",
  2: "invalid session ID",
  3: "invalid payload type",
  4: "invalid authentication algorithm",
  5: "invalid integrity algorithm",
  6: "no matching authentication payload",
  7: "no matching integrity payload",
  8: "inactive session ID",
  9: "invalid role",
  10: "unauthorized role or privilege level requested",
  11: "insufficient resources to create a session at the requested role",
  12: "invalid name length",
  13: "unauthorized name",
  14: "unauthorized GUID",
  15: "invalid integrity check value",
  16: "invalid confidentiality algorithm",
  17: "no cipher suite match with proposed security algorithms",
  18: "illegal or unrecognized parameter",
};

export function rmcpPlusStatusName(status: number): string {
  return RMCP_PLUS_STATUS[status] ?? `reserved status ${status}`;
}

/** IPMI 2.0 §13.17: RMCP+ Open Session Request. */
export interface OpenSessionRequest {
  tag: number;
  maxPrivilege: number;
  consoleSessionId: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/** IPMI 2.0 §13.18: the response; on an error status only tag, status and console session ID. */
export type OpenSessionResponse =
  | (OpenSessionRequest & { status: 0; bmcSessionId: number })
  | { tag: number; status: number; consoleSessionId: number };

/** An algorithm payload: type (0 auth, 1 integrity, 2 confidentiality), length 8, algorithm. */
function writeAlgorithms(
  w: ByteWriter,
  a: { authentication: number; integrity: number; confidentiality: number },
) {
  for (const [type, algorithm] of [a.authentication, a.integrity, a.confidentiality].entries()) {
    w.u8(type).u16le(0).u8(8).u8(algorithm).u8(0).u16le(0);
  }
  return w;
}

function readAlgorithms(r: ByteReader): {
  authentication: number;
  integrity: number;
  confidentiality: number;
} {
  const algorithms: number[] = [];
  for (let type = 0; type < 3; type++) {
    const payloadType = r.u8();
    r.u16le();
    const length = r.u8();
    if (payloadType !== type || length !== 8) {
      throw new IpmiDecodeError(
        "RMCP+ algorithm payload",
        `type ${payloadType} length ${length}, expected ${type}/8`,
      );
    }
    algorithms.push(r.u8() & 0x3f);
    r.u8();
    r.u16le();
  }
  const [authentication = 0, integrity = 0, confidentiality = 0] = algorithms;
  return { authentication, integrity, confidentiality };
}

export function encodeOpenSessionRequest(m: OpenSessionRequest): Buffer {
  return writeAlgorithms(
    new ByteWriter()
      .u8(m.tag)
      .u8(m.maxPrivilege & 0x0f)
      .u16le(0)
      .u32le(m.consoleSessionId),
    m,
  ).flush();
}

export function decodeOpenSessionRequest(buf: Buffer): OpenSessionRequest {
  return decoding("Open Session Request", buf, (r) => {
    const tag = r.u8();
    const maxPrivilege = r.u8() & 0x0f;
    r.u16le();
    return { tag, maxPrivilege, consoleSessionId: r.u32le(), ...readAlgorithms(r) };
  });
}

export function encodeOpenSessionResponse(m: OpenSessionResponse): Buffer {
  const w = new ByteWriter().u8(m.tag).u8(m.status);
  if (!("bmcSessionId" in m)) return w.u16le(0).u32le(m.consoleSessionId).flush();
  return writeAlgorithms(
    w.u8(m.maxPrivilege).u8(0).u32le(m.consoleSessionId).u32le(m.bmcSessionId),
    m,
  ).flush();
}

export function decodeOpenSessionResponse(buf: Buffer): OpenSessionResponse {
  return decoding("Open Session Response", buf, (r) => {
    const tag = r.u8();
    const status = r.u8();
    if (status !== 0) {
      // Error responses are short, and some BMCs (OpenIPMI) cut them shorter still.
      if (r.remaining < 6) return { tag, status, consoleSessionId: 0 };
      r.u16le();
      return { tag, status, consoleSessionId: r.u32le() };
    }
    const maxPrivilege = r.u8() & 0x0f;
    r.u8();
    const consoleSessionId = r.u32le();
    const bmcSessionId = r.u32le();
    return { tag, status: 0 as const, maxPrivilege, consoleSessionId, bmcSessionId, ...readAlgorithms(r) };
  });
}

/** IPMI 2.0 §13.20: RAKP Message 1. `role` is the whole ROLEm byte: [4] name-only lookup, [3:0] privilege. */
export interface Rakp1 {
  tag: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  role: number;
  username: string;
}

/** IPMI 2.0 §13.21: RAKP Message 2. */
export interface Rakp2 {
  tag: number;
  status: number;
  consoleSessionId: number;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  keyExchangeAuthCode: Buffer;
}

/** IPMI 2.0 §13.22: RAKP Message 3. */
export interface Rakp3 {
  tag: number;
  status: number;
  bmcSessionId: number;
  keyExchangeAuthCode: Buffer;
}

/** IPMI 2.0 §13.23: RAKP Message 4. */
export interface Rakp4 {
  tag: number;
  status: number;
  consoleSessionId: number;
  integrityCheckValue: Buffer;
}

export function encodeRakp1(m: Rakp1): Buffer {
  const name = Buffer.from(m.username, "latin1");
  if (name.length > 16) throw new RangeError("an IPMI user name has at most 16 bytes");
  return new ByteWriter()
    .u8(m.tag)
    .bytes([0, 0, 0])
    .u32le(m.bmcSessionId)
    .bytes(m.consoleRandom)
    .u8(m.role)
    .u16le(0)
    .u8(name.length)
    .bytes(name)
    .flush();
}

export function decodeRakp1(buf: Buffer): Rakp1 {
  return decoding("RAKP Message 1", buf, (r) => {
    const tag = r.u8();
    r.bytes(3);
    const bmcSessionId = r.u32le();
    const consoleRandom = r.bytes(16);
    const role = r.u8();
    r.u16le();
    const length = r.u8();
    if (length > 16) throw new IpmiDecodeError("RAKP Message 1", `user name length ${length} exceeds 16`);
    return { tag, bmcSessionId, consoleRandom, role, username: r.bytes(length).toString("latin1") };
  });
}

export function encodeRakp2(m: Rakp2): Buffer {
  const w = new ByteWriter().u8(m.tag).u8(m.status).u16le(0).u32le(m.consoleSessionId);
  if (m.status !== 0) return w.flush();
  return w.bytes(m.bmcRandom).bytes(m.bmcGuid).bytes(m.keyExchangeAuthCode).flush();
}

export function decodeRakp2(buf: Buffer): Rakp2 {
  return decoding("RAKP Message 2", buf, (r) => {
    const tag = r.u8();
    const status = r.u8();
    r.u16le();
    const consoleSessionId = r.u32le();
    if (status !== 0) {
      return {
        tag,
        status,
        consoleSessionId,
        bmcRandom: Buffer.alloc(0),
        bmcGuid: Buffer.alloc(0),
        keyExchangeAuthCode: Buffer.alloc(0),
      };
    }
    // The auth code's length depends on the algorithm; take what the message holds (PROTOCOL.md §7).
    return {
      tag,
      status,
      consoleSessionId,
      bmcRandom: r.bytes(16),
      bmcGuid: r.bytes(16),
      keyExchangeAuthCode: r.rest(),
    };
  });
}

export function encodeRakp3(m: Rakp3): Buffer {
  return new ByteWriter()
    .u8(m.tag)
    .u8(m.status)
    .u16le(0)
    .u32le(m.bmcSessionId)
    .bytes(m.keyExchangeAuthCode)
    .flush();
}

export function decodeRakp3(buf: Buffer): Rakp3 {
  return decoding("RAKP Message 3", buf, (r) => {
    const tag = r.u8();
    const status = r.u8();
    r.u16le();
    return { tag, status, bmcSessionId: r.u32le(), keyExchangeAuthCode: r.rest() };
  });
}

export function encodeRakp4(m: Rakp4): Buffer {
  return new ByteWriter()
    .u8(m.tag)
    .u8(m.status)
    .u16le(0)
    .u32le(m.consoleSessionId)
    .bytes(m.integrityCheckValue)
    .flush();
}

export function decodeRakp4(buf: Buffer): Rakp4 {
  return decoding("RAKP Message 4", buf, (r) => {
    const tag = r.u8();
    const status = r.u8();
    r.u16le();
    return { tag, status, consoleSessionId: r.u32le(), integrityCheckValue: r.rest() };
  });
}

function decoding<T>(what: string, buf: Buffer, read: (r: ByteReader) => T): T {
  try {
    return read(new ByteReader(buf));
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError(what, err.message, "length");
    throw err;
  }
}

/** Everything both sides know after RAKP 1 and 2: the inputs of every auth code and key. */
export interface RakpExchange {
  authentication: number;
  consoleSessionId: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  /** The ROLEm byte exactly as sent in RAKP 1, name-only bit included. */
  role: number;
  username: string;
}

/** K_uid: the user's password, zero-padded to 20 bytes (IPMI 2.0 §13.31). */
export function userKey(password: string): Buffer {
  const key = Buffer.alloc(20);
  Buffer.from(password, "latin1").copy(key);
  return key;
}

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function roleAndName(x: RakpExchange): Buffer {
  const name = Buffer.from(x.username, "latin1");
  return Buffer.concat([Buffer.of(x.role, name.length), name]);
}

/** RAKP 2 auth code: HMAC_Kuid(SIDm | SIDc | Rm | Rc | GUIDc | ROLEm | ULENm | UNAMEm), IPMI 2.0 §13.31. */
export function rakp2AuthCode(x: RakpExchange, kuid: Buffer): Buffer {
  const h = authHash(x.authentication);
  return hmac(
    h,
    kuid,
    le32(x.consoleSessionId),
    le32(x.bmcSessionId),
    x.consoleRandom,
    x.bmcRandom,
    x.bmcGuid,
    roleAndName(x),
  );
}

/** RAKP 3 auth code: HMAC_Kuid(Rc | SIDm | ROLEm | ULENm | UNAMEm). */
export function rakp3AuthCode(x: RakpExchange, kuid: Buffer): Buffer {
  return hmac(authHash(x.authentication), kuid, x.bmcRandom, le32(x.consoleSessionId), roleAndName(x));
}

/** SIK = HMAC_Kg(Rm | Rc | ROLEm | ULENm | UNAMEm); K_g is the BMC key if set, else K_uid (§13.31). */
export function sessionIntegrityKey(x: RakpExchange, kg: Buffer): Buffer {
  return hmac(authHash(x.authentication), kg, x.consoleRandom, x.bmcRandom, roleAndName(x));
}

/** K1 and K2 = HMAC_SIK(0x01 × 20) and HMAC_SIK(0x02 × 20): 20-byte constants for SHA-256 too (§13.32). */
export function additionalKeys(authentication: number, sik: Buffer): { k1: Buffer; k2: Buffer } {
  const h = authHash(authentication);
  return { k1: hmac(h, sik, Buffer.alloc(20, 0x01)), k2: hmac(h, sik, Buffer.alloc(20, 0x02)) };
}

/** RAKP 4 ICV: HMAC_SIK(Rm | SIDc | GUIDc), truncated to 12 bytes (SHA-1) or 16 (SHA-256), §13.28.1. */
export function rakp4Icv(x: RakpExchange, sik: Buffer): Buffer {
  const h = authHash(x.authentication);
  return hmac(h, sik, x.consoleRandom, le32(x.bmcSessionId), x.bmcGuid).subarray(0, h === "sha1" ? 12 : 16);
}
