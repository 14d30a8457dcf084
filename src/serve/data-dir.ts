import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** The data dir or a file in it cannot be used: one line naming the path and the cause. */
export class DataDirError extends Error {
  override name = "DataDirError";
  constructor(
    readonly path: string,
    cause: string,
    what = "data dir",
  ) {
    super(`${what} ${path}: ${cause}`);
  }
}

/** Entries by which a directory is recognised as an earlier petgate's data dir. */
const OURS = ["petgate.lock", "spool.ndjson", "redis"];

/**
 * Makes the data dir, or checks it, so that only its owner can read it: it holds alert contents,
 * communities, SNMPv3 user names and the embedded Redis's AOF. A new one is made 0700 whatever the
 * umask. An existing one that other users can read is made private (0700 dirs, no group or other
 * bits on files) when it is ours — owned by us and empty or an earlier petgate's — and refused
 * otherwise: chmod on a directory given by mistake (/var/lib, /tmp) would break other programs.
 */
export function prepareDataDir(dir: string, log: (message: string) => void): void {
  const stats = makeDir(dir);
  if (!stats.isDirectory()) throw new DataDirError(dir, "not a directory");
  if ((stats.mode & 0o077) === 0) return;
  const mode = (stats.mode & 0o7777).toString(8).padStart(4, "0");
  const entries = readdirSync(dir);
  const ours =
    stats.uid === process.geteuid?.() && (entries.length === 0 || entries.some((e) => OURS.includes(e)));
  if (!ours)
    throw new DataDirError(
      dir,
      `other users can read it (mode ${mode}): chmod 700 it, or give another --data-dir`,
    );
  const changed = makePrivate(dir, stats);
  log(
    `data dir ${dir} was readable by other users (mode ${mode}): made ${changed} entries private (0700/0600)`,
  );
}

/**
 * The data dir's stats, after making it (0700, its missing parents too) if it is not there. Not
 * mkdir's `recursive`, which Node 20 retries forever where the kernel answers ENOENT (/proc).
 */
function makeDir(dir: string): Stats {
  try {
    return statSync(dir);
  } catch (err) {
    if (errno(err) !== "ENOENT") throw fsError(dir, err);
  }
  const parent = dirname(dir);
  if (parent !== dir) makeDir(parent);
  try {
    mkdirSync(dir, 0o700);
    chmodSync(dir, 0o700); // mkdir's mode is masked by the umask
  } catch (err) {
    throw fsError(dir, err);
  }
  return statSync(dir);
}

/** Removes group and other bits under `dir` (its own included); returns how many entries changed. */
function makePrivate(path: string, stats: Stats): number {
  let changed = 0;
  // A socket's permissions are its server's (the embedded Redis sets 0700); links are not followed.
  if ((stats.mode & 0o077) !== 0 && (stats.isDirectory() || stats.isFile())) {
    chmodSync(path, stats.mode & 0o7700);
    changed++;
  }
  if (stats.isDirectory())
    for (const entry of readdirSync(path)) {
      const child = join(path, entry);
      changed += makePrivate(child, lstatSync(child));
    }
  return changed;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** A file-system error on `path` as one line ("permission denied", not a stack trace). */
export function fsError(path: string, err: unknown, what?: string): DataDirError {
  const e = err as NodeJS.ErrnoException;
  return new DataDirError(path, CAUSES[e.code ?? ""] ?? e.message, what);
}

const CAUSES: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOTDIR: "a part of the path is not a directory",
  ENOENT: "cannot be created here (no such file or directory)",
  EEXIST: "exists and is not a directory",
  ENOSPC: "no space left on the device",
  EISDIR: "is a directory",
};

/** For a promise's catch: a file-system error (it names a path) becomes a one-line DataDirError. */
export function withPath(what: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof DataDirError) throw err; // says its path already (the lock's own errors)
    const path = (err as NodeJS.ErrnoException).path;
    throw typeof path === "string" ? fsError(path, err, what) : err;
  };
}
