import type { SystemEventRecord } from "../ipmi/sel.js";
import { encodeSpecificTrap } from "./specific-trap.js";
import { PET_EPOCH_UNIX, type PetVarbind } from "./varbind.js";

/** 0x20 = IPMI in the PET trap and event source type bytes (PET 1.0 Table 3-2; PROTOCOL.md §1.1). */
const IPMI_SOURCE_TYPE = 0x20;
/** English (PET 1.0 Table 3-2). */
const LANGUAGE_ENGLISH = 0x19;
/** SEL timestamps up to 20000000h count from BMC initialization, not 1970 (IPMI 2.0 §37). */
const PRE_INIT_TIMESTAMP_MAX = 0x20000000;

/** What the PEF and the SDR add to an event: the filters' severity, the GUID, the sensor's entity. */
export interface PetContent {
  /** PEF severity code (01h monitor … 20h non-recoverable); see highestSeverity. */
  severity: number;
  guid: Buffer;
  /** From the sensor's SDR; 0 = unspecified. */
  entityId?: number;
  entityInstance?: number;
}

/** The BMC's own identity in its PETs. */
export interface PetIdentity {
  manufacturerId: number;
  /** Usually the product ID. */
  systemId: number;
  /** Minutes east of UTC; null (the default) sends 0xFFFF, unspecified. */
  utcOffsetMinutes?: number | null;
}

/**
 * The specific trap and varbind of the PET for one system event (PET 1.0 §3; PROTOCOL.md §1).
 * Event data 4-8 are 00h, as in every captured PET (PROTOCOL.md §1.2); a SEL timestamp from before
 * 1998 or from before BMC initialization is sent as 0, unspecified.
 */
export function buildPet(
  event: SystemEventRecord,
  content: PetContent,
  identity: PetIdentity,
  sequence: number,
): { specificTrap: number; varbind: PetVarbind } {
  const [ed1, ed2, ed3] = event.eventData;
  const unspecifiedTime = event.timestamp <= PRE_INIT_TIMESTAMP_MAX || event.timestamp < PET_EPOCH_UNIX;
  return {
    specificTrap: encodeSpecificTrap({
      sensorType: event.sensorType,
      eventReadingType: event.eventType,
      deassertion: event.eventDirection === "deassertion",
      offset: ed1 & 0x0f,
    }),
    varbind: {
      guid: content.guid,
      sequence,
      localTimestamp: unspecifiedTime ? 0 : event.timestamp - PET_EPOCH_UNIX,
      utcOffsetMinutes: identity.utcOffsetMinutes ?? null,
      trapSourceType: IPMI_SOURCE_TYPE,
      eventSourceType: IPMI_SOURCE_TYPE,
      severityCode: content.severity,
      sensorDevice: event.generatorId.id,
      sensorNumber: event.sensorNumber,
      entityId: content.entityId ?? 0,
      entityInstance: content.entityInstance ?? 0,
      eventData: Buffer.of(ed1, ed2, ed3, 0, 0, 0, 0, 0),
      languageCode: LANGUAGE_ENGLISH,
      manufacturerId: identity.manufacturerId,
      systemId: identity.systemId,
      oemFields: [],
    },
  };
}
