import { type ByteReader, ByteWriter } from "../bytes.js";
import { defineCommand, NetFn } from "./command.js";

/**
 * Which payloads a user may activate on a channel (IPMI 2.0 §24.6-24.7): `standard` has bit N set
 * for payload type N (1 = SOL; bit 0 is reserved), `oem` bit N for OEM payload type 20h + N.
 */
export interface PayloadAccess {
  standard: number;
  oem: number;
}

export interface SetUserPayloadAccessRequest {
  channel: number;
  userId: number;
  /** Enable or disable the payloads whose bits are set; the others stay as they are. */
  operation: "enable" | "disable";
  payloads: PayloadAccess;
}

/** Bytes 3-6 of Set and 1-4 of Get User Payload Access. */
const access = {
  write: (w: ByteWriter, a: PayloadAccess): ByteWriter =>
    w
      .u8(a.standard & 0xfe)
      .u8(0)
      .u8(a.oem & 0xff)
      .u8(0),
  read: (r: ByteReader): PayloadAccess => {
    const standard = r.u8() & 0xfe;
    r.u8();
    const oem = r.u8();
    r.u8();
    return { standard, oem };
  },
};

/** Set User Payload Access (IPMI 2.0 §24.6). */
export const setUserPayloadAccess = defineCommand<SetUserPayloadAccessRequest, void>({
  name: "Set User Payload Access",
  netFn: NetFn.App,
  cmd: 0x4c,
  encodeRequest: (req) =>
    access
      .write(
        new ByteWriter()
          .u8(req.channel & 0x0f)
          .u8((req.operation === "disable" ? 0x40 : 0) | (req.userId & 0x3f)),
        req.payloads,
      )
      .flush(),
  decodeRequest: (r) => {
    const channel = r.u8() & 0x0f;
    const b = r.u8();
    return {
      channel,
      userId: b & 0x3f,
      operation: b & 0x40 ? "disable" : "enable",
      payloads: access.read(r),
    };
  },
  encodeResponse: () => Buffer.alloc(0),
  decodeResponse: () => undefined,
});

/** Get User Payload Access (IPMI 2.0 §24.7). */
export const getUserPayloadAccess = defineCommand<{ channel: number; userId: number }, PayloadAccess>({
  name: "Get User Payload Access",
  netFn: NetFn.App,
  cmd: 0x4d,
  encodeRequest: (req) =>
    new ByteWriter()
      .u8(req.channel & 0x0f)
      .u8(req.userId & 0x3f)
      .flush(),
  decodeRequest: (r) => ({ channel: r.u8() & 0x0f, userId: r.u8() & 0x3f }),
  encodeResponse: (res) => access.write(new ByteWriter(), res).flush(),
  decodeResponse: access.read,
});

/** Get Channel Payload Support's bitmaps (IPMI 2.0 §24.8), bit N = payload type N of each group. */
export interface ChannelPayloadSupport {
  /** Types 00h-0Fh: 0 IPMI, 1 SOL, 2 OEM explicit. */
  standard: number;
  /** Types 10h-1Fh: RMCP+ Open Session Request/Response, RAKP 1-4. */
  sessionSetup: number;
  /** Types 20h-2Fh. */
  oem: number;
}

/** Get Channel Payload Support (IPMI 2.0 §24.8). */
export const getChannelPayloadSupport = defineCommand<{ channel: number }, ChannelPayloadSupport>({
  name: "Get Channel Payload Support",
  netFn: NetFn.App,
  cmd: 0x4e,
  encodeRequest: (req) => Buffer.of(req.channel & 0x0f),
  decodeRequest: (r) => ({ channel: r.u8() & 0x0f }),
  encodeResponse: (res) =>
    new ByteWriter().u16le(res.standard).u16le(res.sessionSetup).u16le(res.oem).u16le(0).flush(),
  decodeResponse: (r) => {
    const standard = r.u16le();
    const sessionSetup = r.u16le();
    const oem = r.u16le();
    r.u16le();
    return { standard, sessionSetup, oem };
  },
});
