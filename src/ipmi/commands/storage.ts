import { type ByteReader, ByteWriter, bit, flag } from "../bytes.js";
import { IpmiDecodeError } from "../errors.js";
import { decodeSelRecord, encodeSelRecord, SEL_RECORD_LENGTH, type SelRecord } from "../sel.js";
import { defineCommand, empty, NetFn } from "./command.js";

/** A SEL/SDR timestamp of FFFFFFFFh means "never" or "lost" (IPMI 2.0 §31.2, §33.9). */
const TIMESTAMP_UNSPECIFIED = 0xffffffff;

/** "Read the whole record" in Get SEL Entry / Get SDR (IPMI 2.0 §31.5, §33.12). */
export const READ_ENTIRE_RECORD = 0xff;
/** Record ID 0000h asks for the first record; a next-record ID of FFFFh means the last was returned. */
export const FIRST_RECORD_ID = 0x0000;
export const LAST_RECORD_ID = 0xffff;

/** Command-specific completion codes (IPMI 2.0 §31). Clear SEL and the SDR commands define none. */
export const GET_SEL_INFO_CODES: Readonly<Record<number, string>> = {
  129: "Cannot execute command, SEL erase in progress",
};
export const GET_SEL_ENTRY_CODES: Readonly<Record<number, string>> = {
  129: "Cannot execute command, SEL erase in progress",
};
export const ADD_SEL_ENTRY_CODES: Readonly<Record<number, string>> = {
  128: "Operation not supported for this record type",
  129: "Cannot execute command, SEL erase in progress",
};

function readTimestamp(r: ByteReader): number | null {
  const t = r.u32le();
  return t === TIMESTAMP_UNSPECIFIED ? null : t;
}

function timestamp(t: number | null): number {
  return t ?? TIMESTAMP_UNSPECIFIED;
}

function u16(v: number): Buffer {
  return new ByteWriter().u16le(v).flush();
}

/** The operation support byte the SEL and SDR info responses share (IPMI 2.0 §31.2, §33.9): bits 7, 3-0. */
export interface RepositoryOperations {
  overflow: boolean;
  deleteSupported: boolean;
  partialAddSupported: boolean;
  reserveSupported: boolean;
  getAllocationInfoSupported: boolean;
}

export interface GetSelInfoResponse extends RepositoryOperations {
  /** BCD, digits swapped: 51h = version 1.5. */
  version: number;
  entries: number;
  /** FFFFh = 65535 or more. */
  freeBytes: number;
  /** Unix seconds; null when the BMC reports FFFFFFFFh (never, or lost). */
  mostRecentAddition: number | null;
  mostRecentErase: number | null;
}

function operationsByte(o: RepositoryOperations): number {
  return (
    flag(o.overflow, 7) |
    flag(o.deleteSupported, 3) |
    flag(o.partialAddSupported, 2) |
    flag(o.reserveSupported, 1) |
    flag(o.getAllocationInfoSupported, 0)
  );
}

function readOperations(b: number): RepositoryOperations {
  return {
    overflow: bit(b, 7),
    deleteSupported: bit(b, 3),
    partialAddSupported: bit(b, 2),
    reserveSupported: bit(b, 1),
    getAllocationInfoSupported: bit(b, 0),
  };
}

/** Get SEL Info (IPMI 2.0 §31.2). */
export const getSelInfo = defineCommand<void, GetSelInfoResponse>({
  name: "Get SEL Info",
  completionCodes: GET_SEL_INFO_CODES,
  netFn: NetFn.Storage,
  cmd: 0x40,
  encodeRequest: empty.encode,
  decodeRequest: empty.decode,
  encodeResponse: (res) =>
    new ByteWriter()
      .u8(res.version)
      .u16le(res.entries)
      .u16le(res.freeBytes)
      .u32le(timestamp(res.mostRecentAddition))
      .u32le(timestamp(res.mostRecentErase))
      .u8(operationsByte(res))
      .flush(),
  decodeResponse: (r) => {
    const version = r.u8();
    const entries = r.u16le();
    const freeBytes = r.u16le();
    const mostRecentAddition = readTimestamp(r);
    const mostRecentErase = readTimestamp(r);
    const ops = r.u8();
    return {
      version,
      entries,
      freeBytes,
      mostRecentAddition,
      mostRecentErase,
      ...readOperations(ops),
    };
  },
});

export interface ReservationResponse {
  reservationId: number;
}

/** Reserve SEL (IPMI 2.0 §31.4). */
export const reserveSel = defineCommand<void, ReservationResponse>({
  name: "Reserve SEL",
  netFn: NetFn.Storage,
  cmd: 0x42,
  encodeRequest: empty.encode,
  decodeRequest: empty.decode,
  encodeResponse: (res) => u16(res.reservationId),
  decodeResponse: (r) => ({ reservationId: r.u16le() }),
});

/** Get SEL Entry and Get SDR share one request layout. */
export interface RecordReadRequest {
  /** 0000h is accepted when reading a whole record (offset 0). */
  reservationId: number;
  /** 0000h = first; FFFFh = last (SEL only). */
  recordId: number;
  offset: number;
  /** READ_ENTIRE_RECORD (FFh) = all. */
  bytesToRead: number;
}

export interface RecordReadResponse {
  /** FFFFh after the last record. */
  nextRecordId: number;
  recordData: Buffer;
}

const recordRead = {
  encodeRequest: (req: RecordReadRequest): Buffer =>
    new ByteWriter().u16le(req.reservationId).u16le(req.recordId).u8(req.offset).u8(req.bytesToRead).flush(),
  decodeRequest: (r: ByteReader): RecordReadRequest => ({
    reservationId: r.u16le(),
    recordId: r.u16le(),
    offset: r.u8(),
    bytesToRead: r.u8(),
  }),
  encodeResponse: (res: RecordReadResponse): Buffer =>
    new ByteWriter().u16le(res.nextRecordId).bytes(res.recordData).flush(),
  decodeResponse: (r: ByteReader): RecordReadResponse => ({ nextRecordId: r.u16le(), recordData: r.rest() }),
};

/** Get SEL Entry (IPMI 2.0 §31.5); decode whole records with decodeSelRecord. */
export const getSelEntry = defineCommand<RecordReadRequest, RecordReadResponse>({
  name: "Get SEL Entry",
  completionCodes: GET_SEL_ENTRY_CODES,
  netFn: NetFn.Storage,
  cmd: 0x43,
  ...recordRead,
});

export interface AddSelEntryRequest {
  /** The record ID field is ignored by the BMC, which assigns one. */
  record: SelRecord;
}

export interface AddSelEntryResponse {
  recordId: number;
}

/** Add SEL Entry (IPMI 2.0 §31.6). */
export const addSelEntry = defineCommand<AddSelEntryRequest, AddSelEntryResponse>({
  name: "Add SEL Entry",
  completionCodes: ADD_SEL_ENTRY_CODES,
  netFn: NetFn.Storage,
  cmd: 0x44,
  encodeRequest: (req) => encodeSelRecord(req.record),
  decodeRequest: (r) => ({ record: decodeSelRecord(r.bytes(SEL_RECORD_LENGTH)) }),
  encodeResponse: (res) => u16(res.recordId),
  decodeResponse: (r) => ({ recordId: r.u16le() }),
});

export interface ClearSelRequest {
  reservationId: number;
  /** AAh = initiate erase, 00h = get erasure status. */
  action: "initiate" | "getStatus";
}

export interface ClearSelResponse {
  erasureProgress: "inProgress" | "completed";
}

const CLR = [0x43, 0x4c, 0x52];

/** Clear SEL (IPMI 2.0 §31.9): the request carries the letters 'C' 'L' 'R' as a guard. */
export const clearSel = defineCommand<ClearSelRequest, ClearSelResponse>({
  name: "Clear SEL",
  netFn: NetFn.Storage,
  cmd: 0x47,
  encodeRequest: (req) =>
    new ByteWriter()
      .u16le(req.reservationId)
      .bytes(CLR)
      .u8(req.action === "initiate" ? 0xaa : 0x00)
      .flush(),
  decodeRequest: (r) => {
    const reservationId = r.u16le();
    const guard = r.bytes(3);
    if (!guard.equals(Buffer.from(CLR))) {
      throw new IpmiDecodeError("Clear SEL request", `guard bytes ${guard.toString("hex")} are not 'CLR'`);
    }
    const action = r.u8();
    if (action !== 0xaa && action !== 0x00) {
      throw new IpmiDecodeError("Clear SEL request", `action ${action.toString(16)}h is neither AAh nor 00h`);
    }
    return { reservationId, action: action === 0xaa ? "initiate" : "getStatus" };
  },
  encodeResponse: (res) => Buffer.of(res.erasureProgress === "completed" ? 0x01 : 0x00),
  decodeResponse: (r) => {
    const progress = r.u8() & 0x0f;
    if (progress > 1) {
      throw new IpmiDecodeError("Clear SEL response", `erasure progress ${progress} is neither 0 nor 1`);
    }
    return { erasureProgress: progress === 1 ? "completed" : "inProgress" };
  },
});

export interface GetSelTimeResponse {
  /** Unix seconds; up to 20000000h it counts from BMC initialization (§37). */
  time: number;
}

/** The SEL time as Get SEL Time answers it and Set SEL Time sends it: 4 bytes, LS first. */
const selTime = {
  encode: (t: GetSelTimeResponse): Buffer => new ByteWriter().u32le(t.time).flush(),
  decode: (r: ByteReader): GetSelTimeResponse => ({ time: r.u32le() }),
};

/** Get SEL Time (IPMI 2.0 §31.10). */
export const getSelTime = defineCommand<void, GetSelTimeResponse>({
  name: "Get SEL Time",
  netFn: NetFn.Storage,
  cmd: 0x48,
  encodeRequest: empty.encode,
  decodeRequest: empty.decode,
  encodeResponse: selTime.encode,
  decodeResponse: selTime.decode,
});

/** Set SEL Time (IPMI 2.0 §31.11): the SEL clock, which timestamps the records the BMC logs. */
export const setSelTime = defineCommand<GetSelTimeResponse, void>({
  name: "Set SEL Time",
  netFn: NetFn.Storage,
  cmd: 0x49,
  encodeRequest: selTime.encode,
  decodeRequest: selTime.decode,
  encodeResponse: empty.encode,
  decodeResponse: empty.decode,
});

export type SdrUpdateSupport = "unspecified" | "nonModal" | "modal" | "modalAndNonModal";
const UPDATE_SUPPORT: readonly SdrUpdateSupport[] = ["unspecified", "nonModal", "modal", "modalAndNonModal"];

export interface GetSdrRepositoryInfoResponse extends RepositoryOperations {
  /** BCD, digits swapped: 51h = version 1.5 (IPMI 2.0 keeps 51h). */
  version: number;
  recordCount: number;
  /** Bytes; FFFEh = 65534 or more, FFFFh = unspecified. */
  freeSpace: number;
  mostRecentAddition: number | null;
  mostRecentErase: number | null;
  updateSupport: SdrUpdateSupport;
}

/** Get SDR Repository Info (IPMI 2.0 §33.9). */
export const getSdrRepositoryInfo = defineCommand<void, GetSdrRepositoryInfoResponse>({
  name: "Get SDR Repository Info",
  netFn: NetFn.Storage,
  cmd: 0x20,
  encodeRequest: empty.encode,
  decodeRequest: empty.decode,
  encodeResponse: (res) =>
    new ByteWriter()
      .u8(res.version)
      .u16le(res.recordCount)
      .u16le(res.freeSpace)
      .u32le(timestamp(res.mostRecentAddition))
      .u32le(timestamp(res.mostRecentErase))
      .u8(operationsByte(res) | (UPDATE_SUPPORT.indexOf(res.updateSupport) << 5))
      .flush(),
  decodeResponse: (r) => {
    const version = r.u8();
    const recordCount = r.u16le();
    const freeSpace = r.u16le();
    const mostRecentAddition = readTimestamp(r);
    const mostRecentErase = readTimestamp(r);
    const ops = r.u8();
    return {
      version,
      recordCount,
      freeSpace,
      mostRecentAddition,
      mostRecentErase,
      ...readOperations(ops),
      updateSupport: UPDATE_SUPPORT[(ops >> 5) & 0x03] as SdrUpdateSupport,
    };
  },
});

/** Reserve SDR Repository (IPMI 2.0 §33.11). */
export const reserveSdrRepository = defineCommand<void, ReservationResponse>({
  name: "Reserve SDR Repository",
  netFn: NetFn.Storage,
  cmd: 0x22,
  encodeRequest: empty.encode,
  decodeRequest: empty.decode,
  encodeResponse: (res) => u16(res.reservationId),
  decodeResponse: (r) => ({ reservationId: r.u16le() }),
});

/** Get SDR (IPMI 2.0 §33.12); read the 5-byte header first, then the body in chunks (see sdr/read.ts). */
export const getSdr = defineCommand<RecordReadRequest, RecordReadResponse>({
  name: "Get SDR",
  netFn: NetFn.Storage,
  cmd: 0x23,
  ...recordRead,
});

/** Read FRU Data's own completion code (IPMI 2.0 §34.2). */
export const READ_FRU_DATA_CODES: Readonly<Record<number, string>> = {
  129: "FRU device busy",
};

export interface FruDeviceRequest {
  /** FRU device ID; 0 is the BMC's own FRU inventory. */
  fruDeviceId: number;
}

export interface GetFruInventoryAreaInfoResponse {
  /** Bytes. */
  size: number;
  /** Bit 0 of the access byte: offsets and counts are in 16-bit words. */
  byWords: boolean;
}

/** Get FRU Inventory Area Info (IPMI 2.0 §34.1). */
export const getFruInventoryAreaInfo = defineCommand<FruDeviceRequest, GetFruInventoryAreaInfoResponse>({
  name: "Get FRU Inventory Area Info",
  netFn: NetFn.Storage,
  cmd: 0x10,
  encodeRequest: (req) => Buffer.of(req.fruDeviceId),
  decodeRequest: (r) => ({ fruDeviceId: r.u8() }),
  encodeResponse: (res) => new ByteWriter().u16le(res.size).u8(flag(res.byWords, 0)).flush(),
  decodeResponse: (r) => ({ size: r.u16le(), byWords: bit(r.u8(), 0) }),
});

export interface ReadFruDataRequest extends FruDeviceRequest {
  /** In bytes, or words when the device is accessed by words. */
  offset: number;
  count: number;
}

export interface ReadFruDataResponse {
  /** Count returned: bytes, or words when the device is accessed by words. */
  count: number;
  data: Buffer;
}

/** Read FRU Data (IPMI 2.0 §34.2): the count returned, then the data. */
export const readFruData = defineCommand<ReadFruDataRequest, ReadFruDataResponse>({
  name: "Read FRU Data",
  completionCodes: READ_FRU_DATA_CODES,
  netFn: NetFn.Storage,
  cmd: 0x11,
  encodeRequest: (req) => new ByteWriter().u8(req.fruDeviceId).u16le(req.offset).u8(req.count).flush(),
  decodeRequest: (r) => ({ fruDeviceId: r.u8(), offset: r.u16le(), count: r.u8() }),
  encodeResponse: (res) => new ByteWriter().u8(res.count).bytes(res.data).flush(),
  decodeResponse: (r) => ({ count: r.u8(), data: r.rest() }),
});
