// `npm run bench:sim`: how many simulated BMCs one process holds and how many requests it serves.
// Starts `petgate sim` as a child (1 BMC for the baseline, then --count N), reads its RSS from /proc,
// then drives it with pooled petgate clients (Get Device ID, suite 17) for a fixed time.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { IpmiClient } from "../src/ipmi/client/client.js";
import { getDeviceId } from "../src/ipmi/commands/app.js";
import { simAddresses } from "../src/sim/config.js";
import { startSim } from "./petgate-sim.js";
import { killAll } from "./receivers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const PASSWORD = "bench-Sim-1";

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    clients: { type: "string" },
    seconds: { type: "string" },
    quick: { type: "boolean" },
  },
});
const count = Number(values.count ?? (values.quick ? 100 : 1000));
const clientCount = Math.min(count, Number(values.clients ?? 100));
const seconds = Number(values.seconds ?? (values.quick ? 2 : 5));

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
}

async function load(
  addresses: { host: string; port: number }[],
): Promise<{ requests: number; failures: number; perSec: number }> {
  const clients = addresses.map(
    (a) =>
      new IpmiClient({
        host: a.host,
        port: a.port,
        username: "admin",
        password: PASSWORD,
        cipherSuite: 17,
        keepAliveMs: 0,
        maxInFlight: 2,
      }),
  );
  await Promise.all(clients.map((c) => c.execute(getDeviceId, undefined)));
  let requests = 0;
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (c: IpmiClient) => {
    while (performance.now() < until) {
      await c.execute(getDeviceId, undefined).then(
        () => requests++,
        () => failures++,
      );
    }
  };
  const started = performance.now();
  await Promise.all(clients.flatMap((c) => [worker(c), worker(c)]));
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  return { requests, failures, perSec: Math.round(requests / elapsed) };
}

async function main(): Promise<void> {
  const baseline = await startSim(1, PASSWORD);
  await new Promise((r) => setTimeout(r, 500));
  const baseRss = rssKiB(baseline.pid);
  await baseline.stop();

  const fleet = await startSim(count, PASSWORD);
  await new Promise((r) => setTimeout(r, 500));
  const fleetRss = rssKiB(fleet.pid);
  const fds = readdirSync(`/proc/${fleet.pid}/fd`).length;
  const addresses = simAddresses({ count, spread: "address" });
  const step = Math.max(1, Math.floor(count / clientCount));
  const served = await load(addresses.filter((_, i) => i % step === 0).slice(0, clientCount));
  const afterRss = rssKiB(fleet.pid);
  await fleet.stop();

  const perBmc = (fleetRss - baseRss) / Math.max(1, count - 1);
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
    count,
    startupMs: Math.round(fleet.startupMs),
    rssKiB: { oneBmc: baseRss, fleet: fleetRss, afterLoad: afterRss, perBmc: Math.round(perBmc) },
    fds,
    load: { clients: clientCount, callersPerClient: 2, seconds, ...served },
  };
  process.stdout.write(
    `${[
      `## petgate sim bench`,
      "",
      "| figure | value |",
      "| --- | --- |",
      `| simulated BMCs in one process | ${count} |`,
      `| start-up (spawn to all bound) | ${result.startupMs} ms |`,
      `| RSS: 1 BMC → ${count} BMCs | ${(baseRss / 1024).toFixed(1)} MiB → ${(fleetRss / 1024).toFixed(1)} MiB |`,
      `| memory per simulated BMC | ${result.rssKiB.perBmc} KiB |`,
      `| open file descriptors | ${fds} |`,
      `| Get Device ID served (suite 17, ${clientCount} clients × 2 callers, ${seconds} s) | ${served.perSec} requests/s (${served.requests} ok, ${served.failures} failed) |`,
      `| RSS after the load | ${(afterRss / 1024).toFixed(1)} MiB |`,
      "",
      `- ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}; client and simulator share the cores`,
    ].join("\n")}\n`,
  );
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(
    join(root, "bench/results", values.quick ? "sim-quick.json" : "sim-latest.json"),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}

process.on("exit", killAll);
try {
  await main();
} finally {
  killAll();
}
