import { createCipheriv, createDecipheriv, randomFillSync, timingSafeEqual } from "node:crypto";
import { ByteReader, ByteWriter, hexByte, TruncatedError } from "./bytes.js";
import {
  ConfidentialityAlgorithm,
  IntegrityAlgorithm,
  integrityAuthCode,
  integrityAuthCodeLength,
} from "./cipher-suites.js";
import { IpmiDecodeError } from "./errors.js";
import { AuthType } from "./session15.js";

/** RMCP+ payload types (IPMI 2.0 §13.27.3, Table 13-16). */
export const PayloadType = {
  Ipmi: 0x00,
  Sol: 0x01,
  Oem: 0x02,
  OpenSessionRequest: 0x10,
  OpenSessionResponse: 0x11,
  Rakp1: 0x12,
  Rakp2: 0x13,
  Rakp3: 0x14,
  Rakp4: 0x15,
} as const;

/** The keys and algorithms of an active session: integrity keyed with K1, AES with K2[0..15]. */
export interface SessionSecurity {
  integrity: number;
  k1: Buffer;
  confidentiality: number;
  k2: Buffer;
}

/** An IPMI 2.0 / RMCP+ session packet (IPMI 2.0 §13.6, Table 13-8), payload in the clear. */
export interface Ipmi20Packet {
  payloadType: number;
  sessionId: number;
  sequence: number;
  payload: Buffer;
  encrypted: boolean;
  authenticated: boolean;
}

const NEXT_HEADER = 0x07;
const AES_BLOCK = 16;

/** CSPRNG bytes drawn a page at a time: one system call per 256 IVs, where each IV cost one. */
const ivPool = Buffer.alloc(4096);
let ivTaken = ivPool.length;

/** A fresh random IV for each payload (IPMI 2.0 §13.29.1, AES-CBC-128 encrypted payload). */
function randomIv(): Buffer {
  if (ivTaken + AES_BLOCK > ivPool.length) {
    randomFillSync(ivPool);
    ivTaken = 0;
  }
  ivTaken += AES_BLOCK;
  return Buffer.from(ivPool.subarray(ivTaken - AES_BLOCK, ivTaken));
}

/** Encodes the session part of a packet (what follows the RMCP header); `iv` is for byte-exact tests. */
export function encodeIpmi20(
  p: Omit<Ipmi20Packet, "encrypted" | "authenticated">,
  security?: SessionSecurity,
  iv: Buffer = randomIv(),
): Buffer {
  const encrypted = security !== undefined && security.confidentiality !== ConfidentialityAlgorithm.None;
  const authenticated = security !== undefined && security.integrity !== IntegrityAlgorithm.None;
  const payload = encrypted ? encryptAesCbc(security.k2, iv, p.payload) : p.payload;
  const w = new ByteWriter()
    .u8(AuthType.RmcpPlus)
    .u8((encrypted ? 0x80 : 0) | (authenticated ? 0x40 : 0) | (p.payloadType & 0x3f))
    .u32le(p.sessionId)
    .u32le(p.sequence)
    .u16le(payload.length)
    .bytes(payload);
  if (!authenticated) return w.flush();
  // IPMI 2.0 §13.28.4: pad so that auth type … next header is a multiple of 4 bytes.
  const padLength = (4 - ((12 + payload.length + 2) % 4)) % 4;
  const covered = w.bytes(Buffer.alloc(padLength, 0xff)).u8(padLength).u8(NEXT_HEADER).flush();
  return Buffer.concat([covered, integrityAuthCode(security.integrity, security.k1, covered)]);
}

/** The unprotected part of a session header: enough to find the session whose keys check the rest. */
export function peekIpmi20(body: Buffer): { payloadType: number; sessionId: number } {
  if (body.length < 12 || body[0] !== AuthType.RmcpPlus) {
    throw new IpmiDecodeError("RMCP+ session header", `${body.length} byte(s) or auth type is not 06h`);
  }
  return { payloadType: (body[1] as number) & 0x3f, sessionId: body.readUInt32LE(2) };
}

/**
 * Decodes and, when the packet says so, checks and decrypts it with the session's keys. A packet that
 * claims authentication or encryption without keys to check it is refused.
 */
export function decodeIpmi20(body: Buffer, security?: SessionSecurity): Ipmi20Packet {
  const r = new ByteReader(body);
  try {
    const authType = r.u8();
    if (authType !== AuthType.RmcpPlus) {
      throw new IpmiDecodeError("RMCP+ session header", `auth type ${hexByte(authType)}h, not 06h`);
    }
    const typeByte = r.u8();
    const payloadType = typeByte & 0x3f;
    if (payloadType === PayloadType.Oem) {
      throw new IpmiDecodeError("RMCP+ session header", "OEM payloads are not supported");
    }
    const encrypted = (typeByte & 0x80) !== 0;
    const authenticated = (typeByte & 0x40) !== 0;
    const sessionId = r.u32le();
    const sequence = r.u32le();
    const length = r.u16le();
    const raw = r.bytes(length);
    if (authenticated) {
      if (!security || security.integrity === IntegrityAlgorithm.None) {
        throw new IpmiDecodeError("RMCP+ packet", "authenticated, but the session has no integrity key");
      }
      checkAuthCode(body, r, security);
    } else if (r.remaining > 0) {
      throw new IpmiDecodeError("RMCP+ packet", `${r.remaining} byte(s) after the ${length}-byte payload`);
    }
    let payload = raw;
    if (encrypted) {
      if (!security || security.confidentiality !== ConfidentialityAlgorithm.AesCbc128) {
        throw new IpmiDecodeError("RMCP+ packet", "encrypted, but the session has no AES key");
      }
      payload = decryptAesCbc(security.k2, raw);
    }
    return { payloadType, sessionId, sequence, payload, encrypted, authenticated };
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError("RMCP+ packet", err.message, "length");
    throw err;
  }
}

function checkAuthCode(body: Buffer, r: ByteReader, security: SessionSecurity): void {
  const codeLength = integrityAuthCodeLength(security.integrity);
  const padLength = r.remaining - 2 - codeLength;
  if (padLength < 0 || padLength > 3) {
    throw new IpmiDecodeError("RMCP+ integrity trailer", `${r.remaining} byte(s) after the payload`);
  }
  r.bytes(padLength);
  if (r.u8() !== padLength) throw new IpmiDecodeError("RMCP+ integrity trailer", "pad length does not match");
  if (r.u8() !== NEXT_HEADER) throw new IpmiDecodeError("RMCP+ integrity trailer", "next header is not 07h");
  const covered = body.subarray(0, r.offset);
  const expected = integrityAuthCode(security.integrity, security.k1, covered);
  if (!timingSafeEqual(expected, r.bytes(codeLength))) {
    throw new IpmiDecodeError(
      "RMCP+ packet",
      "integrity AuthCode does not match (wrong key or altered packet)",
    );
  }
}

/** IPMI 2.0 §13.29: IV | AES-CBC-128(K2[0..15], msg | 01 02 … N | N), N making whole 16-byte blocks. */
export function encryptAesCbc(k2: Buffer, iv: Buffer, message: Buffer): Buffer {
  const padLength = (AES_BLOCK - ((message.length + 1) % AES_BLOCK)) % AES_BLOCK;
  const pad = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const cipher = createCipheriv("aes-128-cbc", k2.subarray(0, 16), iv).setAutoPadding(false);
  const plain = Buffer.concat([message, pad, Buffer.of(padLength)]);
  return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
}

export function decryptAesCbc(k2: Buffer, payload: Buffer): Buffer {
  if (payload.length < 2 * AES_BLOCK || payload.length % AES_BLOCK !== 0) {
    throw new IpmiDecodeError(
      "AES-CBC-128 payload",
      `${payload.length} bytes is not an IV plus whole blocks`,
    );
  }
  const decipher = createDecipheriv("aes-128-cbc", k2.subarray(0, 16), payload.subarray(0, AES_BLOCK));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(payload.subarray(AES_BLOCK)), decipher.final()]);
  const padLength = plain[plain.length - 1] as number;
  if (padLength >= AES_BLOCK) {
    throw new IpmiDecodeError("AES-CBC-128 payload", `pad length ${padLength} (wrong key?)`);
  }
  return plain.subarray(0, plain.length - 1 - padLength);
}
