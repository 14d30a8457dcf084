/*
 * Parsed MIB files under a directory, keyed by a hash of their content and the parser's format, so an
 * unchanged file is not parsed again. A cache that cannot be read or written only costs a parse.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ParsedModule } from "./parse.js";
import type { MibProblem } from "./types.js";

/** Bump when ParsedModule's shape or the parser's output changes: old entries are then not read. */
const FORMAT = "petgate-mib-1";

export interface ParsedFile {
  modules: ParsedModule[];
  problems: MibProblem[];
}

export function contentKey(text: string): string {
  return createHash("sha256").update(FORMAT).update("\0").update(text).digest("hex");
}

/** The file's parse as cached, with `file` set to where the content is now. */
export async function readCached(dir: string, key: string, file: string): Promise<ParsedFile | undefined> {
  let parsed: ParsedFile;
  try {
    parsed = JSON.parse(await readFile(join(dir, `${key}.json`), "utf8")) as ParsedFile;
  } catch {
    return undefined;
  }
  for (const m of parsed.modules) m.file = file;
  for (const p of parsed.problems) p.file = file;
  return parsed;
}

export async function writeCached(dir: string, key: string, parsed: ParsedFile): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    // Written aside and renamed: another process loading the same MIBs never reads half a file.
    const path = join(dir, `${key}.json`);
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, JSON.stringify(parsed));
    await rename(partial, path);
  } catch {
    // The next start parses the file again.
  }
}
