import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BENCHES,
  type BenchOutcome,
  blockOf,
  buildRows,
  type Row,
  replaceBlock,
  TARGETS,
} from "../bench/table.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const results = join(root, "bench/results");

/** The benches' real results as `npm run bench` left them (no fabricated numbers). */
function outcome(name: string): BenchOutcome {
  const file = join(results, `${name}-latest.json`);
  return {
    name,
    command: `node dist/bench/${name}.js`,
    exitCode: 0,
    seconds: 0,
    load: { start: 0, end: 0 },
    result: JSON.parse(readFileSync(file, "utf8")) as unknown,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the benches' JSON, read as written
const json = (name: string): any => outcome(name).result;
const rowsOf = (name: string): Row[] => buildRows([outcome(name)]);

describe("npm run bench: the summary rows from the benches' results", () => {
  it("every bench has its result file and gives rows with a value and a known status", () => {
    for (const { name } of BENCHES) {
      expect(existsSync(join(results, `${name}-latest.json`)), name).toBe(true);
      const rows = rowsOf(name);
      expect(rows.length, name).toBeGreaterThan(0);
      for (const r of rows) {
        expect(["met", "missed", "reported"], `${name}: ${r.figure} (${r.note})`).toContain(r.status);
        expect(r.value).not.toBe("—");
      }
    }
  });

  it("enrichment is met exactly when the pooled session is ≥ 20× faster with no failed event", () => {
    const j = json("enrich");
    const [row] = rowsOf("enrich");
    expect(row?.status).toBe(
      j.speedup >= TARGETS.enrichSpeedup && j.pooled.failures === 0 ? "met" : "missed",
    );
    expect(row?.ratio).toBe(`${j.speedup.toFixed(j.speedup < 10 ? 2 : 1)}×`);
    expect(row?.anchor).toContain("ipmitool");
  });

  it("ingest: the burst row is met at ≥ 99.9 % kept, the drain row at ≥ 2× snmptrapd's rate", () => {
    const j = json("ingest");
    const burst = j.steps.find((s: { rate: number }) => s.rate === 0);
    const at = (receiver: string) =>
      j.results.find(
        (r: { receiver: string; step: string }) => r.receiver === receiver && r.step === burst.name,
      );
    const p = at("petgate-durable");
    const t = at("snmptrapd");
    const rows = rowsOf("ingest");
    const kept = rows.find((r) => r.figure.includes("burst at line rate kept"));
    expect(kept?.status).toBe((100 * p.kept) / p.blast.sent >= TARGETS.burstKeptPct ? "met" : "missed");
    const drain = rows.find((r) => r.figure.startsWith("drain rate") && r.target !== "—");
    expect(drain?.status).toBe(p.keptPerSec / t.keptPerSec >= TARGETS.ingestRatio ? "met" : "missed");
    const rate = rows.find((r) => r.figure.startsWith("PET traps/s"));
    expect(rate?.status).toBe(
      Number.parseInt(rate?.value.replace(/,/g, "") ?? "0", 10) >= 20_000 ? "met" : "missed",
    );
  });

  it("end to end: 1k/s carries p50, p99 and CPU targets, 2k/s queues-empty and p99, each met only when nothing was lost", () => {
    const j = json("e2e");
    const rows = rowsOf("e2e");
    for (const { anchor, petgate: p } of j.results) {
      const rate = `${p.rate.toLocaleString("en-US")}/s`;
      const mine = rows.filter((row) => row.figure.includes(`at ${rate}`));
      const whole =
        p.webhook.delivered === p.sent &&
        p.alertmanager.delivered === p.sent &&
        p.webhook.duplicates + p.alertmanager.duplicates === 0;
      const verdict = (ok: boolean) => (ok && whole ? "met" : "missed");
      if (p.rate === 1000) {
        expect(mine.map((m) => m.status)).toEqual([
          verdict(p.webhook.p50 < TARGETS.e2eP50Ms),
          verdict(p.webhook.p99 < TARGETS.e2eP99Ms),
          verdict(p.cpuMsPerEvent.total <= TARGETS.e2eCpuMsPerEvent),
        ]);
        expect(mine[1]?.anchor).toBe(`Alertmanager alone ${anchor.alertmanager.p99} ms`);
      } else if (p.rate === TARGETS.e2eFastRate) {
        expect(mine.map((m) => m.status)).toEqual([
          verdict(p.webhook.p99 < TARGETS.e2eFastP99Ms),
          verdict(p.queuesEmptyMs !== null && p.queuesEmptyMs <= TARGETS.e2eFastQueuesEmptyMs),
        ]);
      } else expect(mine.map((m) => m.status)).toEqual(["reported", "reported"]);
    }
  });

  it("provisioning follows the bench's own verdict on its scaled target", () => {
    const j = json("provision");
    const [row] = rowsOf("provision");
    expect(row?.status).toBe(j.target.met ? "met" : "missed");
    expect(row?.target).toBe(`< ${j.target.provisionSeconds} s`);
  });

  it("traps: per trap met at ≤ 20 µs with ≥ 200 rules beside the catch-all; MIB loads met under 2 s cold and 200 ms cached, only with ≥ 100 modules", () => {
    const j = json("traps");
    const [perTrap, cold, cached] = rowsOf("traps");
    expect(perTrap?.status).toBe(
      j.interpret.at200.meanUs <= TARGETS.trapUs && j.interpret.rules >= TARGETS.trapRules ? "met" : "missed",
    );
    expect(perTrap?.value).toBe(`${j.interpret.at200.meanUs} µs`);
    expect(perTrap?.anchor).toBe(`catch-all alone (no rules) ${j.interpret.catchAll.meanUs} µs`);
    const enough = j.load.modules >= TARGETS.mibModules;
    expect(cold?.status).toBe(j.load.cold.p50Ms < TARGETS.mibColdMs && enough ? "met" : "missed");
    expect(cached?.status).toBe(j.load.cached.p50Ms < TARGETS.mibCachedMs && enough ? "met" : "missed");
    expect(cold?.figure).toContain(`${j.load.real} real, ${j.load.generated} generated`);
    expect(cold?.anchor).toContain(`snmptranslate -m ALL\` ${Math.round(j.load.netSnmp.p50Ms)} ms`);
  });

  it("traps: the side-by-side row gives petgate's CPU per trap against snmptrapd + snmptt's, or why snmptt was not run", () => {
    const j = json("traps");
    const side = rowsOf("traps")[3];
    expect(side?.value).toBe(`${j.sideBySide.petgate.cpuUsPerTrap} µs`);
    expect(side?.status).toBe("reported");
    const anchor = j.sideBySide.snmptt;
    if ("skipped" in anchor) expect(side?.anchor).toContain(anchor.skipped);
    else {
      expect(side?.anchor).toContain(`snmptrapd + snmptt`);
      expect(side?.anchor).toContain(`${anchor.cpuUsPerTrap} µs`);
    }
  });

  it("sel: the quiet sweep is met under 10 s and at one request per BMC, only when every BMC was read; the anchor is ipmitool and ipmi-sel over the fleet serially", () => {
    const j = json("sel");
    const [wall, requests, tenNew] = rowsOf("sel");
    const read = j.failures === 0;
    expect(wall?.status).toBe(j.quiet.wallMs < TARGETS.selQuietMs && read ? "met" : "missed");
    expect(requests?.status).toBe(
      j.quiet.requestsPerBmc <= TARGETS.selQuietRequestsPerBmc && read ? "met" : "missed",
    );
    expect(wall?.value).toBe(`${(j.quiet.wallMs / 1000).toFixed(1)} s`);
    expect(requests?.value).toBe(j.quiet.requestsPerBmc.toFixed(2));
    expect(tenNew?.value).toBe(`${(j.tenNew.wallMs / 1000).toFixed(1)} s`);
    expect(tenNew?.figure).toContain(`${j.newRecords} new records on each`);
    const [ipmitool, ipmiSel] = j.anchors;
    expect(wall?.anchor).toContain(`\`ipmitool sel list\` ${(ipmitool.fleetSerialMs / 1000).toFixed(1)} s`);
    expect(wall?.anchor).toContain(`\`${ipmiSel.command}\``);
    const ratio = ipmitool.fleetSerialMs / j.quiet.wallMs;
    expect(wall?.ratio).toBe(`${ratio.toFixed(ratio < 10 ? 2 : 1)}×`);
    expect(requests?.anchor).toContain(`\`ipmitool sel list\` ${ipmitool.requestsPerBmc.toFixed(2)}`);
  });

  it("sel: a BMC not read misses the targets even when the sweep was fast", () => {
    const rows = buildRows([{ ...outcome("sel"), result: { ...json("sel"), failures: 3 } }]);
    expect(rows.map((r) => r.status)).toEqual(["missed", "missed", "failed"]);
    expect(rows[0]?.note).toContain("3 BMCs not read");
  });

  it("history: met when the slowest run of every query is under 100 ms; the anchor is grep over the same events", () => {
    const j = json("history");
    const [query, load] = rowsOf("history");
    const slowest = Math.max(...j.queries.map((q: { maxMs: number }) => q.maxMs));
    expect(j.slowest.maxMs).toBe(slowest);
    expect(query?.status).toBe(slowest < TARGETS.historyQueryMs ? "met" : "missed");
    expect(query?.figure).toContain(`${j.count.toLocaleString("en-US")} events`);
    expect(query?.anchor).toContain("grep");
    expect(load?.status).toBe("reported");
    const slow = buildRows([{ ...outcome("history"), result: { ...j, slowest: { name: "x", maxMs: 150 } } }]);
    expect(slow[0]?.status).toBe("missed");
  });

  it("a bench that did not run is FAILED rows, not left out", () => {
    const rows = buildRows([
      { ...outcome("enrich"), exitCode: 1, result: undefined, error: "exit 1" },
      outcome("sim"),
    ]);
    expect(rows[0]).toMatchObject({ bench: "enrich", status: "failed", value: "—" });
    expect(rows[0]?.note).toContain("exit 1");
    expect(rows.at(-1)).toMatchObject({ bench: "sim", status: "reported" });
  });
});

describe("docs/PERFORMANCE.md", () => {
  it("holds the table of the latest full run: its generated block is bench/results/latest.md", () => {
    const doc = readFileSync(join(root, "docs/PERFORMANCE.md"), "utf8");
    const latest = readFileSync(join(results, "latest.md"), "utf8");
    expect(blockOf(doc)).toBe(latest);
    expect(replaceBlock(doc, latest)).toBe(doc);
  });
});
