import { createReadStream } from "node:fs";
import { type FileHandle, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { QueuedEvent } from "./event.js";

export interface SpoolStats {
  /** Events and batches appended (each batch one write + fdatasync). */
  appended: number;
  appendedBatches: number;
  /** Events handed to a replay's consumer that then succeeded. */
  replayed: number;
  /** Lines that would not parse as an event (a write torn by a crash) and were skipped. */
  skippedLines: number;
  /** Bytes in the spool not yet replayed. */
  pendingBytes: number;
}

export interface ReplayResult {
  replayed: number;
  skippedLines: number;
}

/**
 * A local append-only NDJSON file of events that could not be queued: one QueuedEvent per line, each
 * appended batch written at once and fdatasync'd before `append` resolves.
 *
 * Replay moves the file aside (`<file>.replaying`; new appends start a fresh `<file>`), streams it to
 * the consumer in batches, records after each consumed batch how far it got (`<file>.replaying.offset`)
 * and deletes it once all of it was consumed. A replay that fails, or a process that dies mid-replay,
 * leaves the rest for the next replay, which resumes from the last recorded batch: at worst a batch
 * is handed on twice, and the events worker drops the second copy of each event (claim.ts).
 *
 * One process per spool file: nothing stops two processes from using the same one.
 */
export class Spool {
  private fh: FileHandle | undefined;
  /** Serialises appends with the rotation in replay. */
  private lock: Promise<unknown> = Promise.resolve();
  private replaying: Promise<ReplayResult> | undefined;
  private readonly counters = { appended: 0, appendedBatches: 0, replayed: 0, skippedLines: 0 };
  private pendingBytes = 0;
  private readonly replayFile: string;
  private readonly offsetFile: string;

  private constructor(readonly file: string) {
    this.replayFile = `${file}.replaying`;
    this.offsetFile = `${file}.replaying.offset`;
  }

  /** Opens (creating) a spool. A torn last line left by a crash is terminated so later lines stay whole. */
  static async open(file: string): Promise<Spool> {
    const spool = new Spool(file);
    spool.fh = await openPrivate(file, "a+");
    const { size } = await spool.fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await spool.fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        await spool.fh.write("\n");
        await spool.fh.datasync();
      }
    }
    spool.pendingBytes = (await spool.fh.stat()).size + (await spool.replayRemaining());
    return spool;
  }

  /** Appends events as one write and fdatasyncs it: when this resolves, they survive a crash. */
  append(events: readonly QueuedEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const chunk = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
    return this.locked(async () => {
      const fh = await this.handle();
      await fh.write(chunk);
      await fh.datasync();
      this.counters.appended += events.length;
      this.counters.appendedBatches++;
      this.pendingBytes += chunk.length;
    });
  }

  /** Whether anything waits to be replayed. */
  isEmpty(): boolean {
    return this.pendingBytes === 0;
  }

  /**
   * Hands everything spooled to `consume`, batch by batch (at most `batchSize` events), and forgets
   * each batch only once its `consume` resolved. Rejects with consume's error, keeping what is left.
   * Concurrent calls share one replay.
   */
  replay(consume: (batch: QueuedEvent[]) => Promise<void>, batchSize = 500): Promise<ReplayResult> {
    this.replaying ??= this.replayAll(consume, batchSize).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  stats(): SpoolStats {
    return { ...this.counters, pendingBytes: this.pendingBytes };
  }

  async close(): Promise<void> {
    await this.locked(async () => {
      await this.fh?.close();
      this.fh = undefined;
    });
  }

  private async replayAll(
    consume: (batch: QueuedEvent[]) => Promise<void>,
    batchSize: number,
  ): Promise<ReplayResult> {
    const result: ReplayResult = { replayed: 0, skippedLines: 0 };
    for (;;) {
      if (!(await exists(this.replayFile))) {
        const rotated = await this.locked(() => this.rotate());
        if (!rotated) return result;
      }
      await this.replayFileFrom(await this.readOffset(), consume, batchSize, result);
      await rm(this.offsetFile, { force: true });
      await rm(this.replayFile, { force: true });
    }
  }

  /** Moves a non-empty spool aside for replay; appends go on in a new file. */
  private async rotate(): Promise<boolean> {
    const fh = await this.handle();
    if ((await fh.stat()).size === 0) return false;
    await fh.close();
    this.fh = undefined;
    await rm(this.offsetFile, { force: true });
    await rename(this.file, this.replayFile);
    await syncDir(dirname(this.file));
    return true;
  }

  private async replayFileFrom(
    start: number,
    consume: (batch: QueuedEvent[]) => Promise<void>,
    batchSize: number,
    result: ReplayResult,
  ): Promise<void> {
    const lines = createInterface({
      input: createReadStream(this.replayFile, { start }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let offset = start;
    let batch: QueuedEvent[] = [];
    let batchBytes = 0;
    const commit = async () => {
      if (batch.length > 0) await consume(batch);
      offset += batchBytes;
      this.pendingBytes = Math.max(0, this.pendingBytes - batchBytes);
      this.counters.replayed += batch.length;
      result.replayed += batch.length;
      batch = [];
      batchBytes = 0;
      await writeFile(this.offsetFile, String(offset), { mode: FILE_MODE });
    };
    try {
      for await (const line of lines) {
        batchBytes += Buffer.byteLength(line) + 1;
        const event = parseLine(line);
        if (event) batch.push(event);
        else if (line.trim() !== "") {
          this.counters.skippedLines++;
          result.skippedLines++;
        }
        if (batch.length >= batchSize) await commit();
      }
      await commit();
    } finally {
      lines.close();
    }
  }

  private async readOffset(): Promise<number> {
    try {
      const offset = Number((await readFile(this.offsetFile, "utf8")).trim());
      return Number.isSafeInteger(offset) && offset >= 0 ? offset : 0;
    } catch {
      return 0;
    }
  }

  private async replayRemaining(): Promise<number> {
    try {
      const { size } = await stat(this.replayFile);
      return Math.max(0, size - (await this.readOffset()));
    } catch {
      return 0;
    }
  }

  private async handle(): Promise<FileHandle> {
    this.fh ??= await openPrivate(this.file, "a");
    return this.fh;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** Spooled events hold alert contents, communities and SNMPv3 user names: for the owner only. */
const FILE_MODE = 0o600;

/** Opens (creating) a file readable by its owner only, whatever the umask or its former mode. */
async function openPrivate(file: string, flags: "a" | "a+"): Promise<FileHandle> {
  const fh = await open(file, flags, FILE_MODE);
  try {
    if (((await fh.stat()).mode & 0o777) !== FILE_MODE) await fh.chmod(FILE_MODE);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function parseLine(line: string): QueuedEvent | undefined {
  if (line === "") return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (
      typeof value === "object" &&
      value !== null &&
      typeof (value as QueuedEvent).id === "string" &&
      typeof (value as QueuedEvent).trap === "object" &&
      (value as QueuedEvent).trap !== null
    ) {
      return value as QueuedEvent;
    }
  } catch {
    // A line torn by a crash mid-write.
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes a rename durable (POSIX: the directory entry is only durable once the directory is synced). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
