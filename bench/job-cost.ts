// `node dist/bench/job-cost.js [--jobs N]`: what one BullMQ job life cycle costs on this machine, the
// unit the events path pays per INGEST batch and per DELIVER flush and receiver (docs/PERFORMANCE.md,
// "What bounds the figures now"). A Queue adds jobs of a 2 KB payload at a fixed rate, a Worker
// (concurrency 4, as the events worker's) takes each and does nothing; both in this process, on a
// redis-server of its own (unix socket, no persistence). Printed: client CPU (user + system of this
// process) and redis-server CPU per job, at 200 and 1,000 jobs a second.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { until } from "./redis-topology.js";

const { values } = parseArgs({ options: { jobs: { type: "string" } } });
const JOBS = Number(values.jobs ?? 3000);
const RATES = [200, 1000];
const PAYLOAD = "x".repeat(2000);
const TICK_MS = 10; // /proc/<pid>/stat counts clock ticks of 10 ms

/** User + system CPU of process `pid`, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

async function measure(socket: string, redisPid: number, rate: number, queueName: string) {
  const connections = [0, 1].map(() => new Redis(socket, { maxRetriesPerRequest: null }));
  const [queueConnection, workerConnection] = connections as [Redis, Redis];
  const queue = new Queue(queueName, { connection: queueConnection });
  let done = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const worker = new Worker(queueName, async () => undefined, {
    connection: workerConnection,
    concurrency: 4,
  });
  worker.on("completed", () => {
    if (++done === JOBS) allDone();
  });
  await worker.waitUntilReady();
  const client0 = process.cpuUsage();
  const redis0 = cpuMs(redisPid);
  const t0 = performance.now();
  for (let i = 0; i < JOBS; i++) {
    await queue.add("job", { i, payload: PAYLOAD }, { removeOnComplete: { age: 3600, count: 10_000 } });
    const wait = t0 + ((i + 1) * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await finished;
  const client = process.cpuUsage(client0);
  const redisMs = cpuMs(redisPid) - redis0;
  await worker.close();
  await queue.close();
  for (const c of connections) c.disconnect(); // BullMQ leaves a connection it was given open
  return {
    rate,
    clientMsPerJob: (client.user + client.system) / 1000 / JOBS,
    redisMsPerJob: redisMs / JOBS,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "petgate-bench-jobs-"));
  const socket = join(dir, "redis.sock");
  const redis: ChildProcess = spawn(
    "redis-server",
    ["--port", "0", "--unixsocket", socket, "--dir", dir, "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  try {
    const probe = new Redis(socket, { lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => undefined); // refused until redis-server listens
    await until(
      "redis-server",
      () =>
        probe
          .connect()
          .then(() => true)
          .catch(() => undefined),
      10_000,
    );
    probe.disconnect();
    console.log(`## BullMQ job life cycle: ${JOBS} jobs a rate, Worker concurrency 4\n`);
    console.log("| jobs/s | client CPU per job | redis-server CPU per job |\n|---:|---:|---:|");
    for (const rate of RATES) {
      const r = await measure(socket, redis.pid as number, rate, `q${rate}`);
      console.log(`| ${rate} | ${r.clientMsPerJob.toFixed(3)} ms | ${r.redisMsPerJob.toFixed(3)} ms |`);
    }
  } finally {
    redis.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
