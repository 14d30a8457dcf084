import { dirname } from "node:path";
import { lineOf } from "../../config/load.js";
import { systemMibDirs } from "../../config/mibs.js";
import type { Config } from "../../config/schema.js";
import { loadMibs } from "../../mib/load.js";
import type { MibProblem } from "../../mib/types.js";
import { compileTrapRules, type TrapRuleError, type TrapRules } from "./rules.js";

export interface LoadTrapRulesOptions {
  cacheDir?: string;
  log: (message: string) => void;
  /** Where the system's MIBs may be (`mibs.system`); config/mibs.ts's SYSTEM_MIB_DIRS unless given. */
  systemMibDirs?: readonly string[];
}

/**
 * The `traps:` rules of a configuration, compiled against its MIBs (`mibs:`: net-snmp's bundled
 * ones, each of `dirs` and the system's), as an events worker starts. A MIB that does not load is
 * skipped and logged (logMibProblems); a rule that does not compile throws its TrapRuleError.
 * Parsed MIBs are cached in `mibs.cache`, else in `cacheDir` (serve's data dir), else nowhere.
 */
export async function loadTrapRules(
  config: Pick<Config, "mibs" | "traps">,
  options: LoadTrapRulesOptions,
): Promise<TrapRules> {
  const cacheDir = config.mibs.cache ?? options.cacheDir;
  const system = systemMibDirs(config.mibs, options.systemMibDirs);
  const { store, problems } = await loadMibs({
    dirs: [...config.mibs.dirs, ...system],
    ...(cacheDir !== undefined && { cacheDir }),
  });
  logMibProblems(problems, system, options.log);
  return compileTrapRules(config.traps, store);
}

/**
 * One line per problem of a directory the operator listed; one line per system directory, which is
 * loaded unasked and whose modules often import what the distribution does not ship (Debian's
 * net-snmp MIBs import SNMP-FRAMEWORK-MIB and HCNUM-TC from snmp-mibs-downloader): `petgate mib
 * check` lists those.
 */
function logMibProblems(
  problems: readonly MibProblem[],
  systemDirs: readonly string[],
  log: (message: string) => void,
): void {
  const bySystemDir = new Map<string, MibProblem[]>();
  for (const p of problems) {
    const dir = systemDirs.find((d) => p.file === d || dirname(p.file) === d);
    if (dir === undefined) log(`MIB ${p.file}:${p.line}: ${p.message} (skipped)`);
    else bySystemDir.set(dir, [...(bySystemDir.get(dir) ?? []), p]);
  }
  for (const [dir, list] of bySystemDir) {
    const missing = [...new Set(list.flatMap((p) => p.missing ?? []))].sort();
    const why = missing.length === 0 ? "" : ` (missing imports: ${missing.join(", ")})`;
    const count = `${list.length} problem${list.length === 1 ? "" : "s"}`;
    log(`MIB ${dir}: ${count}${why}, skipped; petgate mib check lists them`);
  }
}

/** A rule that does not compile as one line: "petgate.yml:14: traps[2].match[0]: …". */
export function trapRuleProblem(file: string, err: TrapRuleError): string {
  const line = lineOf(file, err.path);
  return `${file}${line === undefined ? "" : `:${line}`}: ${err.message}`;
}
