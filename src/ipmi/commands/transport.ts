import { ByteReader, ByteWriter, inRange, TruncatedError } from "../bytes.js";
import { CONFIG_PARAMETER_CODES } from "../completion-codes.js";
import { IpmiDecodeError } from "../errors.js";
import { defineCommand, NetFn } from "./command.js";

/** Parameter revision in Get responses: present 1, oldest compatible 1 (IPMI 2.0 §23.2). */
export const LAN_PARAMETER_REVISION = 0x11;

/** IPMI 1.5 authentication types, as a set (IPMI 2.0 §23.1 Table 23-4 params 1-2). */
export interface AuthTypes {
  none: boolean;
  md2: boolean;
  md5: boolean;
  password: boolean;
  oem: boolean;
}

export type SetInProgressState = "setComplete" | "setInProgress" | "commitWrite" | "reserved";
export type IpAddressSource = "unspecified" | "static" | "dhcp" | "bios" | "other";
export type AlertDestinationType = "pet" | "oem1" | "oem2";
/** Per-cipher-suite maximum privilege nibble (param 24); "unused" (0) disables the suite. */
export type CipherSuitePrivilege = "unused" | "callback" | "user" | "operator" | "administrator" | "oem";

/** LAN configuration parameters 0-26 (IPMI 2.0 §23.1, Table 23-4); anything else as "raw". */
export type LanParameter =
  | { parameter: "setInProgress"; state: SetInProgressState }
  | { parameter: "authTypeSupport"; types: AuthTypes }
  | {
      parameter: "authTypeEnables";
      callback: AuthTypes;
      user: AuthTypes;
      operator: AuthTypes;
      admin: AuthTypes;
      oem: AuthTypes;
    }
  | { parameter: "ipAddress"; ip: string }
  | { parameter: "ipAddressSource"; source: IpAddressSource }
  | { parameter: "macAddress"; mac: string }
  | { parameter: "subnetMask"; mask: string }
  | {
      parameter: "ipv4HeaderParameters";
      timeToLive: number;
      /** IP header flags, 3 bits (default 010b, don't fragment). */
      flags: number;
      /** 3 bits. */
      precedence: number;
      /** 4 bits (default 1000b, minimize delay). */
      typeOfService: number;
    }
  | { parameter: "primaryRmcpPort"; port: number }
  | { parameter: "secondaryRmcpPort"; port: number }
  | { parameter: "bmcGeneratedArpControl"; arpResponses: boolean; gratuitousArps: boolean }
  /** Raw interval; the spec counts it in 500 ms steps (unconfirmed on hardware). */
  | { parameter: "gratuitousArpInterval"; interval: number }
  | { parameter: "defaultGatewayAddress"; ip: string }
  | { parameter: "defaultGatewayMacAddress"; mac: string }
  | { parameter: "backupGatewayAddress"; ip: string }
  | { parameter: "backupGatewayMacAddress"; mac: string }
  /** Up to 18 characters, NUL-padded to 18 bytes on the wire. */
  | { parameter: "community"; community: string }
  /** Read-only: non-volatile destinations supported (selector 0 is the volatile one). */
  | { parameter: "destinationCount"; count: number }
  | {
      parameter: "destinationType";
      set: number;
      acknowledge: boolean;
      type: AlertDestinationType;
      /** Raw byte: the spec says seconds, "0-based" for the retry interval; tools print it as is. */
      ackTimeoutSeconds: number;
      /** 0-7. */
      retries: number;
    }
  | { parameter: "destinationAddress"; set: number; gateway: "default" | "backup"; ip: string; mac: string }
  | { parameter: "vlanId"; enabled: boolean; vlanId: number }
  | { parameter: "vlanPriority"; priority: number }
  /** Read-only. */
  | { parameter: "cipherSuiteEntrySupport"; count: number }
  /** Read-only: every ID byte after the reserved byte, as the BMC sent them (param 22 says how many count). */
  | { parameter: "cipherSuiteEntries"; ids: number[] }
  /** One entry per cipher suite entry of param 23, in order (entry 0 in byte 2 [3:0]). */
  | { parameter: "cipherSuitePrivilegeLevels"; levels: CipherSuitePrivilege[] }
  /** The 2-byte VLAN TAG is kept raw (LE); format 0 = no VLAN, 1 = 802.1q tag. */
  | { parameter: "destinationVlanTag"; set: number; format: "none" | "vlanTag"; vlanTag: number }
  | {
      parameter: "badPasswordThreshold";
      userDisabledEventMessage: boolean;
      threshold: number;
      /** In 10-second units; 0 = never reset. */
      attemptCountResetInterval: number;
      /** In 10-second units; 0 = never lock out. */
      userLockoutInterval: number;
    }
  | { parameter: "raw"; selector: number; data: Buffer };

export type LanParameterName = Exclude<LanParameter["parameter"], "raw">;

/** Parameter selectors, in spec order. */
export const LAN_PARAMETER_SELECTORS: Readonly<Record<LanParameterName, number>> = {
  setInProgress: 0,
  authTypeSupport: 1,
  authTypeEnables: 2,
  ipAddress: 3,
  ipAddressSource: 4,
  macAddress: 5,
  subnetMask: 6,
  ipv4HeaderParameters: 7,
  primaryRmcpPort: 8,
  secondaryRmcpPort: 9,
  bmcGeneratedArpControl: 10,
  gratuitousArpInterval: 11,
  defaultGatewayAddress: 12,
  defaultGatewayMacAddress: 13,
  backupGatewayAddress: 14,
  backupGatewayMacAddress: 15,
  community: 16,
  destinationCount: 17,
  destinationType: 18,
  destinationAddress: 19,
  vlanId: 20,
  vlanPriority: 21,
  cipherSuiteEntrySupport: 22,
  cipherSuiteEntries: 23,
  cipherSuitePrivilegeLevels: 24,
  destinationVlanTag: 25,
  badPasswordThreshold: 26,
};

const SET_STATES: readonly SetInProgressState[] = ["setComplete", "setInProgress", "commitWrite", "reserved"];
const SOURCES: readonly IpAddressSource[] = ["unspecified", "static", "dhcp", "bios", "other"];
const PRIVILEGES: readonly CipherSuitePrivilege[] = [
  "unused",
  "callback",
  "user",
  "operator",
  "administrator",
  "oem",
];
const COMMUNITY_LENGTH = 18;

// ---- value helpers --------------------------------------------------------------------------

function readIp(r: ByteReader): string {
  return [...r.bytes(4)].join(".");
}

function ipBytes(ip: string): number[] {
  const parts = ip.split(".");
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) {
    throw new RangeError(`"${ip}" is not a dotted IPv4 address`);
  }
  return bytes;
}

function readMac(r: ByteReader): string {
  return [...r.bytes(6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function macBytes(mac: string): number[] {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RangeError(`"${mac}" is not a MAC address like aa:bb:cc:dd:ee:ff`);
  }
  return parts.map((p) => Number.parseInt(p, 16));
}

function readAuthTypes(b: number): AuthTypes {
  // [3] is reserved; ipmi_sim sets it in param 1 (1Fh), and it is not kept.
  return {
    none: !!(b & 0x01),
    md2: !!(b & 0x02),
    md5: !!(b & 0x04),
    password: !!(b & 0x10),
    oem: !!(b & 0x20),
  };
}

function authTypesByte(t: AuthTypes): number {
  return (
    (t.none ? 0x01 : 0) |
    (t.md2 ? 0x02 : 0) |
    (t.md5 ? 0x04 : 0) |
    (t.password ? 0x10 : 0) |
    (t.oem ? 0x20 : 0)
  );
}

/** Encodes a typed parameter to its selector and data bytes. */
export function encodeLanParameter(p: LanParameter): { selector: number; data: Buffer } {
  if (p.parameter === "raw") return { selector: p.selector, data: Buffer.from(p.data) };
  const w = new ByteWriter();
  switch (p.parameter) {
    case "setInProgress":
      w.u8(SET_STATES.indexOf(p.state));
      break;
    case "authTypeSupport":
      w.u8(authTypesByte(p.types));
      break;
    case "authTypeEnables":
      for (const t of [p.callback, p.user, p.operator, p.admin, p.oem]) w.u8(authTypesByte(t));
      break;
    case "ipAddress":
    case "defaultGatewayAddress":
    case "backupGatewayAddress":
      w.bytes(ipBytes(p.ip));
      break;
    case "subnetMask":
      w.bytes(ipBytes(p.mask));
      break;
    case "ipAddressSource":
      w.u8(SOURCES.indexOf(p.source));
      break;
    case "macAddress":
    case "defaultGatewayMacAddress":
    case "backupGatewayMacAddress":
      w.bytes(macBytes(p.mac));
      break;
    case "ipv4HeaderParameters":
      w.u8(inRange("TTL", p.timeToLive, 0xff))
        .u8(inRange("IP flags", p.flags, 7) << 5)
        .u8(
          (inRange("precedence", p.precedence, 7) << 5) |
            (inRange("type of service", p.typeOfService, 0x0f) << 1),
        );
      break;
    case "primaryRmcpPort":
    case "secondaryRmcpPort":
      w.u16le(inRange("port", p.port, 0xffff));
      break;
    case "bmcGeneratedArpControl":
      w.u8((p.arpResponses ? 0x02 : 0) | (p.gratuitousArps ? 0x01 : 0));
      break;
    case "gratuitousArpInterval":
      w.u8(inRange("gratuitous ARP interval", p.interval, 0xff));
      break;
    case "community": {
      const text = Buffer.from(p.community, "latin1");
      if (text.length > COMMUNITY_LENGTH || p.community.includes("\0")) {
        throw new RangeError(
          `community "${p.community}" must be at most ${COMMUNITY_LENGTH} characters, no NUL`,
        );
      }
      w.bytes(text).bytes(Buffer.alloc(COMMUNITY_LENGTH - text.length));
      break;
    }
    case "destinationCount":
      w.u8(inRange("destination count", p.count, 0x0f));
      break;
    case "destinationType":
      w.u8(inRange("destination selector", p.set, 0x0f))
        .u8((p.acknowledge ? 0x80 : 0) | { pet: 0, oem1: 6, oem2: 7 }[p.type])
        .u8(inRange("ack timeout", p.ackTimeoutSeconds, 0xff))
        .u8(inRange("retries", p.retries, 7));
      break;
    case "destinationAddress":
      w.u8(inRange("destination selector", p.set, 0x0f))
        .u8(0x00) // address format 0h: IPv4 + MAC
        .u8(p.gateway === "backup" ? 1 : 0)
        .bytes(ipBytes(p.ip))
        .bytes(macBytes(p.mac));
      break;
    case "vlanId":
      inRange("VLAN ID", p.vlanId, 0x0fff);
      w.u8(p.vlanId & 0xff).u8((p.enabled ? 0x80 : 0) | (p.vlanId >> 8));
      break;
    case "vlanPriority":
      w.u8(inRange("VLAN priority", p.priority, 7));
      break;
    case "cipherSuiteEntrySupport":
      w.u8(inRange("cipher suite entry count", p.count, 0x1f));
      break;
    case "cipherSuiteEntries":
      if (p.ids.length > 16) throw new RangeError(`${p.ids.length} cipher suite entries; at most 16`);
      w.u8(0).bytes(p.ids.map((id) => inRange("cipher suite ID", id, 0xff)));
      break;
    case "cipherSuitePrivilegeLevels": {
      if (p.levels.length > 16) throw new RangeError(`${p.levels.length} privilege levels; at most 16`);
      w.u8(0);
      for (let i = 0; i < p.levels.length; i += 2) {
        const lo = PRIVILEGES.indexOf(p.levels[i] as CipherSuitePrivilege);
        const hi = i + 1 < p.levels.length ? PRIVILEGES.indexOf(p.levels[i + 1] as CipherSuitePrivilege) : 0;
        w.u8((hi << 4) | lo);
      }
      break;
    }
    case "destinationVlanTag":
      w.u8(inRange("destination selector", p.set, 0x0f))
        .u8((p.format === "vlanTag" ? 1 : 0) << 4)
        .u16le(inRange("VLAN TAG", p.vlanTag, 0xffff));
      break;
    case "badPasswordThreshold":
      w.u8(p.userDisabledEventMessage ? 1 : 0)
        .u8(inRange("bad password threshold", p.threshold, 0xff))
        .u16le(inRange("attempt count reset interval", p.attemptCountResetInterval, 0xffff))
        .u16le(inRange("user lockout interval", p.userLockoutInterval, 0xffff));
      break;
  }
  return { selector: LAN_PARAMETER_SELECTORS[p.parameter], data: w.flush() };
}

/** Exact data length per fixed-size parameter. */
const LENGTHS: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 5,
  3: 4,
  4: 1,
  5: 6,
  6: 4,
  7: 3,
  8: 2,
  9: 2,
  10: 1,
  11: 1,
  12: 4,
  13: 6,
  14: 4,
  15: 6,
  16: COMMUNITY_LENGTH,
  17: 1,
  18: 4,
  19: 13,
  20: 2,
  21: 1,
  22: 1,
  25: 4,
  26: 6,
};

/**
 * Decodes a parameter's data (the bytes after Get's revision byte, or after Set's selector).
 * Selectors above 26, and destination addresses/VLAN tags in a format other than 0h/1h, come back
 * as "raw". Reserved bits are dropped.
 */
export function decodeLanParameter(selector: number, data: Buffer): LanParameter {
  const what = `LAN parameter ${selector}`;
  const expected = LENGTHS[selector];
  if (expected !== undefined && data.length !== expected) {
    throw new IpmiDecodeError(what, `is ${data.length} bytes, not ${expected}`, "length");
  }
  const r = new ByteReader(data);
  const raw = (): LanParameter => ({ parameter: "raw", selector, data: Buffer.from(data) });
  try {
    switch (selector) {
      case 0:
        return { parameter: "setInProgress", state: SET_STATES[r.u8() & 0x03] as SetInProgressState };
      case 1:
        return { parameter: "authTypeSupport", types: readAuthTypes(r.u8()) };
      case 2:
        return {
          parameter: "authTypeEnables",
          callback: readAuthTypes(r.u8()),
          user: readAuthTypes(r.u8()),
          operator: readAuthTypes(r.u8()),
          admin: readAuthTypes(r.u8()),
          oem: readAuthTypes(r.u8()),
        };
      case 3:
        return { parameter: "ipAddress", ip: readIp(r) };
      case 4: {
        const source = SOURCES[r.u8() & 0x0f];
        if (!source) throw new IpmiDecodeError(what, `IP address source ${data[0]} is reserved`);
        return { parameter: "ipAddressSource", source };
      }
      case 5:
        return { parameter: "macAddress", mac: readMac(r) };
      case 6:
        return { parameter: "subnetMask", mask: readIp(r) };
      case 7: {
        const timeToLive = r.u8();
        const flags = r.u8() >> 5;
        const b3 = r.u8();
        return {
          parameter: "ipv4HeaderParameters",
          timeToLive,
          flags,
          precedence: b3 >> 5,
          typeOfService: (b3 >> 1) & 0x0f,
        };
      }
      case 8:
        return { parameter: "primaryRmcpPort", port: r.u16le() };
      case 9:
        return { parameter: "secondaryRmcpPort", port: r.u16le() };
      case 10: {
        const b = r.u8();
        return {
          parameter: "bmcGeneratedArpControl",
          arpResponses: !!(b & 0x02),
          gratuitousArps: !!(b & 0x01),
        };
      }
      case 11:
        return { parameter: "gratuitousArpInterval", interval: r.u8() };
      case 12:
        return { parameter: "defaultGatewayAddress", ip: readIp(r) };
      case 13:
        return { parameter: "defaultGatewayMacAddress", mac: readMac(r) };
      case 14:
        return { parameter: "backupGatewayAddress", ip: readIp(r) };
      case 15:
        return { parameter: "backupGatewayMacAddress", mac: readMac(r) };
      case 16: {
        const nul = data.indexOf(0);
        return {
          parameter: "community",
          community: data.subarray(0, nul < 0 ? data.length : nul).toString("latin1"),
        };
      }
      case 17:
        return { parameter: "destinationCount", count: r.u8() & 0x0f };
      case 18: {
        const set = r.u8() & 0x0f;
        const b2 = r.u8();
        const type = ({ 0: "pet", 6: "oem1", 7: "oem2" } as const)[b2 & (0x07 as 0 | 6 | 7)];
        if (!type) throw new IpmiDecodeError(what, `destination type ${b2 & 0x07} is reserved`);
        return {
          parameter: "destinationType",
          set,
          acknowledge: !!(b2 & 0x80),
          type,
          ackTimeoutSeconds: r.u8(),
          retries: r.u8() & 0x07,
        };
      }
      case 19: {
        const set = r.u8() & 0x0f;
        if (r.u8() >> 4 !== 0) return raw();
        const gateway = r.u8() & 0x01 ? "backup" : "default";
        return { parameter: "destinationAddress", set, gateway, ip: readIp(r), mac: readMac(r) };
      }
      case 20: {
        const lo = r.u8();
        const hi = r.u8();
        return { parameter: "vlanId", enabled: !!(hi & 0x80), vlanId: ((hi & 0x0f) << 8) | lo };
      }
      case 21:
        return { parameter: "vlanPriority", priority: r.u8() & 0x07 };
      case 22:
        return { parameter: "cipherSuiteEntrySupport", count: r.u8() & 0x1f };
      case 23: {
        if (data.length < 1 || data.length > 17)
          throw new IpmiDecodeError(what, `is ${data.length} bytes, not 1..17`, "length");
        r.u8(); // reserved
        return { parameter: "cipherSuiteEntries", ids: [...r.rest()] };
      }
      case 24: {
        if (data.length < 1 || data.length > 9)
          throw new IpmiDecodeError(what, `is ${data.length} bytes, not 1..9`, "length");
        r.u8(); // reserved
        const levels: CipherSuitePrivilege[] = [];
        for (const b of r.rest()) {
          for (const nibble of [b & 0x0f, b >> 4]) {
            const level = PRIVILEGES[nibble];
            if (!level) throw new IpmiDecodeError(what, `privilege level ${nibble} is reserved`);
            levels.push(level);
          }
        }
        return { parameter: "cipherSuitePrivilegeLevels", levels };
      }
      case 25: {
        const set = r.u8() & 0x0f;
        const format = r.u8() >> 4;
        if (format > 1) return raw();
        return {
          parameter: "destinationVlanTag",
          set,
          format: format === 1 ? "vlanTag" : "none",
          vlanTag: r.u16le(),
        };
      }
      case 26:
        return {
          parameter: "badPasswordThreshold",
          userDisabledEventMessage: !!(r.u8() & 0x01),
          threshold: r.u8(),
          attemptCountResetInterval: r.u16le(),
          userLockoutInterval: r.u16le(),
        };
      default:
        return raw();
    }
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError(what, err.message, "length");
    throw err;
  }
}

export interface SetLanConfigurationParametersRequest {
  /** [3:0]; 0Eh = the channel this request arrives on. */
  channel: number;
  parameter: LanParameter;
}

/**
 * Set LAN and Set SOL Configuration Parameters share their layout (IPMI 2.0 §23.1, §26.2): channel,
 * selector, then the parameter's data as `encode` / `decode` give it.
 */
export function configurationSetCodec<P>(
  encode: (p: P) => { selector: number; data: Buffer },
  decode: (selector: number, data: Buffer) => P,
) {
  return {
    encodeRequest: (req: { channel: number; parameter: P }): Buffer => {
      const { selector, data } = encode(req.parameter);
      return new ByteWriter()
        .u8(req.channel & 0x0f)
        .u8(selector)
        .bytes(data)
        .flush();
    },
    decodeRequest: (r: ByteReader): { channel: number; parameter: P } => {
      const channel = r.u8() & 0x0f;
      const selector = r.u8();
      return { channel, parameter: decode(selector, r.rest()) };
    },
    encodeResponse: (): Buffer => Buffer.alloc(0),
    decodeResponse: (): void => undefined,
  };
}

/** Set LAN Configuration Parameters (IPMI 2.0 §23.1). */
export const setLanConfigurationParameters = defineCommand<SetLanConfigurationParametersRequest, void>({
  name: "Set LAN Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.Transport,
  cmd: 0x01,
  ...configurationSetCodec(encodeLanParameter, decodeLanParameter),
});

export interface GetLanConfigurationParametersRequest {
  /** [7]: ask for the parameter revision only. */
  revisionOnly: boolean;
  channel: number;
  selector: number;
  /** Destination selector for params 18, 19, 25; else 0. */
  setSelector: number;
  blockSelector: number;
}

export interface GetLanConfigurationParametersResponse {
  /** [7:4] present revision, [3:0] oldest compatible: 11h. */
  revision: number;
  /** Empty when revisionOnly was asked; decode it with decodeLanParameter(selector, data). */
  data: Buffer;
}

/** Get LAN and Get SOL Configuration Parameters share their request and response layout (IPMI 2.0 §23.2, §26.3). */
export const configurationGetCodec = {
  encodeRequest: (req: GetLanConfigurationParametersRequest): Buffer =>
    new ByteWriter()
      .u8((req.revisionOnly ? 0x80 : 0) | (req.channel & 0x0f))
      .u8(req.selector)
      .u8(req.setSelector)
      .u8(req.blockSelector)
      .flush(),
  decodeRequest: (r: ByteReader): GetLanConfigurationParametersRequest => {
    const b = r.u8();
    return {
      revisionOnly: (b & 0x80) !== 0,
      channel: b & 0x0f,
      selector: r.u8(),
      setSelector: r.u8(),
      blockSelector: r.u8(),
    };
  },
  encodeResponse: (res: GetLanConfigurationParametersResponse): Buffer =>
    new ByteWriter().u8(res.revision).bytes(res.data).flush(),
  decodeResponse: (r: ByteReader): GetLanConfigurationParametersResponse => ({
    revision: r.u8(),
    data: r.rest(),
  }),
};

/** Get LAN Configuration Parameters (IPMI 2.0 §23.2). */
export const getLanConfigurationParameters = defineCommand<
  GetLanConfigurationParametersRequest,
  GetLanConfigurationParametersResponse
>({
  name: "Get LAN Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.Transport,
  cmd: 0x02,
  ...configurationGetCodec,
});
