import { ByteReader, ByteWriter } from "../ipmi/bytes.js";
import { PetDecodeError } from "./errors.js";
import { decodeOemFields, encodeOemFields, type OemField } from "./oem-fields.js";

/** OID of the single PET varbind (PET 1.0 §3.1): enterprise 1.3.6.1.4.1.3183.1.1 + ".1". */
export const PET_VARBIND_OID = "1.3.6.1.4.1.3183.1.1.1";
export const PET_ENTERPRISE_OID = "1.3.6.1.4.1.3183.1.1";

/** 46 fixed octets, then at least the 0xC1 end marker (PET 1.0 §3.1, Table 3-2). */
export const PET_MIN_LENGTH = 47;
export const PET_MAX_LENGTH = 110;

/** 1998-01-01T00:00:00 as Unix seconds: the PET local-timestamp epoch. */
export const PET_EPOCH_UNIX = 883612800;
const UTC_OFFSET_UNSPECIFIED = 0xffff;
/** IPMI 2.0 §31.11a bounds a UTC offset to ±1440 minutes. */
const UTC_OFFSET_LIMIT = 1440;

/** The PET varbind octets as fields; multi-byte fields are big-endian on the wire. */
export interface PetVarbind {
  guid: Buffer;
  sequence: number;
  /** Seconds since 1998-01-01 in the BMC's local time; 0 = unspecified. */
  localTimestamp: number;
  /** Minutes east of UTC; null = unspecified (0xFFFF). */
  utcOffsetMinutes: number | null;
  trapSourceType: number;
  eventSourceType: number;
  severityCode: number;
  sensorDevice: number;
  sensorNumber: number;
  entityId: number;
  entityInstance: number;
  /** 8 bytes; 1-3 are IPMI event data 1-3. */
  eventData: Buffer;
  languageCode: number;
  manufacturerId: number;
  systemId: number;
  oemFields: OemField[];
}

export function decodePetVarbind(octets: Uint8Array): PetVarbind {
  if (octets.length < PET_MIN_LENGTH) {
    throw new PetDecodeError(
      "too-short",
      `PET varbind is ${octets.length} byte(s); at least ${PET_MIN_LENGTH} are required (46 fixed + 0xC1)`,
    );
  }
  if (octets.length > PET_MAX_LENGTH) {
    throw new PetDecodeError(
      "too-long",
      `PET varbind is ${octets.length} bytes; at most ${PET_MAX_LENGTH} are allowed`,
    );
  }
  const r = new ByteReader(octets);
  const guid = r.bytes(16);
  const sequence = r.u16be();
  const localTimestamp = r.u32be();
  const rawOffset = r.u16be();
  const fields = {
    guid,
    sequence,
    localTimestamp,
    utcOffsetMinutes: rawOffset === UTC_OFFSET_UNSPECIFIED ? null : (rawOffset << 16) >> 16,
    trapSourceType: r.u8(),
    eventSourceType: r.u8(),
    severityCode: r.u8(),
    sensorDevice: r.u8(),
    sensorNumber: r.u8(),
    entityId: r.u8(),
    entityInstance: r.u8(),
    eventData: r.bytes(8),
    languageCode: r.u8(),
    manufacturerId: r.u32be(),
    systemId: r.u16be(),
    oemFields: decodeOemFields(r.rest()),
  };
  if (fields.utcOffsetMinutes !== null && Math.abs(fields.utcOffsetMinutes) > UTC_OFFSET_LIMIT) {
    throw new PetDecodeError(
      "bad-utc-offset",
      `UTC offset ${fields.utcOffsetMinutes} min is outside ±${UTC_OFFSET_LIMIT} (0xFFFF means unspecified)`,
    );
  }
  return fields;
}

export function encodePetVarbind(v: PetVarbind): Buffer {
  if (v.guid.length !== 16 || v.eventData.length !== 8) {
    throw new RangeError("a PET varbind needs a 16-byte GUID and 8 event data bytes");
  }
  if (v.utcOffsetMinutes === -1) {
    throw new RangeError("a UTC offset of -1 min cannot be sent: its encoding 0xFFFF means unspecified");
  }
  return new ByteWriter()
    .bytes(v.guid)
    .u16be(v.sequence)
    .u32be(v.localTimestamp)
    .u16be(v.utcOffsetMinutes === null ? UTC_OFFSET_UNSPECIFIED : v.utcOffsetMinutes)
    .u8(v.trapSourceType)
    .u8(v.eventSourceType)
    .u8(v.severityCode)
    .u8(v.sensorDevice)
    .u8(v.sensorNumber)
    .u8(v.entityId)
    .u8(v.entityInstance)
    .bytes(v.eventData)
    .u8(v.languageCode)
    .u32be(v.manufacturerId)
    .u16be(v.systemId)
    .bytes(encodeOemFields(v.oemFields))
    .flush();
}

/** The GUID's 16 bytes in wire order as 8-4-4-4-12 hex, as FreeIPMI ipmi-pet prints it (PROTOCOL.md §1.2). */
export function formatGuid(guid: Uint8Array): string {
  const hex = Buffer.from(guid).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
