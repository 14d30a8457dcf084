import { readFileSync, writeFileSync } from "node:fs";
import { ConfigError, loadConfig } from "../config/load.js";
import { mibDirs } from "../config/mibs.js";
import { findConfigFile } from "../config/path.js";
import { type Config, configSchema } from "../config/schema.js";
import { trapRuleStubs } from "../mib/convert.js";
import { loadMibs } from "../mib/load.js";
import { type ParsedModule, parseMibText } from "../mib/parse.js";
import type { MibProblem } from "../mib/types.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate mib convert [--out FILE] MIB_FILE...
       petgate mib translate [--dir DIR]... [--no-system] OID|NAME...
       petgate mib check [--config FILE]

convert    trap rule stubs (YAML, under traps:) for every NOTIFICATION-TYPE and TRAP-TYPE of the
           files, with a severity guessed from the name to review; standard output unless --out
translate  a numeric OID to MODULE::name.index, a name (IF-MIB::linkDown, ifIndex.3) to its OID,
           with net-snmp's MIBs, /usr/share/snmp/mibs (unless --no-system) and each --dir loaded
check      load the MIBs as petgate serve does (petgate.yml's mibs:; --config, else $PETGATE_CONFIG,
           else ./petgate.yml) and print every problem with file:line, the system directories' too

A MIB with a problem is named with file:line and skipped. Exit status 1 when convert or check met a
problem, or translate a name no loaded MIB defines.`;

export async function mibCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "convert") return convert(rest);
  if (sub === "translate") return translate(rest);
  if (sub === "check") return check(rest);
  if (sub === "--help" || sub === "-h") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  throw new UsageError(`expected convert, translate or check\n${HELP}`);
}

function convert(argv: string[]): number {
  const { values, positionals } = parseCommandArgs(argv, { out: { type: "string" } }, HELP);
  if (positionals.length === 0) throw new UsageError(`convert needs a MIB file\n${HELP}`);
  const modules: ParsedModule[] = [];
  const problems: MibProblem[] = [];
  for (const file of positionals) {
    const parsed = parseMibText(readFileSync(file, "utf8"), file);
    modules.push(...parsed.modules);
    problems.push(...parsed.problems);
  }
  reportProblems(problems);
  const yaml = trapRuleStubs(modules);
  if (values.out === undefined) process.stdout.write(yaml);
  else writeFileSync(values.out, yaml);
  return problems.length === 0 ? 0 : 1;
}

async function translate(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { dir: { type: "string", multiple: true }, "no-system": { type: "boolean" } },
    HELP,
  );
  if (positionals.length === 0) throw new UsageError(`translate needs an OID or a name\n${HELP}`);
  const dirs = mibDirs({ dirs: values.dir ?? [], system: values["no-system"] !== true });
  const { store, problems } = await loadMibs({ dirs });
  reportProblems(problems);
  let unknown = 0;
  for (const text of positionals) {
    const oid = store.oid(text);
    const name = oid === undefined ? undefined : store.name(oid);
    if (oid === undefined || name === undefined) {
      process.stderr.write(`petgate mib: ${text}: no loaded MIB defines it\n`);
      unknown++;
    } else {
      process.stdout.write(`${name.module}::${name.name}${name.index} = ${oid}\n`);
    }
  }
  return unknown === 0 ? 0 : 1;
}

async function check(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { config: { type: "string" } }, HELP);
  const file = findConfigFile(values.config);
  let config: Config;
  try {
    config = file === undefined ? configSchema.parse({}) : loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`petgate mib: ${err.message}\n`);
    return 1;
  }
  const { cache } = config.mibs;
  const dirs = mibDirs(config.mibs);
  const { problems, modules } = await loadMibs({ dirs, ...(cache !== undefined && { cacheDir: cache }) });
  for (const p of problems) process.stdout.write(`${p.file}:${p.line}: ${p.message}\n`);
  process.stderr.write(
    `petgate mib: ${modules} modules loaded (net-snmp's MIBs${dirs.map((d) => `, ${d}`).join("")}), ${problems.length} problems\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

function reportProblems(problems: readonly MibProblem[]): void {
  for (const p of problems)
    process.stderr.write(`petgate mib: ${p.file}:${p.line}: ${p.message} (skipped)\n`);
}
