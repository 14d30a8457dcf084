import {
  chmodSync,
  closeSync,
  fchmodSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";

/** A state directory the simulator will not use: the message names the path and what to do. */
export class StateDirError extends Error {
  override name = "StateDirError";
}

/**
 * Creates the state directory 0700, whatever the umask. One that exists must already be closed to
 * other users: its files hold the LAN community and alert destinations, and a looser directory
 * someone else made is not the simulator's to tighten.
 */
export function prepareStateDir(dir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateDirError(`--state-dir ${dir}: cannot create it (${(err as NodeJS.ErrnoException).code})`);
  }
  if (created !== undefined) {
    chmodSync(dir, 0o700);
    return;
  }
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new StateDirError(`--state-dir ${dir}: not a directory`);
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
    throw new StateDirError(`--state-dir ${dir} is open to other users (mode ${mode}): chmod 700 ${dir}`);
  }
}

/** Replaces `file` atomically with a 0600 file (the mode set on the descriptor, so no umask applies). */
export function writeStateFile(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    // A leftover temporary file keeps its old mode through open(): set it.
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}
