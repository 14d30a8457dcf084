import type { Execute } from "../commands/command.js";
import {
  FIRST_RECORD_ID,
  getSdr,
  getSelEntry,
  LAST_RECORD_ID,
  READ_ENTIRE_RECORD,
  reserveSdrRepository,
  reserveSel,
} from "../commands/storage.js";
import { CompletionCodeError, IpmiDecodeError } from "../errors.js";
import { decodeSelRecord, SEL_RECORD_LENGTH, type SelRecord } from "../sel.js";
import { decodeSdr, decodeSdrHeader, SDR_HEADER_LENGTH, type SdrRecord } from "./records.js";

const CC_RESERVATION_CANCELLED = 0xc5;
const CC_CANNOT_RETURN_BYTES = 0xca;
const CC_NOT_PRESENT = 0xcb;

export interface ReadSdrOptions {
  /** Body bytes asked for per Get SDR at first (FreeIPMI starts at 16). */
  maxChunk?: number;
  /** On CAh the refused count shrinks by `chunkStep` down to this; CAh at the floor is an error. */
  minChunk?: number;
  chunkStep?: number;
  /** Re-reservations allowed after C5h (reservation cancelled) before giving up. */
  maxReservations?: number;
}

const DEFAULTS: Required<ReadSdrOptions> = { maxChunk: 16, minChunk: 4, chunkStep: 4, maxReservations: 8 };

function isCode(err: unknown, code: number): err is CompletionCodeError {
  return err instanceof CompletionCodeError && err.code === code;
}

class ReservationLost extends Error {}

/**
 * Reads every record of the SDR repository (IPMI 2.0 §33.12, PROTOCOL.md "SDR reads"): Reserve SDR
 * Repository; for each record the 5-byte header, then the body in chunks that shrink on CAh (can't
 * return that many bytes); on C5h (reservation cancelled: the repository changed or someone else
 * reserved) reserve again and re-read that record from its header. Follows the next-record IDs until
 * FFFFh. Records of unknown types, and records that do not decode, come back as kind "unknown".
 */
export async function readSdrRepository(
  execute: Execute,
  options: ReadSdrOptions = {},
): Promise<SdrRecord[]> {
  const opts = { ...DEFAULTS, ...options };
  if (opts.minChunk < 1 || opts.maxChunk < opts.minChunk || opts.chunkStep < 1) {
    throw new RangeError("readSdrRepository needs 1 <= minChunk <= maxChunk and chunkStep >= 1");
  }
  let reservations = 0;
  let reservationId = 0;
  const reserve = async (): Promise<void> => {
    if (++reservations > opts.maxReservations + 1) {
      throw new IpmiDecodeError(
        "SDR repository",
        `reservation cancelled ${opts.maxReservations} times while reading`,
      );
    }
    reservationId = (await execute(reserveSdrRepository, undefined)).reservationId;
  };
  let chunk = opts.maxChunk;

  const read = async (recordId: number, offset: number, bytesToRead: number) => {
    try {
      return await execute(getSdr, { reservationId, recordId, offset, bytesToRead });
    } catch (err) {
      if (isCode(err, CC_RESERVATION_CANCELLED)) throw new ReservationLost();
      throw err;
    }
  };

  const readRecord = async (requestedId: number): Promise<{ bytes: Buffer; nextRecordId: number }> => {
    const head = await read(requestedId, 0, SDR_HEADER_LENGTH);
    if (head.recordData.length < SDR_HEADER_LENGTH) {
      throw new IpmiDecodeError("Get SDR response", `header read returned ${head.recordData.length} bytes`);
    }
    const headerBytes = head.recordData.subarray(0, SDR_HEADER_LENGTH);
    const header = decodeSdrHeader(headerBytes);
    const total = SDR_HEADER_LENGTH + header.recordLength;
    const parts = [headerBytes];
    let offset = SDR_HEADER_LENGTH;
    while (offset < total) {
      const want = Math.min(chunk, total - offset);
      let data: Buffer;
      try {
        // Partial reads use the record's real ID: 0000h only means "first" (ipmitool does the same).
        data = (await read(header.recordId, offset, want)).recordData;
      } catch (err) {
        if (isCode(err, CC_CANNOT_RETURN_BYTES) && want > opts.minChunk) {
          chunk = Math.max(opts.minChunk, want - opts.chunkStep);
          continue;
        }
        throw err;
      }
      if (data.length === 0) {
        throw new IpmiDecodeError(
          "Get SDR response",
          `no bytes at offset ${offset} of record ${header.recordId}`,
        );
      }
      // Some BMCs (ipmi_sim) return bytes past the end of the record; keep only what was asked for.
      const got = data.subarray(0, want);
      parts.push(got);
      offset += got.length;
    }
    return { bytes: Buffer.concat(parts), nextRecordId: head.nextRecordId };
  };

  await reserve();
  const records: SdrRecord[] = [];
  const seen = new Set<number>();
  let recordId = FIRST_RECORD_ID;
  while (recordId !== LAST_RECORD_ID) {
    if (seen.has(recordId)) {
      throw new IpmiDecodeError("SDR repository", `next-record IDs loop back to ${recordId}`);
    }
    let result: { bytes: Buffer; nextRecordId: number };
    try {
      result = await readRecord(recordId);
    } catch (err) {
      if (!(err instanceof ReservationLost)) throw err;
      await reserve();
      continue;
    }
    seen.add(recordId);
    records.push(decodeOrKeep(result.bytes));
    recordId = result.nextRecordId;
  }
  return records;
}

function decodeOrKeep(bytes: Buffer): SdrRecord {
  try {
    return decodeSdr(bytes);
  } catch (err) {
    if (!(err instanceof IpmiDecodeError)) throw err;
    const h = decodeSdrHeader(bytes);
    return {
      kind: "unknown",
      recordId: h.recordId,
      sdrVersion: h.sdrVersion,
      recordType: h.recordType,
      body: bytes.subarray(SDR_HEADER_LENGTH),
      decodeError: err.message,
    };
  }
}

export interface ReadSelOptions {
  maxReservations?: number;
}

/**
 * Reads every SEL record (IPMI 2.0 §31.5): Reserve SEL, then Get SEL Entry from 0000h, whole records,
 * following next-record IDs until FFFFh. An empty SEL (CBh for the first record) gives []. On C5h it
 * reserves again and retries the same entry. BMCs without Reserve SEL (C1h) are read with reservation 0.
 */
export async function readSelEntries(execute: Execute, options: ReadSelOptions = {}): Promise<SelRecord[]> {
  const maxReservations = options.maxReservations ?? DEFAULTS.maxReservations;
  let reservations = 0;
  let reservationId = 0;
  const reserve = async (): Promise<void> => {
    if (++reservations > maxReservations + 1) {
      throw new IpmiDecodeError("SEL", `reservation cancelled ${maxReservations} times while reading`);
    }
    try {
      reservationId = (await execute(reserveSel, undefined)).reservationId;
    } catch (err) {
      if (!(err instanceof CompletionCodeError) || err.code !== 0xc1) throw err;
      reservationId = 0;
    }
  };

  await reserve();
  const records: SelRecord[] = [];
  const seen = new Set<number>();
  let recordId = FIRST_RECORD_ID;
  while (recordId !== LAST_RECORD_ID) {
    if (seen.has(recordId)) throw new IpmiDecodeError("SEL", `next-record IDs loop back to ${recordId}`);
    let res: Awaited<ReturnType<typeof getSelEntry.decodeResponse>>;
    try {
      res = await execute(getSelEntry, {
        reservationId,
        recordId,
        offset: 0,
        bytesToRead: READ_ENTIRE_RECORD,
      });
    } catch (err) {
      if (isCode(err, CC_NOT_PRESENT) && recordId === FIRST_RECORD_ID && records.length === 0) return [];
      if (isCode(err, CC_RESERVATION_CANCELLED)) {
        await reserve();
        continue;
      }
      throw err;
    }
    seen.add(recordId);
    records.push(decodeSelRecord(res.recordData.subarray(0, SEL_RECORD_LENGTH)));
    recordId = res.nextRecordId;
  }
  return records;
}
