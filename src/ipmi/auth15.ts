import { createHash, timingSafeEqual } from "node:crypto";
import { ByteWriter } from "./bytes.js";
import { AuthType, encodeIpmi15, type Ipmi15Packet } from "./session15.js";

/**
 * IPMI 1.5 per-message authentication (IPMI 2.0 §22.17.1, IPMI 1.5 §6.12): the 16-byte AuthCode
 * field of a session header. MD2 is not offered: node:crypto has no MD2, and it is as broken as MD5.
 */
export type AuthType15 = typeof AuthType.None | typeof AuthType.MD5 | typeof AuthType.Password;

/** A 1.5 password is 16 bytes, zero-padded (IPMI 2.0 §22.29: 20-byte passwords are RMCP+ only). */
export function password16(password: string): Buffer {
  const bytes = Buffer.from(password, "latin1");
  if (bytes.length > 16) throw new RangeError("an IPMI 1.5 password is at most 16 bytes");
  const key = Buffer.alloc(16);
  bytes.copy(key);
  return key;
}

/**
 * The AuthCode of one packet: straight password is the password itself; MD5 is
 * MD5(password ‖ session ID ‖ IPMI message ‖ session sequence number ‖ password), both numbers LE.
 */
export function authCode15(
  authType: number,
  password: Buffer,
  p: { sessionId: number; sequence: number; message: Buffer },
): Buffer {
  if (authType === AuthType.Password) return Buffer.from(password);
  if (authType !== AuthType.MD5)
    throw new RangeError(`auth type ${authType} has no AuthCode petgate computes`);
  const numbers = (n: number) => new ByteWriter().u32le(n).flush();
  return createHash("md5")
    .update(password)
    .update(numbers(p.sessionId))
    .update(p.message)
    .update(numbers(p.sequence))
    .update(password)
    .digest();
}

/** Encodes a session packet, with its AuthCode unless the auth type is none. */
export function sealIpmi15(p: Omit<Ipmi15Packet, "authCode">, password: Buffer): Buffer {
  if (p.authType === AuthType.None) return encodeIpmi15(p);
  return encodeIpmi15({ ...p, authCode: authCode15(p.authType, password, p) });
}

/** Whether a decoded packet's AuthCode is the one `password` gives (constant time). */
export function authentic15(p: Ipmi15Packet, password: Buffer): boolean {
  if (p.authType !== AuthType.MD5 && p.authType !== AuthType.Password) return false;
  return p.authCode !== undefined && timingSafeEqual(p.authCode, authCode15(p.authType, password, p));
}
