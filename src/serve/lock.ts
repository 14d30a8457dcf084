import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Another live process holds the data dir. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `data dir ${dataDir} is in use by petgate process ${pid}: give each serve process its own --data-dir`,
    );
  }
}

/**
 * Takes `<dataDir>/petgate.lock` (our pid, created exclusively) so that one process at a time owns
 * the data dir's spool and embedded Redis. A lock left by a process that is gone (a crash) is taken
 * over, so a restart replays the spool; so is one naming our own pid (pid 1 again after a container
 * restart). Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, "petgate.lock");
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number.parseInt(readOrEmpty(file), 10);
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new DataDirInUseError(dataDir, pid);
    rmSync(file, { force: true });
  }
}

/** The lock's text, or "" when its holder removed it meanwhile. */
function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
