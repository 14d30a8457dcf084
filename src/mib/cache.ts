/*
 * MIBs kept between starts under a cache directory: each file's parse, keyed by a hash of its
 * content, so an unchanged file is not parsed again; and the linked table of the whole set, keyed by
 * the ordered hashes of its files, so an unchanged set is neither parsed nor linked. A cache that
 * cannot be read or written only costs a parse or a link.
 *
 * What the cache holds becomes trap names and DESCRIPTIONs in every alert, so only a cache that no
 * other user can write is used: the directory is made 0700 and files 0600 whatever the umask, and a
 * directory or file that another user owns, or that group or others can write, is a miss.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { chmod, type FileHandle, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ParsedModule } from "./parse.js";
import type { MibTable } from "./table.js";
import type { MibProblem } from "./types.js";

/** Bump when ParsedModule's shape or the parser's output changes: old entries are then not read. */
const FORMAT = "petgate-mib-2";
/** Bump when MibTable's shape or the linker's output changes. */
const LINKED_FORMAT = "petgate-mib-linked-3";
/** One linked set is kept: the one of the last start that linked. */
const LINKED_FILE = "linked.json";

export interface ParsedFile {
  modules: ParsedModule[];
  problems: MibProblem[];
}

/** A set of files linked: its table, and its problems with `file` as an index into the file list. */
export interface LinkedSet {
  table: MibTable;
  problems: (Omit<MibProblem, "file"> & { file: number })[];
}

/**
 * Makes the cache directory if it is missing; whether it can be used: a directory only we can write.
 * Not made private when it exists: a `mibs.cache` given by mistake (/var/tmp) is refused, not chmod-ed.
 */
export async function openCacheDir(dir: string): Promise<boolean> {
  try {
    if ((await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined) {
      await chmod(dir, 0o700); // mkdir's mode is masked by the umask
    }
    const stats = await stat(dir);
    return stats.isDirectory() && onlyOursToWrite(stats);
  } catch {
    return false;
  }
}

function onlyOursToWrite(stats: Stats): boolean {
  return (stats.mode & 0o022) === 0 && stats.uid === (process.geteuid?.() ?? stats.uid);
}

export function contentKey(content: Buffer): string {
  return createHash("sha256").update(FORMAT).update("\0").update(content).digest("hex");
}

/** The key of the files' content keys in load order (the order decides which of two modules wins). */
export function linkedKey(contentKeys: readonly string[]): string {
  return createHash("sha256").update(LINKED_FORMAT).update("\0").update(contentKeys.join("\n")).digest("hex");
}

/** The file's parse as cached, with `file` set to where the content is now. */
export async function readCached(dir: string, key: string, file: string): Promise<ParsedFile | undefined> {
  const parsed = await readJson<ParsedFile>(join(dir, `${key}.json`));
  if (parsed === undefined) return undefined;
  for (const m of parsed.modules) m.file = file;
  for (const p of parsed.problems) p.file = file;
  return parsed;
}

export function writeCached(dir: string, key: string, parsed: ParsedFile): Promise<void> {
  return writeJson(dir, `${key}.json`, parsed);
}

export async function readLinked(dir: string, key: string): Promise<LinkedSet | undefined> {
  const cached = await readJson<LinkedSet & { key: string }>(join(dir, LINKED_FILE));
  return cached?.key === key ? cached : undefined;
}

export function writeLinked(dir: string, key: string, linked: LinkedSet): Promise<void> {
  return writeJson(dir, LINKED_FILE, { key, ...linked });
}

/** Checked as opened (fstat), so what is checked is what is read. */
async function readJson<T>(path: string): Promise<T | undefined> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, "r");
    const stats = await file.stat();
    if (!stats.isFile() || !onlyOursToWrite(stats)) return undefined;
    return JSON.parse(await file.readFile("utf8")) as T;
  } catch {
    return undefined;
  } finally {
    await file?.close();
  }
}

/** Into a directory openCacheDir accepted. */
async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  try {
    // Written aside and renamed: another process loading the same MIBs never reads half a file.
    const path = join(dir, name);
    const partial = `${path}.${process.pid}.tmp`;
    await rm(partial, { force: true }); // a crashed start's: created anew, it gets the mode below
    await writeFile(partial, JSON.stringify(value), { mode: 0o600, flag: "wx" });
    await rename(partial, path);
  } catch {
    // The next start parses or links again.
  }
}
