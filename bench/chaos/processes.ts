// The chaos soak's child processes: petgate roles as operators run them (`node bin/petgate.js serve
// --role …`), each killed when the harness exits however it exits (receivers.ts track/killAll).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { track } from "../receivers.js";
import { repoRoot } from "../root.js";

/** A built script of this checkout (npm scripts and npm test build dist/ first). */
export const built = (path: string) => join(repoRoot, "dist", path);

export interface PetgateProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  /** The last lines it wrote to stderr (for a report when something goes wrong). */
  tail(): string[];
}

/**
 * Starts `petgate ARGS` and resolves once it logs "ready" (serve's last start-up line). Its stderr is
 * kept (last 50 lines) and, with `log`, passed on line by line.
 */
export function startPetgate(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log?: (line: string) => void,
): Promise<PetgateProcess> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(repoRoot, "bin/petgate.js"), ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "ignore", "pipe"],
      }),
    );
    const lines: string[] = [];
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    let buffered = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 50) lines.shift();
        log?.(`${name}: ${line}`);
        if (/petgate: ready$/.test(line) && child.pid !== undefined)
          resolve({ name, child, pid: child.pid, exited, tail: () => [...lines] });
      }
    });
    child.once("error", reject);
    void exited.then(() => reject(new Error(`${name} exited before ready:\n${lines.join("\n")}`)));
  });
}

/** Resident set size of a process in bytes (VmRSS), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `petgate ARGS` to completion; resolves with its exit code and output. */
export function runPetgate(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(repoRoot, "bin/petgate.js"), ...args], {
        env: { ...process.env, ...env },
      }),
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
