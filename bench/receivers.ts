// The two trap receivers the ingest bench compares, each run as a child process on 127.0.0.1:PORT:
// the petgate listener (kept = NDJSON lines) and net-snmp's snmptrapd (kept = one log line per trap).
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loopbackSocket, receiveBufferOf, type SocketState } from "./kernel.js";

export interface Stopped {
  kept: number;
  /** The kernel's per-socket drop count just before the stop. */
  socket: SocketState | undefined;
  /** petgate's counters line, parsed. */
  counters?: Record<string, unknown>;
  exitCode: number | null;
  signal: string | null;
}

export interface Running {
  pid: number | undefined;
  /** SO_RCVBUF as the kernel accounts it (ss "rb"). */
  receiveBuffer: number | undefined;
  /** What the receiver reported about its buffer (petgate's start line). */
  note: string;
  /** Bytes of output so far: grows while the receiver is still working. */
  progress(): number;
  stop(): Promise<Stopped>;
}

export interface Receiver {
  name: string;
  start(port: number, dir: string): Promise<Running>;
}

/** Every child the bench started, killed on any exit of the bench. */
const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

export function liveChildren(): number[] {
  return [...children]
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .flatMap((c) => c.pid ?? []);
}

export function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function until(what: string, timeoutMs: number, ready: () => boolean, child: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: exited before ready`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Stops a child with `signal`, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return { exitCode: child.exitCode, signal: child.signalCode };
}

/** Lines of a file (optionally only those starting with `prefix`), streamed: the files reach 100s of MB. */
export async function countLines(path: string, prefix?: string): Promise<number> {
  const want = prefix === undefined ? undefined : Buffer.from(`\n${prefix}`);
  let count = 0;
  let tail = Buffer.alloc(0);
  let first = true;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    if (want === undefined) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
      continue;
    }
    // Prepend "\n" at the start of the file so that the first line matches too; carry the last bytes
    // of each chunk over so that a match split between two chunks is found exactly once.
    const buf = Buffer.concat([first ? Buffer.from("\n") : tail, chunk]);
    first = false;
    for (let i = buf.indexOf(want); i !== -1; i = buf.indexOf(want, i + 1)) count++;
    tail = buf.subarray(Math.max(0, buf.length - want.length + 1));
  }
  return count;
}

/** A file's size in bytes; 0 when it does not exist (yet). */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function petgateReceiver(repoRoot: string, receiveBufferBytes: number): Receiver {
  return {
    name: "petgate",
    async start(port, dir) {
      const out = join(dir, `petgate-${port}.ndjson`);
      writeFileSync(out, "");
      // cwd = the scratch dir and no PETGATE_CONFIG: the listener runs on its defaults, not on a
      // petgate.yml that happens to lie around.
      const env = { ...process.env };
      delete env.PETGATE_CONFIG;
      const child = track(
        spawn(
          process.execPath,
          [
            ...(process.env.BENCH_PETGATE_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
            join(repoRoot, "bin/petgate.js"),
            "listen",
            "--bind",
            `127.0.0.1:${port}`,
            "--out",
            out,
            "--community",
            "public",
            "--receive-buffer",
            String(receiveBufferBytes),
          ],
          { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] },
        ),
      );
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (s: string) => {
        stderr += s;
      });
      await until("petgate listen", 15_000, () => stderr.includes("petgate: listening"), child);
      const note = /receive buffer (.*)$/m.exec(stderr)?.[1]?.trim() ?? "";
      return {
        pid: child.pid,
        receiveBuffer: receiveBufferOf(port),
        note,
        progress: () => fileSize(out),
        async stop() {
          const socket = loopbackSocket(port);
          const exit = await stopChild(child, "SIGINT", 15_000);
          const counters = /petgate: stopped; counters (\{.*\})/.exec(stderr)?.[1];
          return {
            kept: await countLines(out),
            socket,
            ...(counters !== undefined && { counters: JSON.parse(counters) as Record<string, unknown> }),
            ...exit,
          };
        },
      };
    },
  };
}

/** One log line per trap: "TRAP agent generic specific varbinds" (hex on one line, no MIB lookups). */
const SNMPTRAPD_CONF = `authCommunity log public
format1 TRAP %a %w %q %v\\n
format2 TRAP %a %w %q %v\\n
[snmp] noPersistentLoad yes
[snmp] noPersistentSave yes
[snmp] hexOutputLength 0
[snmp] printHexText no
`;

export function snmptrapdReceiver(receiveBufferBytes: number, binary = "snmptrapd"): Receiver {
  return {
    name: "snmptrapd",
    async start(port, dir) {
      const conf = join(dir, "snmptrapd.conf");
      const log = join(dir, `snmptrapd-${port}.log`);
      // The same receive buffer as petgate's: the comparison is of the receivers, not of their defaults.
      const buffer = `[snmp] serverRecvBuf ${receiveBufferBytes}\n`;
      writeFileSync(conf, `${SNMPTRAPD_CONF}${buffer}[snmp] persistentDir ${join(dir, "snmp-persist")}\n`);
      writeFileSync(log, "");
      // -f foreground, -n numeric addresses, -C only our config, -M/-m no MIBs, -Lf log to a file.
      const args = ["-f", "-n", "-C", "-c", conf, "-M", "/dev/null", "-m", "", "-Lf", log];
      const child = track(
        spawn(binary, [...args, `udp:127.0.0.1:${port}`], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] }),
      );
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (s: string) => {
        stderr += s;
      });
      await until("snmptrapd", 15_000, () => loopbackSocket(port) !== undefined, child).catch(
        (err: Error) => {
          throw new Error(`${err.message}${stderr ? `: ${stderr.trim()}` : ""}`);
        },
      );
      return {
        pid: child.pid,
        receiveBuffer: receiveBufferOf(port),
        note: `serverRecvBuf ${receiveBufferBytes}`,
        progress: () => fileSize(log),
        async stop() {
          const socket = loopbackSocket(port);
          const exit = await stopChild(child, "SIGTERM", 15_000);
          return { kept: await countLines(log, "TRAP "), socket, ...exit };
        },
      };
    },
  };
}
