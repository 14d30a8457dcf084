import type { Execute } from "../../ipmi/commands/command.js";
import { getSelEntry, LAST_RECORD_ID, READ_ENTIRE_RECORD } from "../../ipmi/commands/storage.js";
import { CompletionCodeError } from "../../ipmi/errors.js";
import { decodeSelRecord, SEL_RECORD_LENGTH, type SystemEventRecord } from "../../ipmi/sel.js";

/** Records kept per BMC, and read at most per call: the newest 16 (the depth the per-event scan had). */
export const DEFAULT_SEL_TAIL = 16;
const CC_NOT_PRESENT = 0xcb;

export interface SelEntry {
  recordId: number;
  /** The record's 16 bytes: the same ID with other bytes means the SEL was cleared and refilled. */
  bytes: Buffer;
  record: SystemEventRecord | undefined;
  /** The ID of the record after it; FFFFh after the last (IPMI 2.0 §31.5). */
  nextRecordId: number;
}

interface Tail {
  /** Every record ID up to this record's was read. */
  readThrough: SelEntry | undefined;
  /** System event records among the newest `depth` record IDs, oldest first (newer ones too, read as the newest). */
  records: SystemEventRecord[];
}

/**
 * The newest SEL records of each BMC, kept between calls so that a call reads only what the BMC
 * logged since the last one: Get SEL Entry FFFFh (the newest record), and only when that is not the
 * record remembered and the caller needs more than the newest, the record IDs between, all at once. BMCs assign record IDs in sequence (IPMI 2.0
 * §31.6; one that does not leaves gaps read as "not present", and only the newest record is kept).
 *
 * Bounded: at most `depth` records are read per call and at most `depth` kept per BMC; when more
 * were logged since the last read, the older ones are skipped, as the per-event scan skipped them.
 */
export class SelTails {
  private readonly tails = new Map<string, Tail>();

  constructor(readonly depth = DEFAULT_SEL_TAIL) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`SEL tail depth ${depth}: must be ≥ 1`);
  }

  /**
   * BMC `key`'s newest system event records, oldest first, after reading what it logged since the
   * last read — unless the records kept and the newest are `enough` for the caller (the per-event scan
   * stopped at a conclusive match too): then the records between wait for a call that needs them.
   * The first Get SEL Entry is sent before this returns, so that it shares its round trip with
   * whatever the caller sends next.
   */
  async read(
    key: string,
    execute: Execute,
    enough: (records: readonly SystemEventRecord[]) => boolean = () => false,
  ): Promise<readonly SystemEventRecord[]> {
    const newest = await readEntry(execute, LAST_RECORD_ID);
    const known = this.tails.get(key);
    if (!newest) {
      this.tails.delete(key); // empty SEL
      return [];
    }
    const { readThrough } = known ?? {};
    if (readThrough?.recordId === newest.recordId && readThrough.bytes.equals(newest.bytes)) {
      return known?.records ?? [];
    }
    const lowest = Math.max(1, newest.recordId - this.depth + 1);
    const candidate = [...(known?.records ?? []), ...(newest.record ? [newest.record] : [])].filter(
      (r, i, all) => r.recordId >= lowest && all.findIndex((o) => o.recordId === r.recordId) === i,
    );
    if (enough(candidate)) {
      this.tails.set(key, { readThrough, records: candidate });
      return candidate;
    }
    // Appended since: read from the last record read through on, which must still be there unchanged.
    const resume =
      readThrough && readThrough.recordId >= lowest && readThrough.recordId < newest.recordId
        ? readThrough.recordId
        : lowest;
    const after = await readRange(execute, resume, newest.recordId);
    const through = readThrough?.recordId ?? 0;
    const appended = readThrough !== undefined && after[0]?.bytes.equals(readThrough.bytes) === true;
    // Cleared and refilled past the remembered record: what lies below it is new too.
    const before = appended ? [] : await readRange(execute, lowest, resume);
    const records = [
      ...(appended ? (known?.records ?? []).filter((r) => r.recordId <= through) : []),
      ...[...before, ...after.slice(appended ? 1 : 0), newest].flatMap((e) => (e?.record ? [e.record] : [])),
    ].filter((r) => r.recordId >= lowest);
    this.tails.set(key, { readThrough: newest, records });
    return records;
  }
}

/** Record IDs `from` up to `to` (excluded), all at once. */
function readRange(execute: Execute, from: number, to: number): Promise<(SelEntry | undefined)[]> {
  const ids = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  return Promise.all(ids.map((id) => readEntry(execute, id)));
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
