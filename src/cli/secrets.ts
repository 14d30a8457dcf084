import { readFileSync } from "node:fs";
import { UsageError } from "./usage.js";

/**
 * Secrets given to a command: by environment variable or file, never as a plain argument, which `ps`
 * shows to every local user (docs/operating.md, Security). Errors name the flag and the place, never
 * a value.
 */

export function secretFromEnv(flag: string, name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new UsageError(`${flag}: ${name} is not set`);
  return value;
}

/** The file's first line, as ipmitool -f reads a password file. */
export function secretFromFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8").split(/\r?\n/)[0] ?? "";
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** A secret still taken as a plain argument, for compatibility: one line on stderr says so. */
export function warnCommandLineSecret(command: string, flag: string, instead: string): void {
  process.stderr.write(
    `petgate ${command}: warning: ${flag} puts a secret on the command line, where ps shows it; use ${instead}\n`,
  );
}

/** At most one of flags that say the same thing. */
export function atMostOne(flags: Record<string, unknown>): void {
  const given = Object.keys(flags).filter((flag) => flags[flag] !== undefined);
  if (given.length > 1) throw new UsageError(`give only one of ${given.join(", ")}`);
}
