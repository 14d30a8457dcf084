import { PrivilegeLevel } from "../../ipmi/commands/app.js";
import {
  getPefConfigurationParameters,
  pefParameterResponse,
  setPefConfigurationParameters,
} from "../../ipmi/commands/sensor-event.js";
import {
  ALERT_STRING_BLOCK_SIZE,
  PefParameterSelector as P,
  PEF_PARAMETER_REVISION,
  type PefParameter,
} from "../../ipmi/pef.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import { ALERT_STRING_BLOCKS, type AlertString, type BmcState, type PefConfig } from "../state.js";

const NOT_SUPPORTED = 0x80;
const READ_ONLY = 0x82;
const OUT_OF_RANGE = 0xc9;

/** Filter / policy entry N of a 1-based table (PEF parameters 6, 7, 9); C9h outside it. */
function entry<T>(table: T[], n: number): T {
  const found = n >= 1 ? table[n - 1] : undefined;
  if (found === undefined) throw new CompletionCode(OUT_OF_RANGE);
  return found;
}

/** Alert string N, 0 being the volatile one (parameters 12, 13). */
function alertString(c: PefConfig, n: number): AlertString {
  const found = c.alertStrings[n];
  if (!found) throw new CompletionCode(OUT_OF_RANGE);
  return found;
}

/** Alert string blocks count from 1 (parameter 13). */
function blockStart(block: number): number {
  if (block < 1 || block > ALERT_STRING_BLOCKS) throw new CompletionCode(OUT_OF_RANGE);
  return (block - 1) * ALERT_STRING_BLOCK_SIZE;
}

/** A parameter as Get PEF Configuration Parameters answers it (IPMI 2.0 §30.4, Table 30-6). */
function pefParameter(state: BmcState, selector: number, set: number, block: number): PefParameter {
  const c = state.pef.current;
  switch (selector) {
    case P.SetInProgress:
      return { parameter: "setInProgress", state: state.pef.inProgress ? "inProgress" : "complete" };
    case P.PefControl:
      return { parameter: "pefControl", ...c.control };
    case P.ActionGlobalControl:
      return { parameter: "actionGlobalControl", actions: { ...c.actionGlobalControl } };
    case P.StartupDelay:
      return { parameter: "startupDelay", seconds: c.startupDelaySeconds };
    case P.AlertStartupDelay:
      return { parameter: "alertStartupDelay", seconds: c.alertStartupDelaySeconds };
    case P.NumberOfEventFilters:
      return { parameter: "numberOfEventFilters", count: c.eventFilters.length };
    case P.EventFilter:
      return { parameter: "eventFilter", filterNumber: set, entry: entry(c.eventFilters, set) };
    case P.EventFilterData1: {
      const { enabled, configType, reservedConfigBits } = entry(c.eventFilters, set);
      return {
        parameter: "eventFilterData1",
        filterNumber: set,
        enabled,
        configType,
        ...(reservedConfigBits !== undefined && { reservedConfigBits }),
      };
    }
    case P.NumberOfAlertPolicyEntries:
      return { parameter: "numberOfAlertPolicyEntries", count: c.alertPolicies.length };
    case P.AlertPolicy:
      return { parameter: "alertPolicy", entryNumber: set, entry: entry(c.alertPolicies, set) };
    case P.SystemGuid:
      return { parameter: "systemGuid", ...c.systemGuid };
    case P.NumberOfAlertStrings:
      return { parameter: "numberOfAlertStrings", count: c.alertStrings.length - 1 };
    case P.AlertStringKeys: {
      const { filterNumber, stringSet } = alertString(c, set);
      return { parameter: "alertStringKeys", stringSelector: set, filterNumber, stringSet };
    }
    case P.AlertString: {
      const start = blockStart(block);
      const data = alertString(c, set).text.subarray(start, start + ALERT_STRING_BLOCK_SIZE);
      return { parameter: "alertString", stringSelector: set, blockSelector: block, data };
    }
    case P.NumberOfGroupControlEntries:
      return { parameter: "numberOfGroupControlEntries", count: 0 };
    default:
      // Parameter 15 (no group control entries), OEM 60h-7Fh and reserved selectors.
      throw new CompletionCode(NOT_SUPPORTED);
  }
}

/** Applies Set PEF Configuration Parameters (IPMI 2.0 §30.3) to the staged or live configuration. */
function setPefParameter(state: BmcState, p: PefParameter): void {
  if (p.parameter === "setInProgress") {
    state.pef.setInProgress(p.state);
    return;
  }
  const c = state.pef.current;
  switch (p.parameter) {
    case "pefControl": {
      const { parameter: _, ...control } = p;
      c.control = control;
      return;
    }
    case "actionGlobalControl":
      c.actionGlobalControl = p.actions;
      return;
    case "startupDelay":
      c.startupDelaySeconds = p.seconds;
      return;
    case "alertStartupDelay":
      c.alertStartupDelaySeconds = p.seconds;
      return;
    case "numberOfEventFilters":
    case "numberOfAlertPolicyEntries":
    case "numberOfAlertStrings":
    case "numberOfGroupControlEntries":
      throw new CompletionCode(READ_ONLY);
    case "eventFilter":
      entry(c.eventFilters, p.filterNumber);
      c.eventFilters[p.filterNumber - 1] = p.entry;
      return;
    case "eventFilterData1": {
      const { reservedConfigBits: _, ...filter } = entry(c.eventFilters, p.filterNumber);
      const { parameter: _p, filterNumber, ...config } = p;
      c.eventFilters[filterNumber - 1] = { ...filter, ...config };
      return;
    }
    case "alertPolicy":
      entry(c.alertPolicies, p.entryNumber);
      c.alertPolicies[p.entryNumber - 1] = p.entry;
      return;
    case "systemGuid":
      c.systemGuid = { useGuid: p.useGuid, guid: p.guid };
      return;
    case "alertStringKeys": {
      const s = alertString(c, p.stringSelector);
      s.filterNumber = p.filterNumber;
      s.stringSet = p.stringSet;
      return;
    }
    case "alertString": {
      const s = alertString(c, p.stringSelector);
      const start = blockStart(p.blockSelector);
      const text = Buffer.alloc(Math.max(s.text.length, start + p.data.length));
      s.text.copy(text);
      p.data.copy(text, start);
      s.text = text;
      return;
    }
    case "groupControlTable":
    case "raw":
      throw new CompletionCode(NOT_SUPPORTED);
  }
}

/** Set PEF at administrator, Get at operator (IPMI 2.0 Appendix G). */
export function pefConfigHandlers(state: BmcState): [string, Handler][] {
  return [
    serve(setPefConfigurationParameters, PrivilegeLevel.Administrator, (p) => setPefParameter(state, p)),
    serve(getPefConfigurationParameters, PrivilegeLevel.Operator, (q) => {
      const p = pefParameter(state, q.selector, q.setSelector, q.blockSelector);
      return q.revisionOnly
        ? { revision: PEF_PARAMETER_REVISION, data: Buffer.alloc(0) }
        : pefParameterResponse(p);
    }),
  ];
}
