// `npm run bench:ingest`: how many real PET datagrams the petgate listener keeps at fixed rates and in
// a burst, next to net-snmp's snmptrapd given exactly the same packets and schedule: petgate as
// `petgate listen` (NDJSON out) and as `petgate serve --role listener` (durably queued in Redis,
// intake-receiver.ts). Each datagram is numbered, so every one is its own trap. Loopback only;
// a bench, not a test: it prints whether the targets are met and always exits 0 once it has run.
//
//   node dist/bench/ingest.js [--quick] [--rates 5000,10000] [--duration MS] [--burst N]
//                             [--receivers petgate,petgate-durable,snmptrapd] [--receive-buffer BYTES]
//   env: BENCH_RATES, BENCH_DURATION_MS, BENCH_BURST, BENCH_RECEIVERS, BENCH_RECEIVE_BUFFER (flags win)
//
// Both receivers ask for the same socket receive buffer (default 64 MiB, petgate's default); as root
// the bench raises net.core.rmem_max to it for the run and puts the old value back afterwards.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { decodePetVarbind } from "../src/pet/varbind.js";
import type { BlastResult } from "./blaster.js";
import { petgateDurableReceiver } from "./intake-receiver.js";
import { freeUdpPort } from "./ipmi-sims.js";
import {
  loopbackSocket,
  machineInfo,
  peakRssKiB,
  raiseRmemMax,
  treeCpuMs,
  type UdpCounters,
  udpCounters,
  udpDelta,
} from "./kernel.js";
import {
  killAll,
  liveChildren,
  petgateReceiver,
  type Receiver,
  type Running,
  type Stopped,
  snmptrapdReceiver,
  track,
} from "./receivers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";
/** The fixture's PET varbind is the datagram's last 47 bytes; event data 5–8 start at its byte 35 (PET 1.0 §3.1). */
const PET_VARBIND_LENGTH = 47;
const EVENT_DATA_5 = 35;

/**
 * A receiver has drained when its output has not grown, and its socket has held no datagram, for this
 * long after the sender finished (a receiver starved of CPU may write nothing for a while with its
 * socket still full: stopping it then would discard what the kernel holds for it).
 */
const QUIET_MS = 500;
const POLL_MS = 20;
const MAX_DRAIN_MS = 60_000;

interface Step {
  name: string;
  /** Datagrams per second; 0 = as fast as the sender can push. */
  rate: number;
  durationMs: number;
  count: number;
}

interface StepResult {
  step: string;
  receiver: string;
  blast: BlastResult;
  kept: number;
  lossPct: number;
  keptPerSec: number;
  /** From the first send to the last growth of the receiver's output. */
  busyMs: number;
  kernel: UdpCounters;
  socketDrops: number | undefined;
  receiveBuffer: number | undefined;
  /** The receiver process's peak RSS (VmHWM) over the step. */
  peakRssKiB: number | undefined;
  /** CPU time of the receiver and its children (petgate-durable's Redis) from the first send to drained. */
  cpuMs: number | undefined;
  note: string;
  counters?: Record<string, unknown>;
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      rates: { type: "string" },
      duration: { type: "string" },
      burst: { type: "string" },
      receivers: { type: "string" },
      "receive-buffer": { type: "string" },
    },
  });
  const quick = values.quick === true;
  const rates = (values.rates ?? process.env.BENCH_RATES ?? (quick ? "5000,20000" : "5000,10000,20000,40000"))
    .split(",")
    .map(Number);
  const durationMs = Number(values.duration ?? process.env.BENCH_DURATION_MS ?? (quick ? 500 : 3000));
  const burst = Number(values.burst ?? process.env.BENCH_BURST ?? (quick ? 10_000 : 100_000));
  const receivers = (
    values.receivers ??
    process.env.BENCH_RECEIVERS ??
    "petgate,petgate-durable,snmptrapd"
  ).split(",");
  const receiveBuffer = Number(
    values["receive-buffer"] ?? process.env.BENCH_RECEIVE_BUFFER ?? 64 * 1024 * 1024,
  );
  for (const n of [...rates, durationMs, burst, receiveBuffer]) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a count: ${n}`);
  }
  const steps: Step[] = rates.map((rate) => ({
    name: `${rate / 1000}k/s × ${durationMs / 1000} s`,
    rate,
    durationMs,
    count: Math.round((rate * durationMs) / 1000),
  }));
  if (burst > 0) steps.push({ name: `burst ${burst / 1000}k`, rate: 0, durationMs: 0, count: burst });
  return { quick, steps, receivers, receiveBuffer };
}

function readDatagram(): string {
  const hex = readFileSync(join(root, FIXTURE), "utf8").replace(/\s+/g, "");
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new Error(`${FIXTURE}: not hex`);
  return hex;
}

/**
 * Where the blaster writes each datagram's index: event data bytes 5–8 of the PET, which are part of
 * the event's identity (eventId), so that Ingest does not collapse the copies of one trap into one.
 */
function numberingOffset(hex: string): number {
  const packet = Buffer.from(hex, "hex");
  const offset = packet.length - PET_VARBIND_LENGTH + EVENT_DATA_5;
  packet.writeUInt32BE(0xdeadbeef, offset);
  const varbind = decodePetVarbind(packet.subarray(packet.length - PET_VARBIND_LENGTH));
  if (Buffer.from(varbind.eventData).readUInt32BE(4) !== 0xdeadbeef)
    throw new Error(`${FIXTURE}: event data 5–8 are not at byte ${offset}`);
  return offset;
}

async function runBlaster(port: number, hex: string, step: Step): Promise<BlastResult> {
  const args = ["--port", String(port), "--hex", hex, "--rate", String(step.rate)];
  args.push("--duration", String(step.durationMs), "--count", String(step.count));
  args.push("--number-at", String(numberingOffset(hex)));
  const child = track(
    spawn(process.execPath, [join(root, "dist/bench/blaster.js"), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), step.durationMs + 30_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`blaster exited with ${code}`);
  return JSON.parse(out) as BlastResult;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends the step's datagrams to a fresh receiver, waits until it has drained, stops it. */
async function runStep(receiver: Receiver, step: Step, hex: string, dir: string): Promise<StepResult> {
  const port = await freeUdpPort();
  const running: Running = await receiver.start(port, dir);
  let stopped: Stopped | undefined;
  try {
    const before = udpCounters();
    const cpuBefore = running.pid === undefined ? undefined : treeCpuMs(running.pid);
    const t0 = performance.now();
    let size = running.progress();
    let grewAt = t0;
    let sending = true;
    const watch = (async () => {
      while (sending) {
        await sleep(POLL_MS);
        const now = running.progress();
        if (now !== size) [size, grewAt] = [now, performance.now()];
      }
    })();
    const blast = await runBlaster(port, hex, step).finally(() => {
      sending = false;
    });
    await watch;
    const sentAt = performance.now();
    let peakRss = running.pid === undefined ? undefined : peakRssKiB(running.pid);
    let backlogAt = sentAt;
    while (
      performance.now() - Math.max(grewAt, backlogAt) < QUIET_MS &&
      performance.now() - sentAt < MAX_DRAIN_MS
    ) {
      await sleep(POLL_MS);
      const now = running.progress();
      if (now !== size) [size, grewAt] = [now, performance.now()];
      if ((loopbackSocket(port)?.rxQueue ?? 0) > 0) backlogAt = performance.now();
    }
    if (running.pid !== undefined) peakRss = peakRssKiB(running.pid) ?? peakRss;
    const cpuAfter = running.pid === undefined ? undefined : treeCpuMs(running.pid);
    stopped = await running.stop();
    const kernel = udpDelta(before, udpCounters());
    const busyMs = Math.max(grewAt - t0, blast.elapsedMs);
    return {
      step: step.name,
      receiver: receiver.name,
      blast,
      kept: stopped.kept,
      lossPct: blast.sent === 0 ? 0 : (100 * (blast.sent - stopped.kept)) / blast.sent,
      keptPerSec: busyMs > 0 ? Math.round((stopped.kept * 1000) / busyMs) : 0,
      busyMs: Math.round(busyMs),
      kernel,
      socketDrops: stopped.socket?.drops,
      receiveBuffer: running.receiveBuffer,
      peakRssKiB: peakRss,
      cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      note: running.note,
      ...(stopped.counters && { counters: stopped.counters }),
    };
  } finally {
    if (!stopped) await running.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
}

/** One datagram in, exactly one line out: proves that "kept" counts traps for this receiver. */
async function preflight(receiver: Receiver, hex: string, dir: string): Promise<void> {
  const r = await runStep(receiver, { name: "preflight", rate: 0, durationMs: 0, count: 1 }, hex, dir);
  if (r.blast.sent !== 1 || r.kept !== 1) {
    throw new Error(
      `${receiver.name}: preflight sent ${r.blast.sent} datagram(s) and kept ${r.kept} line(s)`,
    );
  }
}

const fmtInt = (n: number | undefined) => (n === undefined ? "?" : n.toLocaleString("en-US"));
const fmtPct = (p: number) => `${p.toFixed(p > 0 && p < 0.1 ? 3 : 2)} %`;

function cell(r: StepResult | undefined): string[] {
  if (!r) return ["—", "—", "—", "—", "—"];
  const errors = r.blast.errors > 0 ? `, ${fmtInt(r.blast.errors)} err` : "";
  return [
    `${fmtInt(r.blast.sent)} @ ${fmtInt(r.blast.achievedPerSec)}/s${errors}`,
    fmtInt(r.kept),
    fmtPct(r.lossPct),
    fmtInt(r.keptPerSec),
    `${fmtInt(r.kernel.RcvbufErrors)} / ${fmtInt(r.kernel.InErrors)} (sock ${fmtInt(r.socketDrops)})`,
  ];
}

/** One row per step and receiver; the ratios are of that receiver to snmptrapd on the same step. */
function table(steps: Step[], results: StepResult[]): string {
  const header = ["step", "receiver", "sent @ rate achieved", "kept", "loss", "kept/s"];
  header.push("RcvbufErrors / InErrors", "peak RSS", "CPU µs/trap", "ratio kept", "ratio kept/s");
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "—" : b === 0 ? "∞" : `${(a / b).toFixed(2)}×`;
  const rows = steps.flatMap((step) => {
    const s = results.find((r) => r.step === step.name && r.receiver === "snmptrapd");
    return results
      .filter((r) => r.step === step.name)
      .map((r) => [
        step.name,
        r.receiver,
        ...cell(r),
        r.peakRssKiB === undefined ? "?" : `${(r.peakRssKiB / 1024).toFixed(1)} MiB`,
        r.cpuMs === undefined || r.kept === 0 ? "?" : ((1000 * r.cpuMs) / r.kept).toFixed(1),
        r === s ? "" : ratio(r.kept, s?.kept),
        r === s ? "" : ratio(r.keptPerSec, s?.keptPerSec),
      ]);
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

interface Target {
  name: string;
  met: boolean | undefined;
  detail: string;
}

/** The targets are of petgate-durable (received, decoded and queued in Redis) when it ran, else of petgate. */
function targets(steps: Step[], results: StepResult[]): Target[] {
  const find = (receiver: string, step: Step | undefined) =>
    step && results.find((r) => r.receiver === receiver && r.step === step.name);
  const who = results.some((r) => r.receiver === "petgate-durable") ? "petgate-durable" : "petgate";
  const at20k = find(
    who,
    steps.find((s) => s.rate === 20_000),
  );
  const burstStep = steps.find((s) => s.rate === 0);
  const burst = find(who, burstStep);
  const trapd = find("snmptrapd", burstStep);
  // With equal receive buffers both keep a burst whole; what tells them apart is how fast they drain it.
  const drainRatio = burst && trapd ? burst.keptPerSec / Math.max(trapd.keptPerSec, 1) : undefined;
  return [
    {
      name: `${who} loses nothing at 20k/s`,
      met: at20k && at20k.kept === at20k.blast.sent,
      detail: at20k ? `${fmtInt(at20k.kept)} of ${fmtInt(at20k.blast.sent)} kept` : "no 20k/s step",
    },
    {
      name: `${who} keeps ≥ 99.9 % of the burst`,
      met: burst && burst.kept >= 0.999 * burst.blast.sent,
      detail: burst ? `${fmtInt(burst.kept)} of ${fmtInt(burst.blast.sent)} kept` : "no burst step",
    },
    {
      name: `${who} drains the burst ≥ 2× as fast as snmptrapd (same packets, same receive buffer)`,
      met: drainRatio === undefined ? undefined : drainRatio >= 2,
      detail:
        burst && trapd
          ? `${fmtInt(burst.keptPerSec)}/s vs ${fmtInt(trapd.keptPerSec)}/s = ${drainRatio?.toFixed(2)}×` +
            ` (kept ${fmtInt(burst.kept)} vs ${fmtInt(trapd.kept)})`
          : "needs both receivers and a burst",
    },
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const { quick, steps, receivers: names, receiveBuffer } = options();
  const hex = readDatagram();
  const rmemBefore = machineInfo().rmemMax;
  restoreRmemMax = raiseRmemMax(receiveBuffer);
  const all: Receiver[] = [
    petgateReceiver(root, receiveBuffer),
    petgateDurableReceiver(root, receiveBuffer),
    snmptrapdReceiver(receiveBuffer),
  ];
  const receivers = all.filter((r) => names.includes(r.name));
  const dir = mkdtempSync(join(tmpdir(), "petgate-bench-"));
  scratch = dir;
  const machine = machineInfo();
  process.stderr.write(
    `bench: ${hex.length / 2}-byte datagram from ${FIXTURE}; ${steps.length} steps × ${receivers.length} receivers, ` +
      "a fresh receiver per step\n",
  );

  const results: StepResult[] = [];
  try {
    for (const receiver of receivers) {
      await preflight(receiver, hex, dir);
      for (const step of steps) {
        const r = await runStep(receiver, step, hex, dir);
        results.push(r);
        process.stderr.write(
          `bench: ${receiver.name} ${step.name}: sent ${r.blast.sent} (${r.blast.achievedPerSec}/s), kept ${r.kept}` +
            `, RcvbufErrors +${r.kernel.RcvbufErrors}, socket drops ${r.socketDrops ?? "?"}\n`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const petgate = results.find((r) => r.receiver === "petgate");
  const trapd = results.find((r) => r.receiver === "snmptrapd");
  const goals = targets(steps, results);
  const runtimeSec = Math.round((performance.now() - started) / 100) / 10;
  const lines = [
    `## petgate ingest bench${quick ? " (quick)" : ""}`,
    "",
    table(steps, results),
    "",
    `- datagram: ${hex.length / 2} bytes, ${FIXTURE}; sender: a separate node process, connected UDP socket, ` +
      "paced in 1 ms slices (burst: as fast as it goes); a fresh receiver process per step, after a " +
      "1-datagram preflight per receiver",
    `- petgate receive buffer: ${petgate?.note ?? "—"}; kernel rb ${fmtInt(petgate?.receiveBuffer)} bytes`,
    `- snmptrapd receive buffer: ${trapd?.note ?? "—"}; kernel rb ${fmtInt(trapd?.receiveBuffer)} bytes`,
    `- net.core.rmem_max ${fmtInt(machine.rmemMax)} during the run` +
      (restoreRmemMax ? ` (raised by the bench from ${fmtInt(rmemBefore)}, restored afterwards)` : "") +
      `, net.core.rmem_default ${fmtInt(machine.rmemDefault)}`,
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; Node ${machine.node}; Linux ${machine.kernel}`,
    "- petgate = `petgate listen` (kept = NDJSON lines); petgate-durable = `petgate serve --role listener` " +
      "with its embedded redis-server (AOF, appendfsync everysec; kept = distinct events in the INGEST " +
      "queue read back from the AOF after both stopped, plus any in its spool; output = AOF + spool bytes; " +
      "a receiver has drained when its output and its socket queue have been still for 500 ms)",
    "- CPU µs/trap = user + system CPU of the receiver process and its children (petgate-durable: with its " +
      "redis-server) from the first send until drained, ÷ kept: what each trap costs, whatever else ran on the machine",
    "- kept/s = kept ÷ time from the first send to the receiver's last output; RcvbufErrors / InErrors: " +
      "system-wide /proc/net/snmp deltas over the step; sock = the receiver socket's drops (/proc/net/udp)",
    `- runtime ${runtimeSec} s`,
    "",
    "### targets",
    ...goals.map(
      (g) => `- ${g.met === undefined ? "n/a " : g.met ? "MET " : "MISSED"} ${g.name}: ${g.detail}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(join(root, "bench/results"), { recursive: true });
  const json = { date: new Date().toISOString(), quick, runtimeSec, machine, steps, results, targets: goals };
  const file = join(root, "bench/results", quick ? "ingest-quick.json" : "ingest-latest.json");
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`bench: results in ${file}\n`);
}

/** The scratch directory, removed, and rmem_max, restored, however the bench exits. */
let scratch: string | undefined;
let restoreRmemMax: (() => void) | undefined;
process.on("exit", () => {
  killAll();
  restoreRmemMax?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
  const live = liveChildren();
  if (live.length > 0) process.stderr.write(`bench: children still alive after kill: ${live.join(", ")}\n`);
}
