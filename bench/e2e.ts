// End-to-end bench, side by side with Alertmanager, every part its own process as deployed:
//   - `petgate serve` (listener, events and delivery workers, HTTP) with a config file: 100 simulated
//     BMCs in the inventory (enrichment over RMCP+), two receivers — a webhook and a real Prometheus
//     Alertmanager — `group_by: ['...']`, `group_wait: 0s`;
//   - redis-server (unix socket, no persistence), `petgate sim` (the BMCs), prometheus-alertmanager
//     (routing every alert, `group_wait: 0s`, to a webhook), and a recording HTTP receiver (this file
//     with --receiver) that both petgate and Alertmanager post to.
// A PET sender (this file with --sender) sends distinct PETs at a fixed rate from 100 loopback source
// addresses (127.1.0.1–100). Latency is send → arrival at the receiver: for the webhook, petgate's POST;
// for the Alertmanager receiver, Alertmanager's own webhook POST of the alert petgate gave it (so that
// figure includes one pass through Alertmanager).
// The anchor in the same run: Alertmanager alone, fed the same number of alerts at the same rate (one
// alert per POST /api/v2/alerts, this file with --am-sender), send → its webhook POST.
// CPU per event: user + system time of petgate serve and of redis-server over the step, from
// /proc/PID/stat, divided by the events delivered; the BMC simulator, Alertmanager and the bench's own
// processes are other machines' work and are reported apart.
//
// --profile DIR runs petgate serve with --cpu-prof into DIR; --timeline prints each petgate step
// second by second, with the CPU each process used in it (timeline.ts).
//
//   node dist/bench/e2e.js [--rate 1000,2000] [--seconds 60] [--bmcs 100] [--quick] [--profile DIR] [--timeline]
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
import { Agent, request } from "undici";
import { decodePetVarbind, encodePetVarbind } from "../src/pet/varbind.js";
import { freeUdpPort } from "./kernel.js";
import { freeTcpPort } from "./ports.js";
import { repoRoot as root } from "./root.js";
import { cpuMsOf, percentile } from "./stats.js";
import { bySecond, CpuSampler, printTimeline } from "./timeline.js";

const FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";
const SOURCES = 100;
const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";
/** A step has drained when nothing new arrived for this long after the sender finished… */
const IDLE_MS = 10_000;
/** …or at the latest this long after it. */
const DRAIN_MAX_MS = 120_000;
const SIM_PASSWORD = "bench-e2e-sim";

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------------
// Datagrams: the fixture (an SNMPv1 Trap-PDU whose last element is the 47-byte PET varbind), as an
// assertion (specific trap 056F0xh instead of 056F80h), with the varbind re-encoded per event; the
// event's index rides in event data bytes 4–7 and comes back in every notification. Each event is its
// own alert, in petgate and in Alertmanager (whose labels name the BMC, the sensor number and the
// event): (source address, sensor number, chassis intrusion offset 0–6) gives DISTINCT_ALERTS of them.
const OFFSETS = 7;
const DISTINCT_ALERTS = SOURCES * 256 * OFFSETS;

function datagramMaker(): (i: number) => Buffer {
  const packetHex = readFileSync(join(root, FIXTURE), "utf8").replace(/\s+/g, "");
  const trapAt = packetHex.indexOf("0203056f80");
  if (trapAt < 0) throw new Error("fixture: specific trap 056F80h not found");
  const baseHex = packetHex.slice(-94);
  const base = decodePetVarbind(Buffer.from(baseHex, "hex"));
  return (i) => {
    const source = i % SOURCES;
    const offset = Math.floor(i / (SOURCES * 256)) % OFFSETS;
    const head = `${packetHex.slice(0, trapAt)}0203056f0${offset}${packetHex.slice(trapAt + 10, -94)}`;
    const guid = Buffer.from(base.guid);
    guid.writeUInt16BE(source, 14);
    const eventData = Buffer.from(base.eventData);
    eventData[0] = ((eventData[0] as number) & 0xf0) | offset;
    eventData.writeUInt32BE(i >>> 0, 4);
    const hex = encodePetVarbind({
      ...base,
      guid,
      sequence: Math.floor(i / SOURCES) & 0xffff,
      sensorNumber: Math.floor(i / SOURCES) & 0xff,
      eventData,
    }).toString("hex");
    if (hex.length !== baseHex.length) throw new Error("PET varbind length changed");
    return Buffer.from(head + hex, "hex");
  };
}

/** The index of an event from its event data hex (as notifications and Alertmanager annotations carry it). */
const indexOfEventData = (hex: string) => Number.parseInt(hex.slice(8, 16), 16);

/** Paces `total` sends at `rate`/s in 1 ms slices; returns each send's time. */
async function paced(rate: number, total: number, send: (i: number, done: () => void) => void) {
  const sentAt = new Array<number>(total).fill(0);
  let completed = 0;
  const start = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    for (; issued < due; issued++) {
      sentAt[issued] = now();
      send(issued, () => completed++);
    }
    await sleep(1);
  }
  while (completed < issued) await sleep(1);
  return { sentAt, elapsedMs: performance.now() - start };
}

/** Child: PETs over UDP, round-robin over the source addresses. */
async function petSender(port: number, rate: number, total: number): Promise<void> {
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
  let errors = 0;
  const { sentAt, elapsedMs } = await paced(rate, total, (i, done) =>
    (sockets[i % SOURCES] as dgram.Socket).send(packets[i] as Buffer, port, "127.0.0.1", (err) => {
      if (err) errors++;
      done();
    }),
  );
  for (const s of sockets) s.close();
  process.send?.({ sentAt, errors, elapsedMs }, () => process.exit(0));
}

/** Child: one alert per POST /api/v2/alerts to Alertmanager, as a Prometheus would send them. */
async function alertmanagerSender(url: string, rate: number, total: number): Promise<void> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const startsAt = new Date().toISOString();
  let errors = 0;
  const { sentAt, elapsedMs } = await paced(rate, total, (i, done) => {
    const body = JSON.stringify([
      { labels: { alertname: "anchor", index: String(i) }, annotations: { summary: "bench" }, startsAt },
    ]);
    request(`${url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      dispatcher: agent,
    }).then(
      async (res) => {
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        done();
      },
      () => {
        errors++;
        done();
      },
    );
  });
  await agent.close();
  process.send?.({ sentAt, errors, elapsedMs }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------
// Child: the recording receiver. POST /hook takes petgate's webhook bodies (a group of notifications),
// POST /am Alertmanager's webhook bodies (version 4). Arrivals are kept by event index per receiver;
// the parent asks for them with a "collect" message and clears them with "reset".

interface Arrivals {
  at: Record<string, Array<[number, number]>>;
  duplicates: Record<string, number>;
  bodies: Record<string, number>;
}

async function receiver(): Promise<void> {
  let arrivals = new Map<string, Map<number, number>>();
  let duplicates: Record<string, number> = {};
  let bodies: Record<string, number> = {};
  const arrived = (kind: string, index: number, at: number) => {
    const seen = arrivals.get(kind) ?? new Map<number, number>();
    arrivals.set(kind, seen);
    if (seen.has(index)) duplicates[kind] = (duplicates[kind] ?? 0) + 1;
    else seen.set(index, at);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = now();
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      if (req.url === "/hook") {
        bodies.webhook = (bodies.webhook ?? 0) + 1;
        const notifications = (body.notifications ?? [body]) as { event: { eventData: string } }[];
        for (const n of notifications) arrived("webhook", indexOfEventData(n.event.eventData), at);
      } else {
        const alerts = (body.alerts ?? []) as {
          labels: Record<string, string>;
          annotations: Record<string, string>;
        }[];
        for (const a of alerts) {
          if (a.labels.alertname === "anchor") arrived("anchor", Number(a.labels.index), at);
          else if (a.annotations.event_data)
            arrived("alertmanager", indexOfEventData(a.annotations.event_data), at);
        }
      }
      res.writeHead(200);
      res.end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  process.on("message", (m: string) => {
    if (m === "collect") {
      const at = Object.fromEntries([...arrivals].map(([k, v]) => [k, [...v]]));
      process.send?.({ at, duplicates, bodies } satisfies Arrivals);
    } else if (m === "reset") {
      arrivals = new Map();
      duplicates = {};
      bodies = {};
      process.send?.("reset");
    }
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

// ---------------------------------------------------------------------------------------------------
// The parent's parts.

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function until(what: string, timeoutMs: number, ready: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** One Redis command over the unix socket (RESP); its integer or bulk string reply, raw. */
function redisReply(socket: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    const wire = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
    let reply = Buffer.alloc(0);
    c.on("error", reject);
    c.on("connect", () => c.write(wire));
    c.on("data", (d: Buffer) => {
      reply = Buffer.concat([reply, d]);
      const head = reply.indexOf("\r\n");
      if (head < 0) return;
      const first = reply.subarray(0, head).toString();
      if (first.startsWith("$") && reply.length < head + 2 + Number(first.slice(1)) + 2) return;
      c.end();
      if (first.startsWith(":")) resolve(first.slice(1));
      else if (first.startsWith("$")) resolve(reply.subarray(head + 2, reply.length - 2).toString());
      else reject(new Error(`redis: ${reply.toString().trim()}`));
    });
  });
}

const redisInteger = (socket: string, ...args: string[]) => redisReply(socket, ...args).then(Number);

/** Redis's calls and CPU by command so far (INFO commandstats). */
async function commandStats(socket: string): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redisReply(socket, "INFO", "commandstats");
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    stats.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}

/** Per event, the Redis commands most called between two commandstats, with Redis's time in them. */
function commandsPerEvent(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
  events: number,
): Record<string, { calls: number; usec: number }> {
  const per = [...after].map(([name, a]) => {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    return [
      name,
      { calls: round3((a.calls - b.calls) / events), usec: round3((a.usec - b.usec) / events) },
    ] as const;
  });
  return Object.fromEntries(per.filter(([, v]) => v.calls > 0).sort((x, y) => y[1].usec - x[1].usec));
}

async function startRedisServer(dir: string): Promise<{ socket: string; child: ChildProcess }> {
  const socket = join(dir, "redis.sock");
  const child = track(
    spawn(
      "redis-server",
      ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir, "--save", ""].concat([
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
      ]),
      { stdio: "ignore" },
    ),
  );
  await until("redis-server", 10_000, () =>
    redisInteger(socket, "DBSIZE").then(
      () => true,
      () => false,
    ),
  );
  return { socket, child };
}

interface Fleet {
  child: ChildProcess;
  /** The simulator's control API (GET /counters: the IPMI requests it answered). */
  control: string;
}

/** `petgate sim` with `count` BMCs at 127.1.0.1…; resolves once it answers. */
async function startFleet(count: number): Promise<Fleet> {
  const control = `127.0.0.1:${await freeTcpPort()}`;
  const child = track(
    spawn(
      process.execPath,
      [join(root, "bin/petgate.js"), "sim", "--count", String(count), "--listen", "127.1.0.1:623"].concat([
        "--password-env",
        "BENCH_SIM_PASSWORD",
        "--control",
        control,
      ]),
      { env: { ...process.env, BENCH_SIM_PASSWORD: SIM_PASSWORD }, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await until("petgate sim", 30_000, () => {
    if (child.exitCode !== null) throw new Error(`petgate sim exited:\n${out}`);
    return /BMC\(s\) on udp/.test(out);
  });
  return { child, control: `http://${control}` };
}

/** IPMI requests the simulated fleet has answered so far. */
async function ipmiRequests(fleet: Fleet): Promise<number> {
  const r = await request(`${fleet.control}/counters`);
  return Number(((await r.body.json()) as { requests?: number }).requests ?? 0);
}

async function startAlertmanager(
  dir: string,
  receiverPort: number,
): Promise<{ url: string; child: ChildProcess }> {
  mkdirSync(dir);
  const port = await freeTcpPort();
  writeFileSync(
    join(dir, "alertmanager.yml"),
    [
      "route:",
      "  receiver: hook",
      "  group_by: ['...']",
      "  group_wait: 0s",
      "  group_interval: 5m",
      "  repeat_interval: 24h",
      "receivers:",
      "  - name: hook",
      "    webhook_configs:",
      `      - url: http://127.0.0.1:${receiverPort}/am`,
      "        send_resolved: false",
      "",
    ].join("\n"),
  );
  const child = track(
    spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${join(dir, "alertmanager.yml")}`,
        `--storage.path=${join(dir, "am-data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
      { stdio: "ignore" },
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  await until("alertmanager", 20_000, () =>
    request(`${url}/-/ready`).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      },
      () => false,
    ),
  );
  return { url, child };
}

function petgateConfig(o: {
  listenPort: number;
  httpPort: number;
  redisSocket: string;
  prefix: string;
  bmcs: number;
  receiverPort: number;
  alertmanagerUrl: string;
  /** Keep the alert history (the default); false for a side-by-side run without it. */
  history: boolean;
}): string {
  const bmcs = Array.from(
    { length: o.bmcs },
    (_, i) => `  - { name: bmc-${i + 1}, host: "127.1.0.${i + 1}:623" }`,
  );
  return [
    "listener:",
    `  bind: 127.0.0.1:${o.listenPort}`,
    "  communities: [public]",
    "redis:",
    `  url: ${o.redisSocket}`,
    `  prefix: ${o.prefix}`,
    "http:",
    `  bind: 127.0.0.1:${o.httpPort}`,
    "defaults:",
    "  username: admin",
    "  passwordEnv: BENCH_SIM_PASSWORD",
    "  cipherSuite: 17",
    "  allowCipherFallback: false",
    o.bmcs > 0 ? "bmcs:" : "bmcs: []",
    ...bmcs,
    // Each simulated BMC sends rate/100 alerts a second: storm control's defaults would hold them.
    "storm: { limit: 1000000, per: 1m, fleet: { limit: 1000000, per: 1m } }",
    "routes:",
    "  receiver: webhook",
    "  group_by: ['...']",
    "  group_wait: 0s",
    "  routes:",
    "    - { receiver: webhook, continue: true }",
    "    - { receiver: alertmanager }",
    ...(o.history ? [] : ["history: { enabled: false }"]),
    "receivers:",
    "  - name: webhook",
    `    webhook: { url: "http://127.0.0.1:${o.receiverPort}/hook", timeoutMs: 10000 }`,
    "  - name: alertmanager",
    `    alertmanager: { url: "${o.alertmanagerUrl}", timeoutMs: 10000 }`,
    "",
  ].join("\n");
}

interface Latency {
  delivered: number;
  duplicates: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

function latency(sentAt: number[], arrivals: Array<[number, number]> | undefined, duplicates = 0): Latency {
  const samples = (arrivals ?? []).flatMap(([i, at]) => (sentAt[i] ? [at - (sentAt[i] as number)] : []));
  samples.sort((a, b) => a - b);
  const at = (p: number) => (samples.length > 0 ? round(percentile(samples, p)) : null);
  return {
    delivered: arrivals?.length ?? 0,
    duplicates,
    p50: at(50),
    p99: at(99),
    max: samples.length > 0 ? round(samples[samples.length - 1] as number) : null,
  };
}

interface Receiving {
  port: number;
  pid: number | undefined;
  collect(): Promise<Arrivals>;
  reset(): Promise<void>;
}

async function startReceiver(): Promise<Receiving> {
  const child = track(fork(fileURLToPath(import.meta.url), ["--receiver"]));
  const [{ port }] = (await once(child, "message")) as [{ port: number }];
  const ask = async <T>(m: string): Promise<T> => {
    const reply = once(child, "message");
    child.send(m);
    return ((await reply) as [T])[0];
  };
  return {
    port,
    pid: child.pid,
    collect: () => ask<Arrivals>("collect"),
    reset: () => ask<void>("reset").then(() => undefined),
  };
}

interface SenderReport {
  sentAt: number[];
  errors: number;
  elapsedMs: number;
}

async function send(mode: string, target: string, rate: number, total: number): Promise<SenderReport> {
  const child = track(
    fork(fileURLToPath(import.meta.url), [
      mode,
      "--target",
      target,
      "--rate",
      String(rate),
      "--count",
      String(total),
    ]),
  );
  const [report] = (await once(child, "message")) as [SenderReport];
  return report;
}

/** Waits until `expected` arrivals of `kinds` or nothing new for IDLE_MS; returns arrivals and when the last came. */
async function drain(rx: Receiving, kinds: string[], expected: number, sentDone: number): Promise<Arrivals> {
  let last = { count: -1, at: now() };
  for (;;) {
    await sleep(200);
    const a = await rx.collect();
    const counts = kinds.map((k) => a.at[k]?.length ?? 0);
    const count = counts.reduce((s, c) => s + c, 0);
    if (count !== last.count) last = { count, at: now() };
    if (counts.every((c) => c >= expected)) return a;
    if (now() - last.at > IDLE_MS || now() - sentDone > DRAIN_MAX_MS) return a;
  }
}

interface AnchorResult {
  rate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  achievedPerSec: number;
  alertmanager: Latency;
  alertmanagerCpuMsPerAlert: number;
}

async function anchorStep(
  rx: Receiving,
  am: { url: string; child: ChildProcess },
  rate: number,
  seconds: number,
) {
  await rx.reset();
  const total = Math.round(rate * seconds);
  const cpu0 = cpuMsOf(am.child.pid);
  const report = await send("--am-sender", am.url, rate, total);
  const arrivals = await drain(rx, ["anchor"], total - report.errors, now());
  const cpu = cpuMsOf(am.child.pid) - cpu0;
  const result: AnchorResult = {
    rate,
    seconds,
    sent: total - report.errors,
    sendErrors: report.errors,
    achievedPerSec: Math.round(((total - report.errors) * 1000) / report.elapsedMs),
    alertmanager: latency(report.sentAt, arrivals.at.anchor, arrivals.duplicates.anchor),
    alertmanagerCpuMsPerAlert: round3(cpu / Math.max(1, total)),
  };
  return result;
}

interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  sendErrors: number;
  achievedPerSec: number;
  webhook: Latency;
  /** Arrivals at Alertmanager's webhook of the alerts petgate posted to it. */
  alertmanager: Latency;
  /** Webhook POSTs petgate made (one per group flush). */
  webhookPosts: number;
  /** From the last PET sent until INGEST and DELIVER have nothing waiting or active (ms); null: not within DRAIN_MAX_MS. */
  queuesEmptyMs: number | null;
  /** CPU (user + system) per event delivered to the webhook, ms: petgate serve + redis-server, and the parts. */
  cpuMsPerEvent: { total: number; petgate: number; redis: number; sim: number; alertmanager: number };
  /** Redis commands per event delivered, by command, with Redis's own time (µs) in them. */
  redisCommands: Record<string, { calls: number; usec: number }>;
  /** IPMI requests the simulated BMCs answered per event delivered (enrichment, health probes). */
  ipmiRequestsPerEvent: number | null;
}

async function petgateStep(
  parts: {
    rx: Receiving;
    redis: { socket: string; child: ChildProcess };
    fleet?: Fleet;
    am: { url: string; child: ChildProcess };
  },
  dir: string,
  rate: number,
  seconds: number,
  bmcs: number,
  options: {
    profileDir?: string | undefined;
    /** Keep the alert history (the default); false for a side-by-side run without it. */
    history: boolean;
    /** Print the step second by second (timeline.ts). */
    timeline: boolean;
  },
): Promise<StepResult> {
  const { profileDir, history } = options;
  const { rx, redis, fleet, am } = parts;
  await rx.reset();
  const total = Math.round(rate * seconds);
  const listenPort = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const prefix = `bench-e2e-${rate}`;
  const configFile = join(dir, `petgate-${rate}.yml`);
  writeFileSync(
    configFile,
    petgateConfig({
      listenPort,
      httpPort,
      redisSocket: redis.socket,
      prefix,
      bmcs,
      receiverPort: rx.port,
      alertmanagerUrl: am.url,
      history,
    }),
  );
  const dataDir = join(dir, `data-${rate}`);
  const serve = track(
    spawn(
      process.execPath,
      [
        ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
        join(root, "bin/petgate.js"),
        ...["serve", "--config", configFile, "--data-dir", dataDir],
      ],
      {
        env: { ...withoutRedisEnv(), BENCH_SIM_PASSWORD: SIM_PASSWORD },
        stdio: ["ignore", "ignore", "pipe"],
      },
    ),
  );
  let log = "";
  serve.stderr?.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  });
  let sampler: CpuSampler | undefined;
  try {
    await until("petgate serve", 30_000, () => {
      if (serve.exitCode !== null) throw new Error(`petgate serve exited:\n${log}`);
      return request(`http://127.0.0.1:${httpPort}/readyz`).then(
        async (r) => {
          await r.body.dump();
          // A gateway in service has its BMCs' sessions and SDRs already: the storm comes after.
          return (
            r.statusCode === 200 &&
            /listening for SNMP traps/.test(log) &&
            (bmcs === 0 || /enrichment warm/.test(log))
          );
        },
        () => false,
      );
    });
    const pids = {
      petgate: serve.pid,
      redis: redis.child.pid,
      sim: fleet?.child.pid,
      alertmanager: am.child.pid,
    };
    const ipmi0 = fleet && (await ipmiRequests(fleet));
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMsOf(p)]));
    sampler = options.timeline ? new CpuSampler({ ...pids, receiver: rx.pid }) : undefined;
    const commands0 = await commandStats(redis.socket);
    const report = await send("--sender", String(listenPort), rate, total);
    const sentDone = now();
    const queuesEmptyMs = await queuesEmpty(redis.socket, prefix, sentDone);
    const arrivals = await drain(rx, ["webhook", "alertmanager"], total - report.errors, sentDone);
    const webhook = latency(report.sentAt, arrivals.at.webhook, arrivals.duplicates.webhook);
    if (sampler)
      printTimeline(
        `petgate ${rate}/s, webhook`,
        bySecond(report.sentAt, arrivals.at.webhook ?? [], sampler.stop()),
      );
    const per = (k: string) =>
      round3((cpuMsOf(pids[k as keyof typeof pids]) - (cpu0[k] ?? 0)) / Math.max(1, webhook.delivered));
    const redisCommands = commandsPerEvent(
      commands0,
      await commandStats(redis.socket),
      Math.max(1, webhook.delivered),
    );
    const cpu = {
      petgate: per("petgate"),
      redis: per("redis"),
      sim: per("sim"),
      alertmanager: per("alertmanager"),
    };
    return {
      rate,
      seconds,
      sent: total - report.errors,
      sendErrors: report.errors,
      achievedPerSec: Math.round(((total - report.errors) * 1000) / report.elapsedMs),
      webhook,
      alertmanager: latency(report.sentAt, arrivals.at.alertmanager, arrivals.duplicates.alertmanager),
      webhookPosts: arrivals.bodies.webhook ?? 0,
      queuesEmptyMs,
      cpuMsPerEvent: { total: round3(cpu.petgate + cpu.redis), ...cpu },
      redisCommands,
      ipmiRequestsPerEvent:
        fleet && ipmi0 !== undefined
          ? round3(((await ipmiRequests(fleet)) - ipmi0) / Math.max(1, webhook.delivered))
          : null,
    };
  } finally {
    sampler?.stop();
    await stop(serve);
  }
}

/** ms from `since` until the INGEST and DELIVER queues have no job waiting, delayed or active. */
async function queuesEmpty(socket: string, prefix: string, since: number): Promise<number | null> {
  const keys = ["ingest", "deliver"].flatMap((q) => [`${prefix}:${q}:wait`, `${prefix}:${q}:active`]);
  const delayed = ["ingest", "deliver"].map((q) => `${prefix}:${q}:delayed`);
  for (;;) {
    const lengths = await Promise.all([
      ...keys.map((k) => redisInteger(socket, "LLEN", k)),
      ...delayed.map((k) => redisInteger(socket, "ZCARD", k)),
    ]);
    if (lengths.every((n) => n === 0)) return Math.round(now() - since);
    if (now() - since > DRAIN_MAX_MS) return null;
    await sleep(20);
  }
}

/** The environment without $PETGATE_REDIS, which would win over the config's redis.url. */
function withoutRedisEnv(): NodeJS.ProcessEnv {
  const { PETGATE_REDIS: _, ...env } = process.env;
  return env;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sender: { type: "boolean" },
      "am-sender": { type: "boolean" },
      receiver: { type: "boolean" },
      target: { type: "string" },
      count: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      quick: { type: "boolean" },
      bmcs: { type: "string" },
      profile: { type: "string" },
      "no-history": { type: "boolean" },
      timeline: { type: "boolean" },
    },
  });
  if (values.sender) return petSender(Number(values.target), Number(values.rate), Number(values.count));
  if (values["am-sender"])
    return alertmanagerSender(String(values.target), Number(values.rate), Number(values.count));
  if (values.receiver) return receiver();

  const quick = values.quick === true;
  const rates = (values.rate ?? "1000,2000").split(",").map(Number);
  const seconds = Number(values.seconds ?? (quick ? 2 : 60));
  if (rates.some((r) => !(r > 0)) || !(seconds > 0)) throw new RangeError("--rate and --seconds must be > 0");
  if (Math.max(...rates) * seconds > DISTINCT_ALERTS)
    throw new RangeError(`at most ${DISTINCT_ALERTS} distinct alerts per step (rate × seconds)`);
  const bmcs = Number(values.bmcs ?? SOURCES);
  if (!Number.isInteger(bmcs) || bmcs < 0 || bmcs > SOURCES)
    throw new RangeError(`--bmcs must be 0…${SOURCES} (the sender's source addresses)`);

  const dir = mkdtempSync(join(tmpdir(), "petgate-bench-e2e-"));
  const results: { anchor: AnchorResult; petgate: StepResult }[] = [];
  try {
    const redis = await startRedisServer(dir);
    const fleet = bmcs > 0 ? await startFleet(bmcs) : undefined;
    const rx = await startReceiver();
    for (const rate of rates) {
      // A fresh Alertmanager per rate: the alerts of the step before would still be firing in it.
      const am = await startAlertmanager(join(dir, `am-${rate}`), rx.port);
      process.stderr.write(`bench: Alertmanager alone, ${rate}/s for ${seconds} s…\n`);
      const anchor = await anchorStep(rx, am, rate, seconds);
      process.stderr.write(`bench: petgate, ${rate}/s for ${seconds} s…\n`);
      const parts = { rx, redis, ...(fleet && { fleet }), am };
      const petgate = await petgateStep(parts, dir, rate, seconds, bmcs, {
        profileDir: values.profile,
        history: !values["no-history"],
        timeline: values.timeline === true,
      });
      results.push({ anchor, petgate });
      await stop(am.child);
    }
  } finally {
    await Promise.all([...children].map((c) => stop(c)));
    rmSync(dir, { recursive: true, force: true });
  }

  const ms = (x: number | null) => (x === null ? "–" : `${x} ms`);
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? "–" : `${round(a / b)}×`;
  const lines = [
    `## petgate end-to-end bench${quick ? " (quick)" : ""}`,
    "",
    `PET (UDP, ${SOURCES} source addresses) → \`petgate serve\` (listener → INGEST → events worker → DELIVER) → ` +
      "a webhook, and a real Alertmanager (→ its webhook). " +
      (bmcs > 0
        ? `${bmcs} simulated BMCs (\`petgate sim\`) in the inventory: enrichment over RMCP+. `
        : "Inventory empty. ") +
      "group_by ['...'], group_wait 0s; Alertmanager routes with group_wait 0s. " +
      `${cpus().length} CPUs, Node ${process.version}, load ${loadavg()[0]?.toFixed(2)} at the end. ` +
      "CPU/event: petgate serve + redis-server user + system time per event delivered (the simulated BMCs' and Alertmanager's apart).",
    "",
    "| rate | sent | webhook delivered / dup | p50 | p99 | max | via Alertmanager delivered | p50 | p99 | Alertmanager alone p50 | p99 | p99 ratio | queues empty after last PET | CPU/event (petgate + redis) | sim | Alertmanager |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results
      .map(({ anchor: a, petgate: p }) =>
        [
          `${p.rate}/s × ${p.seconds} s`,
          p.sent,
          `${p.webhook.delivered} / ${p.webhook.duplicates}`,
          ms(p.webhook.p50),
          ms(p.webhook.p99),
          ms(p.webhook.max),
          p.alertmanager.delivered,
          ms(p.alertmanager.p50),
          ms(p.alertmanager.p99),
          ms(a.alertmanager.p50),
          ms(a.alertmanager.p99),
          ratio(p.webhook.p99, a.alertmanager.p99),
          p.queuesEmptyMs === null ? "not drained" : `${p.queuesEmptyMs} ms`,
          `${p.cpuMsPerEvent.total} ms (${p.cpuMsPerEvent.petgate} + ${p.cpuMsPerEvent.redis})`,
          `${p.cpuMsPerEvent.sim} ms`,
          `${p.cpuMsPerEvent.alertmanager} ms`,
        ].join(" | "),
      )
      .map((row) => `| ${row} |`),
  ];
  for (const { petgate: p } of results) {
    const top = Object.entries(p.redisCommands).slice(0, 10);
    lines.push(
      "",
      `Redis commands per event at ${p.rate}/s (calls, Redis's µs): ` +
        top.map(([name, v]) => `${name} ${v.calls} (${v.usec} µs)`).join(", "),
      "",
      `IPMI requests per event at ${p.rate}/s (answered by the simulated BMCs): ${p.ipmiRequestsPerEvent ?? "– (no inventory)"}`,
    );
  }
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
