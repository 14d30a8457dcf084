import { ByteReader, ByteWriter, hexByte, TruncatedError } from "./bytes.js";
import { IpmiDecodeError } from "./errors.js";

/** BMC responder address and the remote console's software ID 40h as a requester address (81h). */
export const BMC_ADDRESS = 0x20;
export const REMOTE_CONSOLE_ADDRESS = 0x81;

/** An IPMI request message on LAN (IPMI 2.0 §13.8): rsAddr, netFn/rsLUN, chk1, rqAddr, rqSeq/rqLUN, cmd, data, chk2. */
export interface IpmiRequestMessage {
  rsAddr: number;
  netFn: number;
  rsLun: number;
  rqAddr: number;
  /** 6 bits. */
  rqSeq: number;
  rqLun: number;
  cmd: number;
  data: Buffer;
}

/** The response: rqAddr, netFn+1/rqLUN, chk1, rsAddr, rqSeq/rsLUN, cmd, completion code, data, chk2. */
export interface IpmiResponseMessage {
  rqAddr: number;
  /** The response netFn (odd). */
  netFn: number;
  rqLun: number;
  rsAddr: number;
  rqSeq: number;
  rsLun: number;
  cmd: number;
  completionCode: number;
  data: Buffer;
}

/** Two's-complement checksum: the covered bytes plus it sum to 0 mod 256. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

function frame(header: [number, number], rest: Uint8Array): Buffer {
  const head = Buffer.of(...header);
  return Buffer.concat([head, Buffer.of(checksum(head)), rest, Buffer.of(checksum(rest))]);
}

export function encodeRequestMessage(m: IpmiRequestMessage): Buffer {
  const rest = new ByteWriter()
    .u8(m.rqAddr)
    .u8(((m.rqSeq & 0x3f) << 2) | (m.rqLun & 3))
    .u8(m.cmd)
    .bytes(m.data)
    .flush();
  return frame([m.rsAddr, ((m.netFn & 0x3f) << 2) | (m.rsLun & 3)], rest);
}

export function encodeResponseMessage(m: IpmiResponseMessage): Buffer {
  const rest = new ByteWriter()
    .u8(m.rsAddr)
    .u8(((m.rqSeq & 0x3f) << 2) | (m.rsLun & 3))
    .u8(m.cmd)
    .u8(m.completionCode)
    .bytes(m.data)
    .flush();
  return frame([m.rqAddr, ((m.netFn & 0x3f) << 2) | (m.rqLun & 3)], rest);
}

function verify(buf: Buffer, what: string, min: number): ByteReader {
  if (buf.length < min) throw new IpmiDecodeError(what, `${buf.length} byte(s), at least ${min} needed`);
  if (checksum(buf.subarray(0, 2)) !== buf[2]) {
    throw new IpmiDecodeError(what, `header checksum ${hexByte(buf[2] as number)}h does not match`);
  }
  if (checksum(buf.subarray(3, buf.length - 1)) !== buf[buf.length - 1]) {
    throw new IpmiDecodeError(
      what,
      `data checksum ${hexByte(buf[buf.length - 1] as number)}h does not match`,
    );
  }
  return new ByteReader(buf.subarray(0, buf.length - 1));
}

export function decodeRequestMessage(buf: Buffer): IpmiRequestMessage {
  const r = verify(buf, "IPMI request message", 7);
  try {
    const rsAddr = r.u8();
    const netFnLun = r.u8();
    r.u8();
    const rqAddr = r.u8();
    const seqLun = r.u8();
    return {
      rsAddr,
      netFn: netFnLun >>> 2,
      rsLun: netFnLun & 3,
      rqAddr,
      rqSeq: seqLun >>> 2,
      rqLun: seqLun & 3,
      cmd: r.u8(),
      data: r.rest(),
    };
  } catch (err) {
    throw err instanceof TruncatedError ? new IpmiDecodeError("IPMI request message", err.message) : err;
  }
}

export function decodeResponseMessage(buf: Buffer): IpmiResponseMessage {
  const r = verify(buf, "IPMI response message", 8);
  const rqAddr = r.u8();
  const netFnLun = r.u8();
  r.u8();
  const rsAddr = r.u8();
  const seqLun = r.u8();
  return {
    rqAddr,
    netFn: netFnLun >>> 2,
    rqLun: netFnLun & 3,
    rsAddr,
    rqSeq: seqLun >>> 2,
    rsLun: seqLun & 3,
    cmd: r.u8(),
    completionCode: r.u8(),
    data: r.rest(),
  };
}
