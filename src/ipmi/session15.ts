import { ByteReader, ByteWriter, TruncatedError } from "./bytes.js";
import { IpmiDecodeError } from "./errors.js";
import { encodeRmcp, RmcpClass } from "./rmcp.js";

/**
 * IPMI 1.5 session header (IPMI 2.0 §13.6): authType, sequence (LE), session ID (LE), a 16-byte auth
 * code unless authType is none, message length, message. Outside a session (auth type none, session 0)
 * it carries Get Channel Authentication Capabilities, Get Session Challenge and PET Acknowledge; inside
 * one, every message of an IPMI 1.5 session (auth15.ts computes the auth code).
 */
export const AuthType = {
  None: 0x00,
  MD2: 0x01,
  MD5: 0x02,
  Password: 0x04,
  OEM: 0x05,
  RmcpPlus: 0x06,
} as const;

export interface Ipmi15Packet {
  authType: number;
  sequence: number;
  sessionId: number;
  authCode?: Buffer;
  message: Buffer;
}

export function encodeIpmi15(p: Ipmi15Packet): Buffer {
  const w = new ByteWriter().u8(p.authType).u32le(p.sequence).u32le(p.sessionId);
  if (p.authType !== AuthType.None) {
    if (p.authCode?.length !== 16)
      throw new RangeError("an authenticated IPMI 1.5 packet needs a 16-byte auth code");
    w.bytes(p.authCode);
  }
  return w.u8(p.message.length).bytes(p.message).flush();
}

export function decodeIpmi15(body: Buffer): Ipmi15Packet {
  const r = new ByteReader(body);
  try {
    const authType = r.u8();
    if (authType === AuthType.RmcpPlus)
      throw new IpmiDecodeError("IPMI 1.5 session header", "auth type 06h is RMCP+");
    const sequence = r.u32le();
    const sessionId = r.u32le();
    const authCode = authType === AuthType.None ? undefined : r.bytes(16);
    const length = r.u8();
    const message = r.bytes(length);
    if (r.remaining > 1) {
      // One legacy pad byte is allowed (IPMI 2.0 §13.6 note); more means the length is wrong.
      throw new IpmiDecodeError(
        "IPMI 1.5 session header",
        `message length ${length} leaves ${r.remaining} byte(s)`,
      );
    }
    return { authType, sequence, sessionId, ...(authCode && { authCode }), message };
  } catch (err) {
    if (err instanceof TruncatedError)
      throw new IpmiDecodeError("IPMI 1.5 session header", err.message, "length");
    throw err;
  }
}

/** A message outside any session: auth type none, sequence 0, session 0, in its RMCP header. */
export function encodeSessionless(message: Buffer): Buffer {
  return encodeRmcp(
    RmcpClass.IPMI,
    encodeIpmi15({ authType: AuthType.None, sequence: 0, sessionId: 0, message }),
  );
}
