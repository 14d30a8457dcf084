import { ByteReader, ByteWriter, hexByte } from "./bytes.js";
import { IpmiDecodeError } from "./errors.js";

/** RMCP (ASF 2.0 §3.2.2): version 06h, reserved, sequence FFh (no RMCP ACK), class. */
export const RMCP_VERSION = 0x06;
export const RMCP_NO_ACK_SEQUENCE = 0xff;
export const RmcpClass = { ASF: 0x06, IPMI: 0x07 } as const;
export type RmcpClass = (typeof RmcpClass)[keyof typeof RmcpClass];

export interface RmcpPacket {
  class: RmcpClass;
  sequence: number;
  /** Set on RMCP ACK messages (class bit 7). */
  ack: boolean;
  body: Buffer;
}

export function encodeRmcp(cls: RmcpClass, body: Uint8Array, sequence = RMCP_NO_ACK_SEQUENCE): Buffer {
  return Buffer.concat([Buffer.of(RMCP_VERSION, 0x00, sequence, cls), body]);
}

export function decodeRmcp(buf: Uint8Array): RmcpPacket {
  if (buf.length < 4) throw new IpmiDecodeError("RMCP header", `${buf.length} byte(s), 4 needed`);
  if (buf[0] !== RMCP_VERSION)
    throw new IpmiDecodeError("RMCP header", `version ${hexByte(buf[0] ?? 0)}h, not 06h`);
  const cls = (buf[3] as number) & 0x1f;
  if (cls !== RmcpClass.ASF && cls !== RmcpClass.IPMI) {
    throw new IpmiDecodeError(
      "RMCP header",
      `message class ${hexByte(cls)}h is neither ASF (06h) nor IPMI (07h)`,
    );
  }
  return {
    class: cls,
    sequence: buf[2] as number,
    ack: ((buf[3] as number) & 0x80) !== 0,
    body: Buffer.from(buf.subarray(4)),
  };
}

/** ASF 2.0 §3.2.4: the IANA enterprise number of ASF, big-endian in ASF messages. */
const ASF_IANA = 4542;
const ASF_PRESENCE_PING = 0x80;
const ASF_PRESENCE_PONG = 0x40;

export interface PresencePong {
  tag: number;
  oemIana: number;
  oemDefined: number;
  /** Supported entities byte: [7] IPMI supported, [3:0] ASF version. */
  ipmiSupported: boolean;
  /** Supported interactions byte: [7] RMCP security extensions (RMCP+), [5] DASH. */
  rmcpSecurityExtensions: boolean;
}

/** ASF presence ping: RMCP class ASF, IANA 4542, type 80h, a message tag, no data. */
export function encodePresencePing(tag: number): Buffer {
  return encodeRmcp(
    RmcpClass.ASF,
    new ByteWriter().u32be(ASF_IANA).u8(ASF_PRESENCE_PING).u8(tag).u8(0).u8(0).flush(),
  );
}

export function encodePresencePong(p: PresencePong): Buffer {
  const body = new ByteWriter()
    .u32be(ASF_IANA)
    .u8(ASF_PRESENCE_PONG)
    .u8(p.tag)
    .u8(0)
    .u8(16)
    .u32be(p.oemIana)
    .u32be(p.oemDefined)
    .u8(p.ipmiSupported ? 0x81 : 0x01)
    .u8(p.rmcpSecurityExtensions ? 0x80 : 0x00)
    .bytes(Buffer.alloc(6))
    .flush();
  return encodeRmcp(RmcpClass.ASF, body);
}

export type AsfMessage = { type: "ping"; tag: number } | ({ type: "pong" } & PresencePong);

export function decodeAsf(body: Buffer): AsfMessage {
  const r = new ByteReader(body);
  if (r.remaining < 8) throw new IpmiDecodeError("ASF message", `${body.length} byte(s), 8 needed`);
  const iana = r.u32be();
  if (iana !== ASF_IANA) throw new IpmiDecodeError("ASF message", `IANA ${iana}, not 4542`);
  const type = r.u8();
  const tag = r.u8();
  r.u8();
  const length = r.u8();
  if (type === ASF_PRESENCE_PING) return { type: "ping", tag };
  if (type !== ASF_PRESENCE_PONG)
    throw new IpmiDecodeError("ASF message", `type ${hexByte(type)}h is not ping or pong`);
  if (length < 10 || r.remaining < 10)
    throw new IpmiDecodeError("ASF presence pong", `data length ${length}`);
  return {
    type: "pong",
    tag,
    oemIana: r.u32be(),
    oemDefined: r.u32be(),
    ipmiSupported: (r.u8() & 0x80) !== 0,
    rmcpSecurityExtensions: (r.u8() & 0x80) !== 0,
  };
}
