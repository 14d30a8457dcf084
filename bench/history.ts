// `node dist/bench/history.js [--quick] [--count N]`: the alert history (src/history/store.ts) with
// 1,000,000 events in it, shaped as the pipeline records them (1,000 BMCs in 50 racks, six sensor
// types, firing and resolved, two receivers each with its delivery, 30 days): how fast they are
// recorded, and what each filter of GET /api/history takes (target: < 100 ms, issue 17). Beside it,
// what an operator runs instead on a log of the same events: grep over them as NDJSON, the newest
// 100 matches (`grep … | tail -n 100`, as over snmptrapd's log).
import { execFile } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { type HistoryEvent, type HistoryFilter, HistoryStore } from "../src/history/store.js";
import { TARGETS } from "./table.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, count: { type: "string" } },
});
const quick = values.quick === true;
const count = Number(values.count ?? (quick ? 100_000 : 1_000_000));
const RUNS = quick ? 5 : 20;
const DAY = 86_400_000;
const T0 = Date.parse("2026-11-01T00:00:00Z");
const SPAN = 30 * DAY;

const SENSORS = [
  ["Temperature", "CPU1 Temp", "Upper Critical - going high"],
  ["Fan", "FAN3", "Lower Critical - going low"],
  ["Power Supply", "PSU2", "Power Supply AC lost"],
  ["Memory", "DIMM A1", "Uncorrectable ECC"],
  ["Processor", "CPU2", "Thermal Trip"],
  ["Voltage", "12V", "Upper Non-critical - going high"],
] as const;
const SEVERITIES = ["critical", "non-critical", "non-recoverable", "information"] as const;

function event(i: number): HistoryEvent {
  const b = i % 1000;
  const bmc = `bmc-${String(b).padStart(4, "0")}`;
  const [sensorType, sensor, text] = SENSORS[(i >> 1) % SENSORS.length] as (typeof SENSORS)[number];
  const status = i % 2 === 0 ? "firing" : "resolved";
  const severity = SEVERITIES[(i >> 2) % SEVERITIES.length] as string;
  const at = T0 + Math.floor((i * SPAN) / count);
  const rack = `r${String((b % 50) + 1).padStart(2, "0")}`;
  return {
    id: `ev-${i}`,
    receivedAt: new Date(at).toISOString(),
    processedAt: new Date(at).toISOString(),
    bmc,
    source: `10.${(b >> 8) & 255}.${b & 255}.1`,
    sensor,
    sensorType,
    event: text,
    severity: severity as HistoryEvent["severity"],
    direction: status === "firing" ? "assertion" : "deassertion",
    status,
    enrichment: "ok",
    reading: sensorType === "Temperature" ? { value: 92, unit: "degrees C", thresholds: { ucr: 90 } } : null,
    outcome: "sent",
    trap: null,
    rule: null,
    notification: `n-${i}`,
    receivers: ["ops", "pager"],
    varbinds: null,
    truncated: null,
    at,
    labels: {
      bmc,
      instance: `10.${(b >> 8) & 255}.${b & 255}.1`,
      label_rack: rack,
      sensor_type: sensorType,
      severity,
      status,
    },
  };
}

interface QueryFigure {
  name: string;
  filter: HistoryFilter;
  found: number;
  p50Ms: number;
  maxMs: number;
}

function timed(store: HistoryStore, name: string, filter: HistoryFilter): QueryFigure {
  const times: number[] = [];
  let found = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    found = store.query(filter).events.length;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    name,
    filter,
    found,
    p50Ms: round(times[Math.floor(times.length / 2)] ?? 0),
    maxMs: round(times.at(-1) ?? 0),
  };
}

async function grepMs(file: string, args: string[]): Promise<{ ms: number; found: number }> {
  const t = process.hrtime.bigint();
  // What an operator types: grep over the log, the newest 100 matches.
  const { stdout } = await run(
    "sh",
    ["-c", `grep ${args.map((a) => `'${a}'`).join(" ")} "$0" | tail -n 100`, file],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, found: stdout.split("\n").filter(Boolean).length };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "petgate-bench-history-"));
  try {
    const store = new HistoryStore(join(scratch, "history.sqlite"));
    const ndjson = join(scratch, "events.ndjson");
    const log = createWriteStream(ndjson);
    const BATCH = 5_000; // what the writer records at once at most (100 stream entries of 50)
    const started = process.hrtime.bigint();
    let writeMs = 0;
    for (let i = 0; i < count; i += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => event(i + k));
      const deliveries = events.flatMap((e) =>
        e.receivers.map((receiver) => ({
          notification: e.notification as string,
          receiver,
          status: "delivered" as const,
          outcome: "delivered",
          at: e.at + 40,
        })),
      );
      const t = process.hrtime.bigint();
      store.record(events, deliveries);
      writeMs += Number(process.hrtime.bigint() - t) / 1e6;
      if (!log.write(`${events.map((e) => JSON.stringify(e)).join("\n")}\n`))
        await new Promise<void>((r) => log.once("drain", () => r()));
    }
    await new Promise<void>((r) => {
      log.end(() => r());
    });
    const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const eventsPerSec = Math.round(count / (writeMs / 1000));
    const fileBytes =
      statSync(join(scratch, "history.sqlite")).size +
      (statSync(join(scratch, "history.sqlite-wal"), { throwIfNoEntry: false })?.size ?? 0);

    const tenDaysAgo = T0 + 20 * DAY;
    const queries = [
      timed(store, "newest 100, no filter", {}),
      timed(store, "one BMC", { bmc: "bmc-0421" }),
      timed(store, "one rack (label)", { labels: { label_rack: "r17" } }),
      timed(store, "sensor type and severity", { sensorType: "Fan", severity: "critical" }),
      timed(store, "status", { status: "resolved" }),
      timed(store, "one hour, ten days back", { since: tenDaysAgo, until: tenDaysAgo + 3_600_000 }),
      timed(store, "free text, common", { text: "psu2" }),
      timed(store, "free text, one BMC's power supplies", { text: "bmc-0421 psu2" }),
      timed(store, "rack + free text + last 7 days", {
        labels: { label_rack: "r17" },
        text: "ecc",
        since: T0 + SPAN - 7 * DAY,
      }),
      // The first day of the thirty: every filter with a time range far back.
      timed(store, "one BMC, its first day", { bmc: "bmc-0421", until: T0 + DAY }),
      timed(store, "one rack, its first day", { labels: { label_rack: "r17" }, until: T0 + DAY }),
      timed(store, "severity, the first day", { severity: "critical", until: T0 + DAY }),
      timed(store, "free text, the first day", { text: "psu2", until: T0 + DAY }),
      timed(store, "no match (unknown BMC)", { bmc: "bmc-9999" }),
      timed(store, "no match (free text)", { text: "zzzz" }),
      timed(store, "rack + one BMC of another rack (no match)", {
        bmc: "bmc-0421",
        labels: { label_rack: "r01" },
      }),
    ];
    // The tenth page of a rack's events, by the cursor.
    let cursor: number | undefined;
    for (let p = 0; p < 9; p++)
      cursor =
        store.query({ labels: { label_rack: "r17" }, ...(cursor !== undefined && { cursor }) }).next ??
        undefined;
    queries.push(
      timed(store, "one rack, tenth page", {
        labels: { label_rack: "r17" },
        ...(cursor !== undefined && { cursor }),
      }),
    );
    // The page's chart: events per hour by severity over the last 24 hours (GET /api/history/hours).
    const chartTimes: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = process.hrtime.bigint();
      store.hourly(T0 + SPAN - DAY, T0 + SPAN);
      chartTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    chartTimes.sort((a, b) => a - b);
    queries.push({
      name: "events per hour by severity, last 24 h (the chart)",
      filter: {},
      found: store.hourly(T0 + SPAN - DAY, T0 + SPAN).length,
      p50Ms: Math.round((chartTimes[Math.floor(chartTimes.length / 2)] ?? 0) * 100) / 100,
      maxMs: Math.round((chartTimes.at(-1) ?? 0) * 100) / 100,
    });
    const slowest = queries.reduce((a, b) => (b.maxMs > a.maxMs ? b : a));
    const grepBmc = await grepMs(ndjson, ["-F", '"bmc":"bmc-0421"']);
    const grepText = await grepMs(ndjson, ["-i", "psu2"]);
    const grepCold = await grepMs(ndjson, ["-F", '"bmc":"bmc-9999"']);
    store.close();

    const result = {
      count,
      runs: RUNS,
      load: { seconds: Math.round(loadSeconds), eventsPerSec, fileBytes },
      queries,
      slowest: { name: slowest.name, maxMs: slowest.maxMs },
      target: { ms: TARGETS.historyQueryMs, met: slowest.maxMs < TARGETS.historyQueryMs },
      anchor: {
        what: "grep over the same events as NDJSON, newest 100 matches (| tail -n 100)",
        ndjsonBytes: statSync(ndjson).size,
        bmc: grepBmc,
        text: grepText,
        noMatch: grepCold,
      },
    };
    mkdirSync(join(root, "bench/results"), { recursive: true });
    writeFileSync(
      join(root, `bench/results/history-${quick ? "quick" : "latest"}.json`),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    const lines = [
      `## alert history: ${count.toLocaleString("en")} events`,
      "",
      `recorded at ${eventsPerSec.toLocaleString("en")} events/s (with 2 deliveries each), file ${(fileBytes / 2 ** 20).toFixed(0)} MiB; each query ${RUNS} times:`,
      "",
      "| query | found | p50 | max |",
      "| --- | ---: | ---: | ---: |",
      ...queries.map((q) => `| ${q.name} | ${q.found} | ${q.p50Ms} ms | ${q.maxMs} ms |`),
      "",
      `grep over the same events as NDJSON (${(result.anchor.ndjsonBytes / 2 ** 20).toFixed(0)} MiB), newest 100: one BMC ${grepBmc.ms.toFixed(0)} ms, "psu2" ${grepText.ms.toFixed(0)} ms, no match ${grepCold.ms.toFixed(0)} ms`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
