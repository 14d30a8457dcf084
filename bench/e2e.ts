// End-to-end latency bench: the whole pipeline (startPipeline: listener → Ingest → Redis → events
// worker → DELIVER → webhook sink) in this process, with a real redis-server (unix socket, no
// persistence) and a node:http webhook receiver that records when each notification arrives. PETs are
// sent at a fixed rate by a child process (this file with --sender) from 100 loopback source
// addresses (127.1.0.1–100), sequence numbers varying. With --bmcs 100 (the default) a fleet of
// simulated BMCs (`petgate sim`, its own process, as BMCs are other machines) answers RMCP+ at those
// addresses and is the inventory, so each event is enriched over RMCP+ (SEL, SDR, reading,
// thresholds); --bmcs 0 leaves the inventory empty (enrichment "unknown-bmc").
// Besides latency it reports the pipeline process's CPU time per delivered event (user + system),
// which, unlike latency, holds on a busy machine.
//
//   node dist/bench/e2e.js [--rate 1000] [--seconds 5] [--bmcs 100] [--quick]
import { type ChildProcess, fork, spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, createConnection } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BmcTarget } from "../src/config/inventory.js";
import { configSchema } from "../src/config/schema.js";
import { decodePetVarbind, encodePetVarbind } from "../src/pet/varbind.js";
import type { Notification } from "../src/pipeline/alerting/notification.js";
import { startPipeline } from "../src/pipeline/pipeline.js";
import type { Sink } from "../src/sinks/sink.js";
import { WebhookSink } from "../src/sinks/webhook.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";
const SOURCES = 100;
/** A step has drained when nothing new arrived for this long after the sender finished… */
const IDLE_MS = 10_000;
/** …or at the latest this long after it. */
const DRAIN_MAX_MS = 90_000;

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------------
// Datagrams: the fixture (an SNMPv1 Trap-PDU whose last element is the 47-byte PET varbind), as an
// assertion (specific trap 056F00h instead of 056F80h), with the varbind re-encoded per event.

function datagramMaker(): (i: number) => Buffer {
  const packetHex = readFileSync(join(root, FIXTURE), "utf8")
    .replace(/\s+/g, "")
    .replace("0203056f80", "0203056f00");
  const baseHex = packetHex.slice(-94);
  const base = decodePetVarbind(Buffer.from(baseHex, "hex"));
  const head = packetHex.slice(0, -94);
  return (i) => {
    const source = i % SOURCES;
    const guid = Buffer.from(base.guid);
    guid.writeUInt16BE(source, 14);
    const eventData = Buffer.from(base.eventData);
    eventData.writeUInt32BE(i >>> 0, 4); // the index, read back at the receiver
    const hex = encodePetVarbind({
      ...base,
      guid,
      sequence: Math.floor(i / SOURCES) & 0xffff,
      sensorNumber: Math.floor(i / SOURCES) & 0xff, // own alert: (source address, sensor number)
      eventData,
    }).toString("hex");
    if (hex.length !== baseHex.length) throw new Error("PET varbind length changed");
    return Buffer.from(head + hex, "hex");
  };
}

const indexOf = (n: Notification) => Number.parseInt(n.event.eventData.slice(8, 16), 16);

// ---------------------------------------------------------------------------------------------------
// Sender (child process): paced every 1 ms slice, round-robin over the source sockets.

async function sender(port: number, rate: number, total: number): Promise<void> {
  const make = datagramMaker();
  const sockets = await Promise.all(
    Array.from({ length: SOURCES }, async (_, s) => {
      const socket = dgram.createSocket("udp4");
      socket.on("error", () => undefined);
      socket.bind(0, `127.1.0.${s + 1}`);
      await once(socket, "listening");
      return socket;
    }),
  );
  const packets = Array.from({ length: total }, (_, i) => make(i));
  const sentAt = new Array<number>(total).fill(0);
  let errors = 0;
  let completed = 0;
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    for (; issued < due; issued++) {
      const i = issued;
      sentAt[i] = now();
      (sockets[i % SOURCES] as dgram.Socket).send(packets[i] as Buffer, port, "127.0.0.1", (err) => {
        completed++;
        if (err) errors++;
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  while (completed < issued) await new Promise((r) => setTimeout(r, 1));
  const elapsedMs = performance.now() - start;
  for (const s of sockets) s.close();
  process.send?.({ sentAt, errors, elapsedMs }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------
// redis-server: own temp dir, unix socket only, no persistence (as test/support/redis.ts).

async function startRedisServer(): Promise<{ socket: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "petgate-bench-redis-"));
  const socket = join(dir, "redis.sock");
  const args = ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir];
  const proc = spawn(
    "redis-server",
    [...args, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
    { stdio: "ignore" },
  );
  const ping = () =>
    new Promise<boolean>((resolve) => {
      const c = createConnection(socket);
      c.on("error", () => resolve(false));
      c.on("connect", () => c.write("PING\r\n"));
      c.on("data", (d) => {
        resolve(d.toString().startsWith("+PONG"));
        c.end();
      });
    });
  const deadline = Date.now() + 10_000;
  while (!(await ping())) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await once(proc, "exit");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------

interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  achievedPerSec: number;
  delivered: number;
  duplicates: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  drainMs: number;
  listener: { received: number; pet: number };
  /** Pipeline process CPU (user + system) per delivered event, and events by enrichment status. */
  cpuMsPerEvent: number;
  enrichment: Record<string, number>;
  /** The pipeline's own counters when the step ended. */
  pipeline: { events: unknown; delivery: unknown };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const round = (x: number) => Math.round(x * 10) / 10;

const SIM_PASSWORD = "bench-e2e-sim";

/** `petgate sim` with `count` BMCs at 127.1.0.1…, as a child process; resolves once it answers. */
async function startFleet(count: number): Promise<{ inventory: BmcTarget[]; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      join(root, "bin/petgate.js"),
      ...[
        "sim",
        "--count",
        String(count),
        "--listen",
        "127.1.0.1:623",
        "--password-env",
        "BENCH_SIM_PASSWORD",
      ],
    ],
    { env: { ...process.env, BENCH_SIM_PASSWORD: SIM_PASSWORD }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!/BMC\(s\) on udp/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`petgate sim did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const inventory: BmcTarget[] = Array.from({ length: count }, (_, i) => ({
    name: `bmc-${i + 1}`,
    host: `127.1.0.${i + 1}`,
    port: 623,
    username: "admin",
    password: SIM_PASSWORD,
    cipherSuite: 17,
    allowCipherFallback: false,
    labels: {},
  }));
  return {
    inventory,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    },
  };
}

async function step(
  redisSocket: string,
  dir: string,
  rate: number,
  seconds: number,
  inventory: BmcTarget[],
): Promise<StepResult> {
  const total = Math.round(rate * seconds);
  const arrivals = new Map<number, number>();
  let duplicates = 0;
  let lastArrival = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = now();
      const n = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Notification;
      const i = indexOf(n);
      if (arrivals.has(i)) duplicates++;
      else arrivals.set(i, at);
      lastArrival = at;
      res.writeHead(200);
      res.end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const sinks = new Map<string, Sink>([
    ["webhook", new WebhookSink({ name: "webhook", url, timeoutMs: 10_000 })],
  ]);
  const config = configSchema.parse({
    listener: { bind: "127.0.0.1:0", communities: ["public"] },
    bmcs: [],
    // Each simulated BMC sends rate/100 notifications a second: storm control (default 20 a minute
    // per BMC, 100 fleet-wide) would hold nearly all of them.
    storm: { limit: 1_000_000, per: "1m", fleet: { limit: 1_000_000, per: "1m" } },
    routes: {
      receiver: "webhook",
      group_wait: "0s",
      group_interval: "10ms",
      group_by: ["..."],
      routes: [{ receiver: "webhook" }],
    },
  });
  const enrichment: Record<string, number> = {};
  const pipeline = await startPipeline({
    config,
    redis: redisSocket,
    prefix: `bench-e2e-${rate}`,
    spoolFile: join(dir, `spool-${rate}.ndjson`),
    sinks,
    inventory,
    onProcessed: (p) => {
      enrichment[p.enrichment] = (enrichment[p.enrichment] ?? 0) + 1;
    },
    tickMs: 10,
    log: (m) => process.stderr.write(`petgate: ${m}\n`),
  });
  const cpuBefore = process.cpuUsage();
  try {
    const port = pipeline.listener.address().port;
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), [
      "--sender",
      "--port",
      String(port),
      "--rate",
      String(rate),
      "--count",
      String(total),
    ]);
    const [report] = (await once(child, "message")) as [
      { sentAt: number[]; errors: number; elapsedMs: number },
    ];
    const sentDone = now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const t = now();
      if (arrivals.size >= total - report.errors) break;
      if (t - Math.max(sentDone, lastArrival) > IDLE_MS || t - sentDone > DRAIN_MAX_MS) break;
    }
    const latencies: number[] = [];
    for (const [i, at] of arrivals) {
      const sent = report.sentAt[i];
      if (sent) latencies.push(at - sent);
    }
    latencies.sort((a, b) => a - b);
    const cpu = process.cpuUsage(cpuBefore);
    const stats = pipeline.listener.stats();
    return {
      rate,
      seconds,
      sent: total - report.errors,
      sendErrors: report.errors,
      achievedPerSec: Math.round(((total - report.errors) * 1000) / report.elapsedMs),
      delivered: arrivals.size,
      duplicates,
      latencyMs:
        latencies.length > 0
          ? {
              p50: round(pct(latencies, 50)),
              p99: round(pct(latencies, 99)),
              max: round(latencies[latencies.length - 1] ?? Number.NaN),
            }
          : null,
      drainMs: Math.round(Math.max(0, lastArrival - sentDone)),
      listener: { received: stats.received, pet: stats.pet },
      cpuMsPerEvent: round((cpu.user + cpu.system) / 1000 / Math.max(1, arrivals.size)),
      enrichment,
      pipeline: { events: pipeline.events.stats(), delivery: pipeline.delivery.stats() },
    };
  } finally {
    await pipeline.close();
    await Promise.all([...sinks.values()].map((s) => s.close?.()));
    server.closeAllConnections();
    server.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sender: { type: "boolean" },
      port: { type: "string" },
      count: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      quick: { type: "boolean" },
      bmcs: { type: "string" },
    },
  });
  if (values.sender) {
    await sender(Number(values.port), Number(values.rate), Number(values.count));
    return;
  }
  const quick = values.quick === true;
  const rates = values.rate !== undefined ? [Number(values.rate)] : [1000, 5000];
  const seconds = Number(values.seconds ?? (quick ? 1 : 5));
  if (rates.some((r) => !(r > 0)) || !(seconds > 0)) throw new RangeError("--rate and --seconds must be > 0");
  if (Math.max(...rates) * seconds > SOURCES * 256)
    throw new RangeError(`at most ${SOURCES * 256} distinct alerts per step (rate × seconds)`);

  const bmcs = Number(values.bmcs ?? SOURCES);
  if (!Number.isInteger(bmcs) || bmcs < 0 || bmcs > SOURCES)
    throw new RangeError(`--bmcs must be 0…${SOURCES} (the sender's source addresses)`);
  const dir = mkdtempSync(join(tmpdir(), "petgate-bench-e2e-"));
  const redis = await startRedisServer();
  const fleet = bmcs > 0 ? await startFleet(bmcs) : undefined;
  const results: StepResult[] = [];
  try {
    for (const rate of rates) {
      process.stderr.write(`bench: ${rate}/s for ${seconds} s…\n`);
      results.push(await step(redis.socket, dir, rate, seconds, fleet?.inventory ?? []));
    }
  } finally {
    await fleet?.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const ms = (x: number | undefined) => (x === undefined ? "–" : `${x} ms`);
  const lines = [
    `## petgate end-to-end bench${quick ? " (quick)" : ""}`,
    "",
    `PET sent (UDP, ${SOURCES} source addresses) → listener → Ingest → Redis → events worker → DELIVER → webhook received. ` +
      (bmcs > 0
        ? `${bmcs} simulated BMCs (petgate sim, own process) in the inventory: enrichment over RMCP+. `
        : `Inventory empty (enrichment "unknown-bmc"). `) +
      `group_wait 0s, group_interval 10ms, tick 10 ms, storm limit 1,000,000/min per BMC. ${cpus().length} CPUs, Node ${process.version}, load ${loadavg()[0]?.toFixed(2)} at the end. ` +
      "CPU/event: the pipeline process's user + system time per delivered event (with the bench's webhook receiver).",
    "",
    "| rate | sent | achieved | delivered | duplicates | p50 | p99 | max | drain after last send | CPU/event | enrichment |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.rate}/s × ${r.seconds} s | ${r.sent} | ${r.achievedPerSec}/s | ${r.delivered} | ${r.duplicates} | ` +
        `${ms(r.latencyMs?.p50)} | ${ms(r.latencyMs?.p99)} | ${ms(r.latencyMs?.max)} | ${r.drainMs} ms | ` +
        `${r.cpuMsPerEvent} ms | ${Object.entries(r.enrichment)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(
    join(root, `bench/results/e2e-${quick ? "quick" : "latest"}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg(), bmcs, quick, results }, null, 2)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
