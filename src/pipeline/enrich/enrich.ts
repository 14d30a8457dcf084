import type { BmcTarget } from "../../config/inventory.js";
import type { IpmiClient } from "../../ipmi/client/client.js";
import { IpmiAuthError, IpmiRefusedError, IpmiTimeoutError } from "../../ipmi/client/errors.js";
import type { Execute } from "../../ipmi/commands/command.js";
import { getSelEntry, LAST_RECORD_ID, READ_ENTIRE_RECORD } from "../../ipmi/commands/storage.js";
import { CompletionCodeError } from "../../ipmi/errors.js";
import type {
  CompactSensorRecord,
  EventOnlySensorRecord,
  FullSensorRecord,
  SdrRecord,
} from "../../ipmi/sdr/records.js";
import { decodeSelRecord, SEL_RECORD_LENGTH, type SystemEventRecord } from "../../ipmi/sel.js";
import { readSensor, type SensorView } from "../../ipmi/sensors.js";
import type { PetEvent } from "../../pet/event.js";
import { PET_EPOCH_UNIX } from "../../pet/varbind.js";
import type { EnrichmentFacts } from "../alerting/notification.js";
import { type BmcMatch, type BmcPool, bmcsAt, matchBmc } from "../bmc/bmc-pool.js";
import type { CircuitBreaker } from "../bmc/breaker.js";
import type { QueuedEvent } from "../intake/event.js";
import { executeUntil, type SdrCache } from "./sdr-cache.js";

export interface EnrichContext {
  inventory: readonly BmcTarget[];
  pool: BmcPool;
  sdr: SdrCache;
  breaker: CircuitBreaker;
  /** The whole enrichment of one event, every IPMI call included; default 3000 ms. */
  deadlineMs?: number;
  /** How far (seconds) a SEL record's time may be from the PET's and still be its record; default 120. */
  selWindowSeconds?: number;
  /** SEL records read at most, newest first, looking for the event's; default 16. */
  selScan?: number;
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
  /** The SEL record of the event (same sensor, type, offset, direction; time near the PET's); best effort. */
  sel?: SystemEventRecord;
  /** What went wrong, when something did. */
  error?: string;
}

const DEFAULT_DEADLINE_MS = 3000;
const CC_NOT_PRESENT = 0xcb;

/**
 * Adds what the BMC knows to one event: which BMC it is, the sensor's SDR (name, entity, unit) with
 * its live reading and thresholds, and the matching SEL record. Never throws.
 *
 * Bounded in time and in work: everything ends by `deadlineMs` (each IPMI call is given what is left
 * of it, and the result is returned at the deadline whatever is still out); calls go through the
 * BMC's pooled client, whose bulkhead refuses calls beyond maxInFlight + maxQueued at once; a BMC
 * whose circuit is open is not asked at all. A timeout counts as a breaker failure, an answer as a
 * success; a refusal by the full bulkhead counts as neither (the BMC did not fail, petgate shed load).
 */
export async function enrich(event: QueuedEvent, context: EnrichContext): Promise<Enrichment> {
  try {
    return await run(event, context);
  } catch (err) {
    return { status: "none", error: message(err) };
  }
}

async function run(event: QueuedEvent, ctx: EnrichContext): Promise<Enrichment> {
  const trap = event.trap;
  const deadlineMs = ctx.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const deadline = Date.now() + deadlineMs;
  const match = matchBmc(trap, ctx.inventory, ctx.pool) ?? (await matchByAskingGuids(trap, ctx, deadline));
  if (!match) return { status: trap.kind === "pet" ? "unknown-bmc" : "none" };
  const { target } = match;
  const bmc = { name: target.name, address: target.host, labels: { ...target.labels } };
  if (trap.kind !== "pet") return { status: "none", bmc };
  const pet = trap.pet;
  if (match.by !== "guid") ctx.pool.learnGuid(pet.guid, target.name);

  if (!ctx.breaker.allow(target.name)) return { status: "circuit-open", bmc };
  const client = ctx.pool.get(target);
  const found: Pick<Enrichment, "sensor" | "sel"> = {};

  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<"overdue">((resolve) => {
    timer = setTimeout(() => resolve("overdue"), deadlineMs);
  });
  const outcome = await Promise.race([gather(pet, target, client, ctx, deadline, found), overdue]);
  clearTimeout(timer);

  const parts = { ...(found.sensor && { sensor: found.sensor }), ...(found.sel && { sel: found.sel }) };
  if (outcome === "overdue") {
    const reason = `no answer within ${deadlineMs} ms`;
    ctx.breaker.failure(target.name, reason);
    return { status: "timeout", bmc, ...parts, error: reason };
  }
  const error = outcome.errors.length > 0 ? outcome.errors.map(message).join("; ") : undefined;
  const withError = error === undefined ? {} : { error };
  const timeout = outcome.errors.find((e) => e instanceof IpmiTimeoutError);
  if (timeout) {
    ctx.breaker.failure(target.name, message(timeout));
    return { status: "timeout", bmc, ...parts, ...withError };
  }
  if (outcome.errors.some((e) => e instanceof IpmiRefusedError)) {
    return { status: "timeout", bmc, ...parts, ...withError };
  }
  const auth = outcome.errors.find((e) => e instanceof IpmiAuthError);
  if (auth) {
    // The BMC answered, but cannot be used: stop asking it for a while rather than lock the account.
    ctx.breaker.failure(target.name, message(auth));
    return { status: "none", bmc, ...parts, ...withError };
  }
  ctx.breaker.success(target.name);
  const answered = outcome.errors.length < outcome.parts;
  return { status: answered ? "ok" : "none", bmc, ...parts, ...withError };
}

/** Reads the sensor and the SEL record side by side; never rejects. */
async function gather(
  pet: PetEvent,
  target: BmcTarget,
  client: IpmiClient,
  ctx: EnrichContext,
  deadline: number,
  found: Pick<Enrichment, "sensor" | "sel">,
): Promise<{ parts: number; errors: unknown[] }> {
  const execute = executeUntil(client, deadline, "the event deadline");
  const results = await Promise.allSettled([
    (async () => {
      const records = await ctx.sdr.records(target.name, client, deadline);
      const sensor = await sensorFor(execute, records, pet);
      if (sensor) found.sensor = sensor;
    })(),
    (async () => {
      const sel = await findSelRecord(execute, pet, ctx.selWindowSeconds ?? 120, ctx.selScan ?? 16);
      if (sel) found.sel = sel;
    })(),
  ]);
  return {
    parts: results.length,
    errors: results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : [])),
  };
}

type SensorSdr = FullSensorRecord | CompactSensorRecord | EventOnlySensorRecord;

/**
 * The SDR of the PET's sensor: owner (the PET's sensor device, IPMI generator ID) and number, else the
 * only sensor with that number; compact and event-only records shared by several sensors (IPMI 2.0
 * §43.2) cover their range, named with the instance modifier.
 */
/**
 * A PET from an address several inventory BMCs share (one host with BMCs on several ports, a NAT
 * gateway), whose GUID no earlier PET taught: asks those BMCs whose GUID is still unknown for it (Get
 * System GUID, IPMI 2.0 §22.14, once each), then matches again.
 */
async function matchByAskingGuids(
  trap: QueuedEvent["trap"],
  ctx: EnrichContext,
  deadline: number,
): Promise<BmcMatch | undefined> {
  if (trap.kind !== "pet") return undefined;
  const named = new Set(ctx.pool.guids.values());
  const unasked = bmcsAt(trap.source.address, ctx.inventory, ctx.pool).filter(
    (t) => !named.has(t.name) && ctx.breaker.allow(t.name),
  );
  if (unasked.length === 0) return undefined;
  const wait = Math.max(0, deadline - Date.now());
  await Promise.allSettled(unasked.map((t) => ctx.pool.readGuid(t, wait)));
  return matchBmc(trap, ctx.inventory, ctx.pool);
}

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

async function sensorFor(
  execute: Execute,
  records: readonly SdrRecord[],
  pet: PetEvent,
): Promise<EnrichedSensor | undefined> {
  const record = findSensorRecord(records, pet.sensorDevice, pet.sensorNumber);
  if (!record) return undefined;
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

/**
 * The SEL record of the PET's event, reading back from the newest record (Get SEL Entry FFFFh, then
 * the preceding record IDs, which BMCs assign in sequence) until `scan` records were read or the
 * records are older than the window. A record matches on sensor number, sensor type, event/reading
 * type, direction and offset, within `windowSeconds` of the PET's time (both are BMC-local clock);
 * among matches, the same event data and then the nearest time win. Undefined when none matches.
 */
export async function findSelRecord(
  execute: Execute,
  pet: PetEvent,
  windowSeconds: number,
  scan: number,
): Promise<SystemEventRecord | undefined> {
  const expected = pet.localTimestamp === 0 ? undefined : PET_EPOCH_UNIX + pet.localTimestamp;
  const eventData = Buffer.from(pet.eventData, "hex");
  let best: { record: SystemEventRecord; score: number } | undefined;
  let recordId = LAST_RECORD_ID;
  for (let read = 0; read < scan && recordId > 0; read++) {
    let data: Buffer;
    try {
      // A whole-record read needs no reservation (IPMI 2.0 §31.5).
      data = (
        await execute(getSelEntry, { reservationId: 0, recordId, offset: 0, bytesToRead: READ_ENTIRE_RECORD })
      ).recordData;
    } catch (err) {
      if (!(err instanceof CompletionCodeError && err.code === CC_NOT_PRESENT)) throw err;
      if (recordId === LAST_RECORD_ID) return undefined; // empty SEL
      recordId--; // deleted, or IDs not in sequence: keep looking below
      continue;
    }
    if (data.length < SEL_RECORD_LENGTH) break;
    const record = decodeSelRecord(data.subarray(0, SEL_RECORD_LENGTH));
    if (record.kind === "system") {
      const score = selScore(record, pet, eventData, expected, windowSeconds);
      if (score !== undefined && (!best || score < best.score)) best = { record, score };
      if (best?.score === 0) break;
    }
    if ("timestamp" in record && expected !== undefined && record.timestamp < expected - windowSeconds) break;
    if (record.recordId === 0 || record.recordId === LAST_RECORD_ID) break;
    recordId = record.recordId - 1;
  }
  return best?.record;
}

/** Lower is better; undefined = not this event. */
function selScore(
  record: SystemEventRecord,
  pet: PetEvent,
  eventData: Buffer,
  expected: number | undefined,
  windowSeconds: number,
): number | undefined {
  if (record.sensorNumber !== pet.sensorNumber) return undefined;
  if (pet.sensorType !== null && record.sensorType !== pet.sensorType) return undefined;
  if (pet.eventReadingType !== null && record.eventType !== pet.eventReadingType) return undefined;
  if (record.eventDirection !== pet.eventDirection) return undefined;
  if ((record.eventData[0] & 0x0f) !== pet.eventOffset) return undefined;
  const distance = expected === undefined ? 0 : Math.abs(record.timestamp - expected);
  if (distance > windowSeconds) return undefined;
  const sameData = record.eventData.every((b, i) => b === eventData[i]);
  const sameGenerator = record.generatorId.id === pet.sensorDevice;
  return (sameData ? 0 : 1_000_000) + (sameGenerator ? 0 : 100_000) + distance;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
