import { lineOf } from "../../config/load.js";
import { mibDirs } from "../../config/mibs.js";
import type { Config } from "../../config/schema.js";
import { loadMibs } from "../../mib/load.js";
import { compileTrapRules, type TrapRuleError, type TrapRules } from "./rules.js";

/**
 * The `traps:` rules of a configuration, compiled against its MIBs (`mibs:`: net-snmp's bundled
 * ones, the system's and each of `dirs`), as an events worker starts. A MIB that does not load is
 * logged, one line each, and skipped; a rule that does not compile throws its TrapRuleError.
 * Parsed MIBs are cached in `mibs.cache`, else in `cacheDir` (serve's data dir), else nowhere.
 */
export async function loadTrapRules(
  config: Pick<Config, "mibs" | "traps">,
  options: { cacheDir?: string; log: (message: string) => void },
): Promise<TrapRules> {
  const cacheDir = config.mibs.cache ?? options.cacheDir;
  const { store, problems } = await loadMibs({
    dirs: mibDirs(config.mibs),
    ...(cacheDir !== undefined && { cacheDir }),
  });
  for (const p of problems) options.log(`MIB ${p.file}:${p.line}: ${p.message} (skipped)`);
  return compileTrapRules(config.traps, store);
}

/** A rule that does not compile as one line: "petgate.yml:14: traps[2].match[0]: …". */
export function trapRuleProblem(file: string, err: TrapRuleError): string {
  const line = lineOf(file, err.path);
  return `${file}${line === undefined ? "" : `:${line}`}: ${err.message}`;
}
