/*
 * MIBs kept between starts under a cache directory: each file's parse, keyed by a hash of its
 * content, so an unchanged file is not parsed again; and the linked table of the whole set, keyed by
 * the ordered hashes of its files, so an unchanged set is neither parsed nor linked. A cache that
 * cannot be read or written only costs a parse or a link.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ParsedModule } from "./parse.js";
import type { MibTable } from "./table.js";
import type { MibProblem } from "./types.js";

/** Bump when ParsedModule's shape or the parser's output changes: old entries are then not read. */
const FORMAT = "petgate-mib-1";
/** Bump when MibTable's shape or the linker's output changes. */
const LINKED_FORMAT = "petgate-mib-linked-1";
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

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function writeJson(dir: string, name: string, value: unknown): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    // Written aside and renamed: another process loading the same MIBs never reads half a file.
    const path = join(dir, name);
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, JSON.stringify(value));
    await rename(partial, path);
  } catch {
    // The next start parses or links again.
  }
}
