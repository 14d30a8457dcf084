import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

/** Another live process holds the data dir. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `data dir ${dataDir} is in use by petgate process ${pid}: give each serve process its own --data-dir`,
    );
  }
}

/** Who holds a lock: a pid, and that process's start time (proc(5) stat field 22) when known. */
interface Holder {
  pid: number;
  start: string | undefined;
}

/**
 * Takes `<dataDir>/petgate.lock` so that one process at a time owns the data dir's spool and embedded
 * Redis. The lock names its holder by pid and start time, so a lock left by a process that is gone
 * (a crash), or whose pid now belongs to another process (pid reuse, pid 1 after a container
 * restart), is taken over and a restart replays the spool. Resolves to the release function, which
 * removes the lock only while it is still ours.
 *
 * The lock appears whole or not at all (link(2) of a written temp file: EEXIST when held). Taking a
 * stale lock over is serialised by a second lock, `petgate.lock.takeover`, taken the same way: its
 * holder re-reads the stale lock, removes it and links its own, so two starters never both win.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const file = join(dataDir, "petgate.lock");
  const self = holderText({ pid: process.pid, start: processStart(process.pid) });
  for (;;) {
    if (tryLink(file, self)) return () => removeIfHolds(file, self);
    const text = readOrEmpty(file);
    const holder = parseHolder(text);
    if (holder && isRunning(holder)) throw new DataDirInUseError(dataDir, holder.pid);
    // "" is a lock released meanwhile; an unparsable one was not written by petgate's link: stale.
    if (text !== "") await takeOver(file, text, self);
  }
}

/** Under the take-over lock, removes `file` if it still holds the stale `text`. */
async function takeOver(file: string, text: string, self: string): Promise<void> {
  const takeover = `${file}.takeover`;
  for (;;) {
    if (tryLink(takeover, self)) break;
    const held = readOrEmpty(takeover);
    const holder = parseHolder(held);
    // Its holder is taking a lock over now (a few system calls): wait for it.
    if (holder && isRunning(holder)) await delay(5);
    else if (held !== "") removeStale(takeover, held);
  }
  try {
    if (readOrEmpty(file) === text) rmSync(file, { force: true });
  } finally {
    removeIfHolds(takeover, self);
  }
}

/**
 * Removes a take-over lock whose holder died in the middle (rename first: of two processes that
 * judged it stale only one moves it; a moved one that turns out not to be the stale one is put back).
 */
function removeStale(takeover: string, text: string): void {
  const aside = `${takeover}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(takeover, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (readOrEmpty(aside) !== text) tryLinkFile(aside, takeover);
  rmSync(aside, { force: true });
}

/** Creates `file` holding `text`, atomically: false if it exists. */
function tryLink(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
  try {
    return tryLinkFile(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}

function tryLinkFile(existing: string, file: string): boolean {
  try {
    linkSync(existing, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

function removeIfHolds(file: string, text: string): void {
  if (readOrEmpty(file) === text) rmSync(file, { force: true });
}

/** The lock's text, or "" when its holder removed it meanwhile. */
function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}

function holderText(holder: Holder): string {
  return holder.start === undefined ? `${holder.pid}\n` : `${holder.pid} ${holder.start}\n`;
}

/** "PID START" (or "PID", as locks without a start time read); undefined for anything else. */
function parseHolder(text: string): Holder | undefined {
  const match = /^(\d+)(?: (\d+))?\n$/.exec(text);
  if (!match) return undefined;
  return { pid: Number(match[1]), start: match[2] };
}

/**
 * The holder is a running process and the very one that wrote the lock: same start time, or, for a
 * lock without one (older petgate), a command line that names petgate.
 */
function isRunning(holder: Holder): boolean {
  const start = processStart(holder.pid);
  if (start !== undefined && holder.start !== undefined) return start === holder.start;
  if (holder.pid === process.pid) return false; // a lock of ours that we do not hold: left by a former us
  const command = commandLine(holder.pid);
  if (command !== undefined) return command.includes("petgate");
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A process's start time in clock ticks after boot (proc(5) /proc/PID/stat field 22), undefined
 * where there is no such process or no /proc. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted after its last ")".
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** proc(5) /proc/PID/cmdline, undefined where there is no such process or no /proc. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return undefined;
  }
}
