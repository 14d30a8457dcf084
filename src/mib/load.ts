/*
 * MIB modules from net-snmp's bundled MIBs and the given directories, linked into one MibStore. A
 * file that does not parse, or a module whose imports cannot be met, is a problem and skipped.
 */
import { readFileSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  contentKey,
  type LinkedSet,
  linkedKey,
  openCacheDir,
  type ParsedFile,
  readCached,
  readLinked,
  writeCached,
  writeLinked,
} from "./cache.js";
import { linkModules } from "./link.js";
import { type ParsedModule, parseMibText } from "./parse.js";
import { MibStore } from "./store.js";
import { mibTable } from "./table.js";
import type { MibProblem } from "./types.js";

/** Larger than any MIB published (IF-MIB is 80 KB): a file past it is no MIB. */
const MAX_MIB_BYTES = 4 * 1024 * 1024;

export interface LoadMibsOptions {
  dirs: readonly string[];
  /** net-snmp's lib/mibs (SNMPv2-SMI, SNMPv2-MIB, IF-MIB, RFC1213-MIB…); default true. */
  bundled?: boolean;
  /**
   * Where parsed files and the linked set are kept between starts; no cache when absent, or when
   * another user can write it (src/mib/cache.ts).
   */
  cacheDir?: string;
}

export interface LoadedMibs {
  store: MibStore;
  problems: MibProblem[];
  /** Modules loaded. */
  modules: number;
  /** Modules read from the cache: every one when the linked set was, else those whose parse was. */
  fromCache: number;
  /** The same files in the same order were linked before: nothing was parsed or linked. */
  linkedFromCache: boolean;
}

/** A file's content, or why it cannot be a MIB; `key` says which (the content's hash, or the problem). */
type Source = { key: string; content: Buffer } | { key: string; problem: MibProblem };

/** net-snmp's bundled MIBs, next to its entry point. */
export function bundledMibDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("net-snmp")), "lib", "mibs");
}

/** The directories' modules first (a site's newer module wins over a bundled one of its name). */
export async function loadMibs(options: LoadMibsOptions): Promise<LoadedMibs> {
  const cacheDir =
    options.cacheDir !== undefined && (await openCacheDir(options.cacheDir)) ? options.cacheDir : undefined;
  const dirs = options.bundled === false ? options.dirs : [...options.dirs, bundledMibDir()];
  const problems: MibProblem[] = [];
  const files = (await Promise.all(dirs.map((dir) => mibFiles(dir, problems)))).flat();
  const sources = files.map(readSource);
  const key = linkedKey(sources.map((s) => s.key));
  const cached = cacheDir === undefined ? undefined : await readLinked(cacheDir, key);
  let set: LinkedSet;
  let fromCache: number;
  if (cached === undefined) {
    ({ set, fromCache } = await linkSources(files, sources, cacheDir));
    if (cacheDir !== undefined) await writeLinked(cacheDir, key, set);
  } else {
    set = cached;
    fromCache = set.table.modules.length;
  }
  for (const p of set.problems) problems.push({ ...p, file: files[p.file] ?? "" });
  return {
    store: new MibStore(set.table, files),
    problems,
    modules: set.table.modules.length,
    fromCache,
    linkedFromCache: cached !== undefined,
  };
}

/** Parses each source (or reads its parse from the cache) and links the modules. */
async function linkSources(
  files: readonly string[],
  sources: readonly Source[],
  cacheDir: string | undefined,
): Promise<{ set: LinkedSet; fromCache: number }> {
  const parsed = await Promise.all(
    sources.map((source, i) => parseSource(files[i] as string, source, cacheDir)),
  );
  const modules: ParsedModule[] = [];
  const problems: MibProblem[] = [];
  let fromCache = 0;
  for (const p of parsed) {
    modules.push(...p.modules);
    problems.push(...p.problems);
    if (p.cached) fromCache += p.modules.length;
  }
  const linked = linkModules(modules);
  problems.push(...linked.problems);
  const fileIndex = new Map(files.map((file, i) => [file, i]));
  return {
    set: {
      table: mibTable(linked.modules, linked.definitions, fileIndex),
      problems: problems.map((p) => ({ ...p, file: fileIndex.get(p.file) ?? -1 })),
    },
    fromCache,
  };
}

/** Every regular file of a directory but hidden ones (net-snmp's .index), in name order. */
async function mibFiles(dir: string, problems: MibProblem[]): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith("."))
      .map((e) => join(dir, e.name))
      .sort();
  } catch (err) {
    problems.push({
      file: dir,
      line: 0,
      message: `cannot read the MIB directory: ${(err as Error).message}`,
    });
    return [];
  }
}

/**
 * Read at once: a hundred small files take a few milliseconds so, several times that through the
 * thread pool (fs/promises), and a start has nothing else to do meanwhile.
 */
function readSource(file: string): Source {
  const unread = (message: string): Source => ({ key: `!${message}`, problem: { file, line: 0, message } });
  try {
    const { size } = statSync(file);
    if (size > MAX_MIB_BYTES) return unread(`${size} bytes, more than a MIB`);
    const content = readFileSync(file);
    return { key: contentKey(content), content };
  } catch (err) {
    return unread((err as Error).message);
  }
}

async function parseSource(
  file: string,
  source: Source,
  cacheDir: string | undefined,
): Promise<ParsedFile & { cached: boolean }> {
  if ("problem" in source) return { modules: [], problems: [source.problem], cached: false };
  const cached = cacheDir === undefined ? undefined : await readCached(cacheDir, source.key, file);
  if (cached !== undefined) return { ...cached, cached: true };
  const fresh = parseMibText(source.content.toString("utf8"), file);
  if (cacheDir !== undefined) await writeCached(cacheDir, source.key, fresh);
  return { ...fresh, cached: false };
}
