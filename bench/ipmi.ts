// `npm run bench:ipmi`: what a pooled RMCP+ session buys over one ipmitool process per query, against
// OpenIPMI's ipmi_sim on 127.0.0.1, and what holding many sessions in one process costs. A bench, not a
// test: it prints whether the targets are met and exits 0 either way (1 only when it could not run).
//
//   node --expose-gc dist/bench/ipmi.js [--quick] [--cli N] [--calls N] [--sessions N]
//
// (a) `ipmitool -I lanplus … -C 3 sel info`, one process per query, N in a row;
// (b) Get SEL Info (cipher suite 3) on one IpmiClient: the first call (session set-up) apart, then N
//     calls from one caller (maxInFlight 1), then N from 4 callers on a client with maxInFlight 4;
// (c) `--sessions` IpmiClients held open at once by this process (10 per ipmi_sim), each after one
//     Get SEL Info: time to open them all, failures, RSS / heapUsed / fds per session.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { IpmiClient } from "../src/ipmi/client/client.js";
import { getSelInfo } from "../src/ipmi/commands/storage.js";
import { freeUdpPort, type Sim, simsLeft, startSim } from "./ipmi-sims.js";
import { machineInfo } from "./kernel.js";
import { killAll, liveChildren, track } from "./receivers.js";
import { ownCpuMs, percentile, reapedChildrenCpuMs } from "./stats.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SIM_DIR = join(root, "test/interop/ipmi_sim");
const USER = { username: "admin", password: "secret" };
const CIPHER_SUITE = 3;
/** Sessions per ipmi_sim: lan.conf.in gives admin "max-sessions 10" (lowered if a sim allows fewer). */
const SESSIONS_PER_SIM = 10;
/** Bounds the capacity probe of one ipmi_sim. */
const PROBE_MAX = 100;
const IPMITOOL_TIMEOUT_MS = 10_000;
const TARGET_SPEEDUP = 20;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      cli: { type: "string" },
      calls: { type: "string" },
      sessions: { type: "string" },
    },
  });
  const quick = values.quick === true;
  const cli = Number(values.cli ?? (quick ? 5 : 30));
  const calls = Number(values.calls ?? (quick ? 200 : 2000));
  const sessions = Number(values.sessions ?? (quick ? 50 : 200));
  for (const n of [cli, calls, sessions]) {
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`not a count: ${n}`);
  }
  return { quick, cli, calls, sessions };
}

interface Latency {
  queries: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  perSec: number;
  /** CPU (user + sys) per query of the process(es) doing the querying, not of ipmi_sim. */
  cpuMsPerQuery: number;
}

function latency(samples: number[], failures: number, elapsedMs: number, cpuMs: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const queries = samples.length + failures;
  return {
    queries,
    failures,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((sum, x) => sum + x, 0) / sorted.length,
    perSec: (samples.length * 1000) / elapsedMs,
    cpuMsPerQuery: cpuMs / queries,
  };
}

/** One `ipmitool … sel info`; true if it exited 0 and printed the SEL's entry count. */
async function ipmitoolSelInfo(port: number): Promise<boolean> {
  const args = ["-I", "lanplus", "-H", "127.0.0.1", "-p", String(port), "-U", USER.username];
  args.push("-P", USER.password, "-C", String(CIPHER_SUITE), "sel", "info");
  const child = track(spawn("ipmitool", args, { stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr.resume();
  const timer = setTimeout(() => child.kill("SIGKILL"), IPMITOOL_TIMEOUT_MS);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return code === 0 && /^Entries\s*:/m.test(out);
}

/** (a) `n` ipmitool processes in a row, after one uncounted warm-up (binary and libraries in page cache). */
async function runIpmitool(port: number, n: number): Promise<Latency> {
  if (!(await ipmitoolSelInfo(port))) throw new Error("ipmitool sel info failed against ipmi_sim");
  const samples: number[] = [];
  let failures = 0;
  const cpu0 = reapedChildrenCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (await ipmitoolSelInfo(port)) samples.push(performance.now() - t);
    else failures++;
  }
  return latency(samples, failures, performance.now() - t0, reapedChildrenCpuMs() - cpu0);
}

function client(port: number, extra: { maxInFlight?: number; deadlineMs?: number } = {}): IpmiClient {
  return new IpmiClient({
    host: "127.0.0.1",
    port,
    ...USER,
    cipherSuite: CIPHER_SUITE,
    keepAliveMs: 30_000,
    maxInFlight: 1,
    deadlineMs: 5000,
    log: (line) => stopping || process.stderr.write(`${line}\n`),
    ...extra,
  });
}

interface Pooled {
  maxInFlight: number;
  callers: number;
  /** The first call: Get Channel Auth Capabilities, Open Session, RAKP 1-4, Set Privilege, Get SEL Info. */
  setupMs: number;
  latency: Latency;
  sessionsOpened: number;
}

/** (b) One IpmiClient: the first call timed apart, then `n` calls shared by `callers` callers. */
async function runPooled(port: number, n: number, maxInFlight: number, callers: number): Promise<Pooled> {
  const c = client(port, { maxInFlight });
  try {
    const s = performance.now();
    await c.execute(getSelInfo, undefined);
    const setupMs = performance.now() - s;
    const samples: number[] = [];
    let failures = 0;
    const caller = async (calls: number) => {
      for (let i = 0; i < calls; i++) {
        const t = performance.now();
        try {
          await c.execute(getSelInfo, undefined);
          samples.push(performance.now() - t);
        } catch {
          failures++;
        }
      }
    };
    const cpu0 = ownCpuMs();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: callers }, (_, i) => caller(Math.floor(n / callers) + (i < n % callers ? 1 : 0))),
    );
    const result = latency(samples, failures, performance.now() - t0, ownCpuMs() - cpu0);
    return { maxInFlight, callers, setupMs, latency: result, sessionsOpened: c.stats().sessionsOpened };
  } finally {
    await c.close();
  }
}

/** How many admin sessions one ipmi_sim grants before it refuses (at most PROBE_MAX are tried). */
async function sessionCapacity(port: number): Promise<{ capacity: number; refusal: string }> {
  const clients: IpmiClient[] = [];
  let refusal = `none within ${PROBE_MAX}`;
  try {
    for (let i = 0; i < PROBE_MAX; i++) {
      const c = client(port, { deadlineMs: 3000 });
      clients.push(c);
      const ok = await c.execute(getSelInfo, undefined).then(
        () => true,
        (err: Error) => {
          refusal = err.message.replace(/^\S+: /, ""); // without "HOST:PORT: "
          return false;
        },
      );
      if (!ok) return { capacity: i, refusal };
    }
    return { capacity: PROBE_MAX, refusal };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

interface Memory {
  rss: number;
  heapUsed: number;
  fds: number;
}

function memory(): Memory {
  // Twice: the first pass may only queue finalizers that free more.
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed, fds: readdirSync("/proc/self/fd").length };
}

interface Held {
  sessions: number;
  sims: number;
  perSim: number;
  /** Sessions one ipmi_sim granted to admin before refusing, and its refusal. */
  simCapacity: number;
  simRefusal: string;
  opened: number;
  failures: number;
  /** Answered a second call on the same session after the memory was measured. */
  stillOpen: number;
  firstError: string | undefined;
  openAllMs: number;
  closeAllMs: number;
  before: Memory;
  after: Memory;
  perSession: Memory;
  gc: boolean;
  simsExited: number;
}

/** (c) `total` sessions, `perSim` to each of enough fresh ipmi_sims, opened at once and held. */
async function runHeld(total: number, dir: string): Promise<Held> {
  const startOne = async (i: number) => {
    const port = await freeUdpPort();
    return startSim(SIM_DIR, port, join(dir, `held-${i}`));
  };
  const first = await startOne(0);
  const { capacity, refusal } = await sessionCapacity(first.port);
  if (capacity < 1) throw new Error(`ipmi_sim grants no session: ${refusal}`);
  const perSim = Math.min(SESSIONS_PER_SIM, capacity);
  const count = Math.ceil(total / perSim);
  const sims: Sim[] = [
    first,
    ...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => startOne(i + 1)))),
  ];

  const before = memory();
  const clients = Array.from({ length: total }, (_, i) =>
    client((sims[Math.floor(i / perSim)] as Sim).port, { deadlineMs: 15_000 }),
  );
  const t0 = performance.now();
  const results = await Promise.allSettled(clients.map((c) => c.execute(getSelInfo, undefined)));
  const openAllMs = performance.now() - t0;
  const after = memory();
  const opened = results.filter((r) => r.status === "fulfilled").length;
  const firstError = results.find((r): r is PromiseRejectedResult => r.status === "rejected")?.reason;
  // Still held: a second Get SEL Info on each, answered on the session it opened (none re-opened).
  const again = await Promise.allSettled(clients.map((c) => c.execute(getSelInfo, undefined)));
  const stillOpen = again.filter(
    (r, i) => r.status === "fulfilled" && clients[i]?.stats().sessionsOpened === 1,
  ).length;
  const t1 = performance.now();
  await Promise.all(clients.map((c) => c.close()));
  const closeAllMs = performance.now() - t1;
  const per = (k: keyof Memory) => (opened === 0 ? Number.NaN : (after[k] - before[k]) / opened);
  return {
    sessions: total,
    sims: sims.length,
    perSim,
    simCapacity: capacity,
    simRefusal: refusal,
    opened,
    failures: total - opened,
    stillOpen,
    firstError: firstError instanceof Error ? firstError.message : firstError && String(firstError),
    openAllMs,
    closeAllMs,
    before,
    after,
    perSession: { rss: per("rss"), heapUsed: per("heapUsed"), fds: per("fds") },
    gc: typeof globalThis.gc === "function",
    simsExited: sims.filter((s) => s.exited()).length,
  };
}

/** Set on SIGINT/SIGTERM: the clients of main(), still running, stop logging their socket errors. */
let stopping = false;

/**
 * Kills every child (ipmi_sims, a stray ipmitool) and waits, at most 5 s, until all are reaped. Kills
 * on every turn: after a signal, main() is still running and may start an ipmi_sim meanwhile.
 */
async function stopChildren(): Promise<void> {
  for (let i = 0; i < 250; i++) {
    killAll();
    if (liveChildren().length === 0) return;
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ms = (x: number) => (Number.isNaN(x) ? "—" : x < 10 ? x.toFixed(2) : x.toFixed(1));
const int = (x: number) => Math.round(x).toLocaleString("en-US");
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function latencyTable(cli: Latency, seq: Pooled, par: Pooled): string {
  const cols: [string, Latency, string, number][] = [
    ["ipmitool, a process per query", cli, "— (in every query)", cli.queries],
    ["petgate, pooled session, 1 caller", seq.latency, ms(seq.setupMs), seq.sessionsOpened],
    [
      `petgate, pooled, maxInFlight ${par.maxInFlight} × ${par.callers} callers`,
      par.latency,
      ms(par.setupMs),
      par.sessionsOpened,
    ],
  ];
  const rows: [string, (l: Latency, setup: string, sessions: number) => string][] = [
    ["queries (failed)", (l) => `${int(l.queries)} (${l.failures})`],
    ["p50 ms", (l) => ms(l.p50Ms)],
    ["p99 ms", (l) => ms(l.p99Ms)],
    ["mean ms", (l) => ms(l.meanMs)],
    ["queries/s", (l) => int(l.perSec)],
    ["client CPU ms per query (user+sys)", (l) => ms(l.cpuMsPerQuery)],
    ["session set-up ms (first call)", (_, setup) => setup],
    ["RMCP+ sessions opened for the queries", (_, __, sessions) => int(sessions)],
    ["speed-up, mean latency vs ipmitool", (l) => `${(cli.meanMs / l.meanMs).toFixed(1)}×`],
  ];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const header = ["Get SEL Info, cipher suite 3", ...cols.map(([name]) => name)];
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(([name, f]) => line([name, ...cols.map(([, l, setup, n]) => f(l, setup, n))])),
  ].join("\n");
}

function heldTable(h: Held): string {
  const rows: [string, string][] = [
    ["sessions held at once (ipmi_sims × sessions)", `${h.sessions} (${h.sims} × ${h.perSim})`],
    ["opened / failed", `${h.opened} / ${h.failures}${h.firstError ? ` (${h.firstError})` : ""}`],
    ["time to open all, concurrently", `${int(h.openAllMs)} ms`],
    ["answering again on the same session, after", `${h.stillOpen}`],
    ["time to close all", `${int(h.closeAllMs)} ms`],
    ["RSS before → after", `${mib(h.before.rss)} → ${mib(h.after.rss)}`],
    ["heapUsed before → after", `${mib(h.before.heapUsed)} → ${mib(h.after.heapUsed)}`],
    [
      "per session: RSS / heapUsed / fds",
      `${kib(h.perSession.rss)} / ${kib(h.perSession.heapUsed)} / ${h.perSession.fds.toFixed(2)}`,
    ],
    ["sessions one ipmi_sim grants admin", `${h.simCapacity} (then: ${h.simRefusal})`],
  ];
  return ["| held sessions | |", "| --- | --- |", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}

/** The Debian package's version, or "?" when dpkg does not know it. */
function packageVersion(name: string): string {
  try {
    // "NAME<TAB>VERSION"
    const line = execFileSync("dpkg-query", ["-W", name], { encoding: "utf8", timeout: 5000 });
    return line.trim().split("\t")[1] ?? "?";
  } catch {
    return "?";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const { quick, cli, calls, sessions } = options();
  const dir = mkdtempSync(join(tmpdir(), "petgate-ipmi-bench-"));
  scratch = dir;
  const machine = machineInfo();
  const versions = ["ipmitool", "openipmi"].map((p) => `${p} ${packageVersion(p)}`);

  const sim = await startSim(SIM_DIR, await freeUdpPort(), join(dir, "query"));
  process.stderr.write(`bench: ipmi_sim on 127.0.0.1:${sim.port}; (a) ${cli} ipmitool processes\n`);
  const a = await runIpmitool(sim.port, cli);
  process.stderr.write(`bench: (b) ${calls} calls on a pooled session, then ${calls} with maxInFlight 4\n`);
  const seq = await runPooled(sim.port, calls, 1, 1);
  const par = await runPooled(sim.port, calls, 4, 4);
  process.stderr.write(`bench: (c) ${sessions} sessions held at once\n`);
  const held = await runHeld(sessions, join(dir, "held"));

  const simsRan = liveChildren().length;
  await stopChildren();
  const left = await simsLeft(dir);
  const speedup = a.meanMs / seq.latency.meanMs;
  const runtimeSec = Math.round((performance.now() - started) / 100) / 10;
  const goals = [
    {
      name: `pooled session ≥ ${TARGET_SPEEDUP}× faster per query than ipmitool (mean latency, 1 caller)`,
      met: speedup >= TARGET_SPEEDUP,
      detail: `${ms(a.meanMs)} ms / ${ms(seq.latency.meanMs)} ms = ${speedup.toFixed(1)}×`,
    },
    {
      name: `${sessions} RMCP+ sessions held at once by one process`,
      met: held.opened === sessions && held.stillOpen === sessions,
      detail: `${held.opened} opened, ${held.failures} failed, ${held.stillOpen} still answering`,
    },
  ];
  const lines = [
    `## petgate IPMI bench${quick ? " (quick)" : ""}`,
    "",
    latencyTable(a, seq, par),
    "",
    heldTable(held),
    "",
    `- BMC: OpenIPMI ipmi_sim (test/interop/ipmi_sim config) on 127.0.0.1; ${versions.join(", ")}; ` +
      `user admin, cipher suite ${CIPHER_SUITE}; query Get SEL Info (ipmitool \`sel info\`)`,
    "- ipmitool: one process after another (one warm-up run not counted); latency = spawn → exit; " +
      "CPU = the children's user+sys (/proc/self/stat cutime+cstime, 10 ms ticks)",
    "- petgate: IpmiClient in this process; latency = execute() → resolved; CPU = this process's user+sys " +
      "over the calls; session set-up = the first call, handshake included (the first client's also pays " +
      "first-use costs: JIT, crypto)",
    `- held sessions: memory after gc, ${held.gc ? "global.gc" : "NO global.gc (run node --expose-gc): approximate"}` +
      `; per session = (after − before) ÷ opened; ${held.simsExited} ipmi_sim exited early`,
    `- ${simsRan} ipmi_sim processes killed at the end; left afterwards (ps): ${left.length === 0 ? "none" : left.join("; ")}`,
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; Node ${machine.node}; Linux ${machine.kernel}`,
    `- runtime ${runtimeSec} s`,
    "",
    "### targets",
    ...goals.map((g) => `- ${g.met ? "MET   " : "MISSED"} ${g.name}: ${g.detail}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(join(root, "bench/results"), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    quick,
    runtimeSec,
    machine,
    versions,
    ipmitool: a,
    pooled: [seq, par],
    speedup,
    held,
    simsLeft: left,
    targets: goals,
  };
  const file = join(root, "bench/results", quick ? "ipmi-quick.json" : "ipmi-latest.json");
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`bench: results in ${file}\n`);
}

/** The scratch directory (ipmi_sim state), removed, and every child killed, however the bench exits. */
let scratch: string | undefined;
process.on("exit", () => {
  killAll();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopping = true;
    process.stderr.write(`bench: ${signal}, stopping\n`);
    void stopChildren().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await stopChildren();
  const live = liveChildren();
  if (live.length > 0) process.stderr.write(`bench: children still alive after kill: ${live.join(", ")}\n`);
  if (scratch) {
    const left = await simsLeft(scratch);
    if (left.length > 0) process.stderr.write(`bench: ipmi_sim left (ps): ${left.join("; ")}\n`);
  }
}
