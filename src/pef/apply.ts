import type { Execute } from "../ipmi/commands/command.js";
import { readPefParameter, setPefConfigurationParameters } from "../ipmi/commands/sensor-event.js";
import {
  decodeLanParameter,
  getLanConfigurationParameters,
  LAN_PARAMETER_SELECTORS,
  type LanParameter,
  setLanConfigurationParameters,
} from "../ipmi/commands/transport.js";
import { CONFIG_PARAMETER_CODES, completionCodeName } from "../ipmi/completion-codes.js";
import { CompletionCodeError, IpmiDecodeError } from "../ipmi/errors.js";
import { PefParameterSelector, pefParameterSelector } from "../ipmi/pef.js";
import { readSelClock, syncSelClock } from "../ipmi/sel-time.js";
import { formatPlan, planPef, planSelTime } from "./plan.js";
import { readPefState } from "./read.js";
import type { PefCapacity, PefPlan, PefState, PefWrite } from "./state.js";

const NOT_SUPPORTED = 0x80;

/** Applying a plan failed at `step`; what was written has been rolled back unless `rollbackFailures` says otherwise. */
export class PefApplyError extends Error {
  constructor(
    /** E.g. "write PEF parameter 6 (filter 3)", "commit PEF (parameter 0 = 10b)". */
    readonly step: string,
    /** The completion code the BMC answered, if it answered one. */
    readonly code: number | undefined,
    /** Its name (IPMI 2.0 Table 5-2, or the configuration-parameter codes 80h-83h). */
    readonly codeName: string | undefined,
    /** Whether the BMC was brought back to what it held before (false: see rollbackFailures). */
    readonly rolledBack: boolean,
    readonly rollbackFailures: string[],
    cause: unknown,
  ) {
    const reason =
      code !== undefined
        ? `completion code ${code.toString(16).toUpperCase().padStart(2, "0")}h (${codeName})`
        : cause instanceof Error
          ? cause.message
          : String(cause);
    const after = rolledBack
      ? "the BMC was rolled back to its previous configuration"
      : rollbackFailures.length > 0
        ? `rolling back failed too: ${rollbackFailures.join("; ")}`
        : "nothing to roll back";
    super(`applying the PEF plan failed at ${step}: ${reason}; ${after}`, { cause });
    this.name = "PefApplyError";
  }
}

/** "PEF parameter 6 (filter 3)", for steps and errors. */
export function describeWrite(w: PefWrite): string {
  if (w.kind === "pef") {
    const p = w.parameter;
    const n = pefParameterSelector(p);
    switch (p.parameter) {
      case "eventFilter":
        return `PEF parameter ${n} (filter ${p.filterNumber})`;
      case "alertPolicy":
        return `PEF parameter ${n} (policy entry ${p.entryNumber})`;
      case "pefControl":
        return `PEF parameter ${n} (control)`;
      case "actionGlobalControl":
        return `PEF parameter ${n} (actions)`;
      default:
        return `PEF parameter ${n}`;
    }
  }
  const p = w.parameter;
  switch (p.parameter) {
    case "community":
      return `LAN parameter 16 (community) of channel ${w.channel}`;
    case "destinationType":
      return `LAN parameter 18 (destination ${p.set} type) of channel ${w.channel}`;
    case "destinationAddress":
      return `LAN parameter 19 (destination ${p.set} address) of channel ${w.channel}`;
    case "raw":
      return `LAN parameter ${p.selector} of channel ${w.channel}`;
    default:
      return `LAN parameter ${LAN_PARAMETER_SELECTORS[p.parameter]} of channel ${w.channel}`;
  }
}

async function write(execute: Execute, w: PefWrite): Promise<void> {
  if (w.kind === "pef") await execute(setPefConfigurationParameters, w.parameter);
  else await execute(setLanConfigurationParameters, { channel: w.channel, parameter: w.parameter });
}

type Phase = "begin" | "commit" | "complete";
const BITS: Record<Phase, string> = { begin: "01b", commit: "10b", complete: "00b" };

function setInProgress(kind: "pef" | "lan", channel: number, phase: Phase): PefWrite {
  if (kind === "pef") {
    const state = ({ begin: "inProgress", commit: "commitWrite", complete: "complete" } as const)[phase];
    return { kind, parameter: { parameter: "setInProgress", state } };
  }
  const state = ({ begin: "setInProgress", commit: "commitWrite", complete: "setComplete" } as const)[phase];
  return { kind, channel, parameter: { parameter: "setInProgress", state } };
}

/** The write that puts back what `before` holds for the parameter `w` changes; undefined if it does not say. */
function undoFromState(w: PefWrite, before: PefState): PefWrite | undefined {
  const p = w.parameter;
  if (w.kind === "pef") {
    switch (p.parameter) {
      case "pefControl":
        return { kind: "pef", parameter: { parameter: "pefControl", ...before.control } };
      case "actionGlobalControl":
        return {
          kind: "pef",
          parameter: { parameter: "actionGlobalControl", actions: { ...before.actions } },
        };
      case "eventFilter": {
        const entry = before.filters[p.filterNumber - 1];
        return entry && { kind: "pef", parameter: { ...p, entry } };
      }
      case "alertPolicy": {
        const entry = before.policies[p.entryNumber - 1];
        return entry && { kind: "pef", parameter: { ...p, entry } };
      }
      default:
        return undefined;
    }
  }
  if (before.lan.channel !== w.channel) return undefined;
  switch (p.parameter) {
    case "community":
      return { ...w, parameter: { parameter: "community", community: before.lan.community } };
    case "destinationType": {
      const d = before.lan.destinations[p.set - 1];
      return (
        d && {
          ...w,
          parameter: {
            parameter: "destinationType",
            set: p.set,
            acknowledge: d.acknowledge,
            type: d.type,
            ackTimeoutSeconds: d.ackTimeoutSeconds,
            retries: d.retries,
          },
        }
      );
    }
    case "destinationAddress": {
      const d = before.lan.destinations[p.set - 1];
      return (
        d && {
          ...w,
          parameter: {
            parameter: "destinationAddress",
            set: p.set,
            gateway: d.gateway,
            ip: d.ip,
            mac: d.mac,
          },
        }
      );
    }
    default:
      return undefined;
  }
}

/** Reads what the BMC holds now for the parameter `w` changes, as the write that would put it back. */
async function undoByReading(execute: Execute, w: PefWrite): Promise<PefWrite> {
  if (w.kind === "pef") {
    const p = w.parameter;
    const set =
      p.parameter === "eventFilter" ? p.filterNumber : p.parameter === "alertPolicy" ? p.entryNumber : 0;
    return { kind: "pef", parameter: await readPefParameter(execute, pefParameterSelector(p), set) };
  }
  const p = w.parameter;
  const selector = p.parameter === "raw" ? p.selector : LAN_PARAMETER_SELECTORS[p.parameter];
  const set = "set" in p ? p.set : 0;
  const { data } = await execute(getLanConfigurationParameters, {
    revisionOnly: false,
    channel: w.channel,
    selector,
    setSelector: set,
    blockSelector: 0,
  });
  let parameter: LanParameter;
  try {
    parameter = decodeLanParameter(selector, data);
  } catch (err) {
    // A value petgate does not model (a reserved destination type) goes back byte for byte.
    if (!(err instanceof IpmiDecodeError)) throw err;
    parameter = { parameter: "raw", selector, data };
  }
  return { kind: "lan", channel: w.channel, parameter };
}

interface Group {
  kind: "pef" | "lan";
  label: string;
  writes: PefWrite[];
  /**
   * idle: nothing sent; maybeStaged: "begin" got no answer; staged: writes go to a copy until
   * committed; immediate: the BMC has no set-in-progress (80h) and applies each write at once.
   */
  mode: "idle" | "maybeStaged" | "staged" | "immediate";
  committed: boolean;
  /** Writes that restore what this group changed, newest first. */
  undo: PefWrite[];
}

const codeOf = (err: unknown) => (err instanceof CompletionCodeError ? err.code : undefined);

export interface ApplyOptions {
  /**
   * The state the plan was made from. Restoring values after a failure (on a BMC without
   * set-in-progress, or after one table was committed and the other failed) then needs no reads;
   * without it, each parameter is read just before it is written.
   */
  before?: PefState;
  /** petgate's clock (ms), which plan.syncSelTime sets the SEL clock to. */
  now?: () => number;
}

/**
 * Writes a plan: LAN writes (channel `channel`) and PEF writes each inside their own set-in-progress
 * (parameter 0 = 01b "set in progress", the writes, 10b "commit write", 00b "set complete";
 * IPMI 2.0 §23.1, §30.3), both opened before any write and committed LAN first, so that a failure
 * before the commits leaves the BMC as it was.
 *
 * On a failure it rolls back and throws PefApplyError:
 * - a table still staged: 00b without a commit, which discards the staged writes (OpenIPMI and the
 *   petgate simulator; PROTOCOL.md §5);
 * - a BMC that answers 80h to parameter 0 (no set-in-progress) applied each write at once: the
 *   previous values are written back, newest first;
 * - LAN committed but PEF failed: LAN's previous values are written back in a set of their own.
 *
 * 81h on "set in progress" (another session holds it) fails without touching anything.
 */
export async function applyPlan(
  execute: Execute,
  plan: PefPlan,
  channel: number,
  options: ApplyOptions = {},
): Promise<void> {
  for (const w of plan.writes) {
    if (w.kind === "lan" && w.channel !== channel) {
      throw new RangeError(`the plan writes LAN channel ${w.channel}, not channel ${channel}`);
    }
  }
  // The SEL clock first: it is no parameter, has no set-in-progress and nothing to roll back.
  if (plan.syncSelTime) {
    try {
      await syncSelClock(execute, options.now);
    } catch (err) {
      const code = codeOf(err);
      throw new PefApplyError(
        "Set SEL Time",
        code,
        code === undefined ? undefined : completionCodeName(code),
        false,
        [],
        err,
      );
    }
  }
  const groups: Group[] = (
    [
      { kind: "lan", label: `LAN channel ${channel}` },
      { kind: "pef", label: "PEF" },
    ] as const
  )
    .map(({ kind, label }) => ({
      kind,
      label,
      writes: plan.writes.filter((w) => w.kind === kind),
      mode: "idle" as Group["mode"],
      committed: false,
      undo: [],
    }))
    .filter((g) => g.writes.length > 0);
  if (groups.length === 0) return;

  const undoFor = async (w: PefWrite) =>
    (options.before && undoFromState(w, options.before)) ?? (await undoByReading(execute, w));
  let step = "";
  const run = async (name: string, action: () => Promise<void>) => {
    step = name;
    await action();
  };

  try {
    for (const g of groups) {
      await run(`begin ${g.label} set (parameter 0 = ${BITS.begin})`, async () => {
        try {
          await write(execute, setInProgress(g.kind, channel, "begin"));
          g.mode = "staged";
        } catch (err) {
          if (codeOf(err) === NOT_SUPPORTED) g.mode = "immediate";
          else {
            if (codeOf(err) === undefined) g.mode = "maybeStaged";
            throw err;
          }
        }
      });
    }
    for (const [i, g] of groups.entries()) {
      // Values to restore are needed where a write takes effect before the whole plan has: at once,
      // or in a table committed before another one.
      const needsUndo = g.mode === "immediate" || i < groups.length - 1;
      for (const w of g.writes) {
        await run(`write ${describeWrite(w)}`, async () => {
          if (needsUndo) g.undo.unshift(await undoFor(w));
          await write(execute, w);
        });
      }
    }
    for (const g of groups) {
      if (g.mode !== "staged") {
        g.committed = true;
        continue;
      }
      await run(`commit ${g.label} (parameter 0 = ${BITS.commit})`, async () => {
        try {
          await write(execute, setInProgress(g.kind, channel, "commit"));
        } catch (err) {
          // Commit write is optional (IPMI 2.0 §23.1): without it, "set complete" applies the set.
          if (codeOf(err) !== NOT_SUPPORTED) throw err;
          await write(execute, setInProgress(g.kind, channel, "complete"));
          g.mode = "idle";
        }
        g.committed = true;
      });
    }
  } catch (err) {
    const failures = await rollBack(execute, groups, channel);
    const code = codeOf(err);
    throw new PefApplyError(
      step,
      code,
      code === undefined ? undefined : completionCodeName(code, CONFIG_PARAMETER_CODES),
      failures.length === 0 && groups.some((g) => g.mode !== "idle" || g.committed),
      failures,
      err,
    );
  }

  // Everything is committed; end the sets. A failure here leaves the changes in place.
  for (const g of groups) {
    if (g.mode !== "staged") continue;
    const name = `complete ${g.label} set (parameter 0 = ${BITS.complete})`;
    try {
      await write(execute, setInProgress(g.kind, channel, "complete"));
    } catch (err) {
      const code = codeOf(err);
      throw new PefApplyError(
        name,
        code,
        code === undefined ? undefined : completionCodeName(code, CONFIG_PARAMETER_CODES),
        false,
        ["the changes were committed; the set may still be marked in progress"],
        err,
      );
    }
  }
}

/** Undoes what a failed apply did, newest table first; returns what could not be undone. */
async function rollBack(execute: Execute, groups: Group[], channel: number): Promise<string[]> {
  const failures: string[] = [];
  const attempt = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
      return true;
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  for (const g of [...groups].reverse()) {
    if ((g.mode === "staged" || g.mode === "maybeStaged") && !g.committed) {
      // 00b without a commit discards the staged writes.
      await attempt(`roll back ${g.label} (parameter 0 = ${BITS.complete})`, () =>
        write(execute, setInProgress(g.kind, channel, "complete")),
      );
      continue;
    }
    if (g.mode === "idle" && !g.committed) continue;
    // Applied already: write the previous values back, in a set of their own where the BMC has one.
    if (g.mode === "staged") {
      if (
        !(await attempt(`end ${g.label} set`, () =>
          write(execute, setInProgress(g.kind, channel, "complete")),
        ))
      )
        continue;
    }
    let staged = false;
    if (g.mode !== "immediate") {
      staged = await attempt(`begin ${g.label} set to restore`, () =>
        write(execute, setInProgress(g.kind, channel, "begin")),
      );
      if (!staged) continue;
    }
    for (const w of g.undo) await attempt(`restore ${describeWrite(w)}`, () => write(execute, w));
    if (staged) {
      await attempt(`commit restored ${g.label}`, () =>
        write(execute, setInProgress(g.kind, channel, "commit")),
      );
      await attempt(`complete ${g.label} set`, () =>
        write(execute, setInProgress(g.kind, channel, "complete")),
      );
    }
  }
  return failures;
}

export interface PlanOptions {
  /** Plan setting the SEL clock when it is off by more than this many seconds; absent = leave it. */
  selTimeToleranceSeconds?: number;
  /** petgate's clock (ms). */
  now?: () => number;
}

/**
 * Reads one BMC's PEF and LAN alerting (and its SEL clock, given a tolerance) and plans what brings
 * it to the desired state, which may be given as a function of the BMC's table sizes.
 */
export async function readAndPlan(
  execute: Execute,
  desiredState: PefState | ((capacity: PefCapacity) => PefState),
  channel: number,
  options: PlanOptions = {},
): Promise<{ state: PefState; desired: PefState; plan: PefPlan }> {
  const { state, capacity } = await readPefState(execute, channel).catch((err: unknown) => {
    throw new Error(`reading the BMC's PEF configuration: ${message(err)}`, { cause: err });
  });
  const desired = typeof desiredState === "function" ? desiredState(capacity) : desiredState;
  const plan = planPef(state, desired, capacity);
  const tolerance = options.selTimeToleranceSeconds;
  if (tolerance === undefined) return { state, desired, plan };
  const clock = await readSelClock(execute, options.now).catch((err: unknown) => {
    throw new Error(`reading the BMC's SEL time: ${message(err)}`, { cause: err });
  });
  return { state, desired, plan: planSelTime(plan, clock, tolerance) };
}

/** Reads the BMC again and plans again: an empty plan means it holds the desired state. */
export async function verifyPefState(
  execute: Execute,
  desired: PefState,
  channel: number,
  options: PlanOptions = {},
): Promise<PefPlan> {
  return (await readAndPlan(execute, desired, channel, options)).plan;
}

export interface ProvisionResult {
  /** unchanged: the BMC already held it; changed: written and verified (dry run: would be written). */
  status: "unchanged" | "changed" | "failed";
  plan: PefPlan;
  error?: string;
}

const EMPTY_PLAN: PefPlan = { changes: [], writes: [] };
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Read → plan → (apply → verify) for one BMC; never throws: a failure is a "failed" result. The
 * desired state may be given as a function of what the BMC holds room for (its table sizes).
 */
export async function provision(
  execute: Execute,
  desiredState: PefState | ((capacity: PefCapacity) => PefState),
  channel: number,
  options: PlanOptions & { dryRun?: boolean } = {},
): Promise<ProvisionResult> {
  let plan: PefPlan = EMPTY_PLAN;
  try {
    const read = await readAndPlan(execute, desiredState, channel, options);
    plan = read.plan;
    if (plan.changes.length === 0) return { status: "unchanged", plan };
    if (options.dryRun) return { status: "changed", plan };
    await applyPlan(execute, plan, channel, { before: read.state, ...(options.now && { now: options.now }) });
    const left = await verifyPefState(execute, read.desired, channel, options).catch((err: unknown) => {
      throw new Error(`verifying after writing: ${message(err)}`, { cause: err });
    });
    if (left.changes.length > 0) {
      return {
        status: "failed",
        plan,
        error: `written, but the BMC does not hold it: ${formatPlan(left).join("; ")}`,
      };
    }
    return { status: "changed", plan };
  } catch (err) {
    return { status: "failed", plan, error: message(err) };
  }
}

/** PEF parameter 0 (for callers that want to know whether a set is left in progress). */
export async function pefSetInProgress(execute: Execute): Promise<string> {
  const p = await readPefParameter(execute, PefParameterSelector.SetInProgress);
  return p.parameter === "setInProgress" ? p.state : "unknown";
}
