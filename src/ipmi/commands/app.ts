import { ByteWriter, bit, flag } from "../bytes.js";
import { IpmiDecodeError } from "../errors.js";
import { defineCommand, empty, expectEnd, NetFn } from "./command.js";

/** Session privilege levels (IPMI 2.0 §6.8); 0 in Set Session Privilege Level means "no change". */
export const PrivilegeLevel = {
  Callback: 1,
  User: 2,
  Operator: 3,
  Administrator: 4,
  Oem: 5,
} as const;
export type PrivilegeLevel = (typeof PrivilegeLevel)[keyof typeof PrivilegeLevel];

function privilege(v: number, what: string, allowZero: boolean): number {
  if (v > PrivilegeLevel.Oem || (v === 0 && !allowZero)) {
    throw new IpmiDecodeError(what, `privilege level ${v} is reserved`);
  }
  return v;
}

const isBcd = (b: number): boolean => (b & 0x0f) <= 9 && b >> 4 <= 9;

/** A BCD byte as a number (0x09 → 9, 0x51 → 51); a byte that is not BCD is taken as binary. */
export function fromBcd(b: number): number {
  return isBcd(b) ? (b >> 4) * 10 + (b & 0x0f) : b;
}

// ---------------------------------------------------------------------------------------------

export interface AdditionalDeviceSupport {
  sensor: boolean;
  sdrRepository: boolean;
  sel: boolean;
  fruInventory: boolean;
  ipmbEventReceiver: boolean;
  ipmbEventGenerator: boolean;
  bridge: boolean;
  chassis: boolean;
}

export interface DeviceId {
  deviceId: number;
  /** [3:0], binary. */
  deviceRevision: number;
  providesSdrs: boolean;
  /** [6:0], binary. */
  firmwareMajor: number;
  /** Byte 3 [7]: firmware, SDR update or self-initialization in progress. */
  updateInProgress: boolean;
  /** firmwareMinorRaw read as BCD (0x09 → 9); binary if the byte is not BCD. */
  firmwareMinor: number;
  /** The byte as sent; this is what encodeResponse writes. */
  firmwareMinorRaw: number;
  /** Byte 5: [3:0] major, [7:4] minor (0x02 = 2.0, 0x51 = 1.5). */
  ipmiVersion: { major: number; minor: number };
  additionalDeviceSupport: AdditionalDeviceSupport;
  /** IANA enterprise number, 20 bits. */
  manufacturerId: number;
  productId: number;
  /** Optional 4 bytes. */
  auxFirmwareRevision?: Buffer;
}

// IPMI 2.0 §20.1 Get Device ID
export const getDeviceId = defineCommand<void, DeviceId>({
  name: "Get Device ID",
  netFn: NetFn.App,
  cmd: 0x01,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get Device ID request"),
  encodeResponse(d) {
    const s = d.additionalDeviceSupport;
    const w = new ByteWriter()
      .u8(d.deviceId)
      .u8(flag(d.providesSdrs, 7) | (d.deviceRevision & 0x0f))
      .u8(flag(d.updateInProgress, 7) | (d.firmwareMajor & 0x7f))
      .u8(d.firmwareMinorRaw)
      .u8(((d.ipmiVersion.minor & 0x0f) << 4) | (d.ipmiVersion.major & 0x0f))
      .u8(
        flag(s.sensor, 0) |
          flag(s.sdrRepository, 1) |
          flag(s.sel, 2) |
          flag(s.fruInventory, 3) |
          flag(s.ipmbEventReceiver, 4) |
          flag(s.ipmbEventGenerator, 5) |
          flag(s.bridge, 6) |
          flag(s.chassis, 7),
      )
      .u16le(d.manufacturerId & 0xffff)
      .u8((d.manufacturerId >>> 16) & 0x0f)
      .u16le(d.productId);
    if (d.auxFirmwareRevision) {
      if (d.auxFirmwareRevision.length !== 4) throw new RangeError("auxFirmwareRevision must be 4 bytes");
      w.bytes(d.auxFirmwareRevision);
    }
    return w.flush();
  },
  decodeResponse(r) {
    const deviceId = r.u8();
    const rev = r.u8();
    const fw = r.u8();
    const minor = r.u8();
    const ver = r.u8();
    const s = r.u8();
    const manufacturerId = r.u16le() | ((r.u8() & 0x0f) << 16);
    const productId = r.u16le();
    const d: DeviceId = {
      deviceId,
      deviceRevision: rev & 0x0f,
      providesSdrs: bit(rev, 7),
      firmwareMajor: fw & 0x7f,
      updateInProgress: bit(fw, 7),
      firmwareMinor: fromBcd(minor),
      firmwareMinorRaw: minor,
      ipmiVersion: { major: ver & 0x0f, minor: ver >> 4 },
      additionalDeviceSupport: {
        sensor: bit(s, 0),
        sdrRepository: bit(s, 1),
        sel: bit(s, 2),
        fruInventory: bit(s, 3),
        ipmbEventReceiver: bit(s, 4),
        ipmbEventGenerator: bit(s, 5),
        bridge: bit(s, 6),
        chassis: bit(s, 7),
      },
      manufacturerId,
      productId,
    };
    if (r.remaining > 0) d.auxFirmwareRevision = r.bytes(4);
    expectEnd(r, "Get Device ID response");
    return d;
  },
});

// IPMI 2.0 §20.2 Cold Reset (the response may never arrive)
export const coldReset = defineCommand<void, void>({
  name: "Cold Reset",
  netFn: NetFn.App,
  cmd: 0x02,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Cold Reset request"),
  encodeResponse: empty.encode,
  decodeResponse: (r) => expectEnd(r, "Cold Reset response"),
});

// ---------------------------------------------------------------------------------------------

/** Byte 2 when byte 1 is 57h: what could not be accessed or is corrupted. */
export interface SelfTestFailures {
  selInaccessible: boolean;
  sdrRepositoryInaccessible: boolean;
  bmcFruInaccessible: boolean;
  ipmbSignalLinesUnresponsive: boolean;
  sdrRepositoryEmpty: boolean;
  fruInternalUseAreaCorrupted: boolean;
  bootBlockFirmwareCorrupted: boolean;
  operationalFirmwareCorrupted: boolean;
}

export type SelfTestResult =
  | { result: "passed" }
  | { result: "notImplemented" }
  | { result: "corruptedOrInaccessible"; failures: SelfTestFailures }
  | { result: "fatalHardwareError"; detail: number }
  | { result: "deviceSpecific"; code: number; detail: number };

export const SELF_TEST_RESULT_NAMES: Readonly<Record<SelfTestResult["result"], string>> = {
  passed: "No error. All self tests passed",
  notImplemented: "Self test function not implemented in this controller",
  corruptedOrInaccessible: "Corrupted or inaccessible data or devices",
  fatalHardwareError: "Fatal hardware error (system should consider BMC inoperative)",
  deviceSpecific: "Device-specific internal failure",
};

/** Names of the byte 2 bits when byte 1 is 57h, bit 7 first. */
export const SELF_TEST_FAILURE_NAMES: Readonly<Record<keyof SelfTestFailures, string>> = {
  selInaccessible: "Cannot access SEL device",
  sdrRepositoryInaccessible: "Cannot access SDR Repository",
  bmcFruInaccessible: "Cannot access BMC FRU device",
  ipmbSignalLinesUnresponsive: "IPMB signal lines do not respond",
  sdrRepositoryEmpty: "SDR Repository empty",
  fruInternalUseAreaCorrupted: "Internal Use Area of BMC FRU corrupted",
  bootBlockFirmwareCorrupted: "Controller update 'boot block' firmware corrupted",
  operationalFirmwareCorrupted: "Controller operational firmware corrupted",
};

const FAILURE_BITS: readonly (keyof SelfTestFailures)[] = [
  "operationalFirmwareCorrupted",
  "bootBlockFirmwareCorrupted",
  "fruInternalUseAreaCorrupted",
  "sdrRepositoryEmpty",
  "ipmbSignalLinesUnresponsive",
  "bmcFruInaccessible",
  "sdrRepositoryInaccessible",
  "selInaccessible",
];

// IPMI 2.0 §20.4 Get Self Test Results
export const getSelfTestResults = defineCommand<void, SelfTestResult>({
  name: "Get Self Test Results",
  netFn: NetFn.App,
  cmd: 0x04,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get Self Test Results request"),
  encodeResponse(t) {
    const w = new ByteWriter();
    switch (t.result) {
      case "passed":
        return w.u8(0x55).u8(0).flush();
      case "notImplemented":
        return w.u8(0x56).u8(0).flush();
      case "corruptedOrInaccessible":
        return w
          .u8(0x57)
          .u8(FAILURE_BITS.reduce((acc, name, i) => acc | flag(t.failures[name], i), 0))
          .flush();
      case "fatalHardwareError":
        return w.u8(0x58).u8(t.detail).flush();
      case "deviceSpecific":
        if (t.code >= 0x55 && t.code <= 0x58)
          throw new RangeError(`self test code ${t.code} is not device-specific`);
        return w.u8(t.code).u8(t.detail).flush();
    }
  },
  decodeResponse(r) {
    const code = r.u8();
    const detail = r.u8();
    expectEnd(r, "Get Self Test Results response");
    switch (code) {
      case 0x55:
        return { result: "passed" };
      case 0x56:
        return { result: "notImplemented" };
      case 0x57: {
        const failures = Object.fromEntries(FAILURE_BITS.map((name, i) => [name, bit(detail, i)]));
        return { result: "corruptedOrInaccessible", failures: failures as unknown as SelfTestFailures };
      }
      case 0x58:
        return { result: "fatalHardwareError", detail };
      case 0xff:
        throw new IpmiDecodeError("Get Self Test Results response", "result FFh is reserved");
      default:
        return { result: "deviceSpecific", code, detail };
    }
  },
});

// IPMI 2.0 §20.8 Get System GUID
export const getSystemGuid = defineCommand<void, { guid: Buffer }>({
  name: "Get System GUID",
  netFn: NetFn.App,
  cmd: 0x37,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get System GUID request"),
  encodeResponse({ guid }) {
    if (guid.length !== 16) throw new RangeError("a system GUID is 16 bytes");
    return Buffer.from(guid);
  },
  decodeResponse(r) {
    const guid = r.bytes(16);
    expectEnd(r, "Get System GUID response");
    return { guid };
  },
});

// ---------------------------------------------------------------------------------------------

export interface GetChannelAuthCapabilitiesRequest {
  /** Byte 1 [7]: ask for the IPMI 2.0 extended data (needed by BMCs without IPMI 1.5). */
  ipmi20ExtendedData: boolean;
  /** [3:0]; 0Eh = the channel this request arrives on. */
  channel: number;
  /** Requested maximum privilege level, 1-5. */
  maxPrivilege: number;
}

export interface AuthTypeSupport {
  none: boolean;
  md2: boolean;
  md5: boolean;
  password: boolean;
  oem: boolean;
}

export interface ChannelAuthCapabilities {
  channel: number;
  authTypes: AuthTypeSupport;
  /** Byte 2 [7]: bytes 4's IPMI 2.0 flags are meaningful. */
  ipmi20ExtendedData: boolean;
  /** [5] K_g is not the default (two-key login required). */
  kgSet: boolean;
  /** [4] per-message authentication is disabled. */
  perMessageAuthDisabled: boolean;
  /** [3] user-level authentication is disabled. */
  userLevelAuthDisabled: boolean;
  nonNullUsers: boolean;
  nullUsers: boolean;
  anonymousLogin: boolean;
  supportsIpmi20: boolean;
  supportsIpmi15: boolean;
  /** IANA number for OEM authentication, 3 bytes LE. */
  oemId: number;
  oemAux: number;
}

// IPMI 2.0 §22.13 Get Channel Authentication Capabilities
export const getChannelAuthCapabilities = defineCommand<
  GetChannelAuthCapabilitiesRequest,
  ChannelAuthCapabilities
>({
  name: "Get Channel Authentication Capabilities",
  netFn: NetFn.App,
  cmd: 0x38,
  encodeRequest: (q) =>
    new ByteWriter()
      .u8(flag(q.ipmi20ExtendedData, 7) | (q.channel & 0x0f))
      .u8(q.maxPrivilege & 0x0f)
      .flush(),
  decodeRequest(r) {
    const what = "Get Channel Authentication Capabilities request";
    const b1 = r.u8();
    const b2 = r.u8();
    expectEnd(r, what);
    return {
      ipmi20ExtendedData: bit(b1, 7),
      channel: b1 & 0x0f,
      maxPrivilege: privilege(b2 & 0x0f, what, false),
    };
  },
  encodeResponse(c) {
    const a = c.authTypes;
    return new ByteWriter()
      .u8(c.channel)
      .u8(
        flag(a.none, 0) |
          flag(a.md2, 1) |
          flag(a.md5, 2) |
          flag(a.password, 4) |
          flag(a.oem, 5) |
          flag(c.ipmi20ExtendedData, 7),
      )
      .u8(
        flag(c.anonymousLogin, 0) |
          flag(c.nullUsers, 1) |
          flag(c.nonNullUsers, 2) |
          flag(c.userLevelAuthDisabled, 3) |
          flag(c.perMessageAuthDisabled, 4) |
          flag(c.kgSet, 5),
      )
      .u8(flag(c.supportsIpmi15, 0) | flag(c.supportsIpmi20, 1))
      .u16le(c.oemId & 0xffff)
      .u8(c.oemId >>> 16)
      .u8(c.oemAux)
      .flush();
  },
  decodeResponse(r) {
    const channel = r.u8();
    const types = r.u8();
    const status = r.u8();
    const ext = r.u8();
    const oemId = r.u16le() | (r.u8() << 16);
    const oemAux = r.u8();
    expectEnd(r, "Get Channel Authentication Capabilities response");
    return {
      channel,
      authTypes: {
        none: bit(types, 0),
        md2: bit(types, 1),
        md5: bit(types, 2),
        password: bit(types, 4),
        oem: bit(types, 5),
      },
      ipmi20ExtendedData: bit(types, 7),
      kgSet: bit(status, 5),
      perMessageAuthDisabled: bit(status, 4),
      userLevelAuthDisabled: bit(status, 3),
      nonNullUsers: bit(status, 2),
      nullUsers: bit(status, 1),
      anonymousLogin: bit(status, 0),
      supportsIpmi20: bit(ext, 1),
      supportsIpmi15: bit(ext, 0),
      oemId,
      oemAux,
    };
  },
});

// ---------------------------------------------------------------------------------------------

export interface GetChannelCipherSuitesRequest {
  /** [3:0]; 0Eh = this channel. */
  channel: number;
  /** [5:0]; 00h = IPMI. */
  payloadType: number;
  /** Byte 3 [7]: 1 = list algorithms by cipher suite, 0 = list supported algorithms. */
  listBySuite: boolean;
  /** [5:0]: which 16-byte window of the record data to return. */
  listIndex: number;
}

export interface ChannelCipherSuites {
  channel: number;
  /** 0-16 bytes of the concatenated records; fewer than 16 means the list ended. */
  records: Buffer;
}

export const CIPHER_SUITE_RECORD_BYTES_PER_RESPONSE = 16;

// IPMI 2.0 §22.15 Get Channel Cipher Suites
export const getChannelCipherSuites = defineCommand<GetChannelCipherSuitesRequest, ChannelCipherSuites>({
  name: "Get Channel Cipher Suites",
  netFn: NetFn.App,
  cmd: 0x54,
  encodeRequest: (q) =>
    new ByteWriter()
      .u8(q.channel & 0x0f)
      .u8(q.payloadType & 0x3f)
      .u8(flag(q.listBySuite, 7) | (q.listIndex & 0x3f))
      .flush(),
  decodeRequest(r) {
    const channel = r.u8() & 0x0f;
    const payloadType = r.u8() & 0x3f;
    const b3 = r.u8();
    expectEnd(r, "Get Channel Cipher Suites request");
    return { channel, payloadType, listBySuite: bit(b3, 7), listIndex: b3 & 0x3f };
  },
  encodeResponse(c) {
    if (c.records.length > CIPHER_SUITE_RECORD_BYTES_PER_RESPONSE) {
      throw new RangeError("a Get Channel Cipher Suites response carries at most 16 record bytes");
    }
    return new ByteWriter()
      .u8(c.channel & 0x0f)
      .bytes(c.records)
      .flush();
  },
  decodeResponse(r) {
    const channel = r.u8() & 0x0f;
    if (r.remaining > CIPHER_SUITE_RECORD_BYTES_PER_RESPONSE) {
      throw new IpmiDecodeError(
        "Get Channel Cipher Suites response",
        `${r.remaining} record bytes; at most ${CIPHER_SUITE_RECORD_BYTES_PER_RESPONSE}`,
      );
    }
    return { channel, records: r.rest() };
  },
});

/** One cipher suite record (IPMI 2.0 §22.15.1, Table 22-18); algorithm numbers without their tag bits. */
export interface CipherSuiteRecord {
  id: number;
  /** Present for OEM records (start byte C1h). */
  oemIana?: number;
  authentication: number;
  integrity: number[];
  confidentiality: number[];
}

const RECORD_STANDARD = 0xc0;
const RECORD_OEM = 0xc1;
const TAG_AUTHENTICATION = 0x00;
const TAG_INTEGRITY = 0x40;
const TAG_CONFIDENTIALITY = 0x80;

/**
 * Parses the record bytes of all Get Channel Cipher Suites responses, concatenated in list-index
 * order (a record may straddle two responses). Each record is C0h id (or C1h id IANA(3)), then
 * algorithm bytes tagged [7:6] 00 authentication, 01 integrity, 10 confidentiality.
 */
export function parseCipherSuiteRecords(bytes: Uint8Array): CipherSuiteRecord[] {
  const what = "cipher suite records";
  const records: CipherSuiteRecord[] = [];
  let i = 0;
  const at = (n: number): number => {
    const v = bytes[n];
    if (v === undefined) throw new IpmiDecodeError(what, `record at byte ${i} ends early`);
    return v;
  };
  while (i < bytes.length) {
    const start = at(i);
    if (start !== RECORD_STANDARD && start !== RECORD_OEM) {
      throw new IpmiDecodeError(what, `byte ${i} is ${start.toString(16)}h; a record starts with C0h or C1h`);
    }
    const id = at(i + 1);
    let j = i + 2;
    let oemIana: number | undefined;
    if (start === RECORD_OEM) {
      oemIana = at(j) | (at(j + 1) << 8) | (at(j + 2) << 16);
      j += 3;
    }
    let authentication: number | undefined;
    const integrity: number[] = [];
    const confidentiality: number[] = [];
    while (j < bytes.length && (at(j) & 0xc0) !== 0xc0) {
      const b = at(j);
      const alg = b & 0x3f;
      if ((b & 0xc0) === TAG_AUTHENTICATION) {
        if (authentication !== undefined) {
          throw new IpmiDecodeError(what, `cipher suite ${id} names two authentication algorithms`);
        }
        authentication = alg;
      } else if ((b & 0xc0) === TAG_INTEGRITY) integrity.push(alg);
      else confidentiality.push(alg);
      j++;
    }
    if (authentication === undefined) {
      throw new IpmiDecodeError(what, `cipher suite ${id} has no authentication algorithm`);
    }
    records.push({
      id,
      ...(oemIana !== undefined && { oemIana }),
      authentication,
      integrity,
      confidentiality,
    });
    i = j;
  }
  return records;
}

/** The inverse of parseCipherSuiteRecords, for a BMC simulator (slice it into 16-byte windows). */
export function encodeCipherSuiteRecords(records: readonly CipherSuiteRecord[]): Buffer {
  const w = new ByteWriter();
  for (const rec of records) {
    if (rec.oemIana === undefined) w.u8(RECORD_STANDARD).u8(rec.id);
    else
      w.u8(RECORD_OEM)
        .u8(rec.id)
        .u16le(rec.oemIana & 0xffff)
        .u8(rec.oemIana >>> 16);
    w.u8(TAG_AUTHENTICATION | (rec.authentication & 0x3f));
    for (const a of rec.integrity) w.u8(TAG_INTEGRITY | (a & 0x3f));
    for (const a of rec.confidentiality) w.u8(TAG_CONFIDENTIALITY | (a & 0x3f));
  }
  return w.flush();
}

// ---------------------------------------------------------------------------------------------

/** Command-specific completion codes of Set Session Privilege Level (IPMI 2.0 §22.18). */
export const SET_SESSION_PRIVILEGE_CODES: Readonly<Record<number, string>> = {
  128: "Requested level not available for this user",
  129: "Requested level exceeds Channel and/or User Privilege Limit",
  130: "Cannot disable User Level authentication",
};

// IPMI 2.0 §22.18 Set Session Privilege Level
export const setSessionPrivilegeLevel = defineCommand<{ privilege: number }, { privilege: number }>({
  name: "Set Session Privilege Level",
  completionCodes: SET_SESSION_PRIVILEGE_CODES,
  netFn: NetFn.App,
  cmd: 0x3b,
  encodeRequest: (q) => new ByteWriter().u8(q.privilege & 0x0f).flush(),
  decodeRequest(r) {
    const what = "Set Session Privilege Level request";
    const v = r.u8() & 0x0f;
    expectEnd(r, what);
    return { privilege: privilege(v, what, true) };
  },
  encodeResponse: (s) => new ByteWriter().u8(s.privilege & 0x0f).flush(),
  decodeResponse(r) {
    const what = "Set Session Privilege Level response";
    const v = r.u8() & 0x0f;
    expectEnd(r, what);
    return { privilege: privilege(v, what, false) };
  },
});

/** Command-specific completion codes of Close Session (IPMI 2.0 §22.19). */
export const CLOSE_SESSION_CODES: Readonly<Record<number, string>> = {
  135: "Invalid session ID in request",
  136: "Invalid session handle in request",
};

export interface CloseSessionRequest {
  /** The BMC's session ID. */
  sessionId: number;
  /** Only sent when sessionId is 0. */
  sessionHandle?: number;
}

// IPMI 2.0 §22.19 Close Session
export const closeSession = defineCommand<CloseSessionRequest, void>({
  name: "Close Session",
  completionCodes: CLOSE_SESSION_CODES,
  netFn: NetFn.App,
  cmd: 0x3c,
  encodeRequest(q) {
    if (q.sessionHandle !== undefined && q.sessionId !== 0) {
      throw new RangeError("a session handle is sent only with session ID 0");
    }
    const w = new ByteWriter().u32le(q.sessionId);
    if (q.sessionHandle !== undefined) w.u8(q.sessionHandle);
    return w.flush();
  },
  decodeRequest(r) {
    const what = "Close Session request";
    const sessionId = r.u32le();
    if (r.remaining === 0) return { sessionId };
    if (sessionId !== 0) throw new IpmiDecodeError(what, "a session handle follows a non-zero session ID");
    const sessionHandle = r.u8();
    expectEnd(r, what);
    return { sessionId, sessionHandle };
  },
  encodeResponse: empty.encode,
  decodeResponse: (r) => expectEnd(r, "Close Session response"),
});

// ---------------------------------------------------------------------------------------------

/** Command-specific completion codes of Get Session Challenge (IPMI 2.0 §22.16). */
export const GET_SESSION_CHALLENGE_CODES: Readonly<Record<number, string>> = {
  129: "invalid user name",
  130: "null user name (User 1) not enabled",
};

export interface GetSessionChallengeRequest {
  /** [3:0] the auth type the session will use (session15.ts AuthType). */
  authType: number;
  /** Up to 16 bytes, sent zero-padded; "" is the null user (User 1). */
  username: string;
}

export interface SessionChallenge {
  temporarySessionId: number;
  /** 16 bytes, returned in Activate Session. */
  challenge: Buffer;
}

// IPMI 2.0 §22.16 Get Session Challenge (IPMI 1.5 session set-up, sent outside a session)
export const getSessionChallenge = defineCommand<GetSessionChallengeRequest, SessionChallenge>({
  name: "Get Session Challenge",
  completionCodes: GET_SESSION_CHALLENGE_CODES,
  netFn: NetFn.App,
  cmd: 0x39,
  encodeRequest(q) {
    const name = Buffer.alloc(16);
    if (Buffer.from(q.username, "latin1").copy(name) < Buffer.byteLength(q.username, "latin1"))
      throw new RangeError("an IPMI user name is at most 16 bytes");
    return new ByteWriter()
      .u8(q.authType & 0x0f)
      .bytes(name)
      .flush();
  },
  decodeRequest(r) {
    const authType = r.u8() & 0x0f;
    const name = r.bytes(16);
    expectEnd(r, "Get Session Challenge request");
    const end = name.indexOf(0);
    return { authType, username: name.subarray(0, end < 0 ? 16 : end).toString("latin1") };
  },
  encodeResponse(c) {
    if (c.challenge.length !== 16) throw new RangeError("a session challenge is 16 bytes");
    return new ByteWriter().u32le(c.temporarySessionId).bytes(c.challenge).flush();
  },
  decodeResponse(r) {
    const temporarySessionId = r.u32le();
    const challenge = r.bytes(16);
    expectEnd(r, "Get Session Challenge response");
    return { temporarySessionId, challenge };
  },
});

/** Command-specific completion codes of Activate Session (IPMI 2.0 §22.17). */
export const ACTIVATE_SESSION_CODES: Readonly<Record<number, string>> = {
  129: "no session slot available",
  130: "no slot available for given user",
  131: "no slot available to support user due to maximum privilege capability",
  132: "session sequence number out-of-range",
  133: "invalid session ID in request",
  134: "requested maximum privilege level exceeds user and/or channel privilege limit",
};

export interface ActivateSessionRequest {
  /** [3:0] auth type for the session. */
  authType: number;
  /** [3:0] the most the session may take. */
  maxPrivilege: number;
  /** The 16 bytes Get Session Challenge returned. */
  challenge: Buffer;
  /** Where the BMC's own session sequence numbers start (remote console's choice, non-zero). */
  initialOutboundSequence: number;
}

export interface ActivatedSession {
  authType: number;
  sessionId: number;
  /** Where the console's session sequence numbers start (the BMC's choice). */
  initialInboundSequence: number;
  maxPrivilege: number;
}

// IPMI 2.0 §22.17 Activate Session (IPMI 1.5; sent authenticated, with the temporary session ID)
export const activateSession = defineCommand<ActivateSessionRequest, ActivatedSession>({
  name: "Activate Session",
  completionCodes: ACTIVATE_SESSION_CODES,
  netFn: NetFn.App,
  cmd: 0x3a,
  encodeRequest(q) {
    if (q.challenge.length !== 16) throw new RangeError("a session challenge is 16 bytes");
    return new ByteWriter()
      .u8(q.authType & 0x0f)
      .u8(q.maxPrivilege & 0x0f)
      .bytes(q.challenge)
      .u32le(q.initialOutboundSequence)
      .flush();
  },
  decodeRequest(r) {
    const what = "Activate Session request";
    const authType = r.u8() & 0x0f;
    const maxPrivilege = privilege(r.u8() & 0x0f, what, false);
    const challenge = r.bytes(16);
    const initialOutboundSequence = r.u32le();
    expectEnd(r, what);
    return { authType, maxPrivilege, challenge, initialOutboundSequence };
  },
  encodeResponse: (s) =>
    new ByteWriter()
      .u8(s.authType & 0x0f)
      .u32le(s.sessionId)
      .u32le(s.initialInboundSequence)
      .u8(s.maxPrivilege & 0x0f)
      .flush(),
  decodeResponse(r) {
    const what = "Activate Session response";
    const authType = r.u8() & 0x0f;
    const sessionId = r.u32le();
    const initialInboundSequence = r.u32le();
    const maxPrivilege = privilege(r.u8() & 0x0f, what, false);
    expectEnd(r, what);
    return { authType, sessionId, initialInboundSequence, maxPrivilege };
  },
});
