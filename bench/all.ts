// `npm run bench`: every bench in sequence, each as its own `node dist/bench/X.js` child (one bench's
// heap and sockets do not skew the next), then the summary from their JSON results:
// bench/results/latest.json and latest.md (`--quick`: quick.json, quick.md), and after a full run the
// generated block of docs/PERFORMANCE.md. A bench that fails or leaves no fresh result is a FAILED row.
//
//   node dist/bench/all.js [--quick] [--only ingest,e2e] [--from-results]
//
// --from-results runs nothing: it rebuilds the summary from the *-latest.json files already there.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BENCHES, type BenchOutcome, buildRows, markdown, type RunInfo, replaceBlock } from "./table.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const results = join(root, "bench/results");
const DOC = join(root, "docs/PERFORMANCE.md");
/** A bench that has not ended by then is killed (and reported as failed). */
const BENCH_TIMEOUT_MS = 30 * 60_000;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "from-results": { type: "boolean", default: false },
  },
});
const quick = values.quick === true;
const only = values.only?.split(",");
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no bench named ${unknown.join(", ")} (${BENCHES.map((b) => b.name).join(", ")})\n`,
  );
  process.exit(2);
}
const benches = BENCHES.filter((b) => !only || only.includes(b.name));

const resultFile = (name: string) => join(results, `${name}-${quick ? "quick" : "latest"}.json`);

/** The bench's JSON, if it was written at or after `since` (ms since the epoch). */
function freshResult(name: string, since: number): { result?: unknown; error?: string } {
  const file = resultFile(name);
  const shown = file.slice(root.length);
  if (!existsSync(file)) return { error: `no ${shown}` };
  if (statSync(file).mtimeMs < since) return { error: `${shown} was not rewritten by this run` };
  try {
    return { result: JSON.parse(readFileSync(file, "utf8")) as unknown };
  } catch (err) {
    return { error: `${shown}: ${String(err)}` };
  }
}

let current: ReturnType<typeof spawn> | undefined;

async function run(bench: (typeof BENCHES)[number]): Promise<BenchOutcome> {
  const args = [...bench.nodeArgs, join("dist/bench", `${bench.name}.js`), ...(quick ? ["--quick"] : [])];
  const command = `node ${args.join(" ")}`;
  const started = Date.now();
  const loadStart = loadavg()[0] ?? 0;
  process.stderr.write(`\nbench: ${command}\n`);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  current = child;
  const timer = setTimeout(() => child.kill("SIGTERM"), BENCH_TIMEOUT_MS);
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  clearTimeout(timer);
  current = undefined;
  const fresh = freshResult(bench.name, started);
  const failed = code !== 0 ? `exit ${code ?? signal}` : fresh.error;
  return {
    name: bench.name,
    command,
    exitCode: code,
    seconds: (Date.now() - started) / 1000,
    load: { start: loadStart, end: loadavg()[0] ?? 0 },
    result: code === 0 ? fresh.result : undefined,
    ...(failed !== undefined && { error: failed }),
  };
}

function readBack(bench: (typeof BENCHES)[number]): BenchOutcome {
  const fresh = freshResult(bench.name, 0);
  return {
    name: bench.name,
    command: `(read back from ${resultFile(bench.name).slice(root.length)})`,
    exitCode: fresh.result === undefined ? null : 0,
    seconds: 0,
    load: { start: Number.NaN, end: Number.NaN },
    result: fresh.result,
    ...(fresh.error !== undefined && { error: fresh.error }),
  };
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  const outcomes: BenchOutcome[] = [];
  for (const bench of benches) outcomes.push(values["from-results"] ? readBack(bench) : await run(bench));
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  const info: RunInfo = {
    date: new Date().toISOString(),
    quick,
    machine: `${model}, ${cpus().length} cores, Node ${process.version}, Linux ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`,
    load: { start: loadStart, end: loadavg() },
  };
  const rows = buildRows(outcomes);
  const md = markdown(rows, outcomes, info);
  mkdirSync(results, { recursive: true });
  const base = quick ? "quick" : "latest";
  writeFileSync(
    join(results, `${base}.json`),
    `${JSON.stringify({ ...info, rows, benches: outcomes.map(({ result: _, ...o }) => o) }, null, 2)}\n`,
  );
  writeFileSync(join(results, `${base}.md`), md);
  // Only a full run of every bench is what docs/PERFORMANCE.md publishes.
  if (!quick && !only && existsSync(DOC)) writeFileSync(DOC, replaceBlock(readFileSync(DOC, "utf8"), md));
  process.stdout.write(`\n${md}`);
  process.stderr.write(`bench: summary in bench/results/${base}.json and ${base}.md\n`);
  const failed = outcomes.filter((o) => o.result === undefined).map((o) => o.name);
  if (failed.length > 0) {
    process.stderr.write(`bench: failed to run: ${failed.join(", ")}\n`);
    process.exitCode = 1;
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exit(130);
  });
}
await main();
