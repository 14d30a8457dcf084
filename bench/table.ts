// The summary table of `npm run bench` (bench/all.ts): one row per headline figure, read from the
// benches' own JSON results, each with its anchor (measured in the same bench run), the ratio or the
// target, and whether the target was met. Pure: the runner and test/bench-runner.test.ts share it.

export type Status = "met" | "missed" | "reported" | "failed";

export interface Row {
  bench: string;
  figure: string;
  value: string;
  anchor: string;
  /** value ÷ anchor, when both are rates or times of the same thing. */
  ratio: string;
  target: string;
  status: Status;
  /** Why a row failed, or what qualifies its value. */
  note?: string;
}

/** What the runner knows of one bench: how it ended and its JSON result (absent or stale = undefined). */
export interface BenchOutcome {
  name: string;
  command: string;
  exitCode: number | null;
  seconds: number;
  /** Load averages (1 min) when the bench started and when it ended. */
  load: { start: number; end: number };
  result: unknown;
  /** Why there is no result, when there is none. */
  error?: string;
}

export const BENCHES = [
  { name: "ingest", nodeArgs: [] },
  { name: "enrich", nodeArgs: [] },
  { name: "ipmi", nodeArgs: ["--expose-gc"] },
  { name: "sim", nodeArgs: [] },
  { name: "provision", nodeArgs: [] },
  { name: "e2e", nodeArgs: [] },
  { name: "traps", nodeArgs: [] },
  { name: "sel", nodeArgs: [] },
  { name: "history", nodeArgs: [] },
] as const;
export type BenchName = (typeof BENCHES)[number]["name"];

// ---------------------------------------------------------------------------------------------------
// The parts of each bench's JSON the rows read (the benches write more).

interface IngestStep {
  step: string;
  receiver: string;
  blast: { sent: number; achievedPerSec: number };
  kept: number;
  keptPerSec: number;
  kernel: { RcvbufErrors: number; InErrors: number };
  peakRssKiB?: number;
}
interface IngestJson {
  steps: { name: string; rate: number; count: number }[];
  results: IngestStep[];
}
interface EnrichJson {
  pooled: { meanMs: number; p50Ms: number; failures: number; n: number };
  ipmitool: { meanMs: number; p50Ms: number; failures: number; n: number };
  speedup: number;
}
interface IpmiJson {
  held: { opened: number; sessions: number; perSession: { rss: number; heapUsed: number } };
}
interface SimJson {
  count: number;
  rssKiB: { perBmc: number; oneBmc: number; fleet: number };
}
interface ProvisionJson {
  count: number;
  target: { provisionSeconds: number; concurrency: number; met: boolean; applyWallS: number };
  extrapolated1000?: { ipmiutilSequentialS: number; petgateSequentialS: number };
}
interface E2eLatency {
  delivered: number;
  duplicates: number;
  p50: number | null;
  p99: number | null;
}

interface E2eJson {
  results: {
    anchor: { rate: number; sent: number; alertmanager: E2eLatency };
    petgate: {
      rate: number;
      sent: number;
      webhook: E2eLatency;
      alertmanager: E2eLatency;
      queuesEmptyMs: number | null;
      cpuMsPerEvent: { total: number; petgate: number; redis: number };
    };
  }[];
}

interface TrapsPerTrap {
  meanUs: number;
  byTrapUs: number[];
}
interface TrapsLoad {
  p50Ms: number;
  n: number;
}
interface TrapsJson {
  interpret: {
    rules: number;
    traps: { name: string }[];
    at200: TrapsPerTrap;
    catchAll: TrapsPerTrap;
    translationOnly: TrapsPerTrap;
  };
  load: {
    modules: number;
    real: number;
    generated: number;
    cold: TrapsLoad;
    cached: TrapsLoad;
    netSnmp: TrapsLoad;
  };
  sideBySide: {
    rate: number;
    petgate: { traps: number; cpuUsPerTrap: number };
    snmptt: { cpuUsPerTrap: number; events: number } | { skipped: string };
  };
}

interface SelSweep {
  wallMs: number;
  requestsPerBmc: number;
  sessionsOpened: number;
}
interface SelJson {
  count: number;
  newRecords: number;
  firstContact: SelSweep;
  quiet: SelSweep;
  tenNew: SelSweep;
  /** BMCs the sweeps could not read. */
  failures: number;
  anchors: {
    command: string;
    bmcs: number;
    msPerBmc: number;
    requestsPerBmc: number;
    fleetSerialMs: number;
  }[];
}

interface HistoryJson {
  count: number;
  runs: number;
  load: { eventsPerSec: number; fileBytes: number };
  queries: { name: string; found: number; p50Ms: number; maxMs: number }[];
  slowest: { name: string; maxMs: number };
  anchor: { ndjsonBytes: number; bmc: { ms: number }; text: { ms: number }; noMatch: { ms: number } };
}

// ---------------------------------------------------------------------------------------------------

export const TARGETS = {
  ingestRate: 20_000,
  ingestRatio: 2,
  burstKeptPct: 99.9,
  e2eP50Ms: 20,
  e2eP99Ms: 100,
  e2eCpuMsPerEvent: 0.4,
  e2eFastRate: 2000,
  e2eFastQueuesEmptyMs: 5000,
  e2eFastP99Ms: 1000,
  enrichSpeedup: 20,
  provisionSeconds: 60,
  trapRules: 200,
  trapUs: 20,
  mibModules: 100,
  mibColdMs: 2000,
  mibCachedMs: 200,
  selQuietMs: 10_000,
  selQuietRequestsPerBmc: 1,
  historyQueryMs: 100,
} as const;

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ratioOf = (a: number, b: number) => (b > 0 ? a / b : Number.POSITIVE_INFINITY);
const times = (r: number) => (Number.isFinite(r) ? `${r.toFixed(r < 10 ? 2 : 1)}×` : "∞");
const kib = (k: number) => (k >= 10_240 ? `${(k / 1024).toFixed(1)} MiB` : `${k.toFixed(1)} KiB`);
const met = (ok: boolean): Status => (ok ? "met" : "missed");

function failedRows(outcome: BenchOutcome, figures: string[]): Row[] {
  const why = outcome.error ?? `exit ${outcome.exitCode}`;
  return figures.map((figure) => ({
    bench: outcome.name,
    figure,
    value: "—",
    anchor: "—",
    ratio: "—",
    target: "—",
    status: "failed",
    note: `bench did not run: ${why}`,
  }));
}

/** Highest paced rate a receiver kept whole (every datagram, no kernel drop); 0 if none. */
function wholeRate(j: IngestJson, receiver: string): { rate: number; step?: IngestStep } {
  let best: { rate: number; step?: IngestStep } = { rate: 0 };
  for (const s of j.steps.filter((s) => s.rate > 0)) {
    const r = j.results.find((x) => x.step === s.name && x.receiver === receiver);
    if (r && r.kept === r.blast.sent && r.kernel.RcvbufErrors === 0 && s.rate > best.rate)
      best = { rate: s.rate, step: r };
  }
  return best;
}

function ingestRows(j: IngestJson): Row[] {
  const durable = j.results.some((r) => r.receiver === "petgate-durable") ? "petgate-durable" : "petgate";
  const burstStep = j.steps.find((s) => s.rate === 0);
  const at = (receiver: string, step: string | undefined) =>
    j.results.find((r) => r.receiver === receiver && r.step === step);
  const rows: Row[] = [];
  const maxRate = Math.max(...j.steps.map((s) => s.rate));
  const p = wholeRate(j, durable);
  const t = wholeRate(j, "snmptrapd");
  const anchored = j.results.some((r) => r.receiver === "snmptrapd");
  rows.push({
    bench: "ingest",
    figure: `PET traps/s received, decoded and durably queued (${durable}), 0 loss, paced`,
    value: p.rate > 0 ? `${int(p.rate)}/s` : "none kept whole",
    anchor: !anchored
      ? "— (snmptrapd not run)"
      : t.rate > 0
        ? `snmptrapd ${int(t.rate)}/s`
        : "snmptrapd: no step kept whole",
    ratio: anchored ? times(ratioOf(p.rate, t.rate)) : "—",
    target: `≥ ${int(TARGETS.ingestRate)}/s`,
    status: met(p.rate >= TARGETS.ingestRate),
    note: `steps up to ${int(maxRate)}/s; highest step with every datagram kept and no RcvbufErrors`,
  });
  const pb = at(durable, burstStep?.name);
  const tb = at("snmptrapd", burstStep?.name);
  if (burstStep && pb && tb) {
    const r = ratioOf(pb.keptPerSec, tb.keptPerSec);
    rows.push({
      bench: "ingest",
      figure: `drain rate of a ${int(burstStep.count)} burst (${durable}: kept/s, durably queued)`,
      value: `${int(pb.keptPerSec)}/s`,
      anchor: `snmptrapd ${int(tb.keptPerSec)}/s`,
      ratio: times(r),
      target: `≥ ${TARGETS.ingestRatio}×`,
      status: met(r >= TARGETS.ingestRatio),
    });
    const pct = (s: IngestStep) => (100 * s.kept) / Math.max(1, s.blast.sent);
    rows.push({
      bench: "ingest",
      figure: `${int(burstStep.count)} burst at line rate kept (${durable})`,
      value: `${pct(pb).toFixed(3)} % (RcvbufErrors ${int(pb.kernel.RcvbufErrors)})`,
      anchor: `snmptrapd ${pct(tb).toFixed(3)} % (RcvbufErrors ${int(tb.kernel.RcvbufErrors)})`,
      ratio: "—",
      target: `≥ ${TARGETS.burstKeptPct} %`,
      status: met(pct(pb) >= TARGETS.burstKeptPct),
      note: `sent at ${int(pb.blast.achievedPerSec)}/s; RcvbufErrors from /proc/net/snmp over the step`,
    });
    const listen = at("petgate", burstStep.name);
    if (listen && durable !== "petgate")
      rows.push({
        bench: "ingest",
        figure: `drain rate of the burst, listener only (\`petgate listen\`, NDJSON file)`,
        value: `${int(listen.keptPerSec)}/s`,
        anchor: `snmptrapd ${int(tb.keptPerSec)}/s`,
        ratio: times(ratioOf(listen.keptPerSec, tb.keptPerSec)),
        target: "—",
        status: "reported",
        note: "what durable queueing costs: compare with the durably queued drain rate",
      });
  } else {
    rows.push({
      bench: "ingest",
      figure: "burst",
      value: "—",
      anchor: "—",
      ratio: "—",
      target: `≥ ${TARGETS.ingestRatio}×, ≥ ${TARGETS.burstKeptPct} %`,
      status: "failed",
      note: "no burst step with both receivers in the results",
    });
  }
  const s20 = j.steps.find((s) => s.rate === TARGETS.ingestRate)?.name;
  const m = at(durable, s20);
  const mt = at("snmptrapd", s20);
  rows.push({
    bench: "ingest",
    figure: `memory: listener peak RSS at ${int(TARGETS.ingestRate)}/s (${durable})`,
    value: m?.peakRssKiB === undefined ? "—" : kib(m.peakRssKiB),
    anchor: mt?.peakRssKiB === undefined ? "—" : `snmptrapd ${kib(mt.peakRssKiB)}`,
    ratio: m?.peakRssKiB && mt?.peakRssKiB ? times(m.peakRssKiB / mt.peakRssKiB) : "—",
    target: "—",
    status: m?.peakRssKiB === undefined ? "failed" : "reported",
    ...(m?.peakRssKiB === undefined && { note: `no ${int(TARGETS.ingestRate)}/s step with an RSS` }),
  });
  return rows;
}

/**
 * At 1,000/s: p50, p99 (anchor: Alertmanager alone, same alerts, same rate) and CPU per event carry
 * targets; at 2,000/s: queues empty within 5 s of the last PET and p99; other rates are reported. A
 * target is met only when every PET reached both receivers exactly once.
 */
function e2eRows(j: E2eJson): Row[] {
  return j.results.flatMap(({ anchor, petgate: p }) => {
    const rate = `${int(p.rate)}/s`;
    const whole =
      p.webhook.delivered === p.sent &&
      p.alertmanager.delivered === p.sent &&
      p.webhook.duplicates === 0 &&
      p.alertmanager.duplicates === 0;
    const note =
      `webhook ${int(p.webhook.delivered)} of ${int(p.sent)} (${p.webhook.duplicates} duplicates), ` +
      `via Alertmanager ${int(p.alertmanager.delivered)}`;
    const ms = (x: number | null) => (x === null ? "—" : `${x} ms`);
    const latency = (what: "p50" | "p99", limit: number | undefined): Row => {
      const value = p.webhook[what];
      const am = anchor.alertmanager[what];
      return {
        bench: "e2e",
        figure: `trap → webhook received, ${what} at ${rate}`,
        value: ms(value),
        anchor: `Alertmanager alone ${ms(am)}`,
        ratio: value !== null && am ? times(value / am) : "—",
        target: limit === undefined ? "—" : `< ${limit} ms`,
        status: value === null ? "failed" : limit === undefined ? "reported" : met(value < limit && whole),
        note,
      };
    };
    if (p.rate === 1000) {
      const cpu = p.cpuMsPerEvent;
      return [
        latency("p50", TARGETS.e2eP50Ms),
        latency("p99", TARGETS.e2eP99Ms),
        {
          bench: "e2e",
          figure: `CPU per event at ${rate}, petgate serve + redis-server`,
          value: `${cpu.total} ms`,
          anchor: "—",
          ratio: "—",
          target: `≤ ${TARGETS.e2eCpuMsPerEvent} ms`,
          status: met(cpu.total <= TARGETS.e2eCpuMsPerEvent && whole),
          note: `petgate ${cpu.petgate} ms + redis ${cpu.redis} ms`,
        },
      ];
    }
    if (p.rate === TARGETS.e2eFastRate) {
      const empty = p.queuesEmptyMs;
      return [
        latency("p99", TARGETS.e2eFastP99Ms),
        {
          bench: "e2e",
          figure: `queues empty after the last PET at ${rate}`,
          value: empty === null ? "not within the bench's wait (120 s)" : ms(empty),
          anchor: "—",
          ratio: "—",
          target: `≤ ${TARGETS.e2eFastQueuesEmptyMs} ms`,
          status: empty === null ? "missed" : met(empty <= TARGETS.e2eFastQueuesEmptyMs && whole),
          note,
        },
      ];
    }
    return [latency("p50", undefined), latency("p99", undefined)];
  });
}

function enrichRows(j: EnrichJson): Row[] {
  return [
    {
      bench: "enrich",
      figure: "enrichment per event (reading + thresholds), pooled RMCP+ session, mean",
      value: `${j.pooled.meanMs.toFixed(2)} ms`,
      anchor: `ipmitool processes ${j.ipmitool.meanMs.toFixed(1)} ms`,
      ratio: times(j.speedup),
      target: `≥ ${TARGETS.enrichSpeedup}×`,
      status: met(j.speedup >= TARGETS.enrichSpeedup && j.pooled.failures === 0),
      note: `${j.pooled.n} vs ${j.ipmitool.n} events; p50 ${j.pooled.p50Ms.toFixed(2)} vs ${j.ipmitool.p50Ms.toFixed(1)} ms`,
    },
  ];
}

function provisionRows(j: ProvisionJson): Row[] {
  const anchor = j.extrapolated1000;
  return [
    {
      bench: "provision",
      figure: `provisioning ${int(j.count)} simulated BMCs (read + plan + apply + verify), concurrency ${j.target.concurrency}`,
      value: `${j.target.applyWallS.toFixed(1)} s`,
      anchor: anchor
        ? `ipmiutil \`lan -e\` one BMC after another: ${((anchor.ipmiutilSequentialS * j.count) / 1000).toFixed(1)} s (mean × ${int(j.count)})`
        : "—",
      ratio: anchor ? times((anchor.ipmiutilSequentialS * j.count) / 1000 / j.target.applyWallS) : "—",
      target: `< ${j.target.provisionSeconds} s`,
      status: met(j.target.met),
    },
  ];
}

function ipmiRows(j: IpmiJson): Row[] {
  const ok = j.held.opened === j.held.sessions;
  return [
    {
      bench: "ipmi",
      figure: `memory: RSS per RMCP+ session (${int(j.held.sessions)} held by one process)`,
      value: kib(j.held.perSession.rss / 1024),
      anchor: "—",
      ratio: "—",
      target: "—",
      status: ok ? "reported" : "failed",
      note: `heapUsed ${kib(j.held.perSession.heapUsed / 1024)} per session; ${j.held.opened} of ${j.held.sessions} opened`,
    },
  ];
}

function simRows(j: SimJson): Row[] {
  return [
    {
      bench: "sim",
      figure: `memory: RSS per simulated BMC (${int(j.count)} in one \`petgate sim\`)`,
      value: kib(j.rssKiB.perBmc),
      anchor: "—",
      ratio: "—",
      target: "—",
      status: "reported",
      note: `${kib(j.rssKiB.oneBmc)} with 1 BMC → ${kib(j.rssKiB.fleet)} with ${int(j.count)}`,
    },
  ];
}

/**
 * Issue 15: translation + rules per trap at 200 rules (anchor: the catch-all alone, no rules, same
 * traps and run), and loading 100 MIB modules cold and from the cache, each in a fresh process.
 */
function trapsRows(j: TrapsJson): Row[] {
  const i = j.interpret;
  const slowest = i.at200.byTrapUs.indexOf(Math.max(...i.at200.byTrapUs));
  const l = j.load;
  const enough = l.modules >= TARGETS.mibModules;
  const modules = `${l.modules} MIB modules (${l.real} real, ${l.generated} generated shaped like vendor MIBs)`;
  return [
    {
      bench: "traps",
      figure: `MIB translation + trap rules per trap at ${int(i.rules)} rules, one thread, mean over ${i.traps.length} real traps`,
      value: `${i.at200.meanUs} µs`,
      anchor: `catch-all alone (no rules) ${i.catchAll.meanUs} µs`,
      ratio: times(ratioOf(i.at200.meanUs, i.catchAll.meanUs)),
      target: `≤ ${TARGETS.trapUs} µs`,
      status: met(i.at200.meanUs <= TARGETS.trapUs && i.rules >= TARGETS.trapRules),
      note: `translation alone ${i.translationOnly.meanUs} µs; slowest: ${i.traps[slowest]?.name} ${i.at200.byTrapUs[slowest]} µs`,
    },
    {
      bench: "traps",
      figure: `loading ${modules} cold, fresh process, p50`,
      value: `${Math.round(l.cold.p50Ms)} ms`,
      anchor: `net-snmp \`snmptranslate -m ALL\` ${Math.round(l.netSnmp.p50Ms)} ms (no cache; snmptrapd loads them so at every start)`,
      ratio: times(ratioOf(l.netSnmp.p50Ms, l.cold.p50Ms)),
      target: `< ${int(TARGETS.mibColdMs)} ms`,
      status: met(l.cold.p50Ms < TARGETS.mibColdMs && enough),
      note: `${l.cold.n} loads`,
    },
    {
      bench: "traps",
      figure: `loading ${modules} from the cache, fresh process, p50`,
      value: `${Math.round(l.cached.p50Ms)} ms`,
      anchor: `cold ${Math.round(l.cold.p50Ms)} ms`,
      ratio: times(ratioOf(l.cached.p50Ms, l.cold.p50Ms)),
      target: `< ${int(TARGETS.mibCachedMs)} ms`,
      status: met(l.cached.p50Ms < TARGETS.mibCachedMs && enough),
      note: `${l.cached.n} loads`,
    },
    sideBySideRow(j.sideBySide, i.rules),
  ];
}

/** The same generic traps, at the same pace, to petgate's receiver and to snmptrapd + snmptt: CPU per trap. */
function sideBySideRow(s: TrapsJson["sideBySide"], rules: number): Row {
  const skipped = "skipped" in s.snmptt ? s.snmptt.skipped : undefined;
  const anchor = "skipped" in s.snmptt ? undefined : s.snmptt;
  return {
    bench: "traps",
    figure: `CPU per trap: received, translated, ${int(rules)} rules, notification as JSON (petgate receiver process) — ${int(s.petgate.traps)} generic traps at ${int(s.rate)}/s`,
    value: `${s.petgate.cpuUsPerTrap} µs`,
    anchor: anchor
      ? `snmptrapd + snmptt (embedded handler, daemon mode, ${int(anchor.events)} EVENTs) ${anchor.cpuUsPerTrap} µs`
      : `snmptrapd + snmptt not run: ${skipped}`,
    ratio: anchor ? times(ratioOf(anchor.cpuUsPerTrap, s.petgate.cpuUsPerTrap)) : "—",
    target: "—",
    status: "reported",
    note: "CPU (user + system) from before the first trap to the last one handled; snmptt's: snmptrapd's and snmptt's",
  };
}

/**
 * Issue 16: a sweep of the simulated fleet by SelSweeper with no new record (target: one Get SEL Info
 * per BMC, under 10 s) and with 10 new records on each BMC; anchor: `ipmitool sel list` and
 * `ipmi-sel` one BMC after another over a sample, the fleet serially as mean × count.
 */
function selRows(j: SelJson): Row[] {
  const fleet = int(j.count);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const [ipmitool] = j.anchors;
  const serial = j.anchors.map((a) => `\`${a.command}\` ${s(a.fleetSerialMs)}`).join(", ");
  const anchor = `one BMC after another (${ipmitool?.bmcs ?? 0} sampled, mean × ${fleet}): ${serial}`;
  const read = j.failures === 0;
  const unread = read ? "" : `; ${int(j.failures)} BMCs not read`;
  return [
    {
      bench: "sel",
      figure: `SEL sweep of ${fleet} simulated BMCs, no new record: wall time (SelSweeper, 64 BMCs at a time, sessions open)`,
      value: s(j.quiet.wallMs),
      anchor,
      ratio: ipmitool ? times(ratioOf(ipmitool.fleetSerialMs, j.quiet.wallMs)) : "—",
      target: `< ${TARGETS.selQuietMs / 1000} s`,
      status: met(j.quiet.wallMs < TARGETS.selQuietMs && read),
      note: `the first sweep (a session opened per BMC, the newest record remembered) ${s(j.firstContact.wallMs)}${unread}`,
    },
    {
      bench: "sel",
      figure: `SEL sweep of ${fleet} simulated BMCs, no new record: IPMI requests per BMC`,
      value: j.quiet.requestsPerBmc.toFixed(2),
      anchor: j.anchors.map((a) => `\`${a.command}\` ${a.requestsPerBmc.toFixed(2)}`).join(", "),
      ratio: ipmitool ? times(ratioOf(ipmitool.requestsPerBmc, j.quiet.requestsPerBmc)) : "—",
      target: `${TARGETS.selQuietRequestsPerBmc} (Get SEL Info)`,
      status: met(j.quiet.requestsPerBmc <= TARGETS.selQuietRequestsPerBmc && read),
      note: `counted by the simulator; ${int(j.quiet.sessionsOpened)} sessions opened${unread}`,
    },
    {
      bench: "sel",
      figure: `SEL sweep of ${fleet} simulated BMCs, ${j.newRecords} new records on each: wall time`,
      value: s(j.tenNew.wallMs),
      anchor,
      ratio: ipmitool ? times(ratioOf(ipmitool.fleetSerialMs, j.tenNew.wallMs)) : "—",
      target: "—",
      status: read ? "reported" : "failed",
      note: `${j.tenNew.requestsPerBmc.toFixed(2)} IPMI requests per BMC (Get SEL Info, then a Get SEL Entry per record along the chain)${unread}`,
    },
  ];
}

/**
 * Issue 17: GET /api/history's queries over a million events in the history file (target: every
 * one < 100 ms, its slowest run); anchor: grep over the same events as NDJSON, the newest 100.
 */
function historyRows(j: HistoryJson): Row[] {
  const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
  const queries = j.queries.length;
  return [
    {
      bench: "history",
      figure: `alert history: the slowest of ${queries} kinds of query over ${int(j.count)} events (filters by BMC, label, sensor type, severity, status, time, free text; pages), each run ${j.runs} times, its slowest run`,
      value: ms(j.slowest.maxMs),
      anchor: `grep over the same events as NDJSON, newest 100: one BMC ${ms(j.anchor.bmc.ms)}, a word ${ms(j.anchor.text.ms)}`,
      ratio: times(ratioOf(j.anchor.bmc.ms, j.slowest.maxMs)),
      target: `< ${TARGETS.historyQueryMs} ms`,
      status: met(j.slowest.maxMs < TARGETS.historyQueryMs),
      note: `slowest: ${j.slowest.name}`,
    },
    {
      bench: "history",
      figure: `alert history: events recorded per second (with 2 deliveries each), ${int(j.count)} in one file`,
      value: `${int(j.load.eventsPerSec)}/s`,
      anchor: "—",
      ratio: "—",
      target: "—",
      status: "reported",
      note: `file ${(j.load.fileBytes / 2 ** 20).toFixed(0)} MiB (the NDJSON of the same events ${(j.anchor.ndjsonBytes / 2 ** 20).toFixed(0)} MiB)`,
    },
  ];
}

const FIGURES: Record<BenchName, { rows: (json: never) => Row[]; figures: string[] }> = {
  ingest: {
    rows: ingestRows,
    figures: [
      "PET traps/s durably queued, 0 loss",
      "burst drain rate vs snmptrapd",
      "burst kept",
      "listener RSS",
    ],
  },
  enrich: { rows: enrichRows, figures: ["enrichment per event, pooled vs ipmitool"] },
  ipmi: { rows: ipmiRows, figures: ["RSS per RMCP+ session"] },
  sim: { rows: simRows, figures: ["RSS per simulated BMC"] },
  provision: { rows: provisionRows, figures: ["provisioning 1,000 simulated BMCs"] },
  e2e: {
    rows: e2eRows,
    figures: ["trap → webhook p50/p99 and CPU per event at 1k/s", "queues empty and p99 at 2k/s"],
  },
  traps: {
    rows: trapsRows,
    figures: [
      "translation + rules per trap at 200 rules",
      "loading 100 MIB modules cold",
      "loading 100 MIB modules cached",
      "CPU per trap beside snmptrapd + snmptt",
    ],
  },
  sel: {
    rows: selRows,
    figures: [
      "SEL sweep of 1,000 BMCs, no new record: wall time",
      "SEL sweep of 1,000 BMCs, no new record: requests per BMC",
      "SEL sweep of 1,000 BMCs, 10 new records each",
    ],
  },
  history: {
    rows: historyRows,
    figures: ["alert history: slowest query over 1M events", "alert history: events recorded per second"],
  },
};

/** The rows of every bench, in BENCHES order; a bench without a result gives "failed" rows. */
export function buildRows(outcomes: readonly BenchOutcome[]): Row[] {
  return outcomes.flatMap((o) => {
    const f = FIGURES[o.name as BenchName];
    if (!f) return [];
    if (o.result === undefined) return failedRows(o, f.figures);
    try {
      return f.rows(o.result as never);
    } catch (err) {
      return failedRows({ ...o, error: `unreadable result: ${String(err)}` }, f.figures);
    }
  });
}

const STATUS: Record<Status, string> = {
  met: "**met**",
  missed: "**MISSED**",
  reported: "reported",
  failed: "**FAILED**",
};

export interface RunInfo {
  date: string;
  quick: boolean;
  machine: string;
  load: { start: number[]; end: number[] };
}

const esc = (s: string) => s.replaceAll("|", "\\|");

/** The Markdown of latest.md, and of the generated block of docs/PERFORMANCE.md. */
export function markdown(rows: readonly Row[], outcomes: readonly BenchOutcome[], run: RunInfo): string {
  const l = (x: number) => (Number.isNaN(x) ? "—" : x.toFixed(2));
  const la = (xs: number[]) => xs.map(l).join(" / ");
  const loaded = Math.max(run.load.start[0] ?? 0, run.load.end[0] ?? 0) > 0.5;
  const lines = [
    `Measured ${run.date}${run.quick ? " (**quick** run: smaller counts)" : ""} on ${run.machine}.`,
    `Load average (1/5/15 min) at start ${la(run.load.start)}, at end ${la(run.load.end)}` +
      (loaded ? ": **a loaded machine** (other work was running), figures are lower bounds." : "."),
    "",
    "| bench | figure | value | anchor (same run) | ratio | target | |",
    "| --- | --- | ---: | --- | ---: | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.bench} | ${esc(r.figure)}${r.note ? ` — ${esc(r.note)}` : ""} | ${esc(r.value)} | ${esc(r.anchor)} | ${r.ratio} | ${esc(r.target)} | ${STATUS[r.status]} |`,
    ),
    "",
    "| bench | command | exit | time | load at start → end |",
    "| --- | --- | ---: | ---: | --- |",
    ...outcomes.map(
      (o) =>
        `| ${o.name} | \`${o.command}\` | ${o.exitCode ?? "—"} | ${o.seconds.toFixed(0)} s | ${l(o.load.start)} → ${l(o.load.end)} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

export const BLOCK_START = "<!-- bench:start -->";
export const BLOCK_END = "<!-- bench:end -->";

/** The text between the markers (exclusive, without the newlines next to them); undefined without markers. */
export function blockOf(doc: string): string | undefined {
  const a = doc.indexOf(BLOCK_START);
  const b = doc.indexOf(BLOCK_END);
  if (a === -1 || b < a) return undefined;
  return doc.slice(a + BLOCK_START.length, b).replace(/^\n/, "");
}

/** `doc` with the text between the markers replaced by `block`. */
export function replaceBlock(doc: string, block: string): string {
  const a = doc.indexOf(BLOCK_START);
  const b = doc.indexOf(BLOCK_END);
  if (a === -1 || b < a) throw new Error(`no ${BLOCK_START} … ${BLOCK_END} block`);
  return `${doc.slice(0, a + BLOCK_START.length)}\n${block}${doc.slice(b)}`;
}
