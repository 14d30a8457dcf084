// `node dist/bench/failover.js [--rate N] [--seconds N]`: petgate serve (every role, one process) on
// Redis Sentinel: a primary, its replica and three redis-sentinels on loopback (down-after 1 s),
// distinct PETs at a steady rate to a webhook. Three runs, each on a fresh topology:
//   1. redis.replicaAcks 0, steady: trap → webhook latency without waiting for the replica;
//   2. redis.replicaAcks 1 (the default with sentinels), steady: the same, each batch and each
//      notification waiting for the replica (WAIT); the ratio to run 1 is what that costs;
//   3. replicaAcks 1, the primary SIGKILLed a third in: how long the sentinels took, how long PETs
//      waited, and that every one was delivered once.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { configSchema } from "../src/config/schema.js";
import { startWebhookCatcher } from "../src/serve/catchers.js";
import { serve } from "../src/serve/serve.js";
import { alertPet, arrivalsByIndex, LoopbackSenders, petDatagramMaker } from "./pet-datagram.js";
import { startSentinelTopology, until } from "./redis-topology.js";
import { repoRoot } from "./root.js";
import { percentile } from "./stats.js";

const { values } = parseArgs({ options: { rate: { type: "string" }, seconds: { type: "string" } } });
const rate = Number(values.rate ?? 200);
const seconds = Number(values.seconds ?? 15);
const total = rate * seconds;
const maker = petDatagramMaker(repoRoot);

interface RunResult {
  replicaAcks: number;
  sent: number;
  delivered: number;
  /** PETs delivered under two different group sends. */
  duplicates: number;
  latencyMs: { p50: number; p99: number; max: number };
  failover?: {
    /** SIGKILL → the sentinels name the replica master. */
    sentinelsMs: number;
    /** SIGKILL → the first PET sent after it at the webhook. */
    firstDeliveryMs: number;
    /** Events the listener spooled while Redis was away (petgate_ingest_events_total). */
    spooled: number;
  };
  /** The last PET sent → every PET at the webhook. */
  drainMs: number;
}

async function run(replicaAcks: number, kill: boolean): Promise<RunResult> {
  const topology = await startSentinelTopology();
  const hook = await startWebhookCatcher({ keep: Number.POSITIVE_INFINITY });
  const dataDir = mkdtempSync(join(tmpdir(), "petgate-failover-"));
  const senders = new LoopbackSenders();
  try {
    const service = await serve({
      config: configSchema.parse({
        listener: { bind: "127.0.0.1:0" },
        http: { bind: "127.0.0.1:0" },
        routes: { receiver: "hook", group_by: ["..."], group_wait: "0s", group_interval: "1s" },
        receivers: [{ name: "hook", webhook: { url: hook.url } }],
        storm: { limit: 1_000_000, fleet: { limit: 1_000_000 } },
        history: { enabled: false },
        redis: { sentinels: topology.sentinels.map((s) => s.address), master: topology.master, replicaAcks },
      }),
      roles: new Set(["listener", "worker", "http"]),
      dataDir,
      dataDirExplicit: true,
      log: () => undefined,
    });
    const port = service.listener?.port ?? 0;
    const sentAt: number[] = [];
    let killedAt = 0;
    let failedOver: Promise<number> | undefined;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      // Paced by the clock, not by sleeps that add up: PET i leaves at start + i / rate.
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const { source, datagram } = alertPet(maker, i);
      sentAt[i] = Date.now();
      await senders.send(source, datagram, port);
      if (kill && i === Math.floor(total / 3)) {
        await topology.primary.kill();
        killedAt = Date.now();
        failedOver = until(
          "the sentinels to name the replica master",
          async () =>
            (await topology.masterAddress()) === topology.replica.address ? Date.now() : undefined,
          60_000,
        );
      }
    }
    const lastSent = Date.now();
    const arrivals = await until(
      `all ${total} PETs at the webhook`,
      async () => {
        const byIndex = arrivalsByIndex(hook.requests);
        return byIndex.size === total ? byIndex : undefined;
      },
      300_000,
    );
    const drainMs = Math.max(...[...arrivals.values()].map((a) => a.firstAt)) - lastSent;
    const latencies = [...arrivals].map(([i, a]) => a.firstAt - (sentAt[i] ?? 0)).sort((a, b) => a - b);
    const afterKill = [...arrivals].filter(([i]) => (sentAt[i] ?? 0) > killedAt).map(([, a]) => a.firstAt);
    const metrics = await (await fetch(`http://127.0.0.1:${service.http?.port}/metrics`)).text();
    const spooled = Number(
      /^petgate_ingest_events_total\{durability="spooled"\} (\d+)/m.exec(metrics)?.[1] ?? 0,
    );
    await service.close();
    return {
      replicaAcks,
      sent: total,
      delivered: arrivals.size,
      duplicates: [...arrivals.values()].filter((a) => a.keys.size > 1).length,
      latencyMs: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1) ?? 0,
      },
      ...(failedOver && {
        failover: {
          sentinelsMs: (await failedOver) - killedAt,
          firstDeliveryMs: Math.min(...afterKill) - killedAt,
          spooled,
        },
      }),
      drainMs,
    };
  } finally {
    senders.close();
    await hook.close();
    await topology.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [await run(0, false), await run(1, false), await run(1, true)];
const [plain, acked, failover] = results;
const ms = (n: number) => `${Math.round(n)} ms`;
console.log(`petgate serve on Redis Sentinel, ${total} distinct PETs at ${rate}/s to a webhook`);
for (const r of results)
  console.log(
    `replicaAcks ${r.replicaAcks}${r.failover ? ", primary SIGKILLed" : ""}: ${r.delivered}/${r.sent} delivered, ` +
      `${r.duplicates} twice; trap→webhook p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, ` +
      `max ${ms(r.latencyMs.max)}; all in ${ms(r.drainMs)} after the last PET`,
  );
if (plain && acked)
  console.log(
    `waiting for the replica: p50 ×${(acked.latencyMs.p50 / plain.latencyMs.p50).toFixed(2)}, ` +
      `p99 ×${(acked.latencyMs.p99 / plain.latencyMs.p99).toFixed(2)} of replicaAcks 0`,
  );
if (failover?.failover)
  console.log(
    `failover: the sentinels named the new master ${ms(failover.failover.sentinelsMs)} after the SIGKILL ` +
      `(down-after-milliseconds 1000 bounds it from below); the first PET sent after the kill reached ` +
      `the webhook ${ms(failover.failover.firstDeliveryMs)} after it; ${failover.failover.spooled} events spooled meanwhile`,
  );
writeFileSync(
  join(repoRoot, "bench/results/failover-latest.json"),
  `${JSON.stringify({ rate, seconds, results }, null, 2)}\n`,
);
process.exit(0);
