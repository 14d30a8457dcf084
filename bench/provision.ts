// `npm run bench:provision`: how fast petgate plans, provisions and verifies the PEF of a whole fleet of
// simulated BMCs, next to ipmiutil's `lan -e` on a few of them. One `petgate sim --count N+2K` child
// per concurrency value (fresh BMCs each time), loopback only; petgate runs in this process with the
// same functions `petgate pef plan|apply` uses (runFleet + readPefState/planPef + provision).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYamlText } from "yaml";
import { type BmcTarget, resolveBmcs } from "../src/config/inventory.js";
import { parseConfig } from "../src/config/load.js";
import type { PefConfig } from "../src/config/schema.js";
import type { Execute } from "../src/ipmi/commands/command.js";
import { type ProvisionResult, provision } from "../src/pef/apply.js";
import { desiredPefState } from "../src/pef/desired.js";
import { type FleetOutcome, runFleet } from "../src/pef/fleet.js";
import { planPef } from "../src/pef/plan.js";
import { readPefState } from "../src/pef/read.js";
import type { PefPlan } from "../src/pef/state.js";
import { simAddresses } from "../src/sim/config.js";
import { type Counters, type Sim, startSim } from "./petgate-sim.js";
import { killAll, liveChildren, track } from "./receivers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLE = join(root, "examples/petgate.yml");
const PASSWORD = "bench-Prov-1";
const PASSWORD_ENV = "PETGATE_BMC_PASSWORD"; // what examples/petgate.yml's defaults name
const DEADLINE_MS = 30_000; // `petgate pef apply`'s default --deadline
const IPMIUTIL_TIMEOUT_MS = 30_000;
const TARGET_S_PER_1000 = 60;

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    concurrency: { type: "string" },
    anchors: { type: "string" },
    quick: { type: "boolean" },
  },
});
const quick = values.quick === true;
const count = Number(values.count ?? (quick ? 100 : 1000));
const concurrencies = (values.concurrency ?? (quick ? "64" : "16,64,128")).split(",").map(Number);
const headline = concurrencies.includes(64) ? 64 : (concurrencies[0] as number);
const anchors = Number(values.anchors ?? (quick ? 2 : 5));
if (!Number.isInteger(count) || count < 1 || count + 2 * anchors > 10_000)
  throw new RangeError(`--count ${values.count}: expected 1…${10_000 - 2 * anchors}`);
if (concurrencies.some((c) => !Number.isInteger(c) || c < 1))
  throw new RangeError(`--concurrency ${values.concurrency}: expected N or N,N,…`);
if (!Number.isInteger(anchors) || anchors < 1 || anchors > 50)
  throw new RangeError(`--anchors ${values.anchors}: expected 1…50`);

interface Delta {
  requests: number;
  datagrams: number;
  sessionsOpened: number;
}

function delta(after: Counters, before: Counters): Delta {
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  return { requests: d("requests"), datagrams: d("datagrams"), sessionsOpened: d("sessionsOpened") };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

interface PhaseResult {
  phase: string;
  concurrency: number;
  bmcs: number;
  wallS: number;
  bmcsPerS: number;
  msP50: number;
  msP99: number;
  msMax: number;
  failures: number;
  firstErrors: string[];
  /** Commands the client sent through execute() (session set-up not included). */
  clientCommands: number;
  /** The simulator's counters over the phase. */
  sim: Delta;
  clientCpuS: number;
  simCpuS: number;
  /** Phase-specific: BMCs with a non-empty plan (plan phases), or statuses (apply). */
  detail: Record<string, number>;
}

/** One fleet-wide phase, timed, with the simulator's request counters before and after. */
async function phase<T>(
  name: string,
  sim: Sim,
  targets: readonly BmcTarget[],
  concurrency: number,
  task: (execute: Execute) => Promise<T>,
  judge: (outcome: FleetOutcome<T>) => { failed: boolean; error?: string; key?: string },
  logs: string[],
): Promise<PhaseResult> {
  let commands = 0;
  const counted =
    (execute: Execute): Execute =>
    (command, request) => {
      commands++;
      return execute(command, request);
    };
  const before = await sim.counters();
  const simCpu0 = sim.cpuSeconds();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const outcomes = await runFleet(targets, (execute) => task(counted(execute)), {
    concurrency,
    deadlineMs: DEADLINE_MS,
    log: (line) => {
      if (logs.length < 20) logs.push(line);
    },
  });
  const wallS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const simCpuS = sim.cpuSeconds() - simCpu0;
  const after = await sim.counters();
  const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const detail: Record<string, number> = {};
  const errors: string[] = [];
  let failures = 0;
  for (const o of outcomes) {
    const j = judge(o);
    if (j.failed) {
      failures++;
      if (errors.length < 5) errors.push(`${o.bmc}: ${j.error ?? "failed"}`);
    }
    if (j.key) detail[j.key] = (detail[j.key] ?? 0) + 1;
  }
  return {
    phase: name,
    concurrency,
    bmcs: targets.length,
    wallS,
    bmcsPerS: targets.length / wallS,
    msP50: percentile(ms, 50),
    msP99: percentile(ms, 99),
    msMax: ms.at(-1) ?? Number.NaN,
    failures,
    firstErrors: errors,
    clientCommands: commands,
    sim: delta(after, before),
    clientCpuS: (cpu.user + cpu.system) / 1e6,
    simCpuS,
    detail,
  };
}

const planTask = (pef: PefConfig) => async (execute: Execute) => {
  const { state, capacity } = await readPefState(execute, pef.channel);
  return planPef(state, desiredPefState(pef, capacity), capacity);
};

const provisionTask = (pef: PefConfig) => (execute: Execute) =>
  provision(execute, (capacity) => desiredPefState(pef, capacity), pef.channel, { dryRun: false });

const judgePlan =
  (wantEmpty: boolean) =>
  (o: FleetOutcome<PefPlan>): { failed: boolean; error?: string; key?: string } => {
    if (!o.ok) return { failed: true, error: o.error, key: "error" };
    const empty = o.value.writes.length === 0;
    if (wantEmpty && !empty)
      return { failed: true, error: `${o.value.changes.length} change(s) left`, key: "changes" };
    return { failed: false, key: empty ? "empty" : "changes" };
  };

const judgeProvision = (o: FleetOutcome<ProvisionResult>) => {
  if (!o.ok) return { failed: true, error: o.error, key: "failed" };
  const { status, error } = o.value;
  return { failed: status === "failed", ...(error !== undefined && { error }), key: status };
};

interface IpmiutilRun {
  host: string;
  seconds: number;
  exitCode: number | null;
  enablePefOk: boolean;
  summary: string;
}

async function runIpmiutil(host: string): Promise<IpmiutilRun> {
  // ipmiutil lan -e: the alert destination, community, gateway and PEF in one go (lanplus, suite 3, admin).
  const args = ["lan", "-e", "-I", host, "-S", "255.0.0.0", "-G", "127.0.0.1", "-H", "00:11:22:33:44:55"];
  args.push("-A", "127.0.0.1", "-X", "00:11:22:33:44:66", "-C", "public", "-N", host);
  args.push("-U", "admin", "-P", PASSWORD, "-F", "lan2", "-J", "3", "-V", "4");
  const started = performance.now();
  const child = track(spawn("ipmiutil", args, { stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), IPMIUTIL_TIMEOUT_MS);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return {
    host,
    seconds: (performance.now() - started) / 1000,
    exitCode: code,
    enablePefOk: out.includes("EnablePef, ret = 0"),
    summary:
      /(\d+ ok, \d+ errors?)/.exec(out)?.[1] ??
      out.trim().split("\n").at(-1)?.slice(0, 120) ??
      (child.signalCode ? `killed (${child.signalCode})` : ""),
  };
}

/** `petgate pef plan --json` as a child on the provisioned fleet: the CLI path, end to end. */
async function cliPlan(
  configFile: string,
  concurrency: number,
): Promise<{ wallS: number; exitCode: number | null; lines: number; empty: number }> {
  const started = performance.now();
  const child = track(
    spawn(
      process.execPath,
      [
        join(root, "bin/petgate.js"),
        "pef",
        "plan",
        "--config",
        configFile,
        "--concurrency",
        String(concurrency),
        "--json",
      ],
      { env: { ...process.env, [PASSWORD_ENV]: PASSWORD }, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr?.resume();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  const lines = out.split("\n").filter(Boolean);
  return {
    wallS: (performance.now() - started) / 1000,
    exitCode: code,
    lines: lines.length,
    empty: lines.filter((l) => /"writes":0\}$/.test(l)).length,
  };
}

interface FleetRun {
  concurrency: number;
  simStartupMs: number;
  phases: PhaseResult[];
  simCounters?: Counters;
  simExit: { exitCode: number | null; signal: string | null };
  simPeakRssKiB: number;
  cli?: Awaited<ReturnType<typeof cliPlan>>;
  anchor?: {
    petgate: PhaseResult;
    ipmiutil: IpmiutilRun[];
    ipmiutilSim: Delta;
  };
  logs: string[];
}

async function fleetRun(
  concurrency: number,
  withAnchor: boolean,
  configFile: string,
  targets: BmcTarget[],
  pef: PefConfig,
): Promise<FleetRun> {
  const sim = await startSim(count + 2 * anchors, PASSWORD);
  const logs: string[] = [];
  try {
    const fleet = targets.slice(0, count);
    const phases = [
      await phase("plan", sim, fleet, concurrency, planTask(pef), judgePlan(false), logs),
      await phase("apply", sim, fleet, concurrency, provisionTask(pef), judgeProvision, logs),
      await phase("re-plan", sim, fleet, concurrency, planTask(pef), judgePlan(true), logs),
    ];
    let cli: FleetRun["cli"];
    let anchor: FleetRun["anchor"];
    if (withAnchor) {
      cli = await cliPlan(configFile, concurrency);
      // The anchor: fresh BMCs after the fleet, one at a time, petgate first, then ipmiutil.
      const seq = targets.slice(count, count + anchors);
      const petgate = await phase(
        "apply, 1 at a time",
        sim,
        seq,
        1,
        provisionTask(pef),
        judgeProvision,
        logs,
      );
      const before = await sim.counters();
      const ipmiutil: IpmiutilRun[] = [];
      for (const t of targets.slice(count + anchors, count + 2 * anchors))
        ipmiutil.push(await runIpmiutil(t.host));
      anchor = { petgate, ipmiutil, ipmiutilSim: delta(await sim.counters(), before) };
    }
    const simPeakRssKiB = sim.peakRssKiB();
    const stopped = await sim.stop();
    return {
      concurrency,
      simStartupMs: sim.startupMs,
      phases,
      ...(stopped.counters && { simCounters: stopped.counters }),
      simExit: { exitCode: stopped.exitCode, signal: stopped.signal },
      simPeakRssKiB,
      ...(cli && { cli }),
      ...(anchor && { anchor }),
      logs,
    };
  } finally {
    await sim.stop().catch(() => undefined);
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");
const int = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "petgate-bench-provision-"));
  try {
    // The example's configuration with the inventory replaced by the simulated fleet (+ anchor BMCs):
    // its defaults (admin, passwordEnv, suite 17 with fallback) and its pef section as they are.
    const raw = parseYamlText(readFileSync(EXAMPLE, "utf8")) as Record<string, unknown>;
    const addresses = simAddresses({ count: count + 2 * anchors, spread: "address" });
    const width = String(addresses.length).length;
    raw.bmcs = addresses.map((a, i) => ({ name: `bmc-${String(i + 1).padStart(width, "0")}`, host: a.host }));
    const configFile = join(scratch, "petgate.yml");
    const fleetOnly = { ...raw, bmcs: (raw.bmcs as unknown[]).slice(0, count) };
    writeFileSync(configFile, JSON.stringify(fleetOnly, null, 1)); // JSON is YAML
    process.env[PASSWORD_ENV] = PASSWORD;
    const config = parseConfig(JSON.stringify(raw), EXAMPLE);
    const pef = config.pef;
    if (!pef) throw new Error(`${EXAMPLE} has no pef: section`);
    const targets = resolveBmcs(config);

    const started = performance.now();
    const runs: FleetRun[] = [];
    for (const c of [headline, ...concurrencies.filter((c) => c !== headline)]) {
      process.stderr.write(`bench:provision: ${count} BMCs, concurrency ${c}…\n`);
      runs.push(await fleetRun(c, c === headline, configFile, targets, pef));
    }
    const totalS = (performance.now() - started) / 1000;
    report(runs, pef, totalS);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function report(runs: FleetRun[], pef: PefConfig, totalS: number): void {
  const head = runs.find((r) => r.anchor) as FleetRun;
  const anchor = head.anchor as NonNullable<FleetRun["anchor"]>;
  const [plan, apply, replan] = head.phases as [PhaseResult, PhaseResult, PhaseResult];
  const targetS = (TARGET_S_PER_1000 * count) / 1000;
  const chainS = plan.wallS + apply.wallS + replan.wallS;
  const ok = head.phases.every((p) => p.failures === 0);
  const met = apply.wallS < targetS && ok;
  const iu = anchor.ipmiutil;
  const iuDone = iu.filter((r) => r.enablePefOk);
  const iuMeanS = iuDone.reduce((s, r) => s + r.seconds, 0) / Math.max(1, iuDone.length);
  const pgSeqMeanS = anchor.petgate.wallS / anchor.petgate.bmcs;
  const machine = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
  };

  const rows: string[] = [];
  for (const r of runs) {
    for (const p of r.phases) {
      const per = p.sim.requests / p.bmcs;
      const detail = Object.entries(p.detail)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ");
      rows.push(
        `| ${p.phase} | ${p.concurrency} | ${f2(p.wallS)} s | ${int(p.bmcsPerS)} | ${int(p.msP50)} / ${int(p.msP99)} ms | ${p.failures} | ${int(p.sim.requests)} = ${f1(per)}/BMC (${int(p.clientCommands)} commands sent + session set-up/close; ${int(p.sim.sessionsOpened)} sessions) | ${f1(p.clientCpuS)} / ${f1(p.simCpuS)} s | ${detail} |`,
      );
    }
  }
  const lines = [
    `## petgate PEF provisioning bench${quick ? " (quick)" : ""}`,
    "",
    `${count} simulated BMCs (\`petgate sim\`, 127.1.0.1… :623, one child process), the \`pef:\` section of examples/petgate.yml (${pef.filters === "default" ? "default filters" : "custom filters"}, policy 1 → destination 1 = ${pef.destinations[0]?.ip}, community ${pef.community}), suite 17, run in-process with the functions \`petgate pef plan|apply\` uses (runFleet + readPefState/planPef + provision), deadline ${DEADLINE_MS / 1000} s per BMC. A fresh simulator for each concurrency.`,
    "",
    "| phase | concurrency | wall | BMCs/s | per BMC p50 / p99 | failures | IPMI requests served (sim) | CPU bench / sim | outcome |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "| figure | value |",
    "| --- | --- |",
    `| target: provision (read + plan + apply + verify) ${count} BMCs < ${targetS} s, concurrency ${head.concurrency} | ${met ? "MET" : "MISSED"}: ${f2(apply.wallS)} s${ok ? "" : " (with failures)"} |`,
    `| plan + apply + re-plan, concurrency ${head.concurrency} | ${f2(chainS)} s |`,
    `| cores busy during apply, concurrency ${head.concurrency} (bench + sim CPU ÷ wall) | ${f2((apply.clientCpuS + apply.simCpuS) / apply.wallS)} of ${cpus().length} |`,
    `| \`petgate pef plan\` CLI child on the provisioned fleet (node start-up included) | ${head.cli ? `${f2(head.cli.wallS)} s, exit ${head.cli.exitCode}, ${head.cli.empty}/${head.cli.lines} BMCs without changes` : "–"} |`,
    `| petgate apply, 1 BMC at a time, fresh BMCs (${anchor.petgate.bmcs}) | ${f1(pgSeqMeanS * 1000)} ms per BMC (p50 ${int(anchor.petgate.msP50)} ms), ${f1(anchor.petgate.sim.requests / anchor.petgate.bmcs)} requests/BMC, ${anchor.petgate.failures} failed |`,
    `| petgate apply per BMC in the fleet run (concurrency ${head.concurrency}) | p50 ${int(apply.msP50)} ms, p99 ${int(apply.msP99)} ms; ${f1((apply.wallS * 1000) / apply.bmcs)} ms of wall time per BMC |`,
    `| \`ipmiutil lan -e\` (${iu.length} fresh BMCs, one after another) | ${iu.map((r) => `${f2(r.seconds)} s`).join(", ")}; mean ${f1(iuMeanS * 1000)} ms; ${iuDone.length}/${iu.length} printed "EnablePef, ret = 0" (${[...new Set(iu.map((r) => `${r.summary}, exit ${r.exitCode}`))].join("; ")}); ${f1(anchor.ipmiutilSim.requests / iu.length)} requests/BMC |`,
    `| 1,000 BMCs with ipmiutil one after another (extrapolated: mean × 1,000) | ${f1(iuMeanS * 1000)} s |`,
    `| 1,000 BMCs with petgate one at a time (extrapolated: mean × 1,000) | ${f1(pgSeqMeanS * 1000)} s |`,
    `| simulator: start-up (${count + 2 * anchors} BMCs), peak RSS | ${int(head.simStartupMs)} ms, ${f1(head.simPeakRssKiB / 1024)} MiB |`,
    `| simulator's counters line on SIGTERM (whole run${head.cli ? ", CLI and anchors included" : ""}) | ${head.simCounters ? `requests ${int(head.simCounters.requests ?? 0)}, datagrams ${int(head.simCounters.datagrams ?? 0)}, sessions ${int(head.simCounters.sessionsOpened ?? 0)}` : "missing"} |`,
    `| bench run time | ${f1(totalS)} s |`,
    "",
    `- ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}; the bench (client) and the simulator share the cores`,
    ...(runs.some((r) => r.phases.some((p) => p.failures > 0))
      ? [
          `- first errors: ${runs
            .flatMap((r) =>
              r.phases.flatMap((p) => p.firstErrors.map((e) => `[${p.phase} c${p.concurrency}] ${e}`)),
            )
            .slice(0, 5)
            .join("; ")}`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  const result = {
    date: new Date().toISOString(),
    machine,
    count,
    anchors,
    deadlineMs: DEADLINE_MS,
    mode: "in-process (runFleet + readPefState/planPef + provision, as petgate pef plan|apply)",
    target: { provisionSeconds: targetS, concurrency: head.concurrency, met, applyWallS: apply.wallS },
    planApplyReplanS: chainS,
    runs: runs.map((r) => ({ ...r, logs: r.logs })),
    extrapolated1000: { ipmiutilSequentialS: iuMeanS * 1000, petgateSequentialS: pgSeqMeanS * 1000 },
    totalS,
    childrenLeft: liveChildren(),
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(
    join(root, "bench/results", quick ? "provision-quick.json" : "provision-latest.json"),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}

process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
try {
  await main();
} catch (err) {
  process.stderr.write(`bench:provision: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
}
