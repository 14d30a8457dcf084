import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fsError } from "./data-dir.js";

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
 * The lock appears whole or not at all (link(2) of a written temp file: EEXIST when held). A stale
 * lock is removed only by the holder of `<lock>.takeover`, itself taken the same way (a stale
 * `.takeover` under `.takeover.takeover`, and so on), so no one ever removes a lock another has
 * just taken, and two starters never both win.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const file = join(dataDir, "petgate.lock");
  const self = holderText({ pid: process.pid, start: processStart(process.pid) });
  try {
    await acquire(file, self, (holder) => {
      throw new DataDirInUseError(dataDir, holder.pid);
    });
  } catch (err) {
    // Named as the operator knows it, not as the temp file that link(2) takes the lock from.
    throw (err as NodeJS.ErrnoException).code === undefined ? err : fsError(file, err, "data dir lock");
  }
  return () => removeIfHolds(file, self);
}

/** Links `file` holding `self`; `whileHeld` says what to do while a running process holds it. */
async function acquire(
  file: string,
  self: string,
  whileHeld: (holder: Holder) => Promise<void>,
): Promise<void> {
  for (;;) {
    if (tryLink(file, self)) return;
    const text = readOrEmpty(file);
    const holder = parseHolder(text);
    if (holder && isRunning(holder)) await whileHeld(holder);
    // "" is a lock released meanwhile; an unparsable one was not written by petgate's link: stale.
    else if (text !== "") await takeOver(file, text, self);
  }
}

/** Under the take-over lock, removes `file` if it still holds the stale `text`. */
async function takeOver(file: string, text: string, self: string): Promise<void> {
  const takeover = `${file}.takeover`;
  // Its holder is taking a lock over now (a few system calls): wait for it.
  await acquire(takeover, self, () => delay(5));
  try {
    if (readOrEmpty(file) === text) rmSync(file, { force: true });
  } finally {
    removeIfHolds(takeover, self);
  }
}

/** Creates `file` holding `text`, atomically: false if it exists. */
function tryLink(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
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
 * lock without one (older petgate), a petgate process (not merely one whose arguments say petgate).
 */
function isRunning(holder: Holder): boolean {
  const start = processStart(holder.pid);
  if (start !== undefined && holder.start !== undefined) return start === holder.start;
  if (holder.pid === process.pid) return false; // a lock of ours that we do not hold: left by a former us
  const command = commandLine(holder.pid);
  if (command !== undefined) return isPetgate(command);
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

/** proc(5) /proc/PID/cmdline as its arguments, undefined where there is no such process or no /proc. */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

/**
 * Node running petgate's entry point: its script (the first argument after node's options) is
 * `petgate` (an installed bin) or `petgate.js` (bin/petgate.js). `vim petgate.yml` is not.
 */
function isPetgate(command: string[]): boolean {
  const script = command.slice(1).find((arg) => !arg.startsWith("-"));
  return script !== undefined && ["petgate", "petgate.js"].includes(basename(script));
}
