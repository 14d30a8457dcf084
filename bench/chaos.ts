// `npm run chaos`: the soak of issue 8 (bench/chaos/harness.ts) at full size, its summary printed and
// written to bench/results/chaos-latest.json (--quick: chaos-quick.json). Exit 1 when an invariant
// failed or the run could not complete.
//
//   node dist/bench/chaos.js [--bmcs 200] [--rate 2000] [--minutes 10] [--quick]
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ChaosSummary, defaultPlan, runChaos } from "./chaos/harness.js";
import { raiseRmemMax } from "./kernel.js";
import { killAll } from "./receivers.js";
import { repoRoot } from "./root.js";

const { values } = parseArgs({
  options: {
    bmcs: { type: "string" },
    rate: { type: "string" },
    minutes: { type: "string" },
    quick: { type: "boolean" },
    verbose: { type: "boolean" },
  },
});
const quick = values.quick === true;
const bmcs = Number(values.bmcs ?? (quick ? 50 : 200));
const rate = Number(values.rate ?? (quick ? 500 : 2000));
const minutes = Number(values.minutes ?? (quick ? 2 : 10));
if (!(bmcs >= 10 && bmcs <= 1000) || !(rate > 0) || !(minutes > 0))
  throw new RangeError("--bmcs 10…1000, --rate > 0, --minutes > 0");
const durationMs = Math.round(minutes * 60_000);

for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
// The listener asks for a 64 MiB receive buffer; as root the soak lets the kernel grant it.
const restoreRmem = raiseRmemMax(64 * 1024 * 1024);
let summary: ChaosSummary;
try {
  summary = await runChaos({
    bmcs,
    rate,
    durationMs,
    plan: defaultPlan(durationMs, Math.min(10, Math.floor(bmcs / 10))),
    firstBmc: "127.93.0.1",
    bmcPort: 1623,
    listen: "127.93.255.254:1162",
    workers: 2,
    health: { interval: "5s", probe_deadline: "2s", failures_before_alert: 2 },
    // Past the plan's rate the backlog drains after the last PET: time for it to, while it moves.
    drainTimeoutMs: Math.max(10 * 60_000, 6 * durationMs),
    rssBoundBytes: 1024 * 1024 * 1024,
    log: (line) => process.stderr.write(`${line}\n`),
    verbose: values.verbose === true,
  });
} finally {
  restoreRmem?.();
  killAll();
}

const result = { cpus: cpus().length, quick, ...summary };
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
const file = join(repoRoot, `bench/results/chaos-${quick ? "quick" : "latest"}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `\n${summary.invariants.map((i) => `${i.ok ? "PASS" : "FAIL"}  ${i.name}: ${i.detail}`).join("\n")}\n` +
    `written to ${file}\n`,
);
process.exit(summary.ok ? 0 : 1);
