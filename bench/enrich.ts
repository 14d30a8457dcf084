// `node dist/bench/enrich.js [--quick] [--events N] [--cli N]`: the enrichment of one event as the
// events worker does it — src/pipeline/enrich/enrich.ts `enrich()` on a pooled session (BmcPool, SdrCache,
// CircuitBreaker): the sensor's SDR (cached after the first event), its reading and thresholds, and
// the IPMI requests the BMC served for it — next to what an operator's trap-handler script spawns for
// the same facts: `ipmitool -S SDRCACHE sensor get NAME` (SDR cached with
// `sdr dump` beforehand, as ipmitool allows). The BMC is one `petgate sim` child on a loopback address
// of its own; every event is a real threshold crossing logged by it (control API), in its SEL.
// A bench, not a test: prints whether the target is met; exits 1 only when it could not run.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BmcTarget } from "../src/config/inventory.js";
import type { SystemEventRecord } from "../src/ipmi/sel.js";
import { BmcPool } from "../src/pipeline/bmc/bmc-pool.js";
import { CircuitBreaker } from "../src/pipeline/bmc/breaker.js";
import { type EnrichContext, enrich } from "../src/pipeline/enrich/enrich.js";
import { SdrCache } from "../src/pipeline/enrich/sdr-cache.js";
import type { QueuedEvent } from "../src/pipeline/intake/event.js";
import { SensorNumber } from "../src/sim/default-sdr.js";
import { queuedPetEvent } from "./pet-event.js";
import { startSim } from "./petgate-sim.js";
import { killAll, track } from "./receivers.js";
import { ownCpuMs, reapedChildrenCpuMs, type Summary, summarize } from "./stats.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const PASSWORD = "bench-Enrich-1";
/** An address no other bench or test uses, so a simulator left running elsewhere cannot answer. */
const BMC = { host: "127.42.0.1", port: 623 };
const SENSOR = { number: SensorNumber.Cpu1Temp, name: "CPU1 Temp", nominal: 45, crossing: 92 };
const CIPHER_SUITE = 17;
const IPMITOOL_TIMEOUT_MS = 10_000;
export const TARGET_SPEEDUP = 20;
/**
 * Each event logs about six SEL records (assertions, then deassertions on the way back); the
 * simulator's SEL holds 1,024 and then logs nothing more, so it is cleared (untimed) this often.
 */
const CLEAR_SEL_EVERY = 100;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    events: { type: "string" },
    cli: { type: "string" },
  },
});
const quick = values.quick === true;
const events = Number(values.events ?? (quick ? 50 : 500));
const cliEvents = Number(values.cli ?? (quick ? 5 : 30));

interface Side extends Summary {
  failures: number;
  /** CPU (user + sys) per event of whoever does the querying (this process; the ipmitool children). */
  cpuMsPerEvent: number;
}

/** IPMI requests the simulated BMC has served so far (control API). */
async function requestsServed(control: string): Promise<number> {
  const res = await fetch(`${control}/counters`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { requests: number }).requests;
}

/** The BMC logs a crossing of SENSOR's upper thresholds; returns the newest SEL record it logged. */
async function crossThreshold(control: string): Promise<SystemEventRecord> {
  const set = async (value: number) => {
    const res = await fetch(`${control}/bmcs/0/sensors/${SENSOR.number}`, {
      method: "POST",
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(5000),
    });
    return ((await res.json()) as { events: SystemEventRecord[] }).events;
  };
  await set(SENSOR.nominal);
  const logged = await set(SENSOR.crossing);
  const record = logged.at(-1);
  if (!record) throw new Error(`setting ${SENSOR.name} to ${SENSOR.crossing} logged no SEL event`);
  return record;
}

/** The PET the BMC sends for `record`, as the listener hands it on. */
function petEvent(record: SystemEventRecord, sequence: number): QueuedEvent {
  return queuedPetEvent(record, { guid: Buffer.alloc(16, 0x42), sequence, from: { address: BMC.host } });
}

function ipmitool(args: string[]): Promise<string> {
  const base = ["-I", "lanplus", "-H", BMC.host, "-p", String(BMC.port), "-U", "admin"];
  base.push("-P", PASSWORD, "-C", String(CIPHER_SUITE));
  const child = track(spawn("ipmitool", [...base, ...args], { stdio: ["ignore", "pipe", "pipe"] }));
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr.resume();
  const timer = setTimeout(() => child.kill("SIGKILL"), IPMITOOL_TIMEOUT_MS);
  return once(child, "exit").then(([code]) => {
    clearTimeout(timer);
    if (code !== 0) throw new Error(`ipmitool ${args.join(" ")} exited ${code}`);
    return out;
  });
}

/** What the operator's script spawns per event: the sensor's reading and thresholds. */
async function ipmitoolEvent(sdrCache: string): Promise<boolean> {
  const sensor = await ipmitool(["-S", sdrCache, "sensor", "get", SENSOR.name]);
  return /Sensor Reading\s*:\s*92/.test(sensor) && /Upper Critical\s*:/.test(sensor);
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "petgate-enrich-bench-"));
  const sim = await startSim(1, PASSWORD, ["--listen", `${BMC.host}:${BMC.port}`]);
  try {
    const target: BmcTarget = {
      name: "bmc-1",
      ...BMC,
      username: "admin",
      password: PASSWORD,
      cipherSuite: CIPHER_SUITE,
      allowCipherFallback: false,
      labels: {},
    };
    const pool = new BmcPool();
    const ctx: EnrichContext = {
      inventory: [target],
      pool,
      sdr: new SdrCache(),
      breaker: new CircuitBreaker(),
    };

    // The first event opens the session and reads the SDR repository: timed apart.
    const enrichOne = async (i: number) => {
      const event = petEvent(await crossThreshold(sim.control), i);
      const t = performance.now();
      const e = await enrich(event, ctx);
      const ms = performance.now() - t;
      const ok = e.status === "ok" && e.sensor?.reading === SENSOR.crossing;
      return { ms, ok, error: e.error };
    };
    const first = await enrichOne(0);
    if (!first.ok) throw new Error(`enrichment failed: ${first.error ?? "no sensor reading"}`);
    const pooled: number[] = [];
    let pooledFailures = 0;
    let pooledCpu = 0;
    let clearRequests = 0;
    const requests0 = await requestsServed(sim.control);
    for (let i = 1; i <= events; i++) {
      if (i % CLEAR_SEL_EVERY === 0) {
        const before = await requestsServed(sim.control);
        await ipmitool(["sel", "clear"]);
        clearRequests += (await requestsServed(sim.control)) - before;
      }
      const cpu0 = ownCpuMs();
      const r = await enrichOne(i);
      pooledCpu += ownCpuMs() - cpu0; // includes the control API call, an upper bound
      if (r.ok) pooled.push(r.ms);
      else pooledFailures++;
    }
    const requestsPerEvent = ((await requestsServed(sim.control)) - requests0 - clearRequests) / events;
    const sessionsOpened = pool.get(target).stats().sessionsOpened;
    await pool.closeAll();

    const sdrCache = join(dir, "sdr.cache");
    await ipmitool(["sdr", "dump", sdrCache]);
    await crossThreshold(sim.control);
    if (!(await ipmitoolEvent(sdrCache))) throw new Error("ipmitool did not read the event's facts"); // warm-up
    const cli: number[] = [];
    let cliFailures = 0;
    let cliCpu = 0;
    for (let i = 0; i < cliEvents; i++) {
      if (i % CLEAR_SEL_EVERY === 0) await ipmitool(["sel", "clear"]);
      await crossThreshold(sim.control);
      const cpu0 = reapedChildrenCpuMs();
      const t = performance.now();
      const ok = await ipmitoolEvent(sdrCache).catch(() => false);
      cliCpu += reapedChildrenCpuMs() - cpu0;
      if (ok) cli.push(performance.now() - t);
      else cliFailures++;
    }

    const p: Side = { ...summarize(pooled), failures: pooledFailures, cpuMsPerEvent: pooledCpu / events };
    const c: Side = { ...summarize(cli), failures: cliFailures, cpuMsPerEvent: cliCpu / cliEvents };
    const speedup = c.meanMs / p.meanMs;
    const goal = {
      name: `enrichment per event on a pooled session ≥ ${TARGET_SPEEDUP}× faster than ipmitool processes (mean)`,
      met: speedup >= TARGET_SPEEDUP && p.failures === 0,
      detail: `${c.meanMs.toFixed(1)} ms / ${p.meanMs.toFixed(2)} ms = ${speedup.toFixed(1)}×`,
    };
    const f = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
    const row = (name: string, s: Side) =>
      `| ${name} | ${s.n} (${s.failures} failed) | ${f(s.p50Ms)} | ${f(s.p99Ms)} | ${f(s.meanMs)} | ${f(s.cpuMsPerEvent)} |`;
    process.stdout.write(
      `${[
        `## petgate enrichment bench${quick ? " (quick)" : ""}`,
        "",
        "| per event: sensor reading + thresholds (SDR cached) | events | p50 ms | p99 ms | mean ms | CPU ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        row("petgate enrich(), pooled RMCP+ session", p),
        row("ipmitool `sensor get`, -S sdr cache", c),
        "",
        `- first event (session set-up + SDR read): ${f(first.ms)} ms; sessions opened for ${events + 1} events: ${sessionsOpened}`,
        `- IPMI requests the BMC served per pooled event (SDR cached): ${requestsPerEvent.toFixed(2)}`,
        `- BMC: petgate sim on ${BMC.host}:${BMC.port}, cipher suite ${CIPHER_SUITE}; ${cpus().length} cores, Node ${process.version}`,
        `- ${goal.met ? "MET   " : "MISSED"} ${goal.name}: ${goal.detail}`,
      ].join("\n")}\n`,
    );
    mkdirSync(join(root, "bench/results"), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      quick,
      runtimeSec: Math.round((performance.now() - started) / 100) / 10,
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      bmc: { ...BMC, simulator: "petgate sim", cipherSuite: CIPHER_SUITE, sensor: SENSOR.name },
      firstEventMs: first.ms,
      sessionsOpened,
      requestsPerEvent,
      pooled: p,
      ipmitool: c,
      speedup,
      targets: [goal],
    };
    writeFileSync(
      join(root, "bench/results", quick ? "enrich-quick.json" : "enrich-latest.json"),
      `${JSON.stringify(json, null, 2)}\n`,
    );
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on("exit", killAll);
try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
}
