import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import { ConfigError, loadConfig, SecretError } from "../config/load.js";
import { requireConfigFile } from "../config/path.js";
import type { Config } from "../config/schema.js";
import { provision, readAndPlan } from "../pef/apply.js";
import { describeFilter, describePolicy } from "../pef/describe.js";
import { desiredPefState } from "../pef/desired.js";
import { type FleetOutcome, runFleet } from "../pef/fleet.js";
import { readPefState } from "../pef/read.js";
import type { PefPlan, PefState } from "../pef/state.js";
import { parseDuration } from "../pipeline/alerting/route.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate pef plan  [--config FILE] [--json] [BMC...]
       petgate pef apply [--config FILE] [--concurrency N] [--deadline MS] [--dry-run] [--json] [BMC...]
       petgate pef show  [--config FILE] [--json] BMC

plan   reads each BMC's PEF and LAN alerting over RMCP+ and prints what apply would change;
       exit 0 = nothing to change, 2 = changes pending, 1 = errors
apply  writes only what differs, inside set-in-progress (rolled back on failure), then reads it all
       back and verifies; one line per BMC (JSON when not on a terminal) and a summary
show   one BMC's PEF and alert configuration, in words

BMC... limits the run to these inventory names (default: all).`;

export async function pefCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: "string" },
      json: { type: "boolean" },
      concurrency: { type: "string" },
      deadline: { type: "string" },
      "dry-run": { type: "boolean" },
    },
    HELP,
  );
  const [action, ...names] = positionals;
  if (action !== "plan" && action !== "apply" && action !== "show")
    throw new UsageError(`expected plan, apply or show\n${HELP}`);
  let config: Config;
  let targets: BmcTarget[];
  try {
    config = loadConfig(requireConfigFile(values.config));
    targets = resolveBmcs(config, names.length > 0 ? names : undefined);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError || err instanceof RangeError) {
      process.stderr.write(`petgate pef ${action}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const pef = config.pef;
  if (action !== "show" && !pef) {
    process.stderr.write(
      `petgate pef ${action}: the configuration has no pef: section (the desired state)\n`,
    );
    return 1;
  }
  if (action === "show" && names.length !== 1) throw new UsageError("show takes exactly one BMC name");
  const options = {
    concurrency: Number(values.concurrency ?? 16),
    deadlineMs: Number(values.deadline ?? 30_000),
    log: (line: string) => process.stderr.write(`${line}\n`),
  };
  const channel = pef?.channel ?? 1;
  const planOptions = pef && { selTimeToleranceSeconds: parseDuration(pef.sel_time_tolerance) / 1000 };

  if (action === "show") {
    const [outcome] = await runFleet(targets, (execute) => readPefState(execute, channel), options);
    if (!outcome?.ok) {
      process.stderr.write(
        `petgate pef show: ${outcome?.bmc}: ${outcome && !outcome.ok ? outcome.error : "not found"}\n`,
      );
      return 1;
    }
    process.stdout.write(
      values.json ? `${JSON.stringify(outcome.value)}\n` : `${showText(outcome.bmc, outcome.value.state)}\n`,
    );
    return 0;
  }

  const live = process.stderr.isTTY && !values.json;
  let done = 0;
  const progress = (outcome: FleetOutcome<unknown>) => {
    done++;
    if (live) {
      const width = 30;
      const filled = Math.round((done / targets.length) * width);
      process.stderr.write(
        `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${targets.length} ${outcome.bmc.padEnd(24)}`,
      );
    }
  };

  if (action === "plan" || values["dry-run"]) {
    const outcomes = await runFleet(
      targets,
      async (execute) =>
        (
          await readAndPlan(
            execute,
            (capacity) => desiredPefState(pef as NonNullable<typeof pef>, capacity),
            channel,
            planOptions,
          )
        ).plan,
      options,
      progress,
    );
    if (live) process.stderr.write("\n");
    for (const o of sortByName(outcomes))
      process.stdout.write(`${values.json ? JSON.stringify(planJson(o)) : planText(o)}\n`);
    if (outcomes.some((o) => !o.ok)) return 1;
    return outcomes.some((o) => o.ok && o.value.changes.length > 0) ? 2 : 0;
  }

  const outcomes = await runFleet(
    targets,
    async (execute) =>
      provision(execute, (capacity) => desiredPefState(pef as NonNullable<typeof pef>, capacity), channel, {
        ...planOptions,
        dryRun: false,
      }),
    options,
    (o) => {
      progress(o);
      if (!live) process.stdout.write(`${JSON.stringify(applyJson(o))}\n`);
    },
  );
  if (live) process.stderr.write("\n");
  const rows = sortByName(outcomes).map(applyJson);
  const count = (status: string) => rows.filter((r) => r.status === status).length;
  const summary = [
    "BMC                       status     changes  ms",
    ...rows.map(
      (r) =>
        `${r.bmc.padEnd(25)} ${r.status.padEnd(10)} ${String(r.changes).padStart(7)}  ${Math.round(r.ms)}${r.error ? `  ${r.error}` : ""}`,
    ),
    `${rows.length} BMCs: ${count("changed")} changed, ${count("unchanged")} unchanged, ${count("failed")} failed`,
  ];
  process.stderr.write(`${summary.join("\n")}\n`);
  return count("failed") > 0 ? 1 : 0;
}

function sortByName<T extends { bmc: string }>(outcomes: T[]): T[] {
  return [...outcomes].sort((a, b) => a.bmc.localeCompare(b.bmc, undefined, { numeric: true }));
}

function planText(o: FleetOutcome<PefPlan>): string {
  if (!o.ok) return `${o.bmc}: error: ${o.error}`;
  if (o.value.changes.length === 0) return `${o.bmc}: no changes`;
  return [
    `${o.bmc}: ${o.value.changes.length} change(s)`,
    ...o.value.changes.map((c) => `  ${c.what}: ${c.from} → ${c.to}`),
  ].join("\n");
}

function planJson(o: FleetOutcome<PefPlan>) {
  return o.ok
    ? { bmc: o.bmc, changes: o.value.changes, writes: o.value.writes.length }
    : { bmc: o.bmc, error: o.error };
}

function applyJson(o: FleetOutcome<Awaited<ReturnType<typeof provision>>>) {
  if (!o.ok) return { bmc: o.bmc, status: "failed", changes: 0, ms: o.ms, error: o.error };
  const { status, plan, error } = o.value;
  return { bmc: o.bmc, status, changes: plan.changes.length, ms: o.ms, ...(error && { error }) };
}

function showText(name: string, s: PefState): string {
  const filters = s.filters.map((f, i) => `  filter ${String(i + 1).padStart(2)}: ${describeFilter(f)}`);
  const policies = s.policies.flatMap((p, i) =>
    p.enabled ? [`  entry ${String(i + 1).padStart(2)}: ${describePolicy(p)}`] : [],
  );
  const destinations = s.lan.destinations.flatMap((d, i) =>
    d
      ? [
          `  destination ${i + 1}: ${d.type}${d.acknowledge ? `, ack ${d.ackTimeoutSeconds} s × ${d.retries}` : ""} → ${d.ip} (${d.mac})`,
        ]
      : [],
  );
  return [
    `${name}: PEF ${s.control.enable ? "enabled" : "disabled"}, alert action ${s.actions.alert ? "on" : "off"}`,
    "event filters:",
    ...filters,
    "alert policies:",
    ...(policies.length > 0 ? policies : ["  (none enabled)"]),
    `LAN channel ${s.lan.channel}: community "${s.lan.community}"`,
    ...(destinations.length > 0 ? destinations : ["  (no alert destinations)"]),
  ].join("\n");
}
