import { PrivilegeLevel } from "../../ipmi/commands/app.js";
import {
  getChannelPayloadSupport,
  getUserPayloadAccess,
  type PayloadAccess,
  setUserPayloadAccess,
} from "../../ipmi/commands/payload.js";
import {
  encodeSolParameter,
  getSolConfigurationParameters,
  SOL_PARAMETER_REVISION,
  SOL_PARAMETER_SELECTORS,
  type SolParameter,
  setSolConfigurationParameters,
} from "../../ipmi/commands/sol.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import type { BmcState } from "../state.js";
import { LAN_CHANNEL } from "./lan-config.js";

const CURRENT_CHANNEL = 0x0e;
const NOT_SUPPORTED = 0x80;
const READ_ONLY = 0x82;
const INVALID_DATA = 0xcc;
/** Payload types the LAN channel carries (IPMI 2.0 §13.27.3): IPMI and SOL; RMCP+ session set-up 10h-15h. */
const PAYLOADS = { standard: 0b11, sessionSetup: 0b11_1111, oem: 0 };
const NO_PAYLOADS: PayloadAccess = { standard: 0, oem: 0 };

/** User IDs 1-16, as Get User Access counts them (an empty slot has no payloads). */
function checkUser(userId: number): void {
  if (userId === 0 || userId > 16) throw new CompletionCode(INVALID_DATA);
}

/** SOL runs on the LAN channel only; 0Eh names the channel the request arrives on. */
function checkChannel(channel: number): void {
  if (channel !== LAN_CHANNEL && channel !== CURRENT_CHANNEL) throw new CompletionCode(INVALID_DATA);
}

/** A parameter as Get SOL Configuration Parameters answers it (IPMI 2.0 §26.3, Table 26-5). */
function solParameter(state: BmcState, selector: number): SolParameter {
  const c = state.sol.current;
  switch (selector) {
    case SOL_PARAMETER_SELECTORS.setInProgress:
      return { parameter: "setInProgress", state: state.sol.inProgress ? "inProgress" : "complete" };
    case SOL_PARAMETER_SELECTORS.enable:
      return { parameter: "enable", enabled: c.enabled };
    case SOL_PARAMETER_SELECTORS.authentication:
      return { parameter: "authentication", ...c.authentication };
    case SOL_PARAMETER_SELECTORS.characterAccumulate:
      return { parameter: "characterAccumulate", ...c.characterAccumulate };
    case SOL_PARAMETER_SELECTORS.retry:
      return { parameter: "retry", ...c.retry };
    case SOL_PARAMETER_SELECTORS.nonVolatileBitRate:
      return { parameter: "nonVolatileBitRate", rate: c.nonVolatileBitRate };
    case SOL_PARAMETER_SELECTORS.volatileBitRate:
      return { parameter: "volatileBitRate", rate: c.volatileBitRate };
    case SOL_PARAMETER_SELECTORS.payloadChannel:
      return { parameter: "payloadChannel", channel: LAN_CHANNEL };
    case SOL_PARAMETER_SELECTORS.payloadPort:
      return { parameter: "payloadPort", port: c.payloadPort };
    default:
      throw new CompletionCode(NOT_SUPPORTED);
  }
}

/** Applies Set SOL Configuration Parameters (IPMI 2.0 §26.2) to the staged or live configuration. */
function setSolParameter(state: BmcState, p: SolParameter): void {
  const c = state.sol.current;
  switch (p.parameter) {
    case "setInProgress":
      state.sol.setInProgress(p.state);
      return;
    case "enable":
      c.enabled = p.enabled;
      return;
    case "authentication": {
      const { parameter: _, ...authentication } = p;
      c.authentication = authentication;
      return;
    }
    case "characterAccumulate":
      c.characterAccumulate = { interval: p.interval, sendThreshold: p.sendThreshold };
      return;
    case "retry":
      c.retry = { count: p.count, interval: p.interval };
      return;
    case "nonVolatileBitRate":
      c.nonVolatileBitRate = p.rate;
      return;
    case "volatileBitRate":
      c.volatileBitRate = p.rate;
      return;
    case "payloadChannel":
      throw new CompletionCode(READ_ONLY);
    case "payloadPort":
      c.payloadPort = p.port;
      return;
    case "raw":
      throw new CompletionCode(NOT_SUPPORTED);
  }
}

/**
 * SOL configuration and the payload commands around it; privileges per IPMI 2.0 Appendix G (Set SOL
 * and Set User Payload Access at administrator, the Gets at user).
 */
export function solConfigHandlers(state: BmcState): [string, Handler][] {
  return [
    serve(setSolConfigurationParameters, PrivilegeLevel.Administrator, ({ channel, parameter }) => {
      checkChannel(channel);
      setSolParameter(state, parameter);
    }),
    serve(getSolConfigurationParameters, PrivilegeLevel.User, (q) => {
      checkChannel(q.channel);
      const { data } = encodeSolParameter(solParameter(state, q.selector));
      return { revision: SOL_PARAMETER_REVISION, data: q.revisionOnly ? Buffer.alloc(0) : data };
    }),
    // §24.6: only the payloads whose bits are set change.
    serve(setUserPayloadAccess, PrivilegeLevel.Administrator, ({ channel, userId, operation, payloads }) => {
      checkChannel(channel);
      checkUser(userId);
      const now = state.payloadAccess.get(userId) ?? NO_PAYLOADS;
      const apply = (have: number, bits: number) => (operation === "enable" ? have | bits : have & ~bits);
      state.payloadAccess.set(userId, {
        standard: apply(now.standard, payloads.standard),
        oem: apply(now.oem, payloads.oem),
      });
    }),
    serve(getUserPayloadAccess, PrivilegeLevel.Operator, ({ channel, userId }) => {
      checkChannel(channel);
      checkUser(userId);
      return state.payloadAccess.get(userId) ?? NO_PAYLOADS;
    }),
    serve(getChannelPayloadSupport, PrivilegeLevel.User, ({ channel }) => {
      checkChannel(channel);
      return PAYLOADS;
    }),
  ];
}
