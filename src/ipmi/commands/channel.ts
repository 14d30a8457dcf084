import { ByteWriter, bit, flag } from "../bytes.js";
import { defineCommand, empty, expectEnd, NetFn } from "./command.js";

/** Channel medium types (IPMI 2.0 §6.5, Table 6-3); 04h = 802.3 LAN. */
export const ChannelMedium = { Ipmb: 0x01, Lan8023: 0x04, SystemInterface: 0x0c } as const;

export interface ChannelInfo {
  channel: number;
  medium: number;
  /** Table 6-2; 01h = IPMB-1.0, the protocol LAN channels report. */
  protocol: number;
  /** [7:6]: 0 session-less, 1 single-session, 2 multi-session, 3 session-based. */
  sessionSupport: number;
  activeSessions: number;
  /** IANA number of the body defining the protocol: 7154 (IPMI forum). */
  vendorId: number;
  auxiliary: number;
}

// IPMI 2.0 §22.24 Get Channel Info
export const getChannelInfo = defineCommand<{ channel: number }, ChannelInfo>({
  name: "Get Channel Info",
  netFn: NetFn.App,
  cmd: 0x42,
  encodeRequest: (q) => Buffer.of(q.channel & 0x0f),
  decodeRequest: (r) => {
    const channel = r.u8() & 0x0f;
    expectEnd(r, "Get Channel Info request");
    return { channel };
  },
  encodeResponse: (c) =>
    new ByteWriter()
      .u8(c.channel & 0x0f)
      .u8(c.medium & 0x7f)
      .u8(c.protocol & 0x1f)
      .u8(((c.sessionSupport & 3) << 6) | (c.activeSessions & 0x3f))
      .u8(c.vendorId)
      .u8(c.vendorId >>> 8)
      .u8(c.vendorId >>> 16)
      .u16le(c.auxiliary)
      .flush(),
  decodeResponse: (r) => {
    const channel = r.u8() & 0x0f;
    const medium = r.u8() & 0x7f;
    const protocol = r.u8() & 0x1f;
    const sessions = r.u8();
    const vendorId = r.u8() | (r.u8() << 8) | (r.u8() << 16);
    return {
      channel,
      medium,
      protocol,
      sessionSupport: sessions >> 6,
      activeSessions: sessions & 0x3f,
      vendorId,
      auxiliary: r.u16le(),
    };
  },
});

/** Channel access settings (IPMI 2.0 §22.22, §22.23). Access mode 2 = always available. */
export interface ChannelAccess {
  pefAlertingDisabled: boolean;
  perMessageAuthDisabled: boolean;
  userLevelAuthDisabled: boolean;
  accessMode: number;
  privilegeLimit: number;
}

export type Volatility = "nonVolatile" | "volatile";

// IPMI 2.0 §22.23 Get Channel Access
export const getChannelAccess = defineCommand<{ channel: number; which: Volatility }, ChannelAccess>({
  name: "Get Channel Access",
  netFn: NetFn.App,
  cmd: 0x41,
  encodeRequest: (q) => Buffer.of(q.channel & 0x0f, q.which === "nonVolatile" ? 0x40 : 0x80),
  decodeRequest: (r) => {
    const channel = r.u8() & 0x0f;
    const which = r.u8() >> 6 === 1 ? "nonVolatile" : "volatile";
    expectEnd(r, "Get Channel Access request");
    return { channel, which };
  },
  encodeResponse: (a) => Buffer.of(accessByte(a), a.privilegeLimit & 0x0f),
  decodeResponse: (r) => ({ ...readAccessByte(r.u8()), privilegeLimit: r.u8() & 0x0f }),
});

export interface SetChannelAccessRequest {
  channel: number;
  /** Byte 2 [7:6]: don't set, non-volatile, volatile. */
  accessSet: "none" | Volatility;
  access: Omit<ChannelAccess, "privilegeLimit">;
  privilegeSet: "none" | Volatility;
  privilegeLimit: number;
}

const SET_SELECTORS = ["none", "nonVolatile", "volatile"] as const;

// IPMI 2.0 §22.22 Set Channel Access
export const setChannelAccess = defineCommand<SetChannelAccessRequest, void>({
  name: "Set Channel Access",
  netFn: NetFn.App,
  cmd: 0x40,
  encodeRequest: (q) =>
    Buffer.of(
      q.channel & 0x0f,
      (SET_SELECTORS.indexOf(q.accessSet) << 6) | accessByte(q.access),
      (SET_SELECTORS.indexOf(q.privilegeSet) << 6) | (q.privilegeLimit & 0x0f),
    ),
  decodeRequest: (r) => {
    const channel = r.u8() & 0x0f;
    const a = r.u8();
    const p = r.u8();
    expectEnd(r, "Set Channel Access request");
    return {
      channel,
      accessSet: SET_SELECTORS[a >> 6] ?? "none",
      access: readAccessByte(a),
      privilegeSet: SET_SELECTORS[p >> 6] ?? "none",
      privilegeLimit: p & 0x0f,
    };
  },
  encodeResponse: empty.encode,
  decodeResponse: empty.decode,
});

function accessByte(a: Omit<ChannelAccess, "privilegeLimit">): number {
  return (
    flag(a.pefAlertingDisabled, 5) |
    flag(a.perMessageAuthDisabled, 4) |
    flag(a.userLevelAuthDisabled, 3) |
    (a.accessMode & 7)
  );
}

function readAccessByte(b: number): Omit<ChannelAccess, "privilegeLimit"> {
  return {
    pefAlertingDisabled: bit(b, 5),
    perMessageAuthDisabled: bit(b, 4),
    userLevelAuthDisabled: bit(b, 3),
    accessMode: b & 7,
  };
}

export interface UserAccess {
  maxUserIds: number;
  enabledUserIds: number;
  fixedNameUserIds: number;
  callbackOnly: boolean;
  linkAuthentication: boolean;
  ipmiMessaging: boolean;
  privilegeLimit: number;
}

// IPMI 2.0 §22.27 Get User Access
export const getUserAccess = defineCommand<{ channel: number; userId: number }, UserAccess>({
  name: "Get User Access",
  netFn: NetFn.App,
  cmd: 0x44,
  encodeRequest: (q) => Buffer.of(q.channel & 0x0f, q.userId & 0x3f),
  decodeRequest: (r) => {
    const channel = r.u8() & 0x0f;
    const userId = r.u8() & 0x3f;
    expectEnd(r, "Get User Access request");
    return { channel, userId };
  },
  encodeResponse: (u) =>
    Buffer.of(
      u.maxUserIds & 0x3f,
      u.enabledUserIds & 0x3f,
      u.fixedNameUserIds & 0x3f,
      flag(u.callbackOnly, 6) |
        flag(u.linkAuthentication, 5) |
        flag(u.ipmiMessaging, 4) |
        (u.privilegeLimit & 0x0f),
    ),
  decodeResponse: (r) => {
    const maxUserIds = r.u8() & 0x3f;
    const enabledUserIds = r.u8() & 0x3f;
    const fixedNameUserIds = r.u8() & 0x3f;
    const b = r.u8();
    return {
      maxUserIds,
      enabledUserIds,
      fixedNameUserIds,
      callbackOnly: bit(b, 6),
      linkAuthentication: bit(b, 5),
      ipmiMessaging: bit(b, 4),
      privilegeLimit: b & 0x0f,
    };
  },
});

// IPMI 2.0 §22.29 Get User Name: 16 bytes, NUL-padded.
export const getUserName = defineCommand<{ userId: number }, { name: string }>({
  name: "Get User Name",
  netFn: NetFn.App,
  cmd: 0x46,
  encodeRequest: (q) => Buffer.of(q.userId & 0x3f),
  decodeRequest: (r) => {
    const userId = r.u8() & 0x3f;
    expectEnd(r, "Get User Name request");
    return { userId };
  },
  encodeResponse: (u) => {
    const name = Buffer.alloc(16);
    Buffer.from(u.name, "latin1").copy(name, 0, 0, 16);
    return name;
  },
  decodeResponse: (r) => {
    const bytes = r.bytes(16);
    const nul = bytes.indexOf(0);
    return { name: bytes.subarray(0, nul < 0 ? 16 : nul).toString("latin1") };
  },
});

export interface LastProcessedEventIds {
  /** Unix seconds of the most recent SEL addition. */
  mostRecentAddition: number;
  lastRecordId: number;
  lastSoftwareProcessedId: number;
  lastBmcProcessedId: number;
}

// IPMI 2.0 §30.5 Get Last Processed Event ID (S/E 15h)
export const getLastProcessedEventId = defineCommand<void, LastProcessedEventIds>({
  name: "Get Last Processed Event ID",
  netFn: NetFn.SensorEvent,
  cmd: 0x15,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get Last Processed Event ID request"),
  encodeResponse: (e) =>
    new ByteWriter()
      .u32le(e.mostRecentAddition)
      .u16le(e.lastRecordId)
      .u16le(e.lastSoftwareProcessedId)
      .u16le(e.lastBmcProcessedId)
      .flush(),
  decodeResponse: (r) => ({
    mostRecentAddition: r.u32le(),
    lastRecordId: r.u16le(),
    lastSoftwareProcessedId: r.u16le(),
    lastBmcProcessedId: r.u16le(),
  }),
});

export interface SessionInfoRequest {
  /** 0 = this session, 1-3Fh = the Nth active session (FEh/FFh by handle/ID are not used here). */
  index: number;
}

export interface SessionInfo {
  handle: number;
  possibleSessions: number;
  activeSessions: number;
  /** Present when the session asked about is active. */
  session?: { userId: number; privilege: number; ipmi20: boolean; channel: number };
}

// IPMI 2.0 §22.20 Get Session Info
export const getSessionInfo = defineCommand<SessionInfoRequest, SessionInfo>({
  name: "Get Session Info",
  netFn: NetFn.App,
  cmd: 0x3d,
  encodeRequest: (q) => Buffer.of(q.index),
  decodeRequest: (r) => ({ index: r.u8() }),
  encodeResponse: (s) => {
    const w = new ByteWriter()
      .u8(s.handle)
      .u8(s.possibleSessions & 0x3f)
      .u8(s.activeSessions & 0x3f);
    if (s.session) {
      w.u8(s.session.userId & 0x3f)
        .u8(s.session.privilege & 0x0f)
        .u8(((s.session.ipmi20 ? 1 : 0) << 4) | (s.session.channel & 0x0f));
    }
    return w.flush();
  },
  decodeResponse: (r) => {
    const handle = r.u8();
    const possibleSessions = r.u8() & 0x3f;
    const activeSessions = r.u8() & 0x3f;
    if (r.remaining < 3) return { handle, possibleSessions, activeSessions };
    const userId = r.u8() & 0x3f;
    const privilege = r.u8() & 0x0f;
    const b = r.u8();
    return {
      handle,
      possibleSessions,
      activeSessions,
      session: { userId, privilege, ipmi20: b >> 4 === 1, channel: b & 0x0f },
    };
  },
});
