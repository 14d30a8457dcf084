import type { PetVarbind } from "../../pet/varbind.js";
import { ByteWriter, bit, flag } from "../bytes.js";
import { CONFIG_PARAMETER_CODES } from "../completion-codes.js";
import { IpmiDecodeError } from "../errors.js";
import {
  decodeActionFlags,
  decodePefParameter,
  encodeActionFlags,
  encodePefParameter,
  PEF_PARAMETER_REVISION,
  type PefActionFlags,
  type PefParameter,
  pefParameterSelector,
} from "../pef.js";
import { defineCommand, type Execute, empty, expectEnd, NetFn } from "./command.js";

// ---------------------------------------------------------------------------------------------

export type EventDirection = "assertion" | "deassertion";

export interface PlatformEventMessage {
  /** Only in the system-interface form (8 bytes); the LAN form (7 bytes) takes it from the session. */
  generatorId?: number;
  /** Event message revision; 04h for IPMI 1.5/2.0. */
  evmRev: number;
  sensorType: number;
  sensorNumber: number;
  eventDirection: EventDirection;
  /** [6:0] event/reading type code. */
  eventType: number;
  eventData1: number;
  eventData2: number;
  eventData3: number;
}

// IPMI 2.0 §29.3 Platform Event Message
export const platformEvent = defineCommand<PlatformEventMessage, void>({
  name: "Platform Event Message",
  netFn: NetFn.SensorEvent,
  cmd: 0x02,
  encodeRequest(m) {
    const w = new ByteWriter();
    if (m.generatorId !== undefined) w.u8(m.generatorId);
    return w
      .u8(m.evmRev)
      .u8(m.sensorType)
      .u8(m.sensorNumber)
      .u8(flag(m.eventDirection === "deassertion", 7) | (m.eventType & 0x7f))
      .u8(m.eventData1)
      .u8(m.eventData2)
      .u8(m.eventData3)
      .flush();
  },
  decodeRequest(r) {
    // Event data 2 and 3 may be omitted by the spec, but then the two forms cannot be told apart
    // by length; every tool sends all three, so only 7 (LAN) and 8 (system interface) are accepted.
    if (r.remaining !== 7 && r.remaining !== 8) {
      throw new IpmiDecodeError(
        "Platform Event Message request",
        `${r.remaining} bytes; expected 7 (LAN form) or 8 (with generator ID)`,
        "length",
      );
    }
    const generatorId = r.remaining === 8 ? r.u8() : undefined;
    const evmRev = r.u8();
    const sensorType = r.u8();
    const sensorNumber = r.u8();
    const dirType = r.u8();
    return {
      ...(generatorId !== undefined && { generatorId }),
      evmRev,
      sensorType,
      sensorNumber,
      eventDirection: bit(dirType, 7) ? "deassertion" : "assertion",
      eventType: dirType & 0x7f,
      eventData1: r.u8(),
      eventData2: r.u8(),
      eventData3: r.u8(),
    };
  },
  encodeResponse: empty.encode,
  decodeResponse: (r) => expectEnd(r, "Platform Event Message response"),
});

// ---------------------------------------------------------------------------------------------

export interface PefCapabilities {
  /** BCD: [3:0] major, [7:4] minor (51h = 1.5). */
  pefVersion: { major: number; minor: number };
  actionSupport: PefActionFlags;
  /** Byte 2 [7]. */
  oemEventRecordFiltering: boolean;
  filterTableSize: number;
}

// IPMI 2.0 §30.1 Get PEF Capabilities
export const getPefCapabilities = defineCommand<void, PefCapabilities>({
  name: "Get PEF Capabilities",
  netFn: NetFn.SensorEvent,
  cmd: 0x10,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get PEF Capabilities request"),
  encodeResponse: (c) =>
    new ByteWriter()
      .u8(((c.pefVersion.minor & 0x0f) << 4) | (c.pefVersion.major & 0x0f))
      .u8(encodeActionFlags(c.actionSupport) | flag(c.oemEventRecordFiltering, 7))
      .u8(c.filterTableSize)
      .flush(),
  decodeResponse(r) {
    const version = r.u8();
    const actions = r.u8();
    const filterTableSize = r.u8();
    expectEnd(r, "Get PEF Capabilities response");
    return {
      pefVersion: { major: version & 0x0f, minor: version >> 4 },
      actionSupport: decodeActionFlags(actions),
      oemEventRecordFiltering: bit(actions, 7),
      filterTableSize,
    };
  },
});

/** Arm PEF Postpone Timer values other than 01h-FDh seconds. */
export const PefPostpone = {
  Disable: 0x00,
  TemporaryDisable: 0xfe,
  GetCountdown: 0xff,
} as const;

// IPMI 2.0 §30.2 Arm PEF Postpone Timer
export const armPefPostponeTimer = defineCommand<{ timeout: number }, { countdown: number }>({
  name: "Arm PEF Postpone Timer",
  netFn: NetFn.SensorEvent,
  cmd: 0x11,
  encodeRequest: (q) => new ByteWriter().u8(q.timeout).flush(),
  decodeRequest(r) {
    const timeout = r.u8();
    expectEnd(r, "Arm PEF Postpone Timer request");
    return { timeout };
  },
  encodeResponse: (s) => new ByteWriter().u8(s.countdown).flush(),
  decodeResponse(r) {
    const countdown = r.u8();
    expectEnd(r, "Arm PEF Postpone Timer response");
    return { countdown };
  },
});

// ---------------------------------------------------------------------------------------------

// IPMI 2.0 §30.3 Set PEF Configuration Parameters
export const setPefConfigurationParameters = defineCommand<PefParameter, void>({
  name: "Set PEF Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.SensorEvent,
  cmd: 0x12,
  encodeRequest: (p) =>
    new ByteWriter()
      .u8(pefParameterSelector(p) & 0x7f)
      .bytes(encodePefParameter(p))
      .flush(),
  decodeRequest(r) {
    const selector = r.u8() & 0x7f;
    return decodePefParameter(selector, r.rest());
  },
  encodeResponse: empty.encode,
  decodeResponse: (r) => expectEnd(r, "Set PEF Configuration Parameters response"),
});

export interface GetPefConfigurationParametersRequest {
  /** Byte 1 [7]: return only the revision byte. */
  revisionOnly: boolean;
  /** [6:0] parameter selector. */
  selector: number;
  /** Filter / policy entry / string number for table parameters; 0 otherwise. */
  setSelector: number;
  /** Block number for alert strings (from 1); 0 otherwise. */
  blockSelector: number;
}

export interface GetPefConfigurationParametersResponse {
  /** [7:4] present, [3:0] oldest compatible revision; 11h in IPMI 2.0. */
  revision: number;
  /** The parameter data, empty when only the revision was asked for; decode with decodePefParameter. */
  data: Buffer;
}

// IPMI 2.0 §30.4 Get PEF Configuration Parameters
export const getPefConfigurationParameters = defineCommand<
  GetPefConfigurationParametersRequest,
  GetPefConfigurationParametersResponse
>({
  name: "Get PEF Configuration Parameters",
  completionCodes: CONFIG_PARAMETER_CODES,
  netFn: NetFn.SensorEvent,
  cmd: 0x13,
  encodeRequest: (q) =>
    new ByteWriter()
      .u8(flag(q.revisionOnly, 7) | (q.selector & 0x7f))
      .u8(q.setSelector)
      .u8(q.blockSelector)
      .flush(),
  decodeRequest(r) {
    const b1 = r.u8();
    const setSelector = r.u8();
    const blockSelector = r.u8();
    expectEnd(r, "Get PEF Configuration Parameters request");
    return { revisionOnly: bit(b1, 7), selector: b1 & 0x7f, setSelector, blockSelector };
  },
  encodeResponse: (s) => new ByteWriter().u8(s.revision).bytes(s.data).flush(),
  decodeResponse: (r) => ({ revision: r.u8(), data: r.rest() }),
});

/** Reads one parameter and decodes it by its selector. */
export async function readPefParameter(
  execute: Execute,
  selector: number,
  setSelector = 0,
  blockSelector = 0,
): Promise<PefParameter> {
  const res = await execute(getPefConfigurationParameters, {
    revisionOnly: false,
    selector,
    setSelector,
    blockSelector,
  });
  return decodePefParameter(selector, res.data);
}

/** What a BMC (simulator) answers to Get PEF Configuration Parameters for a stored parameter. */
export function pefParameterResponse(p: PefParameter): GetPefConfigurationParametersResponse {
  return { revision: PEF_PARAMETER_REVISION, data: encodePefParameter(p) };
}

// ---------------------------------------------------------------------------------------------

/** The fields of a PET that its acknowledgement echoes, little-endian here (PROTOCOL.md §1). */
export interface PetAcknowledgeRequest {
  sequence: number;
  /** Seconds since 1998-01-01, as in the PET. */
  localTimestamp: number;
  eventSourceType: number;
  sensorDevice: number;
  sensorNumber: number;
  /** Event data 1-3 (3 bytes). */
  eventData: Buffer;
}

// IPMI 2.0 §30.8 PET Acknowledge
export const petAcknowledge = defineCommand<PetAcknowledgeRequest, void>({
  name: "PET Acknowledge",
  netFn: NetFn.SensorEvent,
  cmd: 0x17,
  encodeRequest(a) {
    if (a.eventData.length !== 3) throw new RangeError("PET Acknowledge carries event data 1-3 (3 bytes)");
    return new ByteWriter()
      .u16le(a.sequence)
      .u32le(a.localTimestamp)
      .u8(a.eventSourceType)
      .u8(a.sensorDevice)
      .u8(a.sensorNumber)
      .bytes(a.eventData)
      .flush();
  },
  decodeRequest(r) {
    const ack: PetAcknowledgeRequest = {
      sequence: r.u16le(),
      localTimestamp: r.u32le(),
      eventSourceType: r.u8(),
      sensorDevice: r.u8(),
      sensorNumber: r.u8(),
      eventData: r.bytes(3),
    };
    expectEnd(r, "PET Acknowledge request");
    return ack;
  },
  encodeResponse: empty.encode,
  decodeResponse: (r) => expectEnd(r, "PET Acknowledge response"),
});

/** The acknowledgement of a received PET: its varbind fields, event data 1-3 of its 8. */
export function petAckFromVarbind(
  v: Pick<
    PetVarbind,
    "sequence" | "localTimestamp" | "eventSourceType" | "sensorDevice" | "sensorNumber" | "eventData"
  >,
): PetAcknowledgeRequest {
  return {
    sequence: v.sequence,
    localTimestamp: v.localTimestamp,
    eventSourceType: v.eventSourceType,
    sensorDevice: v.sensorDevice,
    sensorNumber: v.sensorNumber,
    eventData: Buffer.from(v.eventData.subarray(0, 3)),
  };
}

// ---------------------------------------------------------------------------------------------

/** Threshold flags in the bit order of the readable mask and comparison status: [0] LNC … [5] UNR. */
export interface ThresholdFlags {
  lnc: boolean;
  lcr: boolean;
  lnr: boolean;
  unc: boolean;
  ucr: boolean;
  unr: boolean;
}
export type ThresholdName = keyof ThresholdFlags;
export const THRESHOLD_NAMES: readonly ThresholdName[] = ["lnc", "lcr", "lnr", "unc", "ucr", "unr"];

export interface SensorReading {
  /** Raw reading; convert with the SDR's M, B, exponents. */
  reading: number;
  eventMessagesEnabled: boolean;
  scanningEnabled: boolean;
  readingUnavailable: boolean;
  /**
   * Byte 3 (optional), as sent: discrete states 0-7, or for threshold sensors the comparison status
   * in [5:0] (see thresholdStatus). Which one it is depends on the sensor's SDR.
   */
  states0to7?: number;
  /** Byte 4 (optional), as sent: discrete states 8-14 in [6:0]. */
  states8to14?: number;
}

// IPMI 2.0 §35.14 Get Sensor Reading
export const getSensorReading = defineCommand<{ sensorNumber: number }, SensorReading>({
  name: "Get Sensor Reading",
  netFn: NetFn.SensorEvent,
  cmd: 0x2d,
  encodeRequest: (q) => new ByteWriter().u8(q.sensorNumber).flush(),
  decodeRequest(r) {
    const sensorNumber = r.u8();
    expectEnd(r, "Get Sensor Reading request");
    return { sensorNumber };
  },
  encodeResponse(s) {
    const w = new ByteWriter()
      .u8(s.reading)
      .u8(flag(s.eventMessagesEnabled, 7) | flag(s.scanningEnabled, 6) | flag(s.readingUnavailable, 5));
    if (s.states0to7 !== undefined) {
      w.u8(s.states0to7);
      if (s.states8to14 !== undefined) w.u8(s.states8to14);
    } else if (s.states8to14 !== undefined) {
      throw new RangeError("byte 4 of Get Sensor Reading cannot be sent without byte 3");
    }
    return w.flush();
  },
  decodeResponse(r) {
    const reading = r.u8();
    const b2 = r.u8();
    const s: SensorReading = {
      reading,
      eventMessagesEnabled: bit(b2, 7),
      scanningEnabled: bit(b2, 6),
      readingUnavailable: bit(b2, 5),
    };
    if (r.remaining > 0) s.states0to7 = r.u8();
    if (r.remaining > 0) s.states8to14 = r.u8();
    expectEnd(r, "Get Sensor Reading response");
    return s;
  },
});

/** Comparison status of a threshold sensor's reading (byte 3 [5:0]); undefined if byte 3 was absent. */
export function thresholdStatus(s: SensorReading): ThresholdFlags | undefined {
  const b = s.states0to7;
  if (b === undefined) return undefined;
  return Object.fromEntries(THRESHOLD_NAMES.map((n, i) => [n, bit(b, i)])) as unknown as ThresholdFlags;
}

/** Asserted discrete states as a 15-bit mask: bit N = state N (bytes 3 and 4 [6:0]). */
export function discreteStates(s: SensorReading): number {
  return ((s.states0to7 ?? 0) & 0xff) | (((s.states8to14 ?? 0) & 0x7f) << 8);
}

/** Readable thresholds only; an absent one was not readable (its mask bit is 0). */
export type SensorThresholds = Partial<Record<ThresholdName, number>>;

// IPMI 2.0 §35.9 Get Sensor Thresholds
export const getSensorThresholds = defineCommand<{ sensorNumber: number }, SensorThresholds>({
  name: "Get Sensor Thresholds",
  netFn: NetFn.SensorEvent,
  cmd: 0x27,
  encodeRequest: (q) => new ByteWriter().u8(q.sensorNumber).flush(),
  decodeRequest(r) {
    const sensorNumber = r.u8();
    expectEnd(r, "Get Sensor Thresholds request");
    return { sensorNumber };
  },
  encodeResponse(t) {
    const w = new ByteWriter().u8(THRESHOLD_NAMES.reduce((m, n, i) => m | flag(t[n] !== undefined, i), 0));
    // An unreadable threshold's byte is to be ignored; it is sent as 0.
    for (const n of THRESHOLD_NAMES) w.u8(t[n] ?? 0);
    return w.flush();
  },
  decodeResponse(r) {
    const mask = r.u8();
    const t: SensorThresholds = {};
    for (const [i, n] of THRESHOLD_NAMES.entries()) {
      const v = r.u8();
      if (bit(mask, i)) t[n] = v;
    }
    expectEnd(r, "Get Sensor Thresholds response");
    return t;
  },
});
