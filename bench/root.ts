import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout: the nearest directory up from this module with a package.json (from dist/ or not). */
export const repoRoot = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || dir.endsWith("/dist")) {
    const up = dirname(dir);
    if (up === dir) throw new Error("no package.json above bench/");
    dir = up;
  }
  return dir;
})();
