import { statSync } from "node:fs";
import { resolveBmcs } from "../config/inventory.js";
import { ConfigError, loadConfig, readSecret } from "../config/load.js";
import { requireConfigFile } from "../config/path.js";
import { configReference } from "../config/reference.js";
import type { Config } from "../config/schema.js";
import { loadTrapRules } from "../pipeline/interpret/load.js";
import { buildSinks } from "../sinks/build.js";
import { parseCommandArgs, subcommand } from "./usage.js";

const HELP = `usage: petgate config check [--config FILE]
       petgate config reference

check: reads petgate.yml as petgate serve would and lists every problem, one a line: the schema
(each with its path and line), every secret it names (BMC passwords and K_g, receivers', Redis's,
the API token's, SNMPv3 users' passphrases: read, never shown), every receiver built, every MIB
directory present, the trap rules compiled against the MIBs. Exit 0 when there is none, else 1.
Nothing is contacted: no BMC, no Redis, no receiver.

reference: the petgate.yml reference (Markdown), as petgate config-reference prints it.

  --config   petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml)`;

export async function configCommand(argv: string[]): Promise<number> {
  const command = subcommand(argv, ["check", "reference"], HELP);
  if (!command) return 0;
  const { sub, rest } = command;
  if (sub === "reference") {
    process.stdout.write(`${configReference()}\n`);
    return 0;
  }
  const { values } = parseCommandArgs(rest, { config: { type: "string" } }, HELP);
  const file = requireConfigFile(values.config);
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stdout.write(`${p}\n`);
    process.stdout.write(`${file}: ${err.problems.length} problem(s)\n`);
    return 1;
  }
  const problems = await checkConfig(config, file);
  for (const p of problems) process.stdout.write(`${p}\n`);
  process.stdout.write(
    problems.length === 0
      ? `${file}: ok (${config.bmcs.length} BMC(s), ${(config.receivers ?? []).length} receiver(s), ${config.traps.length} trap rule(s))\n`
      : `${file}: ${problems.length} problem(s)\n`,
  );
  return problems.length === 0 ? 0 : 1;
}

/** What a schema-valid config still cannot do at start-up, one line each, naming where (never a secret). */
async function checkConfig(config: Config, file: string): Promise<string[]> {
  const problems: string[] = [];
  const attempt = (what: string, check: () => void) => {
    try {
      check();
    } catch (err) {
      problems.push(`${file}: ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  for (const b of config.bmcs) attempt(`bmcs ${b.name}`, () => resolveBmcs(config, [b.name]));
  for (const r of config.receivers ?? [])
    attempt(`receivers ${r.name}`, () => {
      for (const sink of buildSinks({ receivers: [r] }).values()) void sink.close?.();
    });
  const { password: redisPassword, sentinelPassword } = config.redis ?? {};
  if (redisPassword) attempt("redis.password", () => readSecret(redisPassword, "redis.password"));
  if (sentinelPassword)
    attempt("redis.sentinelPassword", () => readSecret(sentinelPassword, "redis.sentinelPassword"));
  const token = config.http.token;
  if (token) attempt("http.token", () => readSecret(token, "http.token"));
  for (const u of config.listener.users) {
    for (const [key, ref] of [
      ["authKey", u.authKey],
      ["privKey", u.privKey],
    ] as const)
      if (ref) attempt(`listener.users ${u.name} ${key}`, () => readSecret(ref, `${u.name} ${key}`));
  }
  for (const dir of config.mibs.dirs)
    attempt(`mibs.dirs ${dir}`, () => {
      if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    });
  try {
    await loadTrapRules(config, { log: () => undefined });
  } catch (err) {
    problems.push(`${file}: traps: ${err instanceof Error ? err.message : String(err)}`);
  }
  return problems;
}
