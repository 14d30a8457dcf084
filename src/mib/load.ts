/*
 * MIB modules from net-snmp's bundled MIBs and the given directories, linked into one MibStore. A
 * file that does not parse, or a module whose imports cannot be met, is a problem and skipped.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { contentKey, type ParsedFile, readCached, writeCached } from "./cache.js";
import { linkModules } from "./link.js";
import { type ParsedModule, parseMibText } from "./parse.js";
import { MibStore } from "./store.js";
import type { MibProblem } from "./types.js";

/** Larger than any MIB published (IF-MIB is 80 KB): a file past it is no MIB. */
const MAX_MIB_BYTES = 4 * 1024 * 1024;

export interface LoadMibsOptions {
  dirs: readonly string[];
  /** net-snmp's lib/mibs (SNMPv2-SMI, SNMPv2-MIB, IF-MIB, RFC1213-MIB…); default true. */
  bundled?: boolean;
  /** Where parsed files are kept between starts; no cache when absent. */
  cacheDir?: string;
}

export interface LoadedMibs {
  store: MibStore;
  problems: MibProblem[];
  /** Modules loaded. */
  modules: number;
  /** Of the modules parsed, those read from the cache. */
  fromCache: number;
}

/** net-snmp's bundled MIBs, next to its entry point. */
export function bundledMibDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("net-snmp")), "lib", "mibs");
}

/** The directories' modules first (a site's newer module wins over a bundled one of its name). */
export async function loadMibs(options: LoadMibsOptions): Promise<LoadedMibs> {
  const dirs = options.bundled === false ? options.dirs : [...options.dirs, bundledMibDir()];
  const problems: MibProblem[] = [];
  const files = (await Promise.all(dirs.map((dir) => mibFiles(dir, problems)))).flat();
  const parsed = await Promise.all(files.map((file) => parseFile(file, options.cacheDir)));
  const modules: ParsedModule[] = [];
  let fromCache = 0;
  for (const p of parsed) {
    modules.push(...p.modules);
    problems.push(...p.problems);
    if (p.cached) fromCache += p.modules.length;
  }
  const linked = linkModules(modules);
  problems.push(...linked.problems);
  return {
    store: new MibStore(linked.definitions, linked.modules),
    problems,
    modules: linked.modules.length,
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

async function parseFile(
  file: string,
  cacheDir: string | undefined,
): Promise<ParsedFile & { cached: boolean }> {
  try {
    const { size } = await stat(file);
    if (size > MAX_MIB_BYTES) {
      return {
        modules: [],
        problems: [{ file, line: 0, message: `${size} bytes, more than a MIB` }],
        cached: false,
      };
    }
    const text = await readFile(file, "utf8");
    const key = contentKey(text);
    const cached = cacheDir === undefined ? undefined : await readCached(cacheDir, key, file);
    if (cached !== undefined) return { ...cached, cached: true };
    const fresh = parseMibText(text, file);
    if (cacheDir !== undefined) await writeCached(cacheDir, key, fresh);
    return { ...fresh, cached: false };
  } catch (err) {
    return { modules: [], problems: [{ file, line: 0, message: (err as Error).message }], cached: false };
  }
}
