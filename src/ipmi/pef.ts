import { ByteReader, ByteWriter, bit, flag, TruncatedError } from "./bytes.js";
import { expectEnd } from "./commands/command.js";
import { IpmiDecodeError } from "./errors.js";

/**
 * PEF configuration parameters (IPMI 2.0 §30.3-30.4, Table 30-6) as a discriminated union, so that
 * Set PEF Configuration Parameters carries typed data and Get's data can be decoded once its
 * selector is known. Table parameters (6, 7, 9, 12, 13) carry their set selector as the first data
 * byte in both directions, so a parameter is fully described by (selector, data).
 *
 * Reserved bits are written as 0 and dropped on reading, except in the filter configuration byte,
 * which ipmiutil fills with junk (PROTOCOL.md §6, filter 14) and which is kept so that what was
 * read encodes back unchanged.
 */

export const PefParameterSelector = {
  SetInProgress: 0,
  PefControl: 1,
  ActionGlobalControl: 2,
  StartupDelay: 3,
  AlertStartupDelay: 4,
  NumberOfEventFilters: 5,
  EventFilter: 6,
  EventFilterData1: 7,
  NumberOfAlertPolicyEntries: 8,
  AlertPolicy: 9,
  SystemGuid: 10,
  NumberOfAlertStrings: 11,
  AlertStringKeys: 12,
  AlertString: 13,
  NumberOfGroupControlEntries: 14,
  GroupControlTable: 15,
} as const;

export const PEF_PARAMETER_REVISION = 0x11;

export type SetInProgressState = "complete" | "inProgress" | "commitWrite";
const SET_IN_PROGRESS_STATES: readonly SetInProgressState[] = ["complete", "inProgress", "commitWrite"];

/** PEF action bits as PEF Capabilities (byte 2) and parameter 2 lay them out. */
export interface PefActionFlags {
  alert: boolean;
  powerDown: boolean;
  reset: boolean;
  powerCycle: boolean;
  oemAction: boolean;
  diagnosticInterrupt: boolean;
}

/** Event filter action byte (Table 17-2 byte 2). */
export interface EventFilterActions {
  alert: boolean;
  powerOff: boolean;
  reset: boolean;
  powerCycle: boolean;
  oem: boolean;
  diagnosticInterrupt: boolean;
  groupControl: boolean;
}

/** One event data byte's filter: the event passes when (data AND andMask) matches compare1/compare2. */
export interface EventDataFilter {
  andMask: number;
  compare1: number;
  compare2: number;
}

/** Filter configuration type, Table 17-2 byte 1 [6:5]; 1 and 3 are reserved. */
export const FilterConfigType = { Software: 0, ManufacturerPreset: 2 } as const;

/** Event Filter Table entry, 20 bytes (IPMI 2.0 §17.7, Table 17-2). 0xFF in generator/sensor/trigger = any. */
export interface EventFilterEntry {
  enabled: boolean;
  /** 0 software-configurable, 2 manufacturer pre-configured (FilterConfigType). */
  configType: number;
  /** Reserved bits [4:0] of the configuration byte; present only when a sender set them. */
  reservedConfigBits?: number;
  actions: EventFilterActions;
  /** [3:0] alert policy number. */
  alertPolicyNumber: number;
  /** [6:4] group control selector (0 = default). */
  groupControlSelector: number;
  /** Severity code as in the PET (01 monitor, 02 info, 04 OK, 08 non-critical, 10 critical, 20 non-recoverable). */
  severity: number;
  /** Slave address or software ID; 0xFF = any. */
  generatorId1: number;
  /** [7:4] channel, [1:0] LUN; 0xFF = any. */
  generatorId2: number;
  sensorType: number;
  sensorNumber: number;
  /** Event/reading type code. */
  eventTrigger: number;
  /** Bit N = event offset N. */
  eventData1OffsetMask: number;
  eventData1: EventDataFilter;
  eventData2: EventDataFilter;
  eventData3: EventDataFilter;
}

/** Alert policy type, byte 1 [2:0] of a policy entry (IPMI 2.0 §17.11); 5-7 are reserved. */
export const ALERT_POLICY_TYPES: Readonly<Record<number, string>> = {
  0: "always send an alert to this destination",
  1: "skip if the previous destination succeeded; proceed to the next entry",
  2: "skip if the previous destination succeeded; stop processing this policy set",
  3: "skip if the previous destination succeeded; proceed to the next entry on another channel",
  4: "skip if the previous destination succeeded; proceed to the next entry with another destination type",
};

/** Alert Policy Table entry, 3 bytes after the entry number (IPMI 2.0 §17.11, Table 30-6 parameter 9). */
export interface AlertPolicyEntry {
  /** [7:4] policy set number. */
  policyNumber: number;
  enabled: boolean;
  /** [2:0], see ALERT_POLICY_TYPES. */
  policyType: number;
  /** [7:4] channel number. */
  channel: number;
  /** [3:0] LAN parameter 18/19 destination selector. */
  destinationSelector: number;
  /** [7] 1 = look the string up by filter (alert string keys), 0 = alertStringSet is the string selector. */
  eventSpecificAlertString: boolean;
  /** [6:0] alert string set / selector. */
  alertStringSet: number;
}

export type PefParameter =
  | { parameter: "setInProgress"; state: SetInProgressState }
  | {
      parameter: "pefControl";
      enable: boolean;
      eventMessages: boolean;
      startupDelay: boolean;
      alertStartupDelay: boolean;
    }
  | { parameter: "actionGlobalControl"; actions: PefActionFlags }
  | { parameter: "startupDelay"; seconds: number }
  | { parameter: "alertStartupDelay"; seconds: number }
  | { parameter: "numberOfEventFilters"; count: number }
  | { parameter: "eventFilter"; filterNumber: number; entry: EventFilterEntry }
  | {
      parameter: "eventFilterData1";
      filterNumber: number;
      enabled: boolean;
      configType: number;
      reservedConfigBits?: number;
    }
  | { parameter: "numberOfAlertPolicyEntries"; count: number }
  | { parameter: "alertPolicy"; entryNumber: number; entry: AlertPolicyEntry }
  | { parameter: "systemGuid"; useGuid: boolean; guid: Buffer }
  | { parameter: "numberOfAlertStrings"; count: number }
  | { parameter: "alertStringKeys"; stringSelector: number; filterNumber: number; stringSet: number }
  | { parameter: "alertString"; stringSelector: number; blockSelector: number; data: Buffer }
  /** Parameter 14 as FreeIPMI names it; the whole byte is taken as the count (layout unconfirmed). */
  | { parameter: "numberOfGroupControlEntries"; count: number }
  /** Parameter 15, kept raw: its layout (Table 30-6) is not confirmed here. */
  | { parameter: "groupControlTable"; raw: Buffer }
  /** OEM (60h-7Fh) or any selector not typed above. */
  | { parameter: "raw"; selector: number; data: Buffer };

const SELECTOR_OF: Readonly<Record<Exclude<PefParameter["parameter"], "raw">, number>> = {
  setInProgress: PefParameterSelector.SetInProgress,
  pefControl: PefParameterSelector.PefControl,
  actionGlobalControl: PefParameterSelector.ActionGlobalControl,
  startupDelay: PefParameterSelector.StartupDelay,
  alertStartupDelay: PefParameterSelector.AlertStartupDelay,
  numberOfEventFilters: PefParameterSelector.NumberOfEventFilters,
  eventFilter: PefParameterSelector.EventFilter,
  eventFilterData1: PefParameterSelector.EventFilterData1,
  numberOfAlertPolicyEntries: PefParameterSelector.NumberOfAlertPolicyEntries,
  alertPolicy: PefParameterSelector.AlertPolicy,
  systemGuid: PefParameterSelector.SystemGuid,
  numberOfAlertStrings: PefParameterSelector.NumberOfAlertStrings,
  alertStringKeys: PefParameterSelector.AlertStringKeys,
  alertString: PefParameterSelector.AlertString,
  numberOfGroupControlEntries: PefParameterSelector.NumberOfGroupControlEntries,
  groupControlTable: PefParameterSelector.GroupControlTable,
};

export function pefParameterSelector(p: PefParameter): number {
  return p.parameter === "raw" ? p.selector : SELECTOR_OF[p.parameter];
}

export function decodeActionFlags(b: number): PefActionFlags {
  return {
    alert: bit(b, 0),
    powerDown: bit(b, 1),
    reset: bit(b, 2),
    powerCycle: bit(b, 3),
    oemAction: bit(b, 4),
    diagnosticInterrupt: bit(b, 5),
  };
}

export function encodeActionFlags(a: PefActionFlags): number {
  return (
    flag(a.alert, 0) |
    flag(a.powerDown, 1) |
    flag(a.reset, 2) |
    flag(a.powerCycle, 3) |
    flag(a.oemAction, 4) |
    flag(a.diagnosticInterrupt, 5)
  );
}

function decodeFilterConfig(b: number): {
  enabled: boolean;
  configType: number;
  reservedConfigBits?: number;
} {
  const reserved = b & 0x1f;
  return {
    enabled: bit(b, 7),
    configType: (b >> 5) & 0x03,
    ...(reserved !== 0 && { reservedConfigBits: reserved }),
  };
}

function encodeFilterConfig(c: {
  enabled: boolean;
  configType: number;
  reservedConfigBits?: number;
}): number {
  return flag(c.enabled, 7) | ((c.configType & 0x03) << 5) | ((c.reservedConfigBits ?? 0) & 0x1f);
}

function readDataFilter(r: ByteReader): EventDataFilter {
  return { andMask: r.u8(), compare1: r.u8(), compare2: r.u8() };
}

/** Reads the 20 bytes of an event filter entry (Table 17-2). */
export function decodeEventFilterEntry(r: ByteReader): EventFilterEntry {
  const config = decodeFilterConfig(r.u8());
  const action = r.u8();
  const policy = r.u8();
  return {
    ...config,
    actions: {
      alert: bit(action, 0),
      powerOff: bit(action, 1),
      reset: bit(action, 2),
      powerCycle: bit(action, 3),
      oem: bit(action, 4),
      diagnosticInterrupt: bit(action, 5),
      groupControl: bit(action, 6),
    },
    alertPolicyNumber: policy & 0x0f,
    groupControlSelector: (policy >> 4) & 0x07,
    severity: r.u8(),
    generatorId1: r.u8(),
    generatorId2: r.u8(),
    sensorType: r.u8(),
    sensorNumber: r.u8(),
    eventTrigger: r.u8(),
    eventData1OffsetMask: r.u16le(),
    eventData1: readDataFilter(r),
    eventData2: readDataFilter(r),
    eventData3: readDataFilter(r),
  };
}

export function encodeEventFilterEntry(e: EventFilterEntry): Buffer {
  const a = e.actions;
  const w = new ByteWriter()
    .u8(encodeFilterConfig(e))
    .u8(
      flag(a.alert, 0) |
        flag(a.powerOff, 1) |
        flag(a.reset, 2) |
        flag(a.powerCycle, 3) |
        flag(a.oem, 4) |
        flag(a.diagnosticInterrupt, 5) |
        flag(a.groupControl, 6),
    )
    .u8((e.alertPolicyNumber & 0x0f) | ((e.groupControlSelector & 0x07) << 4))
    .u8(e.severity)
    .u8(e.generatorId1)
    .u8(e.generatorId2)
    .u8(e.sensorType)
    .u8(e.sensorNumber)
    .u8(e.eventTrigger)
    .u16le(e.eventData1OffsetMask);
  for (const d of [e.eventData1, e.eventData2, e.eventData3]) w.u8(d.andMask).u8(d.compare1).u8(d.compare2);
  return w.flush();
}

export function decodeAlertPolicyEntry(r: ByteReader): AlertPolicyEntry {
  const b1 = r.u8();
  const b2 = r.u8();
  const b3 = r.u8();
  return {
    policyNumber: b1 >> 4,
    enabled: bit(b1, 3),
    policyType: b1 & 0x07,
    channel: b2 >> 4,
    destinationSelector: b2 & 0x0f,
    eventSpecificAlertString: bit(b3, 7),
    alertStringSet: b3 & 0x7f,
  };
}

export function encodeAlertPolicyEntry(e: AlertPolicyEntry): Buffer {
  return new ByteWriter()
    .u8(((e.policyNumber & 0x0f) << 4) | flag(e.enabled, 3) | (e.policyType & 0x07))
    .u8(((e.channel & 0x0f) << 4) | (e.destinationSelector & 0x0f))
    .u8(flag(e.eventSpecificAlertString, 7) | (e.alertStringSet & 0x7f))
    .flush();
}

/** Alert string blocks are 16 bytes (Table 30-6 parameter 13). */
export const ALERT_STRING_BLOCK_SIZE = 16;

/** The data bytes of a parameter, without its selector. */
export function encodePefParameter(p: PefParameter): Buffer {
  const w = new ByteWriter();
  switch (p.parameter) {
    case "setInProgress":
      return w.u8(SET_IN_PROGRESS_STATES.indexOf(p.state)).flush();
    case "pefControl":
      return w
        .u8(
          flag(p.enable, 0) |
            flag(p.eventMessages, 1) |
            flag(p.startupDelay, 2) |
            flag(p.alertStartupDelay, 3),
        )
        .flush();
    case "actionGlobalControl":
      return w.u8(encodeActionFlags(p.actions)).flush();
    case "startupDelay":
    case "alertStartupDelay":
      return w.u8(p.seconds).flush();
    case "numberOfEventFilters":
    case "numberOfAlertPolicyEntries":
    case "numberOfAlertStrings":
      return w.u8(p.count & 0x7f).flush();
    case "numberOfGroupControlEntries":
      return w.u8(p.count).flush();
    case "eventFilter":
      return w.u8(p.filterNumber).bytes(encodeEventFilterEntry(p.entry)).flush();
    case "eventFilterData1":
      return w.u8(p.filterNumber).u8(encodeFilterConfig(p)).flush();
    case "alertPolicy":
      return w.u8(p.entryNumber).bytes(encodeAlertPolicyEntry(p.entry)).flush();
    case "systemGuid":
      if (p.guid.length !== 16) throw new RangeError("PEF parameter 10 needs a 16-byte GUID");
      return w.u8(flag(p.useGuid, 0)).bytes(p.guid).flush();
    case "alertStringKeys":
      return w
        .u8(p.stringSelector & 0x7f)
        .u8(p.filterNumber & 0x7f)
        .u8(p.stringSet & 0x7f)
        .flush();
    case "alertString":
      if (p.data.length > ALERT_STRING_BLOCK_SIZE) {
        throw new RangeError(`an alert string block holds at most ${ALERT_STRING_BLOCK_SIZE} bytes`);
      }
      return w
        .u8(p.stringSelector & 0x7f)
        .u8(p.blockSelector)
        .bytes(p.data)
        .flush();
    case "groupControlTable":
      return Buffer.from(p.raw);
    case "raw":
      return Buffer.from(p.data);
  }
}

/**
 * Decodes a parameter's data (everything after the selector in Set, after the revision byte in Get).
 * Table parameters read their set selector from the data, so no separate set selector is needed.
 */
export function decodePefParameter(selector: number, data: Uint8Array): PefParameter {
  const what = `PEF configuration parameter ${selector}`;
  const r = new ByteReader(data);
  try {
    const p = decodeFrom(selector, r, what);
    expectEnd(r, what);
    return p;
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError(what, err.message, "length");
    throw err;
  }
}

function decodeFrom(selector: number, r: ByteReader, what: string): PefParameter {
  switch (selector) {
    case PefParameterSelector.SetInProgress: {
      const v = r.u8() & 0x03;
      const state = SET_IN_PROGRESS_STATES[v];
      if (state === undefined) throw new IpmiDecodeError(what, "set-in-progress state 11b is reserved");
      return { parameter: "setInProgress", state };
    }
    case PefParameterSelector.PefControl: {
      const b = r.u8();
      return {
        parameter: "pefControl",
        enable: bit(b, 0),
        eventMessages: bit(b, 1),
        startupDelay: bit(b, 2),
        alertStartupDelay: bit(b, 3),
      };
    }
    case PefParameterSelector.ActionGlobalControl:
      return { parameter: "actionGlobalControl", actions: decodeActionFlags(r.u8()) };
    case PefParameterSelector.StartupDelay:
      return { parameter: "startupDelay", seconds: r.u8() };
    case PefParameterSelector.AlertStartupDelay:
      return { parameter: "alertStartupDelay", seconds: r.u8() };
    case PefParameterSelector.NumberOfEventFilters:
      return { parameter: "numberOfEventFilters", count: r.u8() & 0x7f };
    case PefParameterSelector.EventFilter:
      return { parameter: "eventFilter", filterNumber: r.u8(), entry: decodeEventFilterEntry(r) };
    case PefParameterSelector.EventFilterData1:
      return { parameter: "eventFilterData1", filterNumber: r.u8(), ...decodeFilterConfig(r.u8()) };
    case PefParameterSelector.NumberOfAlertPolicyEntries:
      return { parameter: "numberOfAlertPolicyEntries", count: r.u8() & 0x7f };
    case PefParameterSelector.AlertPolicy:
      return { parameter: "alertPolicy", entryNumber: r.u8(), entry: decodeAlertPolicyEntry(r) };
    case PefParameterSelector.SystemGuid:
      return { parameter: "systemGuid", useGuid: bit(r.u8(), 0), guid: r.bytes(16) };
    case PefParameterSelector.NumberOfAlertStrings:
      return { parameter: "numberOfAlertStrings", count: r.u8() & 0x7f };
    case PefParameterSelector.AlertStringKeys:
      return {
        parameter: "alertStringKeys",
        stringSelector: r.u8() & 0x7f,
        filterNumber: r.u8() & 0x7f,
        stringSet: r.u8() & 0x7f,
      };
    case PefParameterSelector.AlertString: {
      const stringSelector = r.u8() & 0x7f;
      const blockSelector = r.u8();
      if (r.remaining > ALERT_STRING_BLOCK_SIZE) {
        throw new IpmiDecodeError(what, `alert string block of ${r.remaining} bytes; at most 16`, "length");
      }
      return { parameter: "alertString", stringSelector, blockSelector, data: r.rest() };
    }
    case PefParameterSelector.NumberOfGroupControlEntries:
      return { parameter: "numberOfGroupControlEntries", count: r.u8() };
    case PefParameterSelector.GroupControlTable:
      return { parameter: "groupControlTable", raw: r.rest() };
    default:
      return { parameter: "raw", selector, data: r.rest() };
  }
}

/** An unused event filter slot: disabled, every field zero (what factory BMCs hold). */
export const EMPTY_EVENT_FILTER: Readonly<EventFilterEntry> = Object.freeze({
  enabled: false,
  configType: 0,
  actions: {
    alert: false,
    powerOff: false,
    reset: false,
    powerCycle: false,
    oem: false,
    diagnosticInterrupt: false,
    groupControl: false,
  },
  alertPolicyNumber: 0,
  groupControlSelector: 0,
  severity: 0,
  generatorId1: 0,
  generatorId2: 0,
  sensorType: 0,
  sensorNumber: 0,
  eventTrigger: 0,
  eventData1OffsetMask: 0,
  eventData1: { andMask: 0, compare1: 0, compare2: 0 },
  eventData2: { andMask: 0, compare1: 0, compare2: 0 },
  eventData3: { andMask: 0, compare1: 0, compare2: 0 },
});

/** An unused alert policy entry: disabled, every field zero. */
export const EMPTY_ALERT_POLICY: Readonly<AlertPolicyEntry> = Object.freeze({
  policyNumber: 0,
  enabled: false,
  policyType: 0,
  channel: 0,
  destinationSelector: 0,
  eventSpecificAlertString: false,
  alertStringSet: 0,
});
