import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/** Debian's snmp-mibs-downloader and net-snmp's own install put MIBs here; ietf/ and iana/ hold the RFC modules. */
const SYSTEM_MIB_DIR = "/usr/share/snmp/mibs";
export const SYSTEM_MIB_DIRS: readonly string[] = [
  SYSTEM_MIB_DIR,
  join(SYSTEM_MIB_DIR, "ietf"),
  join(SYSTEM_MIB_DIR, "iana"),
];

export const mibsSchema = z
  .object({
    dirs: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "directories whose every file is a MIB module (a site's vendor MIBs); net-snmp's standard MIBs are always loaded",
      ),
    system: z
      .boolean()
      .default(true)
      .describe("also load /usr/share/snmp/mibs (and its ietf/ and iana/ subdirectories) where present"),
    cache: z
      .string()
      .min(1)
      .optional()
      .describe("directory keeping parsed MIBs between starts (default: under the serve data directory)"),
  })
  .strict();

export type MibsConfig = z.infer<typeof mibsSchema>;

/** The directories to load: the configured ones first, then the system ones that exist. */
export function mibDirs(config: MibsConfig, candidates: readonly string[] = SYSTEM_MIB_DIRS): string[] {
  return [...config.dirs, ...systemMibDirs(config, candidates)];
}

/** The system directories loaded (with `system`): those of `candidates` that exist and `dirs` does not list. */
export function systemMibDirs(config: MibsConfig, candidates: readonly string[] = SYSTEM_MIB_DIRS): string[] {
  return config.system ? candidates.filter((dir) => !config.dirs.includes(dir) && existsSync(dir)) : [];
}
