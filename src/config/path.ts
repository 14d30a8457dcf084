import { existsSync } from "node:fs";
import { ConfigError } from "./load.js";

/** The configuration file looked for when none is named. */
export const DEFAULT_CONFIG_FILE = "petgate.yml";
/** Where an installed petgate's configuration lives (deploy/systemd, docs/operating.md). */
export const SYSTEM_CONFIG_FILE = "/etc/petgate/petgate.yml";

/**
 * Where every command and worker process finds its configuration: the file named (`--config FILE`,
 * or a worker's argument), else $PETGATE_CONFIG, else the first of ./petgate.yml and
 * /etc/petgate/petgate.yml that exists. A file that is named is returned whether or not it exists,
 * so reading it reports what is wrong with it; undefined means none was named and none exists.
 */
export function findConfigFile(
  named: string | undefined,
  unnamed: readonly string[] = [DEFAULT_CONFIG_FILE, SYSTEM_CONFIG_FILE],
): string | undefined {
  const file = named ?? process.env.PETGATE_CONFIG;
  if (file !== undefined) return file;
  return unnamed.find((f) => existsSync(f));
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
