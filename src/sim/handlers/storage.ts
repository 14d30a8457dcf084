import { PrivilegeLevel } from "../../ipmi/commands/app.js";
import {
  addSelEntry,
  clearSel,
  FIRST_RECORD_ID,
  getFruInventoryAreaInfo,
  getSdr,
  getSdrRepositoryInfo,
  getSelEntry,
  getSelInfo,
  getSelTime,
  LAST_RECORD_ID,
  READ_ENTIRE_RECORD,
  type RecordReadRequest,
  type RecordReadResponse,
  readFruData,
  reserveSdrRepository,
  reserveSel,
  setSelTime,
} from "../../ipmi/commands/storage.js";
import { encodeSdr } from "../../ipmi/sdr/records.js";
import { encodeSelRecord, SEL_RECORD_LENGTH } from "../../ipmi/sel.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import type { BmcState } from "../state.js";

/** Most record bytes one Get SDR / Get SEL Entry returns; a longer read answers CAh (IPMI 2.0 §33.12). */
const MAX_RECORD_READ = 64;
/** Most FRU bytes one Read FRU Data returns; more answers CAh, and the reader asks for fewer. */
const MAX_FRU_READ = 32;
/** SEL and SDR version 1.5 (BCD, digits swapped), kept by IPMI 2.0 (§31.2, §33.9). */
const VERSION_1_5 = 0x51;

/**
 * The record bytes a read asks for: `offset`, then `count` bytes (cut at the record's end) or, for
 * FFh, the rest. Asking for more than MAX_RECORD_READ bytes, or an offset past the end, answers CAh.
 */
function recordBytes(bytes: Buffer, offset: number, count: number): Buffer {
  const end = count === READ_ENTIRE_RECORD ? bytes.length : Math.min(bytes.length, offset + count);
  const asked = count === READ_ENTIRE_RECORD ? end - offset : count;
  if (offset > bytes.length || asked > MAX_RECORD_READ) throw new CompletionCode(0xca);
  return bytes.subarray(offset, end);
}

/** Get SEL Entry / Get SDR: record ID 0000h is the first, FFFFh the last where allowed; CBh if absent. */
function readRecord<T extends { recordId: number }>(
  records: readonly T[],
  encode: (record: T) => Buffer,
  req: RecordReadRequest,
  lastAllowed: boolean,
): RecordReadResponse {
  const index =
    req.recordId === FIRST_RECORD_ID
      ? 0
      : req.recordId === LAST_RECORD_ID && lastAllowed
        ? records.length - 1
        : records.findIndex((r) => r.recordId === req.recordId);
  const record = records[index];
  if (!record) throw new CompletionCode(0xcb);
  return {
    nextRecordId: records[index + 1]?.recordId ?? LAST_RECORD_ID,
    recordData: recordBytes(encode(record), req.offset, req.bytesToRead),
  };
}

/** The BMC's FRU device 0; any other ID answers CBh (not present). */
function fruDevice(state: BmcState, fruDeviceId: number): Buffer {
  if (fruDeviceId !== 0) throw new CompletionCode(0xcb);
  return state.fru;
}

/** SEL, SDR repository and FRU inventory commands; privileges per IPMI 2.0 Appendix G. */
export function storageHandlers(state: BmcState): [string, Handler][] {
  return [
    // §31.2
    serve(getSelInfo, PrivilegeLevel.User, () => {
      const sel = state.sel;
      return {
        version: VERSION_1_5,
        entries: sel.records.length,
        freeBytes: Math.min(0xffff, (sel.capacity - sel.records.length) * SEL_RECORD_LENGTH),
        mostRecentAddition: sel.mostRecentAddition,
        mostRecentErase: sel.mostRecentErase,
        overflow: sel.overflow,
        deleteSupported: false,
        partialAddSupported: false,
        reserveSupported: true,
        getAllocationInfoSupported: false,
      };
    }),
    // §31.4
    serve(reserveSel, PrivilegeLevel.User, () => ({ reservationId: state.reserve("sel") })),
    // §31.5: the reservation is only required for a partial read.
    serve(getSelEntry, PrivilegeLevel.User, (req) => {
      const partial =
        req.offset !== 0 || (req.bytesToRead !== READ_ENTIRE_RECORD && req.bytesToRead < SEL_RECORD_LENGTH);
      if (partial && req.reservationId !== state.reservations.sel) throw new CompletionCode(0xc5);
      return readRecord(state.sel.records, encodeSelRecord, req, true);
    }),
    // §31.6: C4h (out of space) when the SEL is full.
    serve(addSelEntry, PrivilegeLevel.Operator, ({ record }) => {
      if (record.kind === "reserved") throw new CompletionCode(0x80);
      const stored = state.addSelEntry(record);
      if (!stored) throw new CompletionCode(0xc4);
      return { recordId: stored.recordId };
    }),
    // §31.9: needs the current reservation; the erase completes at once.
    serve(clearSel, PrivilegeLevel.Operator, ({ reservationId, action }) => {
      if (reservationId === 0 || reservationId !== state.reservations.sel) throw new CompletionCode(0xc5);
      if (action === "initiate") state.clearSel();
      return { erasureProgress: "completed" as const };
    }),
    // §31.10
    serve(getSelTime, PrivilegeLevel.User, () => ({ time: state.selTime() })),
    // §31.11
    serve(setSelTime, PrivilegeLevel.Operator, ({ time }) => state.setSelTime(time)),
    // §33.9
    serve(getSdrRepositoryInfo, PrivilegeLevel.User, () => ({
      version: VERSION_1_5,
      recordCount: state.sdr.records.length,
      freeSpace: 0,
      mostRecentAddition: state.sdr.mostRecentAddition,
      mostRecentErase: state.sdr.mostRecentErase,
      overflow: false,
      updateSupport: "unspecified" as const,
      deleteSupported: false,
      partialAddSupported: false,
      reserveSupported: true,
      getAllocationInfoSupported: false,
    })),
    // §33.11
    serve(reserveSdrRepository, PrivilegeLevel.User, () => ({ reservationId: state.reserve("sdr") })),
    // §33.12: the reservation is only required for a read at a non-zero offset; FFFFh is not "last".
    serve(getSdr, PrivilegeLevel.User, (req) => {
      if (req.offset !== 0 && req.reservationId !== state.reservations.sdr) throw new CompletionCode(0xc5);
      return readRecord(state.sdr.records, encodeSdr, req, false);
    }),
    // §34.1: accessed by bytes.
    serve(getFruInventoryAreaInfo, PrivilegeLevel.User, ({ fruDeviceId }) => ({
      size: fruDevice(state, fruDeviceId).length,
      byWords: false,
    })),
    // §34.2: the count returned is cut at the device's end; an offset past it answers C9h (out of range).
    serve(readFruData, PrivilegeLevel.User, ({ fruDeviceId, offset, count }) => {
      const fru = fruDevice(state, fruDeviceId);
      if (count > MAX_FRU_READ) throw new CompletionCode(0xca);
      if (offset >= fru.length) throw new CompletionCode(0xc9);
      const data = fru.subarray(offset, offset + count);
      return { count: data.length, data };
    }),
  ];
}
