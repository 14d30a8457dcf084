// The chaos soak (issue 8): PETs at a steady rate from simulated BMCs through petgate split into
// processes, while the harness kills workers, restarts Redis, takes SMTP down, makes the webhook
// fail and wedges BMCs; then a drain, and the invariants. `npm run chaos` (bench/chaos.ts) and
// test/chaos/soak.test.ts run it with different sizes.
//
//   sender (child) ──UDP, from each BMC's address──▶ `petgate serve --role listener`
//     ──Redis (redis-server, AOF)──▶ `petgate serve --role worker` × 2 ──▶ webhook catcher, mail catcher
//   enrichment and health probes ──RMCP+──▶ simulated BMCs (SimulatorFleet, in this process)
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { DELIVER_QUEUE } from "../../src/pipeline/notify/deliver.js";
import { DeadLetterQueue } from "../../src/pipeline/notify/dlq.js";
import { createRedis, INGEST_QUEUE } from "../../src/pipeline/queues.js";
import { type RedisChild, startRedisChild } from "../../src/serve/redis-child.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { stopChild } from "../receivers.js";
import { percentile } from "../stats.js";
import { built, type PetgateProcess, rssOf, runPetgate, startPetgate } from "./processes.js";
import {
  type ChaosMail,
  type ChaosWebhook,
  startChaosMail,
  startChaosWebhook,
  type Tally,
} from "./receivers.js";
import type { SenderOptions, SenderReport } from "./sender.js";

export interface FaultPlan {
  /** SIGKILL of a worker process (the next one in turn), a replacement started at once. */
  workerKillsAtMs: number[];
  /** redis-server shut down (SHUTDOWN: AOF fsynced), kept down `redisDownMs`, started again. */
  redisRestartsAtMs: number[];
  redisDownMs: number;
  smtpDown: { atMs: number; forMs: number };
  webhook500: { atMs: number; forMs: number };
  /** `count` BMCs wedged (the seed scenario), each cold-reset by its alert's remedy once alerted. */
  wedge: { atMs: number; count: number };
}

export interface ChaosOptions {
  bmcs: number;
  rate: number;
  durationMs: number;
  plan: FaultPlan;
  /** The first simulated BMC's address (the others on the next ones) and their port. */
  firstBmc: string;
  bmcPort: number;
  /** The listener's UDP address (HOST:PORT). */
  listen: string;
  workers: number;
  /** config `health:` for the run. */
  health: { interval: string; probe_deadline: string; failures_before_alert: number };
  /** How long to wait after the last PET for everything to arrive and the queues to empty. */
  drainTimeoutMs: number;
  /** The stated bounds checked at the end. */
  rssBoundBytes: number;
  log: (line: string) => void;
  /** Pass the petgate processes' stderr to log. */
  verbose?: boolean;
}

/** Times are ms since the first PET was due. */
export interface FaultRecord {
  atMs: number;
  kind: string;
  detail: string;
  tookMs?: number;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ReceiverSummary {
  events: number;
  missing: number;
  missingSample: number[];
  duplicates: number;
  redeliveries: number;
  refused: number;
  unknown: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
}

export interface ChaosSummary {
  date: string;
  node: string;
  options: Omit<ChaosOptions, "log" | "verbose">;
  sent: number;
  sendErrors: number;
  acked: number;
  sendSeconds: number;
  achievedPerSec: number;
  receivers: { webhook: ReceiverSummary; email: ReceiverSummary };
  drain: { drained: boolean; ms: number; backlogJobs: number; deadLetters: number };
  deadLetters: { replayed: number; replays: number };
  wedged: Array<{
    bmc: string;
    firing: number;
    resolved: number;
    coldResetAtMs?: number;
    recoveredAtMs?: number;
  }>;
  falseUnresponsive: string[];
  faults: FaultRecord[];
  queues: { maxJobs: number; maxByQueue: Record<string, number>; boundJobs: number };
  rss: { maxBytesByProcess: Record<string, number>; maxBytes: number; boundBytes: number };
  redis: { maxUsedMemoryBytes: number };
  invariants: Invariant[];
  ok: boolean;
}

const PREFIX = "chaos";
const SIM_GUID = "a0b1c2d3e4f5061728394a5b00000000";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The schedule scaled to a run of `durationMs`: a kill every 30 s, the rest by fraction. */
export function defaultPlan(durationMs: number, wedgeCount = 10): FaultPlan {
  const window = Math.min(60_000, Math.round(durationMs / 10));
  const kills: number[] = [];
  for (let t = 30_000; t < durationMs - 10_000; t += 30_000) kills.push(t);
  return {
    workerKillsAtMs: kills,
    redisRestartsAtMs: [Math.round(durationMs * 0.375), Math.round(durationMs * 0.725)],
    redisDownMs: 5_000,
    smtpDown: { atMs: Math.round(durationMs * 0.2), forMs: window },
    webhook500: { atMs: Math.round(durationMs * 0.5), forMs: window },
    wedge: { atMs: Math.round(durationMs * 0.15), count: wedgeCount },
  };
}

const bmcName = (b: number) => `bmc-${String(b + 1).padStart(3, "0")}`;

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  if (o.rate * (o.durationMs / 1000) > o.bmcs * 65_536) throw new RangeError("at most 65,536 events per BMC");
  const total = Math.round((o.rate * o.durationMs) / 1000);
  const dir = mkdtempSync(join(tmpdir(), "petgate-chaos-"));
  const secrets = {
    CHAOS_BMC_PASSWORD: randomBytes(12).toString("base64url"),
    CHAOS_HOOK_SECRET: randomBytes(12).toString("base64url"),
  };
  const faults: FaultRecord[] = [];
  let t0 = Date.now();
  const since = () => Date.now() - t0;
  const fault = (kind: string, detail: string, tookMs?: number) => {
    const record = { atMs: since(), kind, detail, ...(tookMs !== undefined && { tookMs }) };
    faults.push(record);
    o.log(`chaos: ${(record.atMs / 1000).toFixed(1)} s ${kind}: ${detail}`);
  };
  const errors: string[] = [];
  const spawnLog = o.verbose ? o.log : undefined;

  let redis: RedisChild | undefined;
  let fleet: SimulatorFleet | undefined;
  let webhook: ChaosWebhook | undefined;
  let mail: ChaosMail | undefined;
  let listener: PetgateProcess | undefined;
  const workers: PetgateProcess[] = [];
  const retired: string[] = [];
  let sender: ChildProcess | undefined;
  let monitor: Redis | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const redisDir = join(dir, "redis-data");
    redis = await startRedisChild({ dataDir: redisDir, log: (l) => o.log(`chaos: ${l}`) });
    const socket = redis.socket;
    fleet = await SimulatorFleet.start(
      simConfigSchema.parse({
        listen: `${o.firstBmc}:${o.bmcPort}`,
        count: o.bmcs,
        spread: "address",
        trapPort: 9,
        rebootMs: 500,
        guid: SIM_GUID,
        users: [{ name: "admin", password: secrets.CHAOS_BMC_PASSWORD }],
      }),
    );
    const sims = fleet.simulators;
    webhook = await startChaosWebhook(secrets.CHAOS_HOOK_SECRET);
    mail = await startChaosMail();

    const config = {
      listener: { bind: o.listen, communities: ["public"] },
      defaults: {
        username: "admin",
        passwordEnv: "CHAOS_BMC_PASSWORD",
        cipherSuite: 17,
        allowCipherFallback: false,
        labels: { site: "chaos" },
      },
      bmcs: sims.map((s, b) => ({ name: bmcName(b), host: `${s.address.host}:${s.address.port}` })),
      // Every PET is its own alert; each BMC sends rate/N a second, far above the default storm limits.
      storm: { limit: 1_000_000, per: "1m", fleet: { limit: 1_000_000, per: "1m" } },
      routes: {
        receiver: "webhook",
        group_by: ["..."],
        group_wait: "0s",
        group_interval: "1s",
        routes: [
          { receiver: "webhook", continue: true },
          { receiver: "email", continue: true },
        ],
      },
      receivers: [
        { name: "webhook", webhook: { url: webhook.url, secret: { env: "CHAOS_HOOK_SECRET" } } },
        {
          name: "email",
          email: { host: "127.0.0.1", port: mail.port, from: "petgate@chaos.test", to: ["ops@chaos.test"] },
        },
      ],
      redis: { url: socket, prefix: PREFIX },
      health: o.health,
    };
    const configFile = join(dir, "petgate.yml");
    writeFileSync(configFile, JSON.stringify(config)); // JSON is YAML
    const env = { ...secrets, PETGATE_REDIS: socket };
    mkdirSync(join(dir, "listener"));
    listener = await startPetgate(
      "listener",
      ["serve", "--role", "listener", "--config", configFile, "--data-dir", join(dir, "listener")],
      env,
      spawnLog,
    );
    let workerCount = 0;
    const startWorker = () =>
      startPetgate(
        `worker-${++workerCount}`,
        ["serve", "--role", "worker", "--config", configFile],
        env,
        spawnLog,
      );
    for (let i = 0; i < o.workers; i++) workers.push(await startWorker());

    // Sampling: queue depths, dead letters, Redis memory, RSS of every petgate process.
    const watch = createRedis(socket, "producer");
    monitor = watch;
    watch.on("error", () => undefined);
    const queueNames = [INGEST_QUEUE, "events", DELIVER_QUEUE]; // "events": absent (zeros) when batched
    const queues = queueNames.map((name) => new Queue(name, { connection: watch, prefix: PREFIX }));
    for (const q of queues) q.on("error", () => undefined); // Redis away: that sample is skipped
    const dlq = new DeadLetterQueue(watch, PREFIX);
    const maxByQueue: Record<string, number> = {};
    const maxRss: Record<string, number> = {};
    let maxJobs = 0;
    let maxUsedMemory = 0;
    let lastJobs = Number.NaN;
    let lastDeadLetters = Number.NaN;
    const sample = async () => {
      for (const p of [listener, ...workers]) {
        const rss = p && rssOf(p.pid);
        if (p && rss !== undefined) maxRss[p.name] = Math.max(maxRss[p.name] ?? 0, rss);
      }
      try {
        let jobs = 0;
        for (const q of queues) {
          const c = await q.getJobCounts("wait", "active", "delayed", "prioritized");
          const n = Object.values(c).reduce((a, b) => a + b, 0);
          maxByQueue[q.name] = Math.max(maxByQueue[q.name] ?? 0, n);
          jobs += n;
        }
        maxJobs = Math.max(maxJobs, jobs);
        lastJobs = jobs;
        lastDeadLetters = await dlq.size();
        const used = /used_memory:(\d+)/.exec(await watch.info("memory"))?.[1];
        maxUsedMemory = Math.max(maxUsedMemory, Number(used ?? 0));
      } catch {
        lastJobs = Number.NaN; // Redis away: not sampled
      }
    };
    let sampling = false;
    timers.push(
      setInterval(() => {
        if (sampling) return;
        sampling = true;
        void sample().finally(() => (sampling = false));
      }, 1_000),
    );

    // The sender.
    const report: SenderReport = { sent: 0, errors: 0, acks: 0, marks: [], done: false };
    const marks: Array<[number, number]> = [];
    const [listenHost, listenPort] = o.listen.split(":") as [string, string];
    const senderOptions: SenderOptions = {
      port: Number(listenPort),
      host: listenHost,
      rate: o.rate,
      total,
      sources: sims.map((s) => s.address.host),
      guid: SIM_GUID,
    };
    const child = fork(built("bench/chaos/sender.js"), [JSON.stringify(senderOptions)], { stdio: "inherit" });
    sender = child;
    const senderDone = new Promise<void>((resolve, reject) => {
      child.on("message", (m: SenderReport) => {
        marks.push(...m.marks);
        Object.assign(report, { sent: m.sent, errors: m.errors, acks: m.acks, done: m.done });
        if (m.done) resolve();
      });
      child.once("exit", (code) => reject(new Error(`sender exited (${code})`)));
    });
    t0 = Date.now();
    o.log(`chaos: ${total} PETs at ${o.rate}/s from ${o.bmcs} BMCs for ${o.durationMs / 1000} s`);

    // The faults.
    const outages = { webhook: false, smtp: false, endedAt: 0 };
    const at = (ms: number, what: () => Promise<void>) =>
      new Promise<void>((resolve) => {
        timers.push(
          setTimeout(() => {
            what()
              .catch((err: unknown) => {
                errors.push(String(err));
                fault("error", String(err));
              })
              .finally(resolve);
          }, ms),
        );
      });
    const tasks: Array<Promise<void>> = [];
    for (const [n, ms] of o.plan.workerKillsAtMs.entries())
      tasks.push(
        at(ms, async () => {
          const victim = workers[n % workers.length] as PetgateProcess;
          victim.child.kill("SIGKILL");
          await victim.exited;
          retired.push(victim.name);
          const started = Date.now();
          const replacement = await startWorker();
          workers[n % workers.length] = replacement;
          fault(
            "worker-kill",
            `SIGKILL ${victim.name} (pid ${victim.pid}); ${replacement.name} started`,
            Date.now() - started,
          );
        }),
      );
    for (const ms of o.plan.redisRestartsAtMs)
      tasks.push(
        at(ms, async () => {
          const started = Date.now();
          await redis?.stop();
          fault("redis-down", "SHUTDOWN (AOF fsynced)");
          await sleep(o.plan.redisDownMs);
          redis = await startRedisChild({ dataDir: redisDir, log: (l) => o.log(`chaos: ${l}`) });
          fault("redis-up", "redis-server started on the same AOF", Date.now() - started);
        }),
      );
    const window = (
      name: "webhook" | "smtp",
      w: { atMs: number; forMs: number },
      set: (down: boolean) => void,
    ) => {
      tasks.push(
        at(w.atMs, async () => {
          outages[name] = true;
          set(true);
          fault(`${name}-down`, name === "smtp" ? "connections reset" : "every request answered 500");
          await sleep(w.forMs);
          set(false);
          outages[name] = false;
          outages.endedAt = Date.now();
          fault(`${name}-up`, `after ${w.forMs / 1000} s`);
        }),
      );
    };
    window("smtp", o.plan.smtpDown, (down) => mail?.setUp(!down));
    window("webhook", o.plan.webhook500, (down) => {
      if (webhook) webhook.failing = down;
    });
    const wedged = Array.from({ length: o.plan.wedge.count }, (_, j) =>
      Math.floor(((j + 0.5) * o.bmcs) / o.plan.wedge.count),
    );
    const wedgeState = new Map<string, { coldResetAtMs?: number; recoveredAtMs?: number }>();
    tasks.push(
      at(o.plan.wedge.atMs, async () => {
        for (const b of wedged) {
          sims[b]?.setFaults({ wedged: true });
          wedgeState.set(bmcName(b), {});
        }
        fault("wedge", `${wedged.map(bmcName).join(", ")}: session and Get Device ID only`);
        // The operator's part: each alert's remedy, run as it reads.
        await Promise.all(
          wedged.map(async (b) => {
            const name = bmcName(b);
            const firing = await until(
              `${name}'s BMC unresponsive alert`,
              () => webhook?.tally.health.find((h) => h.bmc === name && h.status === "firing"),
              o.durationMs + o.drainTimeoutMs,
            );
            const remedy = /remedy: petgate (bmc reset-cold -H \S+ -U \S+(?: -C \d+)?)/.exec(
              firing.detail,
            )?.[1];
            if (!remedy) throw new Error(`${name}: no remedy in "${firing.detail}"`);
            const r = await runPetgate(
              [...remedy.split(" "), "--password-env", "CHAOS_BMC_PASSWORD"],
              secrets,
            );
            if (r.code !== 0) throw new Error(`${name}: ${remedy} exited ${r.code}: ${r.stderr.trim()}`);
            (wedgeState.get(name) as { coldResetAtMs?: number }).coldResetAtMs = since();
            fault("cold-reset", `${name}: petgate ${remedy}`);
          }),
        );
      }),
    );
    // Dead letters of an outage (retries ran out) are replayed as an operator would, once the outage
    // is over and the retries of what was in flight have run out (the default policy: ~8 s).
    const replays = { count: 0, replayed: 0 };
    let replaying = false;
    timers.push(
      setInterval(() => {
        if (replaying || outages.webhook || outages.smtp || Date.now() - outages.endedAt < 10_000) return;
        if (!(lastDeadLetters > 0)) return;
        replaying = true;
        void runPetgate(
          ["dlq", "replay", "--all", "--redis", redis?.socket ?? socket, "--prefix", PREFIX],
          {},
        )
          .then((r) => {
            const n = Number(/(\d+)/.exec(r.stdout)?.[1] ?? 0);
            replays.count++;
            replays.replayed += n;
            fault("dlq-replay", `petgate dlq replay --all: ${r.stdout.trim() || r.stderr.trim()}`);
            lastDeadLetters = Number.NaN;
          })
          .finally(() => (replaying = false));
      }, 2_000),
    );

    await senderDone;
    const sendMs = since();
    o.log(
      `chaos: sent ${report.sent} (${report.errors} send errors) in ${(sendMs / 1000).toFixed(1)} s; draining`,
    );
    await Promise.all(tasks);

    // Drain: everything at both receivers, every wedged BMC recovered, queues and DLQ empty.
    const wantHealth = () =>
      [...wedgeState.keys()].every((name) =>
        webhook?.tally.health.some((h) => h.bmc === name && h.status === "resolved"),
      );
    const drainStart = Date.now();
    let drained = false;
    let loggedAt = 0;
    // Nothing queued and nothing arriving for this long: what is missing is not coming.
    let progress = { at: Date.now(), seen: -1 };
    while (Date.now() - drainStart < o.drainTimeoutMs) {
      const w = webhook.tally.firstAt.size;
      const m = mail.tally.firstAt.size;
      if (w + m + webhook.tally.health.length !== progress.seen || lastJobs !== 0 || lastDeadLetters !== 0)
        progress = { at: Date.now(), seen: w + m + webhook.tally.health.length };
      else if (Date.now() - progress.at > 60_000) break;
      if (w >= report.sent && m >= report.sent && wantHealth() && lastJobs === 0 && lastDeadLetters === 0) {
        drained = true;
        break;
      }
      if (Date.now() - loggedAt >= 10_000) {
        loggedAt = Date.now();
        o.log(
          `chaos: draining: webhook ${w}, mail ${m} of ${report.sent}; ${lastJobs} jobs queued, ${lastDeadLetters} dead letters`,
        );
      }
      await sleep(1_000);
    }
    const drainMs = Date.now() - drainStart;
    // Late copies would show up now: a short quiet period before counting.
    await sleep(2_000);
    await sample();

    for (const [name, s] of wedgeState) {
      const resolved = webhook.tally.health.find((h) => h.bmc === name && h.status === "resolved");
      if (resolved) s.recoveredAtMs = resolved.at - t0;
    }
    const sentAt = sendTimes(marks);
    const summarize = (t: Tally): ReceiverSummary => {
      const missing = t.missing(report.sent);
      return {
        events: t.firstAt.size,
        missing: missing.length,
        missingSample: missing.slice(0, 20),
        duplicates: t.duplicates,
        redeliveries: t.redeliveries,
        refused: t.refused,
        unknown: t.unknown,
        latencyMs: latencies(t.firstAt, sentAt),
      };
    };
    const receivers = { webhook: summarize(webhook.tally), email: summarize(mail.tally) };
    const health = webhook.tally.health;
    const wedgedSummary = [...wedgeState].map(([bmc, s]) => ({
      bmc,
      firing: new Set(health.filter((h) => h.bmc === bmc && h.status === "firing").map((h) => h.id)).size,
      resolved: new Set(health.filter((h) => h.bmc === bmc && h.status === "resolved").map((h) => h.id)).size,
      ...s,
    }));
    const falseUnresponsive = [...new Set(health.map((h) => h.bmc).filter((b) => !wedgeState.has(b)))];
    const longestWindowS =
      Math.max(o.plan.smtpDown.forMs, o.plan.webhook500.forMs, o.plan.redisDownMs) / 1000 +
      30 /* retries, replay, lock */;
    const boundJobs = Math.ceil(3 * o.rate * longestWindowS);
    const maxRssBytes = Math.max(0, ...Object.values(maxRss));
    const invariants: Invariant[] = [
      check(
        "no event lost (webhook)",
        receivers.webhook.missing === 0,
        `${receivers.webhook.missing} of ${report.sent} missing (first: ${receivers.webhook.missingSample.join(" ")})`,
      ),
      check(
        "no event lost (email)",
        receivers.email.missing === 0,
        `${receivers.email.missing} of ${report.sent} missing (first: ${receivers.email.missingSample.join(" ")})`,
      ),
      check(
        "no duplicate (webhook, by idempotency key)",
        receivers.webhook.duplicates === 0,
        `${receivers.webhook.duplicates}`,
      ),
      check(
        "no duplicate (email, by Message-ID)",
        receivers.email.duplicates === 0,
        `${receivers.email.duplicates}`,
      ),
      check(
        "every webhook request signed",
        webhook.tally.badSignatures === 0,
        `${webhook.tally.badSignatures} bad`,
      ),
      check(
        "drained (queues and dead letters empty)",
        drained && lastJobs === 0 && lastDeadLetters === 0,
        `${drained ? "drained" : "not drained"} after ${drainMs} ms; ${lastJobs} jobs, ${lastDeadLetters} dead letters left`,
      ),
      check(
        "queued jobs bounded",
        maxJobs <= boundJobs,
        `max ${maxJobs} ≤ ${boundJobs} (3 jobs a PET × rate × (longest fault window + 30 s))`,
      ),
      check(
        "RSS bounded",
        maxRssBytes <= o.rssBoundBytes,
        `max ${mib(maxRssBytes)} MiB ≤ ${mib(o.rssBoundBytes)} MiB`,
      ),
      check(
        "every wedged BMC alerted once and recovered",
        wedgedSummary.every((w) => w.firing === 1 && w.resolved === 1),
        wedgedSummary.map((w) => `${w.bmc} ${w.firing} firing/${w.resolved} resolved`).join(", "),
      ),
      check("the harness ran every fault", errors.length === 0, errors.join("; ") || "ok"),
    ];
    const { log: _log, verbose: _verbose, ...options } = o;
    return {
      date: new Date().toISOString(),
      node: process.version,
      options,
      sent: report.sent,
      sendErrors: report.errors,
      acked: report.acks,
      sendSeconds: Math.round(sendMs / 100) / 10,
      achievedPerSec: Math.round((report.sent * 1000) / sendMs),
      receivers,
      drain: { drained, ms: drainMs, backlogJobs: lastJobs, deadLetters: lastDeadLetters },
      deadLetters: { replayed: replays.replayed, replays: replays.count },
      wedged: wedgedSummary,
      falseUnresponsive,
      faults,
      queues: { maxJobs, maxByQueue, boundJobs },
      rss: { maxBytesByProcess: maxRss, maxBytes: maxRssBytes, boundBytes: o.rssBoundBytes },
      redis: { maxUsedMemoryBytes: maxUsedMemory },
      invariants,
      ok: invariants.every((i) => i.ok),
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    sender?.kill("SIGKILL");
    await Promise.all([listener, ...workers].map((p) => p && stopChild(p.child, "SIGTERM", 15_000)));
    monitor?.disconnect();
    await redis?.stop();
    await fleet?.stop();
    await webhook?.close();
    await mail?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const check = (name: string, ok: boolean, detail: string): Invariant => ({ name, ok, detail });
const mib = (bytes: number) => Math.round(bytes / 1048576);

/** Polls `get` every 200 ms until it gives something, at most `timeoutMs`. */
async function until<T>(what: string, get: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Send time of event i: that of the last 1 ms slice starting at or before i. */
function sendTimes(marks: Array<[number, number]>): (i: number) => number | undefined {
  marks.sort((a, b) => a[0] - b[0]);
  return (i) => {
    let lo = 0;
    let hi = marks.length - 1;
    if (hi < 0 || (marks[0] as [number, number])[0] > i) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((marks[mid] as [number, number])[0] <= i) lo = mid;
      else hi = mid - 1;
    }
    return (marks[lo] as [number, number])[1];
  };
}

function latencies(
  arrivals: Map<number, number>,
  sentAt: (i: number) => number | undefined,
): ReceiverSummary["latencyMs"] {
  const all: number[] = [];
  for (const [i, at] of arrivals) {
    const sent = sentAt(i);
    if (sent !== undefined) all.push(at - sent);
  }
  if (all.length === 0) return null;
  all.sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(all, 50)),
    p99: Math.round(percentile(all, 99)),
    max: Math.round(all[all.length - 1] ?? 0),
  };
}
