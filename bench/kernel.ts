// Linux counters the ingest bench reads: system-wide UDP counters (/proc/net/snmp), one socket's drops
// (/proc/net/udp) and its receive buffer (ss), plus the machine description.
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

export interface UdpCounters {
  InDatagrams: number;
  InErrors: number;
  RcvbufErrors: number;
}

/** The "Udp:" rows of /proc/net/snmp (a header row, then a value row). */
export function udpCounters(): UdpCounters {
  const rows = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((line) => line.startsWith("Udp: "))
    .map((line) => line.split(/\s+/).slice(1));
  const [names = [], values = []] = rows;
  const get = (name: string) => Number(values[names.indexOf(name)] ?? Number.NaN);
  return { InDatagrams: get("InDatagrams"), InErrors: get("InErrors"), RcvbufErrors: get("RcvbufErrors") };
}

export function udpDelta(before: UdpCounters, after: UdpCounters): UdpCounters {
  return {
    InDatagrams: after.InDatagrams - before.InDatagrams,
    InErrors: after.InErrors - before.InErrors,
    RcvbufErrors: after.RcvbufErrors - before.RcvbufErrors,
  };
}

export interface SocketState {
  /** Datagrams the kernel dropped for this socket since it was created. */
  drops: number;
  /** Bytes queued, not yet read by the application. */
  rxQueue: number;
}

/** The IPv4 UDP socket bound to 127.0.0.1:port, from /proc/net/udp; undefined while there is none. */
export function loopbackSocket(port: number): SocketState | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local) continue;
    const rxQueue = Number.parseInt(f[4]?.split(":")[1] ?? "", 16);
    return { drops: Number(f[12]), rxQueue };
  }
  return undefined;
}

/** SO_RCVBUF of the socket on 127.0.0.1:port as the kernel accounts it (`ss -m`, "rb"); undefined if unknown. */
export function receiveBufferOf(port: number): number | undefined {
  const r = spawnSync("ss", ["-u", "-a", "-m", "-n", `sport = :${port}`], {
    encoding: "utf8",
    timeout: 5000,
  });
  const m = /\brb(\d+)\b/.exec(r.stdout ?? "");
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** A process's peak resident set (VmHWM, KiB); undefined once it has gone. */
export function peakRssKiB(pid: number): number | undefined {
  try {
    const kib = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kib === undefined ? undefined : Number(kib);
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, ms) of a process and of its live descendants (petgate's embedded Redis). */
export function treeCpuMs(pid: number): number | undefined {
  const tick = 1000 / clockTicks;
  try {
    // proc(5): fields 14 and 15 of /proc/PID/stat (after the parenthesised command) are utime and stime.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = (Number(fields[11]) + Number(fields[12])) * tick;
    const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
    return children.reduce((sum, child) => sum + (treeCpuMs(child) ?? 0), own);
  } catch {
    return undefined;
  }
}

/** USER_HZ (getconf CLK_TCK): 100 on every Linux a bench runs on, asked once all the same. */
const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  rmemMax: number;
  rmemDefault: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  const sysctl = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8").trim());
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1];
  return {
    cpuModel: model ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    rmemMax: sysctl("rmem_max"),
    rmemDefault: sysctl("rmem_default"),
    node: process.version,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  };
}

const RMEM_MAX = "/proc/sys/net/core/rmem_max";

/**
 * Raises net.core.rmem_max to `bytes` for the bench (root only) so both receivers get the buffer they
 * ask for; returns how to put the old value back, or undefined when nothing was changed.
 */
export function raiseRmemMax(bytes: number): (() => void) | undefined {
  const old = Number(readFileSync(RMEM_MAX, "utf8").trim());
  if (old >= bytes || process.getuid?.() !== 0) return undefined;
  writeFileSync(RMEM_MAX, String(bytes));
  return () => writeFileSync(RMEM_MAX, String(old));
}

/** A UDP port on loopback nothing listens on now. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  return port;
}
