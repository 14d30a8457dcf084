import type { AlertPolicyEntry, EventDataFilter, EventFilterEntry, PefActionFlags } from "../ipmi/pef.js";
import { formatSelTime, formatSkew, type SelClock } from "../ipmi/sel-time.js";
import { describeFilter, describePolicy } from "./describe.js";
import type { AlertDestination, PefCapacity, PefPlan, PefState, PefWrite, PlanChange } from "./state.js";

/** The desired state does not fit the BMC: more filters, policy entries or destinations than it has. */
export class PefPlanError extends Error {
  constructor(
    readonly table: "filters" | "policies" | "destinations",
    readonly needed: number,
    readonly available: number,
    message: string,
  ) {
    super(message);
    this.name = "PefPlanError";
  }
}

// ---- semantic equality ------------------------------------------------------------------------

function sameDataFilter(a: EventDataFilter, b: EventDataFilter): boolean {
  // An AND mask of 0 matches any data: the compare values then mean nothing.
  if (a.andMask === 0 && b.andMask === 0) return true;
  return a.andMask === b.andMask && a.compare1 === b.compare1 && a.compare2 === b.compare2;
}

/**
 * Two filter entries do the same thing: both disabled (whatever their other bytes), or equal in every
 * field that counts. The reserved configuration bits (ipmiutil's junk) do not count; the
 * configuration type does (ipmiutil marks its filters "manufacturer pre-configured").
 */
export function sameFilter(a: EventFilterEntry, b: EventFilterEntry): boolean {
  if (!a.enabled && !b.enabled) return true;
  if (a.enabled !== b.enabled || a.configType !== b.configType) return false;
  const acts = Object.keys(a.actions) as (keyof EventFilterEntry["actions"])[];
  if (acts.some((k) => a.actions[k] !== b.actions[k])) return false;
  if (a.actions.alert && a.alertPolicyNumber !== b.alertPolicyNumber) return false;
  if (a.actions.groupControl && a.groupControlSelector !== b.groupControlSelector) return false;
  return (
    a.severity === b.severity &&
    a.generatorId1 === b.generatorId1 &&
    a.generatorId2 === b.generatorId2 &&
    a.sensorType === b.sensorType &&
    a.sensorNumber === b.sensorNumber &&
    a.eventTrigger === b.eventTrigger &&
    a.eventData1OffsetMask === b.eventData1OffsetMask &&
    sameDataFilter(a.eventData1, b.eventData1) &&
    sameDataFilter(a.eventData2, b.eventData2) &&
    sameDataFilter(a.eventData3, b.eventData3)
  );
}

/** Two alert policy entries are the same: both disabled, or equal field by field. */
export function samePolicy(a: AlertPolicyEntry, b: AlertPolicyEntry): boolean {
  if (!a.enabled && !b.enabled) return true;
  return (
    a.enabled === b.enabled &&
    a.policyNumber === b.policyNumber &&
    a.policyType === b.policyType &&
    a.channel === b.channel &&
    a.destinationSelector === b.destinationSelector &&
    a.eventSpecificAlertString === b.eventSpecificAlertString &&
    a.alertStringSet === b.alertStringSet
  );
}

const normalMac = (mac: string) => mac.toLowerCase().replace(/-/g, ":");
const normalIp = (ip: string) =>
  ip
    .split(".")
    .map((p) => (/^\d+$/.test(p) ? String(Number(p)) : p))
    .join(".");

function sameDestinationType(a: AlertDestination, b: AlertDestination): boolean {
  return (
    a.type === b.type &&
    a.acknowledge === b.acknowledge &&
    a.ackTimeoutSeconds === b.ackTimeoutSeconds &&
    a.retries === b.retries
  );
}

function sameDestinationAddress(a: AlertDestination, b: AlertDestination): boolean {
  return (
    a.gateway === b.gateway && normalIp(a.ip) === normalIp(b.ip) && normalMac(a.mac) === normalMac(b.mac)
  );
}

const sameFlags = <T extends object>(a: T, b: T) =>
  (Object.keys(a) as (keyof T)[]).every((k) => a[k] === b[k]);

// ---- words ------------------------------------------------------------------------------------

function describeControl(c: PefState["control"]): string {
  const on = (b: boolean) => (b ? "on" : "off");
  return `PEF ${on(c.enable)}, event messages ${on(c.eventMessages)}, startup delay ${on(c.startupDelay)}, alert startup delay ${on(c.alertStartupDelay)}`;
}

function describeActions(a: PefActionFlags): string {
  const names = Object.entries(a)
    .filter(([, on]) => on)
    .map(([name]) => name);
  return names.length === 0 ? "none" : names.join(" + ");
}

function describeType(d: AlertDestination | undefined): string {
  if (!d) return "unknown (not readable as PET/OEM)";
  const type = { pet: "PET", oem1: "OEM 1", oem2: "OEM 2" }[d.type];
  return d.acknowledge
    ? `${type}, acknowledged, timeout ${d.ackTimeoutSeconds} s, ${d.retries} retries`
    : `${type}, not acknowledged (timeout ${d.ackTimeoutSeconds} s, ${d.retries} retries)`;
}

function describeAddress(d: AlertDestination | undefined): string {
  if (!d) return "unknown (not an IPv4 address)";
  return `${d.ip} (MAC ${normalMac(d.mac)}, ${d.gateway} gateway)`;
}

// ---- capacity ---------------------------------------------------------------------------------

/** 1-based numbers of the entries that matter: enabled filters/policies, defined destinations. */
function used<T>(list: readonly (T | undefined)[], counts: (e: T) => boolean): number {
  let last = 0;
  list.forEach((e, i) => {
    if (e !== undefined && counts(e)) last = i + 1;
  });
  return last;
}

function checkCapacity(desired: PefState, capacity: PefCapacity): void {
  const filters = used(desired.filters, (f) => f.enabled);
  if (filters > capacity.filters) {
    throw new PefPlanError(
      "filters",
      filters,
      capacity.filters,
      `the desired state enables event filter ${filters}, but the BMC serves ${capacity.filters} event filters (PEF parameter 5 and what it answers for parameter 6)`,
    );
  }
  const policies = used(desired.policies, (p) => p.enabled);
  if (policies > capacity.policies) {
    throw new PefPlanError(
      "policies",
      policies,
      capacity.policies,
      `the desired state enables alert policy entry ${policies}, but the BMC serves ${capacity.policies} alert policy entries (PEF parameter 8 and what it answers for parameter 9)`,
    );
  }
  const destinations = used(desired.lan.destinations, () => true);
  if (destinations > capacity.destinations) {
    throw new PefPlanError(
      "destinations",
      destinations,
      capacity.destinations,
      capacity.destinations === 0
        ? `the desired state sets LAN alert destination ${destinations}, but the BMC has no LAN alert destinations (LAN parameter 17 = 0, or parameters 18/19 unsupported; OpenIPMI's ipmi_sim, for one, has none)`
        : `the desired state sets LAN alert destination ${destinations}, but the BMC has ${capacity.destinations} (LAN parameter 17 and what it answers for parameters 18/19)`,
    );
  }
}

// ---- the plan ---------------------------------------------------------------------------------

/**
 * What it takes to bring a BMC from `current` to `desired`: the fewest parameter writes, and the same
 * differences in words. Compares semantically (see sameFilter, samePolicy). petgate owns the filter
 * and policy tables: an entry past the end of the desired list is to be disabled (an enabled one
 * left by another tool is disabled by writing it back with only the enable bit cleared). A desired
 * destination that is `undefined` is left alone.
 *
 * Writes come LAN first (community, destinations), then PEF filters and policies, then PEF actions
 * and control; a change that turns PEF off goes first instead, so that a BMC that applies writes at
 * once (no set-in-progress) never alerts on a half-written table.
 *
 * Throws PefPlanError when the desired state needs more entries than `capacity` holds.
 */
export function planPef(current: PefState, desired: PefState, capacity: PefCapacity): PefPlan {
  checkCapacity(desired, capacity);
  const changes: PlanChange[] = [];
  const lanWrites: PefWrite[] = [];
  const tableWrites: PefWrite[] = [];
  const globalWrites: PefWrite[] = [];
  const channel = desired.lan.channel;

  // LAN parameter 16.
  if (current.lan.community !== desired.lan.community) {
    changes.push({
      what: "community",
      from: JSON.stringify(current.lan.community),
      to: JSON.stringify(desired.lan.community),
    });
    lanWrites.push({
      kind: "lan",
      channel,
      parameter: { parameter: "community", community: desired.lan.community },
    });
  }

  // LAN parameters 18, 19.
  desired.lan.destinations.forEach((want, i) => {
    if (want === undefined) return;
    const set = i + 1;
    const have = current.lan.destinations[i];
    if (!have || !sameDestinationType(have, want)) {
      changes.push({ what: `destination ${set} type`, from: describeType(have), to: describeType(want) });
      lanWrites.push({
        kind: "lan",
        channel,
        parameter: {
          parameter: "destinationType",
          set,
          acknowledge: want.acknowledge,
          type: want.type,
          ackTimeoutSeconds: want.ackTimeoutSeconds,
          retries: want.retries,
        },
      });
    }
    if (!have || !sameDestinationAddress(have, want)) {
      changes.push({
        what: `destination ${set} address`,
        from: describeAddress(have),
        to: describeAddress(want),
      });
      lanWrites.push({
        kind: "lan",
        channel,
        parameter: {
          parameter: "destinationAddress",
          set,
          gateway: want.gateway,
          ip: want.ip,
          mac: want.mac,
        },
      });
    }
  });

  // PEF parameter 6, every filter the BMC has.
  for (let i = 0; i < capacity.filters; i++) {
    const have = current.filters[i];
    const want = desired.filters[i] ?? (have && { ...have, enabled: false });
    if (!want || (have && sameFilter(have, want))) continue;
    const filterNumber = i + 1;
    changes.push({
      what: `filter ${filterNumber}`,
      from: have ? describeFilter(have) : "unknown",
      to: describeFilter(want),
    });
    tableWrites.push({ kind: "pef", parameter: { parameter: "eventFilter", filterNumber, entry: want } });
  }

  // PEF parameter 9, every entry the BMC has.
  for (let i = 0; i < capacity.policies; i++) {
    const have = current.policies[i];
    const want = desired.policies[i] ?? (have && { ...have, enabled: false });
    if (!want || (have && samePolicy(have, want))) continue;
    const entryNumber = i + 1;
    changes.push({
      what: `policy entry ${entryNumber}`,
      from: have ? describePolicy(have) : "unknown",
      to: describePolicy(want),
    });
    tableWrites.push({ kind: "pef", parameter: { parameter: "alertPolicy", entryNumber, entry: want } });
  }

  // PEF parameters 2 and 1.
  let turnsOff = false;
  if (!sameFlags(current.actions, desired.actions)) {
    changes.push({
      what: "PEF actions",
      from: describeActions(current.actions),
      to: describeActions(desired.actions),
    });
    globalWrites.push({
      kind: "pef",
      parameter: { parameter: "actionGlobalControl", actions: { ...desired.actions } },
    });
  }
  if (!sameFlags(current.control, desired.control)) {
    changes.push({
      what: "PEF control",
      from: describeControl(current.control),
      to: describeControl(desired.control),
    });
    globalWrites.push({ kind: "pef", parameter: { parameter: "pefControl", ...desired.control } });
    turnsOff = current.control.enable && !desired.control.enable;
  }

  const pefWrites = turnsOff
    ? [...globalWrites.reverse(), ...tableWrites]
    : [...tableWrites, ...globalWrites];
  return { changes, writes: [...lanWrites, ...pefWrites] };
}

/**
 * The plan with the SEL clock set to petgate's when it is off by more than `toleranceSeconds`: SEL
 * records and PETs carry the BMC's time, and a wrong one misdates every event.
 */
export function planSelTime(plan: PefPlan, clock: SelClock, toleranceSeconds: number): PefPlan {
  if (Math.abs(clock.skewSeconds) <= toleranceSeconds) return plan;
  return {
    changes: [
      ...plan.changes,
      {
        what: "SEL time",
        from: `${formatSelTime(clock.bmcTime)}, ${formatSkew(clock.skewSeconds)}`,
        to: "petgate's clock",
      },
    ],
    writes: plan.writes,
    syncSelTime: true,
  };
}

/** The plan as lines for people: "filter 3: disabled → …". */
export function formatPlan(plan: PefPlan): string[] {
  return plan.changes.map((c) => `${c.what}: ${c.from} → ${c.to}`);
}
