import type { BmcTarget } from "../../config/inventory.js";
import type { IpmiClient } from "../../ipmi/client/client.js";
import { IpmiAuthError, IpmiRefusedError, IpmiTimeoutError } from "../../ipmi/client/errors.js";
import type { Execute } from "../../ipmi/commands/command.js";
import type {
  CompactSensorRecord,
  EventOnlySensorRecord,
  FullSensorRecord,
  SdrRecord,
} from "../../ipmi/sdr/records.js";
import { readSensor, type SensorView } from "../../ipmi/sensors.js";
import type { PetEvent } from "../../pet/event.js";
import type { EnrichmentFacts } from "../alerting/notification.js";
import { type BmcPool, bmcsAt, matchBmc } from "../bmc/bmc-pool.js";
import type { CircuitBreaker } from "../bmc/breaker.js";
import type { QueuedEvent } from "../intake/event.js";
import { executeUntil, type SdrCache } from "./sdr-cache.js";

export interface EnrichContext {
  inventory: readonly BmcTarget[];
  pool: BmcPool;
  sdr: SdrCache;
  breaker: CircuitBreaker;
  /** The whole enrichment of a batch, every IPMI call included; default 3000 ms. */
  deadlineMs?: number;
}

/** The event's sensor as its SDR describes it and the BMC read it during enrichment. */
export interface EnrichedSensor {
  name: string;
  /** Engineering units; null for discrete sensors or when unavailable. */
  reading: number | null;
  unit: string;
  thresholds: Record<string, number>;
  entityId: number;
  entityInstance: number;
  sensorType: number;
  /** ok, or the most severe threshold crossed now (nc / cr / nr); ns = no reading. */
  status: SensorView["status"];
  /** Asserted states of a discrete sensor now, bit N = offset N. */
  states: number | null;
}

export interface Enrichment extends EnrichmentFacts {
  /**
   * ok: the BMC answered in time (what it had is below). timeout: it did not, or petgate's queue for
   * it was full. circuit-open: it failed recently and was not asked. unknown-bmc: the PET's sender is
   * not in the inventory. none: nothing to ask (not a PET), or every question failed (see `error`).
   */
  status: "ok" | "timeout" | "circuit-open" | "unknown-bmc" | "none";
  bmc?: { name: string; address: string; labels: Record<string, string> };
  sensor?: EnrichedSensor;
  /** What went wrong, when something did. */
  error?: string;
}

export const DEFAULT_DEADLINE_MS = 3000;

/** enrichBatch of one event. */
export async function enrich(event: QueuedEvent, context: EnrichContext): Promise<Enrichment> {
  return (await enrichBatch([event], context))[0] as Enrichment;
}

/**
 * Adds what the BMC knows to each event: which BMC it is, the sensor's SDR (name, entity, unit) with
 * its live reading and thresholds. Result i is events[i]'s; never throws. The SEL is not read here:
 * reconciliation (src/pipeline/sel/) reads it off the events path and matches it to the PETs seen.
 *
 * Events of one BMC share its reads: one Get Sensor Reading (and Thresholds) per distinct sensor. With
 * the SDR cached that is one round trip: Get SDR Repository Info (unless SdrCache checked it lately)
 * and the readings and thresholds are in flight at once.
 *
 * Bounded in time and in work: everything ends by `deadlineMs` (each IPMI call is given what is left
 * of it, and a BMC's events are returned at the deadline whatever is still out); calls go through the
 * BMC's pooled client, whose bulkhead refuses calls beyond maxInFlight + maxQueued at once; a BMC
 * whose circuit is open is not asked at all. The breaker hears once per BMC and batch: a timeout (or
 * a refused login) is a failure, an answer a success; a refusal by the full bulkhead neither (the BMC
 * did not fail, petgate shed load).
 */
export async function enrichBatch(
  events: readonly QueuedEvent[],
  context: EnrichContext,
): Promise<Enrichment[]> {
  try {
    return await runBatch(events, context);
  } catch (err) {
    return events.map(() => ({ status: "none", error: message(err) }));
  }
}

async function runBatch(events: readonly QueuedEvent[], ctx: EnrichContext): Promise<Enrichment[]> {
  const deadline = Date.now() + (ctx.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const unasked = bmcsToAskGuids(events, ctx);
  if (unasked.length > 0) {
    const wait = Math.max(0, deadline - Date.now());
    await Promise.allSettled(unasked.map((t) => ctx.pool.readGuid(t, wait)));
  }
  const results: Enrichment[] = [];
  const byBmc = new Map<string, { target: BmcTarget; indexes: number[]; pets: PetEvent[] }>();
  events.forEach(({ trap, sel }, i) => {
    // A SEL record's event names the BMC it was read from; a trap is matched by address or GUID.
    const match = sel ? undefined : matchBmc(trap, ctx.inventory, ctx.pool);
    const target = sel ? ctx.inventory.find((t) => t.name === sel.bmc) : match?.target;
    if (!target) {
      results[i] = { status: trap.kind === "pet" ? "unknown-bmc" : "none" };
      return;
    }
    if (trap.kind !== "pet") {
      results[i] = { status: "none", bmc: describeBmc(target) };
      return;
    }
    if (match && match.by !== "guid") ctx.pool.learnGuid(trap.pet.guid, target.name);
    const group = byBmc.get(target.name) ?? { target, indexes: [], pets: [] };
    byBmc.set(target.name, group);
    group.indexes.push(i);
    group.pets.push(trap.pet);
  });
  await Promise.all(
    [...byBmc.values()].map(async ({ target, indexes, pets }) => {
      const answers = await enrichFromBmc(target, pets, ctx, deadline);
      indexes.forEach((index, j) => {
        results[index] = answers[j] as Enrichment;
      });
    }),
  );
  return results;
}

/**
 * PETs from an address several inventory BMCs share (one host with BMCs on several ports, a NAT
 * gateway), whose GUID no earlier PET taught: the BMCs there whose GUID is still unknown, to be asked
 * for it (Get System GUID, IPMI 2.0 §22.14, once each) before matching again.
 */
function bmcsToAskGuids(events: readonly QueuedEvent[], ctx: EnrichContext): BmcTarget[] {
  const named = new Set(ctx.pool.guids.values());
  const unasked = new Map<string, BmcTarget>();
  for (const { trap, sel } of events) {
    if (trap.kind !== "pet" || sel || matchBmc(trap, ctx.inventory, ctx.pool)) continue;
    for (const t of bmcsAt(trap.source.address, ctx.inventory, ctx.pool)) {
      if (!named.has(t.name) && !unasked.has(t.name) && ctx.breaker.allow(t.name)) unasked.set(t.name, t);
    }
  }
  return [...unasked.values()];
}

function describeBmc(target: BmcTarget): NonNullable<Enrichment["bmc"]> {
  return { name: target.name, address: target.host, labels: { ...target.labels } };
}

/** What one event got from its BMC's reads, and what failed. */
interface Slot {
  sensor?: EnrichedSensor;
  error?: unknown;
}

/** The events of one BMC, enriched from reads they share; by the deadline, whatever is still out. */
async function enrichFromBmc(
  target: BmcTarget,
  pets: readonly PetEvent[],
  ctx: EnrichContext,
  deadline: number,
): Promise<Enrichment[]> {
  const bmc = describeBmc(target);
  if (!ctx.breaker.allow(target.name)) return pets.map(() => ({ status: "circuit-open", bmc }));
  const sensors = sharedReads(target.name, ctx.pool.get(target), pets, ctx, deadline);
  const slots: Slot[] = pets.map(() => ({}));
  const gathered = sensors.then(
    (each) =>
      Promise.all(
        slots.map(async (slot, i) => {
          try {
            slot.sensor = await each[i];
          } catch (err) {
            slot.error = err;
          }
        }),
      ),
    (err: unknown) => {
      for (const slot of slots) slot.error = err;
    },
  );

  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<"overdue">((resolve) => {
    timer = setTimeout(() => resolve("overdue"), Math.max(0, deadline - Date.now()));
  });
  const outcome = await Promise.race([gathered, overdue]);
  clearTimeout(timer);

  const found = ({ sensor }: Slot) => (sensor ? { sensor } : {});
  if (outcome === "overdue") {
    const reason = `no answer within ${ctx.deadlineMs ?? DEFAULT_DEADLINE_MS} ms`;
    ctx.breaker.failure(target.name, reason);
    return slots.map((slot) => ({ status: "timeout", bmc, ...found(slot), error: reason }));
  }
  const errorsOf = (slot: Slot) => (slot.error === undefined ? [] : [slot.error]);
  const verdict = judge([...new Set(slots.flatMap(errorsOf))], slots.length);
  if (verdict.failure !== undefined) ctx.breaker.failure(target.name, verdict.failure);
  else if (!verdict.shed) ctx.breaker.success(target.name);
  return slots.map((slot) => {
    const error = slot.error === undefined ? {} : { error: message(slot.error) };
    return { status: judge(errorsOf(slot), 1).status, bmc, ...found(slot), ...error };
  });
}

/**
 * What the errors of `parts` reads say: the enrichment status, and what the breaker hears — a
 * timeout or a refused login is a failure; a call refused by the full bulkhead (shed) is neither;
 * anything else, the BMC answered.
 */
function judge(
  errors: readonly unknown[],
  parts: number,
): { status: Enrichment["status"]; failure?: string; shed?: boolean } {
  const timeout = errors.find((e) => e instanceof IpmiTimeoutError);
  if (timeout) return { status: "timeout", failure: message(timeout) };
  if (errors.some((e) => e instanceof IpmiRefusedError)) return { status: "timeout", shed: true };
  // The BMC answered, but cannot be used: stop asking it for a while rather than lock the account.
  const auth = errors.find((e) => e instanceof IpmiAuthError);
  if (auth) return { status: "none", failure: message(auth) };
  return { status: errors.length < parts ? "ok" : "none" };
}

/**
 * The reads a BMC's events share, all sent before this returns: Get SDR Repository Info (unless
 * SdrCache checked it lately) and, with the SDR cached, each distinct sensor's reading and thresholds
 * (unless remembered) alongside (read again from the fresh records should the repository have
 * changed). Result i is pets[i]'s.
 */
function sharedReads(
  name: string,
  client: IpmiClient,
  pets: readonly PetEvent[],
  ctx: EnrichContext,
  deadline: number,
): Promise<Promise<EnrichedSensor | undefined>[]> {
  const execute = executeUntil(client, deadline, "the event deadline");
  const cached = ctx.sdr.peek(name);
  const current = ctx.sdr.records(name, client, deadline);
  // Thresholds are configuration: read again once SdrCache's recheck time has passed.
  const sensorExecute = ctx.sdr.withThresholds(name, execute);
  const early = cached && readSensors(sensorExecute, cached, pets);
  return current.then((records) =>
    early && records === cached ? early : readSensors(sensorExecute, records, pets),
  );
}

/** One read per distinct sensor of `pets`, all at once; result i is pets[i]'s sensor. */
function readSensors(
  execute: Execute,
  records: readonly SdrRecord[],
  pets: readonly PetEvent[],
): Promise<EnrichedSensor | undefined>[] {
  const reads = new Map<string, Promise<EnrichedSensor>>();
  return pets.map((pet) => {
    const record = findSensorRecord(records, pet.sensorDevice, pet.sensorNumber);
    if (!record) return Promise.resolve(undefined);
    const key = `${record.owner.id}:${record.owner.lun}:${record.sensorNumber}`;
    let sensor = reads.get(key);
    if (!sensor) {
      sensor = sensorFor(execute, record);
      // Handled here too: reads made early for records that turned out stale are never awaited.
      sensor.catch(() => undefined);
      reads.set(key, sensor);
    }
    return sensor;
  });
}

type SensorSdr = FullSensorRecord | CompactSensorRecord | EventOnlySensorRecord;

/**
 * The SDR of the PET's sensor: owner (the PET's sensor device, IPMI generator ID) and number, else the
 * only sensor with that number; compact and event-only records shared by several sensors (IPMI 2.0
 * §43.2) cover their range, named with the instance modifier.
 */
export function findSensorRecord(
  records: readonly SdrRecord[],
  sensorDevice: number,
  sensorNumber: number,
): SensorSdr | undefined {
  const sensors = records.filter(
    (r): r is SensorSdr => r.kind === "full" || r.kind === "compact" || r.kind === "eventOnly",
  );
  const covering = sensors.flatMap((r) => {
    const count = r.kind === "full" ? 1 : Math.max(1, r.recordSharing.shareCount);
    const index = sensorNumber - r.sensorNumber;
    if (index < 0 || index >= count) return [];
    if (index === 0 && count === 1) return [r];
    const sharing = (r as CompactSensorRecord | EventOnlySensorRecord).recordSharing;
    const instance = sharing.idStringInstanceModifierOffset + index;
    const modifier =
      sharing.idStringInstanceModifierType === "numeric" ? String(instance) : alphaModifier(instance);
    return [
      {
        ...r,
        sensorNumber,
        idString: `${r.idString}${modifier}`,
        entityInstance: r.entityInstance + (sharing.entityInstanceIncrements ? index : 0),
      },
    ];
  });
  return (
    covering.find((r) => r.owner.id === sensorDevice) ?? (covering.length === 1 ? covering[0] : undefined)
  );
}

/** IPMI 2.0 §43.2 byte 24: alpha modifiers count A…Z, then AA, AB …; base 26. */
function alphaModifier(n: number): string {
  let s = "";
  let v = n;
  do {
    s = String.fromCharCode(65 + (v % 26)) + s;
    v = Math.floor(v / 26) - 1;
  } while (v >= 0);
  return s;
}

async function sensorFor(execute: Execute, record: SensorSdr): Promise<EnrichedSensor> {
  const base = {
    name: record.idString,
    entityId: record.entityId,
    entityInstance: record.entityInstance,
    sensorType: record.sensorType,
  };
  if (record.kind === "eventOnly") {
    return { ...base, reading: null, unit: "discrete", thresholds: {}, status: "ns", states: null };
  }
  const view = await readSensor(execute, record);
  const thresholds = Object.fromEntries(
    Object.entries(view.thresholds).filter((e): e is [string, number] => typeof e[1] === "number"),
  );
  return {
    ...base,
    reading: view.value,
    unit: view.unit,
    thresholds,
    status: view.status,
    states: view.states,
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
