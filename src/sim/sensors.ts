import { bit } from "../ipmi/bytes.js";
import type { SensorReading, SensorThresholds, ThresholdName } from "../ipmi/commands/sensor-event.js";
import { rawToSigned, valueToRaw } from "../ipmi/sdr/conversion.js";
import {
  type CompactSensorRecord,
  type EventOnlySensorRecord,
  type FullSensorRecord,
  thresholdMasks,
} from "../ipmi/sdr/records.js";
import type { SystemEventRecord } from "../ipmi/sel.js";
import type { BmcState } from "./state.js";

export type SensorRecord = FullSensorRecord | CompactSensorRecord | EventOnlySensorRecord;

/** A live sensor: its SDR, raw reading and asserted event offsets. */
export interface SensorState {
  record: SensorRecord;
  raw: number;
  /**
   * Bit N = event offset N asserted: for threshold sensors the going-low (0, 2, 4) and going-high
   * (7, 9, 11) threshold events, for discrete sensors the states.
   */
  asserted: number;
  eventsEnabled: boolean;
  scanningEnabled: boolean;
}

/** Event/reading type 01h (IPMI 2.0 §42.1). */
const THRESHOLD_EVENT_TYPE = 0x01;
/** Event message revision of IPMI 1.5/2.0 (§29.3). */
const EVM_REV = 0x04;

/**
 * Threshold event offsets a reading asserts (IPMI 2.0 §42.1, Table 42-2), least severe first:
 * lower thresholds going low, upper thresholds going high.
 */
const THRESHOLD_EVENTS: readonly { name: ThresholdName; offset: number; upper: boolean }[] = [
  { name: "lnc", offset: 0x00, upper: false },
  { name: "lcr", offset: 0x02, upper: false },
  { name: "lnr", offset: 0x04, upper: false },
  { name: "unc", offset: 0x07, upper: true },
  { name: "ucr", offset: 0x09, upper: true },
  { name: "unr", offset: 0x0b, upper: true },
];

export const isThresholdSensor = (record: SensorRecord): record is FullSensorRecord =>
  record.kind === "full" && record.eventReadingType === THRESHOLD_EVENT_TYPE;

/** A sensor as the BMC starts it: a full record's nominal reading, discrete `states` (bit N = offset N). */
export function initialSensorState(record: SensorRecord, states = 0): SensorState {
  if (record.kind === "eventOnly") {
    return { record, raw: 0, asserted: states, eventsEnabled: true, scanningEnabled: true };
  }
  const raw = record.kind === "full" && record.nominalReadingSpecified ? record.nominalReading : 0;
  return {
    record,
    raw,
    asserted: isThresholdSensor(record) ? thresholdEvents(record, raw, 0) : states,
    eventsEnabled:
      record.initialization.eventGenerationEnabled && record.capabilities.eventMessageControl !== "none",
    scanningEnabled: record.initialization.sensorScanningEnabled,
  };
}

/**
 * The threshold events a raw reading asserts, given those asserted before: an event asserts when the
 * reading reaches its threshold and deasserts once it is back past the threshold by the hysteresis
 * (IPMI 2.0 §36.4: positive-going hysteresis for lower thresholds, negative-going for upper ones).
 * Only readable thresholds count. Raw values compare as signed in the record's format (M > 0 assumed).
 */
function thresholdEvents(record: FullSensorRecord, raw: number, before: number): number {
  const signed = (v: number): number => rawToSigned(v, record.units.analogDataFormat) ?? v;
  const x = signed(raw);
  const readable = thresholdMasks(record).readable;
  let asserted = 0;
  for (const e of THRESHOLD_EVENTS) {
    if (!readable[e.name]) continue;
    const t = signed(record.thresholds[e.name]);
    const was = bit(before, e.offset);
    const on = e.upper
      ? x >= t || (was && x > t - record.negativeHysteresis)
      : x <= t || (was && x < t + record.positiveHysteresis);
    if (on) asserted |= 1 << e.offset;
  }
  return asserted;
}

function sensorOf(state: BmcState, sensorNumber: number): SensorState {
  const sensor = state.sensors.get(sensorNumber);
  if (!sensor) throw new RangeError(`no sensor ${sensorNumber} owned by the BMC`);
  return sensor;
}

/** Sets a sensor's reading in engineering units (converted with its SDR's factors, IPMI 2.0 §36.3). */
export function setSensorValue(state: BmcState, sensorNumber: number, value: number): SystemEventRecord[] {
  const { record } = sensorOf(state, sensorNumber);
  const raw = record.kind === "full" ? valueToRaw(record, value) : null;
  if (raw === null)
    throw new RangeError(`sensor ${sensorNumber} has no numeric reading to convert ${value} to`);
  return setSensorRaw(state, sensorNumber, raw);
}

/**
 * Sets a sensor's raw reading. For a threshold sensor, every threshold event that asserts or
 * deasserts is logged (deassertions first, most severe first; then assertions, least severe first),
 * if its SDR event mask enables it. Returns the records logged.
 */
export function setSensorRaw(state: BmcState, sensorNumber: number, raw: number): SystemEventRecord[] {
  const sensor = sensorOf(state, sensorNumber);
  if (sensor.record.kind === "eventOnly") throw new RangeError(`sensor ${sensorNumber} is event-only`);
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xff)
    throw new RangeError(`raw reading ${raw} is not a byte`);
  sensor.raw = raw;
  const record = sensor.record;
  if (!isThresholdSensor(record)) return [];
  const before = sensor.asserted;
  sensor.asserted = thresholdEvents(record, raw, before);
  const masks = thresholdMasks(record);
  const logged: SystemEventRecord[] = [];
  const log = (offset: number, direction: "assertion" | "deassertion", threshold: ThresholdName): void => {
    const enabled = direction === "assertion" ? masks.assertionEvents : masks.deassertionEvents;
    if (!bit(enabled, offset)) return;
    // Event data 1 [7:6] = 01 trigger reading in byte 2, [5:4] = 01 trigger threshold in byte 3 (§29.7).
    const eventData: [number, number, number] = [0x50 | offset, raw, record.thresholds[threshold]];
    const stored = logSensorEvent(state, sensor, direction, eventData);
    if (stored) logged.push(stored);
  };
  for (const e of [...THRESHOLD_EVENTS].reverse()) {
    if (bit(before, e.offset) && !bit(sensor.asserted, e.offset)) log(e.offset, "deassertion", e.name);
  }
  for (const e of THRESHOLD_EVENTS) {
    if (!bit(before, e.offset) && bit(sensor.asserted, e.offset)) log(e.offset, "assertion", e.name);
  }
  return logged;
}

/**
 * Sets a discrete sensor's states (bit N = offset N) and logs an assertion or deassertion for each
 * state that changed, if the SDR's event masks enable it (event-only records have none: all log).
 * Event data 2 and 3 are unspecified (FFh).
 */
export function setSensorStates(state: BmcState, sensorNumber: number, states: number): SystemEventRecord[] {
  const sensor = sensorOf(state, sensorNumber);
  const record = sensor.record;
  if (isThresholdSensor(record)) throw new RangeError(`sensor ${sensorNumber} is a threshold sensor`);
  const before = sensor.asserted;
  sensor.asserted = states & 0x7fff;
  const logged: SystemEventRecord[] = [];
  for (let offset = 0; offset < 15; offset++) {
    if (bit(before, offset) === bit(sensor.asserted, offset)) continue;
    const direction = bit(sensor.asserted, offset) ? "assertion" : "deassertion";
    const mask =
      record.kind === "eventOnly"
        ? 0x7fff
        : direction === "assertion"
          ? record.assertionMask
          : record.deassertionMask;
    if (!bit(mask, offset)) continue;
    const stored = logSensorEvent(state, sensor, direction, [offset, 0xff, 0xff]);
    if (stored) logged.push(stored);
  }
  return logged;
}

/** Asserts or deasserts one state of a discrete sensor (see setSensorStates). */
export function setSensorState(
  state: BmcState,
  sensorNumber: number,
  offset: number,
  asserted: boolean,
): SystemEventRecord[] {
  const states = sensorOf(state, sensorNumber).asserted;
  return setSensorStates(state, sensorNumber, asserted ? states | (1 << offset) : states & ~(1 << offset));
}

function logSensorEvent(
  state: BmcState,
  sensor: SensorState,
  eventDirection: "assertion" | "deassertion",
  eventData: [number, number, number],
): SystemEventRecord | undefined {
  if (!sensor.eventsEnabled) return undefined;
  const { record } = sensor;
  return state.logEvent({
    generatorId: { ...record.owner },
    evmRev: EVM_REV,
    sensorType: record.sensorType,
    sensorNumber: record.sensorNumber,
    eventDirection,
    eventType: record.eventReadingType,
    eventData,
  });
}

/**
 * Get Sensor Reading's answer (IPMI 2.0 §35.14): the raw reading, then threshold comparison status
 * (reserved bits [7:6] returned as 1b) or discrete states 0-7 and 8-14 ([7] returned as 1b).
 */
export function sensorReading(sensor: SensorState): SensorReading {
  const { record, asserted } = sensor;
  const common = {
    reading: sensor.raw,
    eventMessagesEnabled: sensor.eventsEnabled,
    scanningEnabled: sensor.scanningEnabled,
    readingUnavailable: false,
  };
  if (isThresholdSensor(record)) {
    const status = THRESHOLD_EVENTS.reduce((b, e, i) => b | (bit(asserted, e.offset) ? 1 << i : 0), 0);
    return { ...common, states0to7: 0xc0 | status };
  }
  return { ...common, states0to7: asserted & 0xff, states8to14: 0x80 | ((asserted >> 8) & 0x7f) };
}

/** Get Sensor Thresholds' answer (IPMI 2.0 §35.9): the readable thresholds, raw. */
export function sensorThresholds(record: FullSensorRecord): SensorThresholds {
  const readable = thresholdMasks(record).readable;
  const out: SensorThresholds = {};
  for (const { name } of THRESHOLD_EVENTS) if (readable[name]) out[name] = record.thresholds[name];
  return out;
}
