// `npm run fuzz`: random and mutated SNMP/PET and RMCP/RMCP+ packets against the trap listener, the
// simulated BMC and the client's response decoders; every packet counted, no crash. See bench/README.md.
import { randomInt } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { fuzzListener, type ListenerResult, listenerSeeds } from "./fuzz/listener.js";
import { exchangesOf, fuzzParser, type ParserResult, pongExchange } from "./fuzz/parser.js";
import { fuzzSimulator, type SimResult, simSeeds, startSimTarget } from "./fuzz/simulator.js";
import { Tally } from "./fuzz/tally.js";
import { machineInfo } from "./kernel.js";
import { repoRoot } from "./root.js";

/** Shares of the packets: the UDP targets are paced by their receivers, the decoders run in-process. */
export const SPLIT = { listener: 0.3, simulator: 0.2, parser: 0.5 } as const;

export interface FuzzOptions {
  count: number;
  seed: number;
}

export interface FuzzSummary {
  seed: number;
  count: number;
  listener: ListenerResult & { crashes: number };
  simulator: SimResult & { crashes: number };
  parser: ParserResult;
  /** Why the run failed: crashes, uncounted packets, a real PET or session that no longer works. */
  failures: string[];
}

/** Uncaught exceptions and unhandled rejections while a target runs are its crashes. */
function crashWatch(): { tally: Tally; stop(): void } {
  const tally = new Tally();
  const onCrash = (err: unknown) => tally.crash(err);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  return {
    tally,
    stop() {
      process.off("uncaughtException", onCrash);
      process.off("unhandledRejection", onCrash);
    },
  };
}

async function watched<T>(run: () => Promise<T>): Promise<T & { crashes: number }> {
  const watch = crashWatch();
  try {
    const result = await run();
    // Let late rejections of the last datagrams' handlers surface before the watch ends.
    await new Promise((r) => setTimeout(r, 50));
    return { ...result, crashes: watch.tally.result().crashes };
  } finally {
    watch.stop();
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const share = (k: keyof typeof SPLIT) => Math.round(options.count * SPLIT[k]);
  const listenerCount = share("listener");
  const simCount = share("simulator");
  const parserCount = options.count - listenerCount - simCount;

  const seeds = await listenerSeeds();
  // The listener's internalErrors are exceptions it caught and counted (stats.internalErrors): shown
  // apart, not crashes. Anything that escapes it is.
  const listener = await watched(() => fuzzListener(seeds, listenerCount, options.seed));

  const sim = await startSimTarget();
  let simulator: FuzzSummary["simulator"];
  let parser: ParserResult;
  try {
    simulator = await watched(() => fuzzSimulator(sim, simSeeds(sim), simCount, options.seed + 1));
    // The suite 1 session's traffic is in the clear: the BMC's answers are the decoders' seeds.
    const open = sim.captures[1] ?? { toBmc: [], fromBmc: [] };
    parser = fuzzParser(
      [...exchangesOf(open.toBmc, open.fromBmc), pongExchange()],
      parserCount,
      options.seed + 2,
    );
  } finally {
    await sim.stop();
  }

  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  check(listener.crashes === 0, `listener: ${listener.crashes} crash(es)`);
  check(
    listener.unaccounted === 0,
    `listener: ${listener.unaccounted} datagram(s) neither counted nor dropped`,
  );
  check(
    listener.outcomeSum === listener.stats.received,
    `listener: outcomes sum to ${listener.outcomeSum}, received ${listener.stats.received}`,
  );
  check(listener.realPetDecoded, "listener: the real PET sent after the fuzz did not decode");
  check(simulator.crashes === 0, `simulator: ${simulator.crashes} crash(es)`);
  check(
    simulator.unaccounted === 0,
    `simulator: ${simulator.unaccounted} datagram(s) neither counted nor dropped`,
  );
  check(simulator.realSessionWorks, "simulator: no session (suite 17, Get Device ID) after the fuzz");
  check(parser.crashes === 0, `parser: ${parser.crashes} crash(es)`);
  check(parser.packets === parserCount, `parser: ${parser.packets} of ${parserCount} cases counted`);
  return { seed: options.seed, count: options.count, listener, simulator, parser, failures };
}

const n = (x: number) => x.toLocaleString("en-US");
const outcomeList = (o: Record<string, number>) =>
  Object.entries(o)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(", ");

export function summaryTable(s: FuzzSummary): string {
  const { listener: l, simulator: m, parser: p } = s;
  const listenerOutcomes = {
    ...l.stats.rejected,
    pet: l.stats.pet,
    nonPet: l.stats.nonPet,
    petMalformed: l.stats.petMalformed,
    reports: l.stats.reports,
  };
  const row = (
    target: string,
    packets: number,
    outcomes: string,
    counts: { crashes: number; unaccounted: number; kernelDrops?: number },
    seconds: number,
  ) => [
    target,
    n(packets),
    outcomes,
    n(counts.crashes),
    n(counts.unaccounted),
    counts.kernelDrops === undefined ? "–" : n(counts.kernelDrops),
    seconds.toFixed(1),
    n(Math.round(packets / seconds)),
  ];
  const rows = [
    row(
      "listener (UDP)",
      l.sent,
      `received ${n(l.stats.received)}: ${outcomeList(listenerOutcomes)}` +
        (l.stats.internalErrors > 0
          ? ` (${n(l.stats.internalErrors)} of them after an exception the listener caught)`
          : ""),
      l,
      l.seconds,
    ),
    row(
      "simulator (UDP)",
      m.sent,
      `received ${n(m.counters.datagrams ?? 0)}: requests ${n(m.counters.requests ?? 0)}, ignored ${n(m.counters.ignored ?? 0)}, sessions opened ${n(m.counters.sessionsOpened ?? 0)}, replies ${n(m.replies)}`,
      m,
      m.seconds,
    ),
    row(
      "client parser",
      p.packets,
      outcomeList(p.outcomes),
      { crashes: p.crashes, unaccounted: 0 },
      p.seconds,
    ),
  ];
  const head = ["target", "packets", "outcomes", "crashes", "uncounted", "kernel drops", "s", "packets/s"];
  return [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: "string" },
      seed: { type: "string" },
      quick: { type: "boolean", default: false },
    },
  });
  const count = Number(values.count ?? (values.quick ? 20_000 : 1_000_000));
  const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(count) || count < 10 || !Number.isSafeInteger(seed))
    throw new RangeError("--count needs an integer ≥ 10 and --seed an integer");
  process.stdout.write(
    `fuzz: ${n(count)} packets, seed ${seed} (reproduce: node dist/bench/fuzz.js --count ${count} --seed ${seed})\n`,
  );
  const summary = await runFuzz({ count, seed });
  process.stdout.write(`\n${summaryTable(summary)}\n\n`);
  const dir = join(repoRoot, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fuzz-${values.quick ? "quick" : "latest"}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), split: SPLIT, ...summary }, null, 2)}\n`,
  );
  process.stdout.write(
    `${summary.failures.length === 0 ? "OK: 0 crashes, every packet counted" : `FAILED:\n- ${summary.failures.join("\n- ")}`}\nwrote ${file}\n`,
  );
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
