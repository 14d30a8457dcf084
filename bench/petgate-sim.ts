// `petgate sim --count N` as a child process for the benches: start-up time, the control API's
// counters, CPU and peak RSS from /proc, and a stop that collects its final counters line.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { track } from "./receivers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const CLK_TCK = 100;

export type Counters = Record<string, number>;

export interface Sim {
  child: ChildProcess;
  pid: number;
  startupMs: number;
  /** The control API (src/sim/control.ts), e.g. http://127.0.0.1:PORT. */
  control: string;
  counters(): Promise<Counters>;
  cpuSeconds(): number;
  peakRssKiB(): number;
  stop(): Promise<{ counters?: Counters; exitCode: number | null; signal: string | null }>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

function procStat(pid: number): { cpu: number } {
  // Fields after the ")" of comm: state is 3, utime 14, stime 15.
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK };
}

/** Starts `petgate sim --count n` (password from an env var, PETs to the discard port) with its control API. */
export async function startSim(n: number, password: string, extraArgs: string[] = []): Promise<Sim> {
  const controlPort = await freePort();
  const started = performance.now();
  const child = track(
    spawn(
      process.execPath,
      [
        join(root, "bin/petgate.js"),
        "sim",
        "--count",
        String(n),
        "--password-env",
        "BENCH_SIM_PASSWORD",
        "--trap-port",
        "9",
        "--control",
        `127.0.0.1:${controlPort}`,
        ...extraArgs,
      ],
      {
        env: { ...process.env, BENCH_SIM_PASSWORD: password },
        stdio: ["ignore", "ignore", "pipe"],
      },
    ),
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  while (!stderr.includes("control API on")) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`petgate sim exited: ${stderr.trim()}`);
    if (performance.now() - started > 60_000) throw new Error("petgate sim did not start within 60 s");
    await sleep(20);
  }
  const startupMs = performance.now() - started;
  const pid = child.pid as number;
  return {
    child,
    pid,
    startupMs,
    control: `http://127.0.0.1:${controlPort}`,
    async counters() {
      const res = await fetch(`http://127.0.0.1:${controlPort}/counters`, {
        signal: AbortSignal.timeout(5000),
      });
      return (await res.json()) as Counters;
    },
    cpuSeconds: () => procStat(pid).cpu,
    peakRssKiB: () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
      const line = /petgate sim: stopped; counters (\{.*\})/.exec(stderr)?.[1];
      return {
        ...(line !== undefined && { counters: JSON.parse(line) as Counters }),
        exitCode: child.exitCode,
        signal: child.signalCode,
      };
    },
  };
}
