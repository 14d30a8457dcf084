import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built `petgate` command (npm test builds it first). */
export const PETGATE = fileURLToPath(new URL("../../bin/petgate.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function petgate(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PETGATE, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

export interface Daemon {
  child: ChildProcess;
  match: RegExpMatchArray;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts a long-running petgate command and resolves once its stderr matches `ready`. `detached`: in
 * its own process group, which a test signals as a terminal's Ctrl-C does (process.kill(-pid)).
 */
export function petgateDaemon(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  options: { detached?: boolean } = {},
): Promise<Daemon> {
  return nodeDaemon(PETGATE, args, ready, env, options);
}

/** Starts a built script (dist/…) in node and resolves once its stderr matches `ready`. */
export function nodeDaemon(
  script: string,
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  options: { detached?: boolean } = {},
): Promise<Daemon> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, ...options });
    let stderr = "";
    const exited = new Promise<number | null>((r) => child.on("close", r));
    child.stderr.on("data", (d) => {
      stderr += d;
      const match = stderr.match(ready);
      if (match) resolve({ child, match, stderr: () => stderr, exited });
    });
    child.on("error", reject);
    void exited.then((code) => reject(new Error(`petgate exited (${code}) before ready:\n${stderr}`)));
  });
}

/** The environment in which petgate sends itself SIGINT while writing a line matching `line`. */
export function sigintOnLine(line: RegExp): NodeJS.ProcessEnv {
  const probe = fileURLToPath(new URL("./signal-on-ready.mjs", import.meta.url));
  return { NODE_OPTIONS: `--import ${probe}`, PETGATE_SIGNAL_ON_READY: line.source };
}
