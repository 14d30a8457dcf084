// `node dist/bench/sel.js [--quick] [--count N] [--sample N]`: SEL reconciliation of a simulated
// fleet (`petgate sim --count N`, a child process) by petgate's SelSweeper on a real Redis: a sweep
// with no new record (target: one Get SEL Info per BMC, the fleet under 10 s) and one after 10 new
// records on each BMC. Beside it, what one box at a time costs: `ipmitool sel list` and FreeIPMI
// `ipmi-sel` per BMC over a sample (each opens its own session and reads the whole SEL).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import type { BmcTarget } from "../src/config/inventory.js";
import { BmcPool } from "../src/pipeline/bmc/bmc-pool.js";
import { createRedis, ingestQueue } from "../src/pipeline/queues.js";
import { SelSweeper } from "../src/pipeline/sel/sweep.js";
import { startRedisChild } from "../src/serve/redis-child.js";
import { simAddresses } from "../src/sim/config.js";
import { type Counters, startSim } from "./petgate-sim.js";
import { killAll } from "./receivers.js";
import { TARGETS } from "./table.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const PASSWORD = "bench-Sel-pass-1";
const NEW_RECORDS = 10;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    count: { type: "string" },
    sample: { type: "string" },
  },
});
const quick = values.quick === true;
const count = Number(values.count ?? (quick ? 100 : 1000));
const sample = Number(values.sample ?? (quick ? 3 : 20));

interface Sweep {
  wallMs: number;
  requestsPerBmc: number;
  sessionsOpened: number;
}

interface Anchor {
  tool: string;
  command: string;
  bmcs: number;
  msPerBmc: number;
  requestsPerBmc: number;
  /** msPerBmc × count: the fleet one box at a time, as a cron job of it would. */
  fleetSerialMs: number;
}

const delta = (after: Counters, before: Counters, key: string) => (after[key] ?? 0) - (before[key] ?? 0);

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "petgate-bench-sel-"));
  const redisChild = await startRedisChild({ dataDir: scratch, log: () => undefined });
  const sim = await startSim(count, PASSWORD);
  const redis = createRedis(redisChild.socket, "worker");
  const logs: string[] = [];
  // Its lines (each BMC's IPMI version, found at first contact) go with the sweeper's, not to stderr.
  const pool = new BmcPool({ log: (line) => logs.push(line) });
  const ingest = ingestQueue(redis, "bench");
  try {
    const targets: BmcTarget[] = simAddresses({ count, spread: "address" }).map((a, i) => ({
      name: `bmc-${i + 1}`,
      host: a.host,
      port: a.port,
      username: "admin",
      password: PASSWORD,
      cipherSuite: 17,
      allowCipherFallback: false,
      labels: {},
    }));
    const sweeper = new SelSweeper({
      inventory: targets,
      pool,
      redis,
      prefix: "bench",
      ingest,
      alerting: { filters: [] },
      intervalMs: 3_600_000,
      petGraceMs: 0,
      deadlineMs: 10_000,
      log: (line) => logs.push(line),
    });
    const sweep = async (): Promise<Sweep> => {
      const before = await sim.counters();
      const started = performance.now();
      await sweeper.sweepAll();
      const wallMs = performance.now() - started;
      const after = await sim.counters();
      return {
        wallMs,
        requestsPerBmc: delta(after, before, "requests") / count,
        sessionsOpened: delta(after, before, "sessionsOpened"),
      };
    };
    const firstContact = await sweep();
    const quiet = await sweep();
    await injectEvents(sim.control, count);
    const tenNew = await sweep();
    const failures = logs.filter((l) => l.includes("not read"));
    const anchors = [
      await anchor(sim, targets.slice(0, sample), "ipmitool", (t) => [
        "ipmitool",
        ["-I", "lanplus", "-H", t.host, "-U", "admin", "-P", PASSWORD, "-C", "17", "sel", "list"],
      ]),
      await anchor(sim, targets.slice(0, sample), "FreeIPMI ipmi-sel", (t) => [
        "ipmi-sel",
        // Without the SDR cache: no SDR read, nor a cache in $HOME another simulator run left stale.
        [
          "-h",
          t.host,
          "-u",
          "admin",
          "-p",
          PASSWORD,
          "-D",
          "LAN_2_0",
          "-I",
          "17",
          "-l",
          "ADMIN",
          "--ignore-sdr-cache",
        ],
      ]),
    ];
    const result = {
      quick,
      count,
      newRecords: NEW_RECORDS,
      firstContact,
      quiet,
      tenNew,
      failures: failures.length,
      anchors,
      targets: { quietRequestsPerBmc: TARGETS.selQuietRequestsPerBmc, quietFleetMs: TARGETS.selQuietMs },
      met:
        quiet.requestsPerBmc <= TARGETS.selQuietRequestsPerBmc &&
        quiet.wallMs < TARGETS.selQuietMs &&
        failures.length === 0,
    };
    const f = (n: number) => n.toFixed(2);
    const lines = [
      `## petgate SEL reconciliation bench${quick ? " (quick)" : ""}: ${count} simulated BMCs`,
      "",
      "| sweep | wall time | IPMI requests per BMC | sessions opened |",
      "|---|---|---|---|",
      `| first contact | ${Math.round(firstContact.wallMs)} ms | ${f(firstContact.requestsPerBmc)} | ${firstContact.sessionsOpened} |`,
      `| no new record | ${Math.round(quiet.wallMs)} ms | ${f(quiet.requestsPerBmc)} | ${quiet.sessionsOpened} |`,
      `| ${NEW_RECORDS} new records each | ${Math.round(tenNew.wallMs)} ms | ${f(tenNew.requestsPerBmc)} | ${tenNew.sessionsOpened} |`,
      "",
      "| anchor (one BMC at a time) | ms per BMC | requests per BMC | the fleet serially |",
      "|---|---|---|---|",
      ...anchors.map(
        (a) =>
          `| ${a.command} (${a.bmcs} BMCs) | ${Math.round(a.msPerBmc)} | ${f(a.requestsPerBmc)} | ${(a.fleetSerialMs / 1000).toFixed(1)} s |`,
      ),
      "",
      `target: ${TARGETS.selQuietRequestsPerBmc} Get SEL Info per BMC and < ${TARGETS.selQuietMs / 1000} s for the fleet with no new record: ${result.met ? "met" : "MISSED"}${failures.length ? ` (${failures.length} BMCs not read)` : ""}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    mkdirSync(join(root, "bench/results"), { recursive: true });
    writeFileSync(
      join(root, "bench/results", quick ? "sel-quick.json" : "sel-latest.json"),
      `${JSON.stringify(result, null, 2)}\n`,
    );
  } finally {
    await ingest.close();
    await pool.closeAll();
    redis.disconnect();
    await sim.stop();
    await redisChild.stop();
    killAll();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** NEW_RECORDS Platform Events on every BMC through the simulator's control API, 32 at once. */
async function injectEvents(control: string, n: number): Promise<void> {
  const posts = Array.from({ length: n * NEW_RECORDS }, (_, i) => Math.floor(i / NEW_RECORDS));
  const worker = async () => {
    for (let bmc = posts.shift(); bmc !== undefined; bmc = posts.shift()) {
      const res = await fetch(`${control}/bmcs/${bmc}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          sensorType: 1,
          sensorNumber: 48,
          eventType: 1,
          direction: "assertion",
          eventData: [0x59, 0xa5, 0x90],
        }),
      });
      if (!res.ok) throw new Error(`event on BMC ${bmc}: HTTP ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** One tool over `bmcs`, one at a time: time and simulator requests per BMC. */
async function anchor(
  sim: Awaited<ReturnType<typeof startSim>>,
  bmcs: BmcTarget[],
  tool: string,
  command: (t: BmcTarget) => [string, string[]],
): Promise<Anchor> {
  const before = await sim.counters();
  const started = performance.now();
  for (const t of bmcs) {
    const [file, args] = command(t);
    await run(file, args, { timeout: 60_000 });
  }
  const msPerBmc = (performance.now() - started) / bmcs.length;
  const after = await sim.counters();
  const [file] = command(bmcs[0] as BmcTarget);
  return {
    tool,
    command: file === "ipmitool" ? "ipmitool sel list" : "ipmi-sel --ignore-sdr-cache",
    bmcs: bmcs.length,
    msPerBmc,
    requestsPerBmc: delta(after, before, "requests") / bmcs.length,
    fleetSerialMs: msPerBmc * count,
  };
}

await main();
