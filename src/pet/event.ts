import { hexByte } from "../ipmi/bytes.js";
import { PetDecodeError } from "./errors.js";
import { type OemFieldType, oemFieldText } from "./oem-fields.js";
import { decodeSpecificTrap } from "./specific-trap.js";
import { entityName } from "./tables/entity-ids.js";
import { describeEventData } from "./tables/event-data.js";
import { eventReadingClass, eventReadingTypeName, genericOffsetText } from "./tables/event-reading-types.js";
import { manufacturerName } from "./tables/manufacturers.js";
import { sensorSpecificOffsetText } from "./tables/sensor-specific.js";
import { sensorTypeName } from "./tables/sensor-types.js";
import { type PetEventSeverity, petSeverity } from "./tables/severity.js";
import { decodePetVarbind, formatGuid, PET_EPOCH_UNIX, type PetVarbind } from "./varbind.js";

/** A decoded Platform Event Trap: the varbind's fields plus what the specific trap and the tables say. */
export interface PetEvent {
  /** null when the trap carried "NA" (as ipmi-pet accepts) instead of a specific-trap number. */
  specificTrap: number | null;
  sensorType: number | null;
  sensorTypeName: string | null;
  eventReadingType: number | null;
  eventReadingTypeName: string | null;
  eventOffset: number;
  eventDirection: "assertion" | "deassertion";
  /**
   * The offset's meaning from the IPMI 2.0 tables, or "Event Offset = 0Ch" (as FreeIPMI ipmi-pet
   * prints it) for an offset no table defines; null only when the sensor's type is not known ("NA"
   * without an SDR).
   */
  event: string | null;
  /** Spec-defined meaning of event data 2 and 3, when event data 1 says they carry one. */
  eventData2Text: string | null;
  eventData3Text: string | null;
  /** PET 1.0 Table 3-2; "unknown" for a byte the table does not define. */
  severity: PetEventSeverity;
  /** PET byte 26, the event severity as sent. */
  severityRaw: number;
  guid: string;
  sequence: number;
  /** ISO-8601: with "Z" when the BMC gave its UTC offset, else BMC-local wall-clock time without a zone. */
  time: string | null;
  timeBasis: "utc" | "bmc-local" | "unspecified";
  localTimestamp: number;
  utcOffsetMinutes: number | null;
  trapSourceType: number;
  eventSourceType: number;
  sensorDevice: number;
  sensorNumber: number;
  entityId: number;
  entityName: string;
  entityInstance: number;
  /** The 8 event-data bytes, hex. */
  eventData: string;
  languageCode: number;
  manufacturerId: number;
  manufacturerName: string | null;
  systemId: number;
  oemFields: { type: OemFieldType; hex: string; text: string }[];
}

/** Sensor type and event/reading type for a sensor, from an SDR; used when the trap says "NA". */
export type SensorLookup = (
  sensorDevice: number,
  sensorNumber: number,
) => { sensorType: number; eventReadingType: number } | undefined;

export type PetDecodeResult = { ok: true; event: PetEvent } | { ok: false; error: PetDecodeError };

/**
 * Decodes one PET. Never throws: malformed input comes back as a PetDecodeError saying what is wrong.
 *
 * Spec decisions where FreeIPMI ipmi-pet differs (PROTOCOL.md §1):
 * - Sensor type, event/reading type, direction and offset come from the specific trap (PET 1.0 §3.2);
 *   event data 1 [3:0] is used for the offset only when the trap says "NA".
 * - The UTC offset is minutes east of UTC (IPMI 2.0 §31.11a: local = UTC + offset), so UTC =
 *   local − offset. FreeIPMI adds it instead, and renders the result in the host's time zone.
 */
export function decodePet(
  specificTrap: number | "NA",
  octets: Uint8Array,
  lookupSensor?: SensorLookup,
): PetDecodeResult {
  try {
    return { ok: true, event: buildEvent(specificTrap, decodePetVarbind(octets), lookupSensor) };
  } catch (err) {
    if (err instanceof PetDecodeError) return { ok: false, error: err };
    return { ok: false, error: new PetDecodeError("bad-input", `PET could not be decoded: ${String(err)}`) };
  }
}

function buildEvent(specificTrap: number | "NA", v: PetVarbind, lookupSensor?: SensorLookup): PetEvent {
  const trap =
    specificTrap === "NA"
      ? {
          ...lookupSensor?.(v.sensorDevice, v.sensorNumber),
          deassertion: false,
          offset: (v.eventData[0] as number) & 0x0f,
        }
      : decodeSpecificTrap(specificTrap);
  const sensorType = trap.sensorType ?? null;
  const eventReadingType = trap.eventReadingType ?? null;
  const detail =
    sensorType === null || eventReadingType === null
      ? {}
      : describeEventData({
          sensorType,
          eventReadingType,
          offset: trap.offset,
          eventData: v.eventData.subarray(0, 3),
        });
  return {
    specificTrap: specificTrap === "NA" ? null : specificTrap,
    sensorType,
    sensorTypeName: sensorType === null ? null : sensorTypeName(sensorType),
    eventReadingType,
    eventReadingTypeName: eventReadingType === null ? null : eventReadingTypeName(eventReadingType),
    eventOffset: trap.offset,
    eventDirection: trap.deassertion ? "deassertion" : "assertion",
    event:
      sensorType === null || eventReadingType === null
        ? null
        : offsetText(sensorType, eventReadingType, trap.offset),
    eventData2Text: detail.eventData2 ?? null,
    eventData3Text: detail.eventData3 ?? null,
    severity: petSeverity(v.severityCode) ?? "unknown",
    severityRaw: v.severityCode,
    guid: formatGuid(v.guid),
    sequence: v.sequence,
    ...eventTime(v.localTimestamp, v.utcOffsetMinutes),
    localTimestamp: v.localTimestamp,
    utcOffsetMinutes: v.utcOffsetMinutes,
    trapSourceType: v.trapSourceType,
    eventSourceType: v.eventSourceType,
    sensorDevice: v.sensorDevice,
    sensorNumber: v.sensorNumber,
    entityId: v.entityId,
    entityName: entityName(v.entityId),
    entityInstance: v.entityInstance,
    eventData: v.eventData.toString("hex"),
    languageCode: v.languageCode,
    manufacturerId: v.manufacturerId,
    manufacturerName: manufacturerName(v.manufacturerId) ?? null,
    systemId: v.systemId,
    oemFields: v.oemFields.map((f) => ({ type: f.type, hex: f.data.toString("hex"), text: oemFieldText(f) })),
  };
}

/** The tables' text for an offset; an offset they do not define (threshold 0Ch–0Eh, …) by number. */
function offsetText(sensorType: number, eventReadingType: number, offset: number): string {
  const cls = eventReadingClass(eventReadingType);
  const text =
    cls === "threshold" || cls === "generic"
      ? genericOffsetText(eventReadingType, offset)
      : cls === "sensor-specific"
        ? sensorSpecificOffsetText(sensorType, offset)
        : undefined;
  return text ?? `${cls === "oem" ? "OEM " : ""}Event Offset = ${hexByte(offset)}h`;
}

function eventTime(
  localTimestamp: number,
  utcOffsetMinutes: number | null,
): Pick<PetEvent, "time" | "timeBasis"> {
  if (localTimestamp === 0) return { time: null, timeBasis: "unspecified" };
  const localMs = (PET_EPOCH_UNIX + localTimestamp) * 1000;
  if (utcOffsetMinutes === null) {
    return { time: new Date(localMs).toISOString().slice(0, 19), timeBasis: "bmc-local" };
  }
  return {
    time: new Date(localMs - utcOffsetMinutes * 60_000).toISOString().replace(".000Z", "Z"),
    timeBasis: "utc",
  };
}
