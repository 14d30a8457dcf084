import { existsSync } from "node:fs";
import { ConfigError } from "./load.js";

/** The configuration file looked for when none is named. */
export const DEFAULT_CONFIG_FILE = "petgate.yml";

/**
 * Where every command and worker process finds its configuration: the file named (`--config FILE`,
 * or a worker's argument), else $PETGATE_CONFIG, else ./petgate.yml when it exists. A file that is
 * named is returned whether or not it exists, so reading it reports what is wrong with it; undefined
 * means none was named and there is no ./petgate.yml.
 */
export function findConfigFile(named: string | undefined): string | undefined {
  const file = named ?? process.env.PETGATE_CONFIG;
  if (file !== undefined) return file;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

/** findConfigFile for the commands that cannot run without a configuration. */
export function requireConfigFile(named: string | undefined): string {
  const file = findConfigFile(named);
  if (file === undefined || !existsSync(file))
    throw new ConfigError(file ?? DEFAULT_CONFIG_FILE, [
      "no such file (give --config FILE or set PETGATE_CONFIG)",
    ]);
  return file;
}
