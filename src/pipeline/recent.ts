import type { Redis } from "ioredis";
import { z } from "zod";
import { PET_SEVERITIES } from "../pet/tables/severity.js";
import type { DeliveryOutcome, DeliveryWorker } from "./deliver.js";
import type { ProcessedEvent } from "./events-worker.js";
import { createRedis, DEFAULT_PREFIX, type RedisTarget } from "./queues.js";

/*
 * The recent events, for the HTTP API and the web page: one entry per processed event, with where
 * its notification went and whether each receiver got it. In Redis, so that the events workers write
 * and any HTTP process reads.
 *
 *   <prefix>:recent                       zset   event id scored by when it was processed (ms)
 *   <prefix>:recent:events                hash   event id → the entry as JSON (without deliveries)
 *   <prefix>:recent:delivery:<notif. id>  hash   receiver → DeliveryState as JSON
 *
 * Only the newest `max` entries are kept (trim(): the recorder trims at most once a second, so the
 * index may briefly hold more); trimming an entry drops its delivery hash. A delivery
 * recorded for a notification with no entry (a BMC health alert, or an entry already trimmed) expires
 * after ORPHAN_DELIVERY_TTL_SECONDS; recording the entry later adopts it (PERSIST).
 */

const DEFAULT_RECENT_MAX = 1000;
const ORPHAN_DELIVERY_TTL_SECONDS = 3600;

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
  outcome: z.string().describe("sent, unchanged, inhibited, silenced or storm"),
  notification: z.string().nullable(),
  receivers: z.array(z.string()),
  deliveries: z.record(z.string(), deliveryStateSchema).describe("by receiver"),
});
export type RecentEvent = z.infer<typeof recentEventSchema>;

export interface RecentFilter {
  bmc?: string;
  severity?: RecentEvent["severity"];
  status?: "firing" | "resolved";
  /** Processed at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many, newest first (default 100). */
  limit?: number;
}

export interface RecentEventsOptions {
  prefix?: string;
  /** Entries kept (default 1000). */
  max?: number;
  /** Names senders when the event made no notification (which would name its BMC). */
  inventory?: readonly { name: string; host: string }[];
}

export class RecentEvents {
  private readonly index: string;
  private readonly entries: string;
  private readonly deliveryPrefix: string;
  private readonly max: number;
  private readonly names: Map<string, string>;

  /** On a connection the caller owns (and closes). */
  constructor(
    private readonly redis: Redis,
    options: RecentEventsOptions = {},
  ) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    this.index = `${prefix}:recent`;
    this.entries = `${prefix}:recent:events`;
    this.deliveryPrefix = `${prefix}:recent:delivery:`;
    this.max = options.max ?? DEFAULT_RECENT_MAX;
    if (!Number.isInteger(this.max) || this.max < 1) throw new RangeError(`max ${this.max} is not ≥ 1`);
    this.names = new Map((options.inventory ?? []).map((b) => [b.host, b.name]));
  }

  /** Records one processed event (an events worker's onProcessed); trim() drops the oldest. */
  async record(p: ProcessedEvent, now = Date.now()): Promise<RecentEvent> {
    const entry = this.entry(p, now);
    const { deliveries: _, ...stored } = entry;
    const tx = this.redis
      .multi()
      .zadd(this.index, now, entry.id)
      .hset(this.entries, entry.id, JSON.stringify(stored));
    if (entry.notification !== null && entry.receivers.length > 0) {
      const key = this.deliveryKey(entry.notification);
      const pending = JSON.stringify({ status: "pending", at: entry.processedAt } satisfies DeliveryState);
      // NX: a delivery recorded before this entry (a fast receiver) is kept.
      for (const r of entry.receivers) tx.hsetnx(key, r, pending);
      tx.persist(key);
    }
    await tx.exec();
    return entry;
  }

  /** Records a delivery worker's outcome for one receiver of a notification. */
  async recordDelivery(
    notificationId: string,
    receiver: string,
    outcome: DeliveryOutcome,
    now = Date.now(),
  ): Promise<void> {
    const state: DeliveryState = {
      status: outcome === "delivered" || outcome === "already-delivered" ? "delivered" : "dead-lettered",
      outcome,
      at: new Date(now).toISOString(),
    };
    await this.redis.eval(
      RECORD_DELIVERY,
      1,
      this.deliveryKey(notificationId),
      receiver,
      JSON.stringify(state),
      ORPHAN_DELIVERY_TTL_SECONDS,
    );
  }

  /** The entries that pass the filter, newest first, with their deliveries. */
  async list(filter: RecentFilter = {}): Promise<RecentEvent[]> {
    const limit = filter.limit ?? 100;
    const ids = await this.redis.zrevrangebyscore(this.index, "+inf", filter.since ?? "-inf");
    if (ids.length === 0) return [];
    const found: Omit<RecentEvent, "deliveries">[] = [];
    for (const json of await this.redis.hmget(this.entries, ...ids)) {
      if (json === null) continue; // trimmed meanwhile
      const e = JSON.parse(json) as Omit<RecentEvent, "deliveries">;
      if (filter.bmc !== undefined && e.bmc !== filter.bmc) continue;
      if (filter.severity !== undefined && e.severity !== filter.severity) continue;
      if (filter.status !== undefined && e.status !== filter.status) continue;
      found.push(e);
      if (found.length >= limit) break;
    }
    const withDeliveries = found.filter((e) => e.notification !== null);
    const pipeline = this.redis.pipeline();
    for (const e of withDeliveries) pipeline.hgetall(this.deliveryKey(e.notification as string));
    const replies = (await pipeline.exec()) ?? [];
    const deliveries = new Map<string, Record<string, DeliveryState>>();
    withDeliveries.forEach((e, i) => {
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

  /** The newest entry of each BMC among those kept. */
  async latestByBmc(): Promise<Map<string, RecentEvent>> {
    const latest = new Map<string, RecentEvent>();
    for (const e of await this.list({ limit: this.max })) if (!latest.has(e.bmc)) latest.set(e.bmc, e);
    return latest;
  }

  private entry(p: ProcessedEvent, now: number): RecentEvent {
    const { trap } = p.event;
    const n = p.notification;
    const pet = trap.kind === "pet" ? trap.pet : undefined;
    const at = new Date(now).toISOString();
    const receivers = p.receivers ?? [];
    return {
      id: p.event.id,
      receivedAt: trap.receivedAt,
      processedAt: at,
      bmc: n?.bmc.name ?? this.names.get(trap.source.address) ?? trap.source.address,
      source: trap.source.address,
      sensor: n?.sensor?.name ?? (pet ? `${pet.sensorTypeName ?? "sensor"} #${pet.sensorNumber}` : null),
      sensorType: pet?.sensorTypeName ?? null,
      event: pet ? (pet.event ?? `offset ${pet.eventOffset}`) : `trap ${trap.snmp.trapOid}`,
      severity: n?.severity ?? pet?.severity ?? "information",
      direction: pet?.eventDirection ?? null,
      status: n?.status ?? null,
      enrichment: p.enrichment,
      reading: n?.sensor
        ? { value: n.sensor.reading, unit: n.sensor.unit, thresholds: n.sensor.thresholds }
        : null,
      outcome: p.outcome,
      notification: n?.id ?? null,
      receivers,
      deliveries: Object.fromEntries(receivers.map((r) => [r, { status: "pending", at }])),
    };
  }

  /** Drops the entries beyond the newest `max`, with their delivery hashes. */
  async trim(): Promise<void> {
    await this.redis.eval(TRIM, 2, this.index, this.entries, String(this.max), this.deliveryPrefix);
  }

  private deliveryKey(notificationId: string): string {
    return `${this.deliveryPrefix}${notificationId}`;
  }
}

/**
 * Trims the index to ARGV[1] entries, oldest first, with their entries and delivery hashes. Atomic, so
 * that two recorders trimming at once do not both read the same excess.
 * The delivery keys are named from the entries (not in KEYS); with the `{petgate}` prefix on Redis
 * Cluster they are in the same slot.
 */
const TRIM = `
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
for _, id in ipairs(old) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    local ok, entry = pcall(cjson.decode, json)
    if ok and type(entry.notification) == 'string' then redis.call('DEL', ARGV[2] .. entry.notification) end
    redis.call('HDEL', KEYS[2], id)
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return excess
`;

/** Sets one receiver's state; a hash this creates (no entry yet) expires unless an entry adopts it. */
const RECORD_DELIVERY = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if existed == 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return existed`;

/** How often the recorder trims, at most (a trim per record cost as much as the record). */
const TRIM_EVERY_MS = 1000;

export interface RecentRecorder {
  /** The events worker's onProcessed. */
  onProcessed(p: ProcessedEvent): void;
  /** Records the outcome of every delivery job this delivery worker finishes. */
  follow(delivery: DeliveryWorker): void;
  close(): Promise<void>;
}

/**
 * Keeps the recent events up to date from the workers of this process, on a connection of its own
 * that fails fast: while Redis is down, what happens is not recorded (it is logged once per outage),
 * and the workers never wait for it.
 */
export function recordRecent(
  redis: RedisTarget,
  options: RecentEventsOptions & { log: (message: string) => void },
): RecentRecorder {
  const connection = createRedis(redis, "producer");
  connection.on("error", () => undefined); // reconnects; failed records are logged below
  const recent = new RecentEvents(connection, options);
  const inFlight = new Set<Promise<unknown>>();
  let trimTimer: NodeJS.Timeout | undefined;
  let failing = false;
  const track = (work: Promise<unknown>) => {
    const p = work.then(
      () => {
        failing = false;
      },
      (err: unknown) => {
        if (!failing) options.log(`recent events not recorded: ${(err as Error).message}`);
        failing = true;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  return {
    onProcessed(p) {
      track(recent.record(p));
      trimTimer ??= setTimeout(() => {
        trimTimer = undefined;
        track(recent.trim());
      }, TRIM_EVERY_MS);
    },
    follow(delivery) {
      delivery.worker.on("completed", (job, result) =>
        track(recent.recordDelivery(job.data.notification.id, job.data.receiver, result.outcome)),
      );
      // A job that failed for good has been dead-lettered as "error" (deliver.ts).
      delivery.worker.on("failed", (job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
          track(recent.recordDelivery(job.data.notification.id, job.data.receiver, "error"));
      });
    },
    async close() {
      clearTimeout(trimTimer);
      if (trimTimer) track(recent.trim());
      await Promise.all(inFlight);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
