import { ByteReader, ByteWriter, TruncatedError } from "./bytes.js";
import { IpmiDecodeError } from "./errors.js";

/** Every SEL record is 16 bytes (IPMI 2.0 §32). */
export const SEL_RECORD_LENGTH = 16;

/**
 * A generator ID or sensor owner (IPMI 2.0 §32.1 Table 32-1 bytes 8-9, §43.1 bytes 6-7).
 * `id` is the first byte whole, as tools print it and as PET's "sensor device" carries it:
 * [7:1] a 7-bit IPMB slave address or system software ID, [0] set for a software ID
 * (BMC 20h, remote console/SMS 41h); see isSoftwareId. The second byte is [7:4] channel, [1:0] LUN.
 */
export interface GeneratorId {
  id: number;
  channel: number;
  lun: number;
}

/** Bit 0 of a generator/owner ID byte: 1 = system software ID, 0 = IPMB slave address (IPMI 2.0 §5.5). */
export function isSoftwareId(id: number): boolean {
  return (id & 0x01) === 1;
}

/** Record type 02h, system event record (IPMI 2.0 §32.1). */
export interface SystemEventRecord {
  kind: "system";
  recordId: number;
  /** Unix seconds (LE on the wire); values up to 20000000h count from BMC initialization (§37). */
  timestamp: number;
  generatorId: GeneratorId;
  /** Event message format revision: 04h for IPMI 2.0/1.5, 03h for IPMI 1.0. */
  evmRev: number;
  sensorType: number;
  sensorNumber: number;
  eventDirection: "assertion" | "deassertion";
  /** Event/reading type code [6:0]. */
  eventType: number;
  eventData: [number, number, number];
}

/** Record types C0h-DFh: OEM timestamped (IPMI 2.0 §32.2). */
export interface OemTimestampedRecord {
  kind: "oemTimestamped";
  recordId: number;
  recordType: number;
  timestamp: number;
  /** IANA enterprise number, 3 bytes LE. */
  manufacturerId: number;
  /** 6 bytes. */
  oemData: Buffer;
}

/** Record types E0h-FFh: OEM non-timestamped (IPMI 2.0 §32.3). */
export interface OemNonTimestampedRecord {
  kind: "oemNonTimestamped";
  recordId: number;
  recordType: number;
  /** 13 bytes. */
  oemData: Buffer;
}

/** Record types the spec leaves unassigned (00h-01h, 03h-BFh); their 13 bytes are kept as they came. */
export interface ReservedTypeRecord {
  kind: "reserved";
  recordId: number;
  recordType: number;
  data: Buffer;
}

export type SelRecord =
  | SystemEventRecord
  | OemTimestampedRecord
  | OemNonTimestampedRecord
  | ReservedTypeRecord;

export function selRecordKind(recordType: number): SelRecord["kind"] {
  if (recordType === 0x02) return "system";
  if (recordType >= 0xc0 && recordType <= 0xdf) return "oemTimestamped";
  if (recordType >= 0xe0) return "oemNonTimestamped";
  return "reserved";
}

/** Decodes one 16-byte SEL record (IPMI 2.0 §32). */
export function decodeSelRecord(bytes: Uint8Array): SelRecord {
  if (bytes.length !== SEL_RECORD_LENGTH) {
    throw new IpmiDecodeError("SEL record", `is ${bytes.length} bytes, not ${SEL_RECORD_LENGTH}`);
  }
  const r = new ByteReader(bytes);
  try {
    const recordId = r.u16le();
    const recordType = r.u8();
    switch (selRecordKind(recordType)) {
      case "system": {
        const timestamp = r.u32le();
        const id = r.u8();
        const b2 = r.u8();
        const evmRev = r.u8();
        const sensorType = r.u8();
        const sensorNumber = r.u8();
        const dir = r.u8();
        return {
          kind: "system",
          recordId,
          timestamp,
          generatorId: { id, channel: b2 >> 4, lun: b2 & 0x03 },
          evmRev,
          sensorType,
          sensorNumber,
          eventDirection: dir & 0x80 ? "deassertion" : "assertion",
          eventType: dir & 0x7f,
          eventData: [r.u8(), r.u8(), r.u8()],
        };
      }
      case "oemTimestamped": {
        const timestamp = r.u32le();
        const manufacturerId = r.u8() | (r.u8() << 8) | (r.u8() << 16);
        return {
          kind: "oemTimestamped",
          recordId,
          recordType,
          timestamp,
          manufacturerId,
          oemData: r.bytes(6),
        };
      }
      case "oemNonTimestamped":
        return { kind: "oemNonTimestamped", recordId, recordType, oemData: r.bytes(13) };
      case "reserved":
        return { kind: "reserved", recordId, recordType, data: r.bytes(13) };
    }
  } catch (err) {
    if (err instanceof TruncatedError) throw new IpmiDecodeError("SEL record", err.message, "length");
    throw err;
  }
}

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`SEL record ${what} ${value} is outside 0..${max}`);
  }
}

function checkLength(what: string, data: Uint8Array, length: number): void {
  if (data.length !== length)
    throw new RangeError(`SEL record ${what} must be ${length} bytes, not ${data.length}`);
}

/** Encodes one SEL record to its 16 bytes. */
export function encodeSelRecord(record: SelRecord): Buffer {
  checkRange("record ID", record.recordId, 0xffff);
  const w = new ByteWriter().u16le(record.recordId);
  switch (record.kind) {
    case "system": {
      const g = record.generatorId;
      checkRange("generator channel", g.channel, 0x0f);
      checkRange("generator LUN", g.lun, 0x03);
      checkRange("event type", record.eventType, 0x7f);
      return w
        .u8(0x02)
        .u32le(record.timestamp)
        .u8(g.id)
        .u8((g.channel << 4) | g.lun)
        .u8(record.evmRev)
        .u8(record.sensorType)
        .u8(record.sensorNumber)
        .u8((record.eventDirection === "deassertion" ? 0x80 : 0) | record.eventType)
        .bytes(record.eventData)
        .flush();
    }
    case "oemTimestamped":
      if (selRecordKind(record.recordType) !== "oemTimestamped") {
        throw new RangeError(`record type ${record.recordType} is not an OEM timestamped type (C0h-DFh)`);
      }
      checkLength("OEM data", record.oemData, 6);
      return w
        .u8(record.recordType)
        .u32le(record.timestamp)
        .u8(record.manufacturerId)
        .u8(record.manufacturerId >> 8)
        .u8(record.manufacturerId >> 16)
        .bytes(record.oemData)
        .flush();
    case "oemNonTimestamped":
      if (selRecordKind(record.recordType) !== "oemNonTimestamped") {
        throw new RangeError(`record type ${record.recordType} is not an OEM non-timestamped type (E0h-FFh)`);
      }
      checkLength("OEM data", record.oemData, 13);
      return w.u8(record.recordType).bytes(record.oemData).flush();
    case "reserved":
      if (selRecordKind(record.recordType) !== "reserved") {
        throw new RangeError(`record type ${record.recordType} is not a reserved SEL record type`);
      }
      checkLength("data", record.data, 13);
      return w.u8(record.recordType).bytes(record.data).flush();
  }
}
