import type { Execute } from "../../ipmi/commands/command.js";
import { getSelEntry, READ_ENTIRE_RECORD } from "../../ipmi/commands/storage.js";
import { CompletionCodeError } from "../../ipmi/errors.js";
import { decodeSelRecord, SEL_RECORD_LENGTH, type SystemEventRecord } from "../../ipmi/sel.js";

const CC_NOT_PRESENT = 0xcb;

export interface SelEntry {
  recordId: number;
  /** The record's 16 bytes: the same ID with other bytes means the SEL was cleared and refilled. */
  bytes: Buffer;
  record: SystemEventRecord | undefined;
  /** The ID of the record after it; FFFFh after the last (IPMI 2.0 §31.5). */
  nextRecordId: number;
}

/** One whole SEL record (no reservation needed for a whole-record read, IPMI 2.0 §31.5); undefined when not present. */
export async function readEntry(execute: Execute, recordId: number): Promise<SelEntry | undefined> {
  let data: Buffer;
  let nextRecordId: number;
  try {
    ({ recordData: data, nextRecordId } = await execute(getSelEntry, {
      reservationId: 0,
      recordId,
      offset: 0,
      bytesToRead: READ_ENTIRE_RECORD,
    }));
  } catch (err) {
    if (err instanceof CompletionCodeError && err.code === CC_NOT_PRESENT) return undefined;
    throw err;
  }
  if (data.length < SEL_RECORD_LENGTH) return undefined;
  const bytes = Buffer.from(data.subarray(0, SEL_RECORD_LENGTH)); // a copy: kept, unlike the datagram
  const record = decodeSelRecord(bytes);
  return {
    recordId: record.recordId,
    bytes,
    record: record.kind === "system" ? record : undefined,
    nextRecordId,
  };
}
