import { constants } from "node:fs";
import { chmod, mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Execute } from "../../ipmi/commands/command.js";
import {
  clearSel,
  FIRST_RECORD_ID,
  type GetSelInfoResponse,
  getSelInfo,
  reserveSel,
} from "../../ipmi/commands/storage.js";
import { CompletionCodeError } from "../../ipmi/errors.js";
import { decodeSelRecord } from "../../ipmi/sel.js";
import type { SelEntry } from "./entry.js";
import { readChain } from "./read.js";

/** How one archive-and-clear ended: the `result` of petgate_sel_archives_total. */
export const ARCHIVE_RESULTS = ["cleared", "reservation_lost", "failed"] as const;
export type ArchiveResult = (typeof ARCHIVE_RESULTS)[number];

export interface ArchiveOutcome {
  result: ArchiveResult;
  /** Records read (and archived, unless the write failed). */
  records: number;
  /** The archive written and verified. */
  file?: string;
  /** Why the SEL was not cleared. */
  reason?: string;
}

export interface ArchiveOptions {
  execute: Execute;
  bmc: string;
  /** `<dir>/<bmc>/<ISO time>.ndjson`. */
  dir: string;
  /** The Get SEL Info the sweep read the SEL after: records added since were not reconciled yet. */
  seen: GetSelInfoResponse;
  now: () => number;
  /** Between two erasure status requests; default 500 ms. */
  erasePollMs?: number;
}

/** Reservation canceled (IPMI 2.0 §31.4: a record was logged, or another Reserve SEL came). */
const CC_RESERVATION_CANCELED = 0xc5;
const ERASE_POLLS = 60;

/** Why an archive-and-clear stops short of Clear SEL. */
class NotCleared extends Error {
  constructor(
    readonly result: Exclude<ArchiveResult, "cleared">,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Writes every record of the SEL to an archive file, verifies it, and only then clears the SEL under
 * the reservation taken before the first read (Reserve SEL, IPMI 2.0 §31.4; Clear SEL, §31.9): a
 * record logged meanwhile cancels the reservation, so the SEL is never cleared of a record the archive
 * lacks. Every failure leaves the SEL as it was and says why.
 */
export async function archiveAndClear(o: ArchiveOptions): Promise<ArchiveOutcome> {
  let records: SelEntry[] = [];
  try {
    const { reservationId } = await o.execute(reserveSel, undefined);
    const info = await o.execute(getSelInfo, undefined);
    if (
      info.entries !== o.seen.entries ||
      info.mostRecentAddition !== o.seen.mostRecentAddition ||
      info.mostRecentErase !== o.seen.mostRecentErase
    )
      throw new NotCleared("reservation_lost", "the SEL changed since the sweep read it: not cleared");
    const read = await readChain(o.execute, FIRST_RECORD_ID, info.entries + 1);
    records = read.records;
    if (records.length !== info.entries)
      throw new NotCleared(
        "failed",
        `the record chain gave ${records.length} of the ${info.entries} records Get SEL Info counts: not cleared`,
      );
    const file = await writeArchive(join(o.dir, pathComponent(o.bmc)), new Date(o.now()), records);
    await clearUnder(o.execute, reservationId, o.erasePollMs ?? 500);
    return { result: "cleared", records: records.length, file };
  } catch (err) {
    const result = err instanceof NotCleared ? err.result : "failed";
    return { result, records: records.length, reason: (err as Error).message };
  }
}

/** Clear SEL: initiate, then erasure status until it completes (IPMI 2.0 §31.9). */
async function clearUnder(execute: Execute, reservationId: number, pollMs: number): Promise<void> {
  let progress: "inProgress" | "completed";
  try {
    ({ erasureProgress: progress } = await execute(clearSel, { reservationId, action: "initiate" }));
  } catch (err) {
    if (err instanceof CompletionCodeError && err.code === CC_RESERVATION_CANCELED)
      throw new NotCleared(
        "reservation_lost",
        "a record was logged while the SEL was archived (reservation canceled, C5h): not cleared; again at the next sweep",
      );
    throw err;
  }
  for (let poll = 0; progress !== "completed"; poll++) {
    if (poll === ERASE_POLLS)
      throw new Error(`Clear SEL initiated, erasure not complete after ${ERASE_POLLS} status requests`);
    await delay(pollMs);
    ({ erasureProgress: progress } = await execute(clearSel, { reservationId, action: "getStatus" }));
  }
}

/** One archive line: the record ID, its 16 bytes as read, and what they decode to. */
interface ArchiveLine {
  recordId: number;
  raw: string;
  record: unknown;
}

function archiveLine(entry: SelEntry): ArchiveLine {
  return { recordId: entry.recordId, raw: entry.bytes.toString("hex"), record: decodeSelRecord(entry.bytes) };
}

/** Buffers in a decoded record (OEM data) as hex, not {type, data}. */
function hexBuffers(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return Buffer.isBuffer(original) ? original.toString("hex") : value;
}

/**
 * `<dir>/<time>.ndjson` (dir 0700, file 0600, never an existing file), fsynced with its directory,
 * then read back: every line must give the record ID and bytes that were read.
 */
async function writeArchive(dir: string, time: Date, records: readonly SelEntry[]): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode is masked by the umask, and an existing dir keeps its own
  const file = join(dir, `${time.toISOString()}.ndjson`);
  const text = records.map((r) => `${JSON.stringify(archiveLine(r), hexBuffers)}\n`).join("");
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const dirHandle = await open(dir, constants.O_RDONLY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  const back = (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
  const matches =
    back.length === records.length &&
    back.every((line, i) => {
      const parsed = JSON.parse(line) as ArchiveLine;
      return parsed.recordId === records[i]?.recordId && parsed.raw === records[i]?.bytes.toString("hex");
    });
  if (!matches)
    throw new Error(`${file} read back differs from the ${records.length} records read: not cleared`);
  return file;
}

/** A BMC name as one path component: bytes other than letters, digits, '-', '_' and an inner '.' as %XX. */
export function pathComponent(name: string): string {
  return [...Buffer.from(name, "utf8")]
    .map((b, i) =>
      /[A-Za-z0-9_-]/.test(String.fromCharCode(b)) || (b === 0x2e && i > 0)
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}
