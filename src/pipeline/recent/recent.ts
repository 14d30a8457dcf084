import type { ChainableCommander } from "ioredis";
import { z } from "zod";
import { deliveryStatus, FEED_ENTRIES_MAX, feedEntries, historyStreamKey } from "../../history/feed.js";
import type { HistoryEvent } from "../../history/store.js";
import { PET_SEVERITIES } from "../../pet/tables/severity.js";
import { notificationLabels } from "../alerting/route.js";
import type { ProcessedEvent } from "../events-worker.js";
import { type DeliveryOutcome, type DeliveryWorker, groupsOf } from "../notify/deliver.js";
import { createRedis, DEFAULT_PREFIX, type RedisConnection, type RedisTarget } from "../queues.js";

/*
 * The recent events, for the HTTP API and the web page: one entry per processed event, with where
 * its notification went and whether each receiver got it. In Redis, so that the events workers write
 * and any HTTP process reads.
 *
 *   <prefix>:recent                       zset   event id scored by when it was processed (ms)
 *   <prefix>:recent:by-bmc:<bmc>          zset   the same, of one BMC's entries
 *   <prefix>:recent:by-severity:<sev>     zset   the same, of one severity's entries
 *   <prefix>:recent:by-status:<status>    zset   the same, of the firing or the resolved entries
 *   <prefix>:recent:events                hash   event id → the entry as JSON (without deliveries)
 *   <prefix>:recent:keys                  hash   event id → "<severity>\t<status>\t<notif. id>\t<bmc>"
 *   <prefix>:recent:delivery:<notif. id>  hash   receiver → DeliveryState as JSON
 *
 * A read touches only the entries it returns: filters walk the indexes (ids and scores only), so
 * what a request costs does not grow with what senders stored. An entry is at most
 * RECENT_ENTRY_MAX_BYTES: trap-supplied text beyond that is cut, and the entry says so.
 * Only the newest `max` entries are kept (trim(): the recorder trims in the round trip of every write,
 * so the index holds more only while a write is in flight); trimming an entry drops it from every
 * index and drops its delivery hash. It finds those keys from the entry's field in `keys`, with no
 * JSON to decode (a decode per evicted entry held Redis ~20 ms a second at 1,000 events/s); an
 * entry stored before there was a `keys` hash is decoded instead. A delivery recorded for a
 * notification with no entry (a BMC health alert, or an entry already trimmed) expires after
 * ORPHAN_DELIVERY_TTL_SECONDS; recording the entry later adopts it (PERSIST).
 */

const DEFAULT_RECENT_MAX = 1000;
const ORPHAN_DELIVERY_TTL_SECONDS = 3600;
/** Serialized bytes of one stored entry, at most (a 60 KB varbind would otherwise cost 60 KB per read). */
export const RECENT_ENTRY_MAX_BYTES = 4096;
/** What is kept of each trap-supplied string of an entry that had to be cut. */
const CUT_TEXT_CHARS = 200;

const deliveryStateSchema = z.object({
  status: z.enum(["pending", "delivered", "dead-lettered"]),
  /** The delivery worker's outcome ("delivered", "permanent", "exhausted", …), once there is one. */
  outcome: z.string().optional(),
  at: z.string().describe("when the status was recorded (ISO-8601)"),
});
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

export const recentEventSchema = z.object({
  id: z.string().describe("the event id (the same for every copy of a trap)"),
  receivedAt: z.string(),
  processedAt: z.string(),
  bmc: z.string().describe("the BMC's inventory name, or the sender's address when it has none"),
  source: z.string().describe("the sender's address"),
  sensor: z.string().nullable().describe('"CPU1 Temp", or the sensor type and number without an SDR'),
  sensorType: z.string().nullable(),
  event: z.string().nullable().describe("what happened, in the IPMI tables' words"),
  severity: z.enum(PET_SEVERITIES),
  direction: z.enum(["assertion", "deassertion"]).nullable().describe("null for a trap that is no PET"),
  status: z
    .enum(["firing", "resolved"])
    .nullable()
    .describe("the notification's status; null when the event changed nothing"),
  enrichment: z.string().describe("ok, timeout, circuit-open, unknown-bmc or none"),
  reading: z
    .object({
      value: z.number().nullable(),
      unit: z.string(),
      thresholds: z.record(z.string(), z.number()),
    })
    .nullable()
    .describe("the sensor's reading and thresholds when the event was processed"),
  outcome: z
    .string()
    .describe("sent, logged (by a trap rule: recorded, not routed), unchanged, inhibited, silenced or storm"),
  trap: z
    .string()
    .nullable()
    .describe(
      'a trap that is no PET: its MIB name ("IF-MIB::linkDown"), or its OID when no loaded MIB names it',
    ),
  rule: z.string().nullable().describe("the trap rule that applied (petgate.yml traps:); null for none"),
  notification: z.string().nullable(),
  receivers: z.array(z.string()),
  varbinds: z
    .array(
      z.object({
        oid: z.string(),
        type: z.string(),
        value: z.union([z.string(), z.number()]).nullable(),
        hex: z.string().optional(),
        truncatedFrom: z.number().optional().describe("the value's length as received, when cut"),
      }),
    )
    .nullable()
    .describe("a trap that is no PET: its variable bindings as received; null for a PET"),
  truncated: z
    .object({
      bytes: z.number().describe("the entry's size before it was cut (serialized bytes)"),
      fields: z.array(z.string()).describe('those cut short or in part: "event", "varbinds"'),
    })
    .nullable()
    .describe(`null, or how the trap-supplied text was cut to fit ${RECENT_ENTRY_MAX_BYTES} bytes`),
  deliveries: z.record(z.string(), deliveryStateSchema).describe("by receiver"),
});
export type RecentEvent = z.infer<typeof recentEventSchema>;
type StoredEvent = Omit<RecentEvent, "deliveries">;
/** What LIST and LATEST answer: stored entries as JSON, null where there is none. */
type Found = (string | null)[];

export interface RecentFilter {
  bmc?: string;
  severity?: RecentEvent["severity"];
  status?: "firing" | "resolved";
  /** Processed at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many, newest first (default 100). */
  limit?: number;
}

/** A processed event and when it was processed (ms since the epoch). */
export interface ProcessedAt {
  processed: ProcessedEvent;
  at: number;
}

/** A delivery worker's outcome for one receiver of a notification, and when (ms since the epoch). */
export interface DeliveryRecord {
  notificationId: string;
  receiver: string;
  outcome: DeliveryOutcome;
  at: number;
}

/** What RecentEvents.write records in one round trip. */
export interface RecentWrite {
  entries?: readonly ProcessedAt[];
  deliveries?: readonly DeliveryRecord[];
  /** Trim, TRIM_MAX entries at most. */
  trim?: boolean;
}

/** What RecentEvents.write did. */
export interface RecentWritten {
  recorded: RecentEvent[];
  /** Entries beyond `max` that this write's trim left for the next (TRIM_MAX per trim). */
  untrimmed: number;
}

/** The scripts below as the commands the constructor defines (ioredis types none of them). */
interface RecentScripts {
  petgateRecentRecord(numberOfKeys: number, ...keysAndArgs: (string | number)[]): unknown;
  petgateRecentDeliveries(numberOfKeys: number, ...keysAndArgs: string[]): unknown;
  petgateRecentTrim(...keysAndArgs: (string | number)[]): unknown;
}

export interface RecentEventsOptions {
  prefix?: string;
  /** Entries kept (default 1000). */
  max?: number;
  /** Names senders when the event made no notification (which would name its BMC). */
  inventory?: readonly { name: string; host: string }[];
  /** Feed alert history (history/feed.ts) with every write's entries and outcomes. */
  history?: boolean;
}

export class RecentEvents {
  private readonly index: string;
  private readonly entries: string;
  private readonly keys: string;
  /** "<prefix>:recent:": the by-bmc, by-severity and by-status indexes are named under it. */
  private readonly indexPrefix: string;
  private readonly deliveryPrefix: string;
  private readonly max: number;
  private readonly names: Map<string, string>;
  /** The history stream, when fed. */
  private readonly feed: string | undefined;

  /** On a connection the caller owns (and closes). */
  constructor(
    private readonly redis: RedisConnection,
    options: RecentEventsOptions = {},
  ) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.index = `${prefix}:recent`;
    this.entries = `${prefix}:recent:events`;
    this.keys = `${prefix}:recent:keys`;
    this.indexPrefix = `${prefix}:recent:`;
    this.deliveryPrefix = `${prefix}:recent:delivery:`;
    this.max = options.max ?? DEFAULT_RECENT_MAX;
    if (!Number.isInteger(this.max) || this.max < 1) throw new RangeError(`max ${this.max} is not ≥ 1`);
    this.names = new Map((options.inventory ?? []).map((b) => [b.host, b.name]));
    this.feed = options.history ? historyStreamKey(prefix) : undefined;
    // By EVALSHA: a script's text goes to Redis once per connection, not with every write.
    redis.defineCommand("petgateRecentRecord", { lua: RECORD });
    redis.defineCommand("petgateRecentDeliveries", { lua: RECORD_DELIVERIES });
    redis.defineCommand("petgateRecentTrim", { numberOfKeys: 3, lua: TRIM });
  }

  /** Records one processed event; trim() drops the oldest. */
  async record(processed: ProcessedEvent, at = Date.now()): Promise<RecentEvent> {
    const { recorded } = await this.write({ entries: [{ processed, at }] });
    return recorded[0] as RecentEvent;
  }

  /** Records a delivery worker's outcome for one receiver of a notification. */
  async recordDelivery(
    notificationId: string,
    receiver: string,
    outcome: DeliveryOutcome,
    at = Date.now(),
  ): Promise<void> {
    await this.write({ deliveries: [{ notificationId, receiver, outcome, at }] });
  }

  /**
   * Drops the entries beyond the newest `max`, from every index, with their delivery hashes: TRIM_MAX
   * a script call, so that no call holds Redis long.
   */
  async trim(): Promise<void> {
    for (let left = 1; left > 0; ) left = (await this.write({ trim: true })).untrimmed;
  }

  /**
   * Records entries, then delivery outcomes, then trims if asked: one round trip, a script call each
   * (however many entries and outcomes).
   */
  async write(batch: RecentWrite): Promise<RecentWritten> {
    const pipeline = this.redis.pipeline() as ChainableCommander & RecentScripts;
    const recorded = (batch.entries ?? []).map(({ processed, at }) => {
      const { deliveries, ...whole } = this.entry(processed, at);
      return { ...fitted(whole), at, deliveries, processed };
    });
    if (recorded.length > 0) pipeline.petgateRecentRecord(...this.recordArgs(recorded));
    if (batch.deliveries?.length) pipeline.petgateRecentDeliveries(...this.deliveriesArgs(batch.deliveries));
    if (this.feed !== undefined) {
      const events = recorded.map(
        ({ stored, at, processed }): HistoryEvent => ({
          ...stored,
          at,
          labels: processed.notification ? notificationLabels(processed.notification) : {},
        }),
      );
      const outcomes = (batch.deliveries ?? []).map((d) => ({
        notification: d.notificationId,
        receiver: d.receiver,
        status: deliveryStatus(d.outcome),
        outcome: d.outcome,
        at: d.at,
      }));
      for (const entry of feedEntries(events, outcomes))
        pipeline.xadd(this.feed, "MAXLEN", "~", FEED_ENTRIES_MAX, "*", "batch", entry);
    }
    if (batch.trim)
      pipeline.petgateRecentTrim(
        this.index,
        this.entries,
        this.keys,
        this.max,
        TRIM_MAX,
        this.deliveryPrefix,
        this.indexPrefix,
      );
    const replies = (await pipeline.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    return {
      recorded: recorded.map(({ stored, deliveries }) => ({ ...stored, deliveries })),
      untrimmed: batch.trim ? Number(replies.at(-1)?.[1]) : 0,
    };
  }

  /** The entries that pass the filter, newest first, with their deliveries: only those are read. */
  async list(filter: RecentFilter = {}): Promise<RecentEvent[]> {
    const indexes = [
      ...(filter.bmc !== undefined ? [this.indexKey("bmc", filter.bmc)] : []),
      ...(filter.severity !== undefined ? [this.indexKey("severity", filter.severity)] : []),
      ...(filter.status !== undefined ? [this.indexKey("status", filter.status)] : []),
    ];
    if (indexes.length === 0) indexes.push(this.index);
    const found = await this.redis.eval(
      LIST,
      1 + indexes.length,
      this.entries,
      ...indexes,
      filter.since ?? "-inf",
      filter.limit ?? 100,
    );
    return this.withDeliveries(found as Found);
  }

  /** The newest entry of each of these BMCs (one index head and one entry read per BMC). */
  async latest(bmcs: readonly string[]): Promise<Map<string, RecentEvent>> {
    if (bmcs.length === 0) return new Map();
    const keys = bmcs.map((b) => this.indexKey("bmc", b));
    const found = await this.redis.eval(LATEST, 1 + keys.length, this.entries, ...keys);
    return new Map((await this.withDeliveries(found as Found)).map((e) => [e.bmc, e]));
  }

  /** The stored entries (null where none) with the delivery state of each receiver. */
  private async withDeliveries(jsons: Found): Promise<RecentEvent[]> {
    // An entry stored before trap rules has no trap or rule.
    const found = jsons
      .filter((j) => j !== null)
      .map((j) => {
        const e = JSON.parse(j) as StoredEvent;
        return { ...e, trap: e.trap ?? null, rule: e.rule ?? null };
      });
    const withNotification = found.filter((e) => e.notification !== null);
    const pipeline = this.redis.pipeline();
    for (const e of withNotification) pipeline.hgetall(this.deliveryKey(e.notification as string));
    const replies = (await pipeline.exec()) ?? [];
    const deliveries = new Map<string, Record<string, DeliveryState>>();
    withNotification.forEach((e, i) => {
      const [err, fields] = replies[i] ?? [null, {}];
      if (err) throw err;
      // In the order of the event's receivers (Redis hashes keep none).
      const rank = (r: string) => e.receivers.indexOf(r) + 1 || Number.MAX_SAFE_INTEGER;
      const states = Object.entries(fields as Record<string, string>)
        .sort(([a], [b]) => rank(a) - rank(b))
        .map(([r, v]) => [r, JSON.parse(v)]);
      deliveries.set(e.id, Object.fromEntries(states));
    });
    return found.map((e) => ({ ...e, deliveries: deliveries.get(e.id) ?? {} }));
  }

  private entry(p: ProcessedEvent, now: number): RecentEvent {
    const { trap } = p.event;
    const n = p.notification;
    const pet = trap.kind === "pet" ? trap.pet : undefined;
    const at = new Date(now).toISOString();
    const receivers = p.receivers ?? [];
    const trapName = p.verdict?.trap?.name ?? trap.snmp.trapOid;
    return {
      id: p.event.id,
      receivedAt: trap.receivedAt,
      processedAt: at,
      bmc: n?.bmc.name ?? this.names.get(trap.source.address) ?? trap.source.address,
      source: trap.source.address,
      sensor: n?.sensor?.name ?? (pet ? `${pet.sensorTypeName ?? "sensor"} #${pet.sensorNumber}` : null),
      sensorType: pet?.sensorTypeName ?? null,
      event: pet ? (pet.event ?? `offset ${pet.eventOffset}`) : `trap ${trapName}`,
      severity: n?.severity ?? pet?.severity ?? "information",
      direction: pet?.eventDirection ?? null,
      status: n?.status ?? null,
      enrichment: p.enrichment,
      reading: n?.sensor
        ? { value: n.sensor.reading, unit: n.sensor.unit, thresholds: n.sensor.thresholds }
        : null,
      outcome: p.outcome,
      trap: pet ? null : trapName,
      rule: p.verdict?.rule ?? null,
      notification: n?.id ?? null,
      receivers,
      varbinds: trap.kind === "trap" ? trap.varbinds : null,
      truncated: null,
      deliveries: Object.fromEntries(receivers.map((r) => [r, { status: "pending", at }])),
    };
  }

  /** RECORD's key count, KEYS and ARGV for these entries. */
  private recordArgs(recorded: readonly { stored: StoredEvent; json: string; at: number }[]) {
    const keys = [this.index, this.entries, this.keys];
    const args: (string | number)[] = [this.indexPrefix, this.deliveryPrefix];
    for (const { stored, json, at } of recorded) {
      const indexes = [this.indexKey("bmc", stored.bmc), this.indexKey("severity", stored.severity)];
      if (stored.status !== null) indexes.push(this.indexKey("status", stored.status));
      keys.push(...indexes);
      // The BMC last: the one field of free text (an inventory name), tabs and all.
      const named = [stored.severity, stored.status ?? "", stored.notification ?? "", stored.bmc].join("\t");
      args.push(stored.id, at, json, named, indexes.length);
      if (stored.notification !== null && stored.receivers.length > 0) {
        keys.push(this.deliveryKey(stored.notification));
        const pending: DeliveryState = { status: "pending", at: stored.processedAt };
        args.push(stored.receivers.length, JSON.stringify(pending), ...stored.receivers);
      } else args.push(0);
    }
    return [keys.length, ...keys, ...args] as const;
  }

  /** RECORD_DELIVERIES' key count, KEYS and ARGV for these outcomes. */
  private deliveriesArgs(deliveries: readonly DeliveryRecord[]) {
    const args = [String(ORPHAN_DELIVERY_TTL_SECONDS)];
    for (const { receiver, outcome, at } of deliveries) {
      const state: DeliveryState = {
        status: deliveryStatus(outcome),
        outcome,
        at: new Date(at).toISOString(),
      };
      args.push(receiver, JSON.stringify(state));
    }
    const keys = deliveries.map((d) => this.deliveryKey(d.notificationId));
    return [keys.length, ...keys, ...args] as const;
  }

  /** The index of entries by `by`: record() names it, and the Lua INDEXES function names it alike. */
  private indexKey(by: "bmc" | "severity" | "status", value: string): string {
    return `${this.indexPrefix}by-${by}:${value}`;
  }

  private deliveryKey(notificationId: string): string {
    return `${this.deliveryPrefix}${notificationId}`;
  }
}

/**
 * The entry as stored: whole when it fits RECENT_ENTRY_MAX_BYTES; else its trap-supplied text (the
 * event and trap, which name a generic trap's OID, and the varbinds) cut to CUT_TEXT_CHARS a string, then
 * trailing varbinds left out until it fits. The other fields come from the tables, the BMC's SDR
 * and the configuration, and are kept whole: the page and the API need them.
 */
function fitted(entry: StoredEvent): { stored: StoredEvent; json: string } {
  const whole = JSON.stringify(entry);
  const bytes = Buffer.byteLength(whole);
  if (bytes <= RECENT_ENTRY_MAX_BYTES) return { stored: entry, json: whole };
  const cut = new Set<string>();
  const short = (field: string, text: string): string => {
    if (text.length <= CUT_TEXT_CHARS) return text;
    cut.add(field);
    return `${text.slice(0, CUT_TEXT_CHARS)}…`;
  };
  const varbinds = (entry.varbinds ?? []).map((v) => ({
    ...v,
    oid: short("varbinds", v.oid),
    value: typeof v.value === "string" ? short("varbinds", v.value) : v.value,
    ...(v.hex !== undefined && { hex: short("varbinds", v.hex) }),
  }));
  const event = entry.event === null ? null : short("event", entry.event);
  const trap = entry.trap === null ? null : short("trap", entry.trap);
  // Sized with "varbinds" among the cut fields, whether or not any will be left out.
  const base = Buffer.byteLength(
    JSON.stringify({
      ...entry,
      event,
      trap,
      varbinds: [],
      truncated: { bytes, fields: [...new Set([...cut, "varbinds"])] },
    }),
  );
  let room = RECENT_ENTRY_MAX_BYTES - base;
  let kept = 0;
  for (const v of varbinds) {
    room -= Buffer.byteLength(JSON.stringify(v)) + 1; // and its comma
    if (room < 0) break;
    kept++;
  }
  if (kept < varbinds.length) cut.add("varbinds");
  const stored = {
    ...entry,
    event,
    trap,
    varbinds: entry.varbinds === null ? null : varbinds.slice(0, kept),
    truncated: { bytes, fields: [...cut] },
  };
  return { stored, json: JSON.stringify(stored) };
}

/**
 * What names an entry's index keys and delivery hash: its `keys` field (`named`), or, for an entry
 * stored before there were such fields, its JSON (decoded: false when there is none or it does not
 * parse). `indexes` names the index keys (prefix "<prefix>:recent:") as RecentEvents.indexKey does.
 * Every script that names keys from an entry (not in KEYS) relies on the `{petgate}` prefix putting
 * them in one Redis Cluster slot.
 */
const NAMES = `
local function named(field)
  local severity, status, notification, bmc = string.match(field, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$')
  return { severity = severity, status = status, notification = notification, bmc = bmc }
end
local function decoded(json)
  if not json then return false end
  local ok, entry = pcall(cjson.decode, json)
  if not ok then return false end
  local text = function(v) return type(v) == 'string' and v or '' end
  return { severity = text(entry.severity), status = text(entry.status), notification = text(entry.notification), bmc = text(entry.bmc) }
end
local function indexes(prefix, names)
  local keys = { prefix .. 'by-bmc:' .. names.bmc, prefix .. 'by-severity:' .. names.severity }
  if names.status ~= '' then keys[3] = prefix .. 'by-status:' .. names.status end
  return keys
end
`;

/**
 * Stores entries in the index KEYS[1], the hash KEYS[2] and their names in KEYS[3]; ARGV[1] is the
 * index prefix, ARGV[2] the delivery prefix, then per entry: id, score, JSON, its `keys` field, the
 * number of its indexes (the next KEYS, named by the caller so that a new entry is never decoded
 * here), the number of its receivers and, when there are some, its pending delivery state and the
 * receivers (its delivery hash is the next KEY). An entry recorded again leaves the indexes of its
 * former one, and the delivery hash of a former notification.
 */
const RECORD = `${NAMES}
local k, a = 4, 3
while a <= #ARGV do
  local id, score, json, field, indexCount, receivers = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  a = a + 6
  local former = redis.call('HGET', KEYS[3], id)
  local old = former and named(former) or decoded(redis.call('HGET', KEYS[2], id))
  if old then
    for _, key in ipairs(indexes(ARGV[1], old)) do redis.call('ZREM', key, id) end
    if old.notification ~= '' and old.notification ~= named(field).notification then
      redis.call('DEL', ARGV[2] .. old.notification)
    end
  end
  redis.call('HSET', KEYS[2], id, json)
  redis.call('HSET', KEYS[3], id, field)
  redis.call('ZADD', KEYS[1], score, id)
  for i = k, k + indexCount - 1 do redis.call('ZADD', KEYS[i], score, id) end
  k = k + indexCount
  if receivers > 0 then
    -- NX: a delivery recorded before its entry (a fast receiver) is kept; the entry adopts the hash.
    for i = a + 1, a + receivers do redis.call('HSETNX', KEYS[k], ARGV[i], ARGV[a]) end
    redis.call('PERSIST', KEYS[k])
    k, a = k + 1, a + 1 + receivers
  end
end
return k - 4`;

/**
 * The entries (KEYS[1]) newest first that every index of KEYS[2..] holds, scored at or after ARGV[1],
 * at most ARGV[2] of them. It walks the smallest index and asks the others with ZSCORE, so it reads
 * ids and scores, never an entry it does not return. It walks by rank in pages of 256, each page
 * O(log n + 256) where it starts (an offset would be skipped again for every page: quadratic in the
 * ids walked, with Redis blocked, for a small limit and filters that rarely meet).
 */
const LIST = `
local since, limit, pageSize = ARGV[1], tonumber(ARGV[2]), 256
local walk, size, others = KEYS[2], redis.call('ZCARD', KEYS[2]), {}
for i = 3, #KEYS do
  local n = redis.call('ZCARD', KEYS[i])
  if n < size then
    table.insert(others, walk)
    walk, size = KEYS[i], n
  else
    table.insert(others, KEYS[i])
  end
end
local ids, rank, last = {}, 0, redis.call('ZCOUNT', walk, since, '+inf') - 1
while #ids < limit and rank <= last do
  local page = redis.call('ZREVRANGE', walk, rank, math.min(rank + pageSize - 1, last))
  if #page == 0 then break end
  rank = rank + #page
  for _, id in ipairs(page) do
    local everywhere = true
    for _, key in ipairs(others) do
      if not redis.call('ZSCORE', key, id) then
        everywhere = false
        break
      end
    end
    if everywhere then
      table.insert(ids, id)
      if #ids == limit then break end
    end
  end
end
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(ids))`;

/** The newest entry (KEYS[1]) of each index of KEYS[2..], false where it has none. */
const LATEST = `
local found = {}
for i = 2, #KEYS do
  local id = redis.call('ZREVRANGE', KEYS[i], 0, 0)[1]
  found[i - 1] = id and redis.call('HGET', KEYS[1], id) or false
end
return found`;

/**
 * Trims the index KEYS[1] to ARGV[1] entries, oldest first and ARGV[2] at most, with their entries
 * (KEYS[2]), their names (KEYS[3]), their places in the other indexes (ARGV[4] prefix) and their
 * delivery hashes (ARGV[3] prefix); returns how many it left beyond ARGV[1]. A command per index
 * and per hash, not per entry, and no JSON decoded but an entry's stored before its name was. Atomic,
 * so that two recorders trimming at once do not both read the same excess.
 */
const TRIM = `${NAMES}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local count = math.min(excess, tonumber(ARGV[2]))
local ids = redis.call('ZRANGE', KEYS[1], 0, count - 1)
local fields = redis.call('HMGET', KEYS[3], unpack(ids))
local members, deliveries = {}, {}
for i, id in ipairs(ids) do
  local names = fields[i] and named(fields[i]) or decoded(redis.call('HGET', KEYS[2], id))
  if names then
    if names.notification ~= '' then table.insert(deliveries, ARGV[3] .. names.notification) end
    for _, key in ipairs(indexes(ARGV[4], names)) do
      members[key] = members[key] or {}
      table.insert(members[key], id)
    end
  end
end
for key, of in pairs(members) do redis.call('ZREM', key, unpack(of)) end
if #deliveries > 0 then redis.call('DEL', unpack(deliveries)) end
redis.call('HDEL', KEYS[2], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - 1)
return excess - count
`;

/**
 * Sets delivery states: KEYS[i] is the delivery hash of outcome i, ARGV[2i] and ARGV[2i + 1] its
 * receiver and state. A hash this creates (no entry yet) expires after ARGV[1] seconds unless an
 * entry adopts it.
 */
const RECORD_DELIVERIES = `
for i = 1, #KEYS do
  local existed = redis.call('EXISTS', KEYS[i])
  redis.call('HSET', KEYS[i], ARGV[2 * i], ARGV[2 * i + 1])
  if existed == 0 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
end
return #KEYS`;

/** Entries, and delivery outcomes, per write at most: one script call then holds Redis ~1 ms. */
const WRITE_MAX = 500;
/** Entries one TRIM call drops at most: as many as a write records, so that trims keep up. */
export const TRIM_MAX = WRITE_MAX;
/** Delivery outcomes held for the next write at most (entries: the `max` kept, as trim keeps no more). */
const DELIVERIES_HELD_MAX = 10_000;

export interface RecorderStats {
  /** Entries and delivery outcomes written to Redis. */
  recorded: { events: number; deliveries: number };
  /** Those given up: held beyond the bound while Redis was away or slow, or in a write that failed. */
  dropped: { events: number; deliveries: number };
}

export interface RecentRecorder {
  /** The events worker's onProcessed. */
  onProcessed(p: ProcessedEvent): void;
  /** Records the outcome of every delivery job this delivery worker finishes. */
  follow(delivery: DeliveryWorker): void;
  /** Resolves once nothing is held or being written; while Redis is away, once it is back. */
  flush(): Promise<void>;
  stats(): RecorderStats;
  close(): Promise<void>;
}

/** A FIFO of at most `bound` items: beyond it the oldest are dropped, and counted. */
class Held<T> {
  private items: T[] = [];
  dropped = 0;

  constructor(readonly bound: number) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.items.length >= this.bound) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(item);
  }

  take(n: number): T[] {
    return this.items.splice(0, n);
  }

  /** Puts back what take() gave, before what came since; beyond the bound the oldest are dropped. */
  putBack(items: readonly T[]): void {
    this.items.unshift(...items);
    const excess = this.items.length - this.bound;
    if (excess > 0) {
      this.items.splice(0, excess);
      this.dropped += excess;
    }
  }

  dropAll(): void {
    this.dropped += this.items.length;
    this.items = [];
  }
}

/**
 * Keeps the recent events up to date from the workers of this process, on a connection of its own
 * that fails fast. What arrives in one turn of the event loop (an events batch, a delivery job's
 * outcomes), and whatever arrives while a write is in flight, goes to Redis in the next write: one
 * round trip, a script call per kind, one write at a time. While Redis is away what arrives is held,
 * bounded (the oldest dropped and counted), and written once it is back, as is a write that failed
 * because the connection went (Redis gone, or a master demoted by a failover: READONLY); a write
 * that fails otherwise is dropped. Failures are logged once per outage. The workers never wait for
 * it and it never throws into them.
 */
export function recordRecent(
  redis: RedisTarget,
  options: RecentEventsOptions & { log: (message: string) => void },
): RecentRecorder {
  const connection = createRedis(redis, "producer");
  const recent = new RecentEvents(connection, options);
  const entries = new Held<ProcessedAt>(options.max ?? DEFAULT_RECENT_MAX);
  const deliveries = new Held<DeliveryRecord>(DELIVERIES_HELD_MAX);
  const recorded = { events: 0, deliveries: 0 };
  const dropped = () => ({ events: entries.dropped, deliveries: deliveries.dropped });
  let reported = dropped();
  /** The last trim left entries beyond `max`: trim again even with no entry to write. */
  let trimDue = false;
  let writing = false;
  let scheduled = false;
  let failing = false;
  let closing = false;
  /** The connection closed and is not back yet (logged once). */
  let away = false;
  let idleWaiters: (() => void)[] = [];

  const idle = () => entries.size === 0 && deliveries.size === 0 && !trimDue;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(pump);
  };
  const settle = () => {
    for (const resolve of idleWaiters) resolve();
    idleWaiters = [];
  };
  const written = (batch: Required<RecentWrite>, untrimmed: number) => {
    trimDue = untrimmed > 0;
    recorded.events += batch.entries.length;
    recorded.deliveries += batch.deliveries.length;
    failing = false;
    const now = dropped();
    if (now.events > reported.events || now.deliveries > reported.deliveries)
      options.log(
        `recent events: ${now.events - reported.events} entries and ${now.deliveries - reported.deliveries} delivery outcomes dropped while Redis was away or slow`,
      );
    reported = now;
  };
  const failed = (batch: Required<RecentWrite>, err: unknown) => {
    // The connection is being made again ('ready' pumps): the write waits for it.
    if (connection.status !== "ready" && !closing) {
      entries.putBack(batch.entries);
      deliveries.putBack(batch.deliveries);
      trimDue ||= batch.trim;
    } else {
      entries.dropped += batch.entries.length;
      deliveries.dropped += batch.deliveries.length;
    }
    if (!failing) options.log(`recent events not recorded: ${(err as Error).message}`);
    failing = true;
  };
  function pump() {
    scheduled = false;
    if (writing) return; // the write in flight pumps again when it ends
    if (idle()) return settle();
    if (connection.status !== "ready") {
      if (!closing) return; // 'ready' pumps again
      entries.dropAll();
      deliveries.dropAll();
      trimDue = false;
      return settle();
    }
    const taken = entries.take(WRITE_MAX);
    // Trimmed in the round trip of every write of entries: what it drops is what they added.
    const batch = {
      entries: taken,
      deliveries: deliveries.take(WRITE_MAX),
      trim: trimDue || taken.length > 0,
    };
    trimDue = false;
    writing = true;
    void recent
      .write(batch)
      .then(
        ({ untrimmed }) => written(batch, untrimmed),
        (err: unknown) => failed(batch, err),
      )
      .finally(() => {
        writing = false;
        pump();
      });
  }
  const flush = () =>
    new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
      schedule();
    });
  connection.on("error", () => undefined); // reconnects; failed writes are logged above
  connection.on("close", () => {
    if (!away && !closing)
      options.log(`recent events held until Redis is back (the newest ${entries.bound} at most)`);
    away = true;
  });
  connection.on("ready", () => {
    away = false;
    schedule();
  });

  return {
    onProcessed(processed) {
      if (processed.outcome === "dropped") return; // a trap rule's drop: counted only
      entries.push({ processed, at: Date.now() });
      schedule();
    },
    follow(delivery) {
      const outcome = (notificationId: string, receiver: string, o: DeliveryOutcome) => {
        deliveries.push({ notificationId, receiver, outcome: o, at: Date.now() });
        schedule();
      };
      delivery.worker.on("completed", (job, result) => {
        for (const [id, o] of Object.entries(result.outcomes)) outcome(id, job.data.receiver, o);
      });
      // A job that failed for good has been dead-lettered as "error" (notify/deliver.ts).
      delivery.worker.on("failed", (job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
          for (const g of groupsOf(job.data))
            for (const n of g.notifications) outcome(n.id, job.data.receiver, "error");
      });
    },
    flush,
    stats: () => ({ recorded: { ...recorded }, dropped: dropped() }),
    async close() {
      closing = true;
      await flush();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
