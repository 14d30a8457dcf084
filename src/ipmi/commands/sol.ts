import { ByteReader, ByteWriter, inRange, TruncatedError } from "../bytes.js";
import { CONFIG_PARAMETER_CODES } from "../completion-codes.js";
import { IpmiDecodeError } from "../errors.js";
import type { SetInProgressState } from "../pef.js";
import { defineCommand, NetFn } from "./command.js";
import {
  configurationGetCodec,
  configurationSetCodec,
  type GetLanConfigurationParametersRequest,
  type GetLanConfigurationParametersResponse,
} from "./transport.js";

/** Parameter revision in Get responses: present 1, oldest compatible 1 (IPMI 2.0 §26.3). */
export const SOL_PARAMETER_REVISION = 0x11;

/** SOL bit rates in kbps as ipmitool prints them; "serial" = the serial channel's own (IPMI 2.0 Table 26-5). */
export type SolBitRate = "serial" | "9.6" | "19.2" | "38.4" | "57.6" | "115.2";
const BIT_RATES: Readonly<Record<number, SolBitRate>> = {
  0: "serial",
  6: "9.6",
  7: "19.2",
  8: "38.4",
  9: "57.6",
  10: "115.2",
};
const SET_STATES: readonly SetInProgressState[] = ["complete", "inProgress", "commitWrite"];

/** SOL configuration parameters 0-8 (IPMI 2.0 §26.3, Table 26-5); anything else as "raw". */
export type SolParameter =
  | { parameter: "setInProgress"; state: SetInProgressState }
  | { parameter: "enable"; enabled: boolean }
  | {
      parameter: "authentication";
      forceEncryption: boolean;
      forceAuthentication: boolean;
      /** Least privilege of a session that may activate SOL: 2 user, 3 operator, 4 administrator, 5 OEM. */
      privilege: number;
    }
  /** Interval in 5 ms units and threshold in characters, both 1-based. */
  | { parameter: "characterAccumulate"; interval: number; sendThreshold: number }
  /** Retries (0-7), and the interval between them in 10 ms units (0 = back to back). */
  | { parameter: "retry"; count: number; interval: number }
  | { parameter: "nonVolatileBitRate"; rate: SolBitRate }
  | { parameter: "volatileBitRate"; rate: SolBitRate }
  /** Read-only: the channel SOL payloads run on. */
  | { parameter: "payloadChannel"; channel: number }
  | { parameter: "payloadPort"; port: number }
  | { parameter: "raw"; selector: number; data: Buffer };

export type SolParameterName = Exclude<SolParameter["parameter"], "raw">;

export const SOL_PARAMETER_SELECTORS: Readonly<Record<SolParameterName, number>> = {
  setInProgress: 0,
  enable: 1,
  authentication: 2,
  characterAccumulate: 3,
  retry: 4,
  nonVolatileBitRate: 5,
  volatileBitRate: 6,
  payloadChannel: 7,
  payloadPort: 8,
};
const LENGTHS: readonly number[] = [1, 1, 1, 2, 2, 1, 1, 1, 2];

function bitRateCode(rate: SolBitRate): number {
  return Number(Object.entries(BIT_RATES).find(([, r]) => r === rate)?.[0]);
}

/** Encodes a typed parameter to its selector and data bytes. */
export function encodeSolParameter(p: SolParameter): { selector: number; data: Buffer } {
  if (p.parameter === "raw") return { selector: p.selector, data: Buffer.from(p.data) };
  const w = new ByteWriter();
  switch (p.parameter) {
    case "setInProgress":
      w.u8(SET_STATES.indexOf(p.state));
      break;
    case "enable":
      w.u8(p.enabled ? 1 : 0);
      break;
    case "authentication":
      w.u8(
        (p.forceEncryption ? 0x80 : 0) |
          (p.forceAuthentication ? 0x40 : 0) |
          inRange("SOL privilege", p.privilege, 5, 2),
      );
      break;
    case "characterAccumulate":
      w.u8(inRange("accumulate interval", p.interval, 0xff, 1)).u8(
        inRange("send threshold", p.sendThreshold, 0xff, 1),
      );
      break;
    case "retry":
      w.u8(inRange("retry count", p.count, 7)).u8(inRange("retry interval", p.interval, 0xff));
      break;
    case "nonVolatileBitRate":
    case "volatileBitRate":
      w.u8(bitRateCode(p.rate));
      break;
    case "payloadChannel":
      w.u8(inRange("payload channel", p.channel, 0x0f));
      break;
    case "payloadPort":
      w.u16le(inRange("payload port", p.port, 0xffff));
      break;
  }
  return { selector: SOL_PARAMETER_SELECTORS[p.parameter], data: w.flush() };
}

/** Decodes a parameter's data (after Get's revision byte, or after Set's selector); reserved bits dropped. */
export function decodeSolParameter(selector: number, data: Buffer): SolParameter {
  const what = `SOL parameter ${selector}`;
  const expected = LENGTHS[selector];
  if (expected === undefined) return { parameter: "raw", selector, data: Buffer.from(data) };
  if (data.length !== expected)
    throw new IpmiDecodeError(what, `is ${data.length} bytes, not ${expected}`, "length");
  const r = new ByteReader(data);
  try {
    switch (selector) {
      case 0: {
        const state = SET_STATES[r.u8() & 0x03];
        if (!state) throw new IpmiDecodeError(what, "set-in-progress state 11b is reserved");
        return { parameter: "setInProgress", state };
      }
      case 1:
        return { parameter: "enable", enabled: (r.u8() & 0x01) !== 0 };
      case 2: {
        const b = r.u8();
        const privilege = b & 0x0f;
        if (privilege < 2 || privilege > 5)
          throw new IpmiDecodeError(what, `privilege level ${privilege} is reserved`);
        return {
          parameter: "authentication",
          forceEncryption: !!(b & 0x80),
          forceAuthentication: !!(b & 0x40),
          privilege,
        };
      }
      case 3: {
        const interval = r.u8();
        const sendThreshold = r.u8();
        if (interval === 0 || sendThreshold === 0)
          throw new IpmiDecodeError(what, "0 is reserved (1-based values)");
        return { parameter: "characterAccumulate", interval, sendThreshold };
      }
      case 4:
        return { parameter: "retry", count: r.u8() & 0x07, interval: r.u8() };
      case 5:
      case 6: {
        const code = r.u8() & 0x0f;
        const rate = BIT_RATES[code];
        if (!rate) throw new IpmiDecodeError(what, `bit rate code ${code} is reserved`);
        return { parameter: selector === 5 ? "nonVolatileBitRate" : "volatileBitRate", rate };
      }
      case 7:
        return { parameter: "payloadChannel", channel: r.u8() & 0x0f };
      default:
        return { parameter: "payloadPort", port: r.u16le() };
    }
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError(what, err.message, "length");
    throw err;
  }
}

export interface SetSolConfigurationParametersRequest {
  /** [3:0]; 0Eh = the channel this request arrives on. */
  channel: number;
  parameter: SolParameter;
}

/** Set SOL Configuration Parameters (IPMI 2.0 §26.2). */
export const setSolConfigurationParameters = defineCommand<SetSolConfigurationParametersRequest, void>({
  name: "Set SOL Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.Transport,
  cmd: 0x21,
  ...configurationSetCodec(encodeSolParameter, decodeSolParameter),
});

/** Get SOL Configuration Parameters (IPMI 2.0 §26.3); decode the data with decodeSolParameter. */
export const getSolConfigurationParameters = defineCommand<
  GetLanConfigurationParametersRequest,
  GetLanConfigurationParametersResponse
>({
  name: "Get SOL Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.Transport,
  cmd: 0x22,
  ...configurationGetCodec,
});
