import type { Execute } from "../../ipmi/commands/command.js";
import {
  FIRST_RECORD_ID,
  type GetSelInfoResponse,
  getSelInfo,
  LAST_RECORD_ID,
} from "../../ipmi/commands/storage.js";
import { decodeSelRecord } from "../../ipmi/sel.js";
import { readEntry, type SelEntry } from "./entry.js";

/**
 * Where reconciliation stopped reading one BMC's SEL: the newest record read, and what Get SEL Info
 * said then. Kept in Redis (store.ts), so a restart goes on from here.
 */
export interface SelCursor {
  /** The newest record read; absent while the SEL was empty. */
  recordId?: number;
  /** Its 16 bytes, hex: the same ID with other bytes means the SEL was cleared and refilled. */
  record?: string;
  /** Get SEL Info's most recent addition and erase (Unix seconds, null = unspecified) and entries. */
  addedAt: number | null;
  erasedAt: number | null;
  entries: number;
  /** Set when a read stopped at the records-per-read bound: the SEL holds more past `recordId`. */
  partial?: boolean;
}

export interface SelRead {
  info: GetSelInfoResponse;
  /** The records logged since the cursor, oldest first (none at first contact). */
  records: SelEntry[];
  cursor: SelCursor;
  /** No cursor before: the newest record was only remembered. */
  firstContact: boolean;
}

/** Records read per BMC and read at most (a BMC logging faster is caught up over several reads). */
export const MAX_RECORDS_PER_READ = 512;

/**
 * What BMC `execute` logged since `cursor`. Get SEL Info first (IPMI 2.0 §31.2): when its most recent
 * addition, most recent erase and entry count are those of the cursor, nothing is new and that is
 * the only request. Otherwise the cursor's record is read again and the next-record-ID chain
 * followed from it (Get SEL Entry, §31.5; a whole-record read needs no reservation). A changed erase
 * time (Clear SEL), or a cursor record gone or rewritten (a wrapped SEL overwrote it), restarts the
 * chain at the first record: after a clear every record is new, after a wrap those stamped after
 * the cursor's. First contact (no cursor) reads only the newest record, to start from it.
 */
export async function readNewRecords(
  execute: Execute,
  cursor: SelCursor | undefined,
  limit = MAX_RECORDS_PER_READ,
): Promise<SelRead> {
  const info = await execute(getSelInfo, undefined);
  const complete = (records: SelEntry[], partial: boolean): SelRead => {
    const newest = records.at(-1);
    const next: SelCursor = {
      ...(newest
        ? { recordId: newest.recordId, record: newest.bytes.toString("hex") }
        : cursorRecord(cursor)),
      addedAt: info.mostRecentAddition,
      erasedAt: info.mostRecentErase,
      entries: info.entries,
      ...(partial && { partial: true }),
    };
    return { info, records, cursor: next, firstContact: cursor === undefined };
  };
  if (cursor === undefined) {
    const newest = info.entries === 0 ? undefined : await readEntry(execute, LAST_RECORD_ID);
    return { ...complete(newest ? [newest] : [], false), records: [] };
  }
  if (
    !cursor.partial &&
    info.mostRecentAddition === cursor.addedAt &&
    info.mostRecentErase === cursor.erasedAt &&
    info.entries === cursor.entries
  )
    return { info, records: [], cursor, firstContact: false };
  if (info.mostRecentErase !== cursor.erasedAt || cursor.recordId === undefined) {
    const { records, partial } = await readChain(execute, FIRST_RECORD_ID, limit);
    return complete(records, partial);
  }
  const at = await readEntry(execute, cursor.recordId);
  if (at && at.bytes.toString("hex") === cursor.record) {
    const { records, partial } = await readChain(execute, at.nextRecordId, limit);
    return complete(records, partial);
  }
  const { records, partial } = await readChain(execute, FIRST_RECORD_ID, limit, stampedAfter(cursor));
  return complete(records, partial);
}

function cursorRecord(cursor: SelCursor | undefined): Pick<SelCursor, "recordId" | "record"> {
  return cursor?.recordId !== undefined && cursor.record !== undefined
    ? { recordId: cursor.recordId, record: cursor.record }
    : {};
}

/**
 * Records from `start` along the next-record-ID chain, at most `limit` kept, ending at FFFFh, a
 * record not present or an ID seen already (a BMC's chain that loops); `keep` picks the new ones.
 */
export async function readChain(
  execute: Execute,
  start: number,
  limit: number,
  keep: (entry: SelEntry) => boolean = () => true,
): Promise<{ records: SelEntry[]; partial: boolean }> {
  const records: SelEntry[] = [];
  const seen = new Set<number>();
  let id = start;
  while (id !== LAST_RECORD_ID) {
    if (records.length >= limit) return { records, partial: true };
    const entry = await readEntry(execute, id);
    if (!entry || seen.has(entry.recordId)) break;
    seen.add(entry.recordId);
    if (keep(entry)) records.push(entry);
    id = entry.nextRecordId;
  }
  return { records, partial: false };
}

/**
 * Whether a record was logged after the cursor's, by timestamps (a wrapped SEL keeps no order of
 * IDs): later, or the same second and a higher ID. Records without a timestamp (OEM E0h-FFh) are not.
 */
function stampedAfter(cursor: SelCursor): (entry: SelEntry) => boolean {
  const since = cursor.record === undefined ? undefined : timestampOf(Buffer.from(cursor.record, "hex"));
  return (entry) => {
    const t = timestampOf(entry.bytes);
    if (t === undefined) return false;
    if (since === undefined) return true;
    return t > since || (t === since && entry.recordId > (cursor.recordId ?? 0));
  };
}

function timestampOf(bytes: Buffer): number | undefined {
  const record = decodeSelRecord(bytes);
  return "timestamp" in record ? record.timestamp : undefined;
}
