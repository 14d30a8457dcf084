import { sensorTypeName } from "../pet/tables/sensor-types.js";
import type { Execute } from "./commands/command.js";
import {
  discreteStates,
  getSensorReading,
  getSensorThresholds,
  thresholdStatus,
} from "./commands/sensor-event.js";
import { CompletionCodeError } from "./errors.js";
import { BMC_ADDRESS } from "./message.js";
import { rawToValue } from "./sdr/conversion.js";
import type { CompactSensorRecord, FullSensorRecord, SdrRecord, Thresholds } from "./sdr/records.js";
import { formatUnit } from "./sdr/units.js";

/**
 * A sensor as an operator reads it: its SDR name and type, the live reading converted to engineering
 * units (IPMI 2.0 §36.3), the threshold it has crossed, and its thresholds in the same units.
 */
export interface SensorView {
  recordId: number;
  sensorNumber: number;
  name: string;
  sensorType: number;
  sensorTypeName: string;
  eventReadingType: number;
  entityId: number;
  entityInstance: number;
  /** Engineering value of a threshold sensor; null when unavailable or not numeric. */
  value: number | null;
  raw: number | null;
  /** The unit as ipmitool words it ("degrees C", "Volts", "RPM"); "discrete" for discrete sensors. */
  unit: string;
  /** ok, or the most severe threshold crossed (nc / cr / nr); ns = no reading. */
  status: "ok" | "nc" | "cr" | "nr" | "ns";
  /** Asserted states of a discrete sensor, bit N = offset N. */
  states: number | null;
  /** Readable thresholds of a full threshold sensor, in engineering units. */
  thresholds: Partial<Thresholds<number>>;
}

type ReadableSensor = FullSensorRecord | CompactSensorRecord;

/** Reads every BMC-owned sensor of the SDR repository, one Get Sensor Reading (and Thresholds) each. */
export async function readSensors(execute: Execute, records: readonly SdrRecord[]): Promise<SensorView[]> {
  const sensors = records.filter((r): r is ReadableSensor => r.kind === "full" || r.kind === "compact");
  const views: SensorView[] = [];
  for (const record of sensors) views.push(await readSensor(execute, record));
  return views;
}

export async function readSensor(execute: Execute, record: ReadableSensor): Promise<SensorView> {
  const threshold = record.eventReadingType === 0x01;
  const view: SensorView = {
    recordId: record.recordId,
    sensorNumber: record.sensorNumber,
    name: record.idString,
    sensorType: record.sensorType,
    sensorTypeName: sensorTypeName(record.sensorType),
    eventReadingType: record.eventReadingType,
    entityId: record.entityId,
    entityInstance: record.entityInstance,
    value: null,
    raw: null,
    unit: threshold ? formatUnit(record.units, "name") : "discrete",
    status: "ns",
    states: null,
    thresholds: {},
  };
  // Sensors of other controllers (owner ≠ BMC, or another LUN) need bridging; petgate reads the BMC's.
  if (record.owner.id !== BMC_ADDRESS || record.owner.lun !== 0) return view;
  const full = threshold && record.kind === "full" ? record : undefined;
  // Reading and thresholds asked at once, one round trip; the thresholds go unused without a reading.
  const [reading, raw] = await Promise.all([
    execute(getSensorReading, { sensorNumber: record.sensorNumber }).catch(notPresent),
    full && execute(getSensorThresholds, { sensorNumber: record.sensorNumber }).catch(notPresent),
  ]);
  if (!reading || reading.readingUnavailable || !reading.scanningEnabled) return view;
  if (!threshold) return { ...view, status: "ok", states: discreteStates(reading) };

  const crossed = thresholdStatus(reading);
  const status =
    crossed?.unr || crossed?.lnr
      ? "nr"
      : crossed?.ucr || crossed?.lcr
        ? "cr"
        : crossed?.unc || crossed?.lnc
          ? "nc"
          : "ok";
  const thresholds: Partial<Thresholds<number>> = {};
  if (full) {
    for (const [name, value] of Object.entries(raw ?? {}) as [keyof Thresholds<number>, number][]) {
      const converted = rawToValue(full, value);
      if (converted !== null) thresholds[name] = converted;
    }
  }
  return {
    ...view,
    raw: reading.reading,
    value: full ? rawToValue(full, reading.reading) : null,
    status,
    thresholds,
  };
}

/** A sensor the BMC lists but cannot read now (CBh, D5h …) is shown without a reading, not an error. */
function notPresent(err: unknown): undefined {
  if (err instanceof CompletionCodeError) return undefined;
  throw err;
}
