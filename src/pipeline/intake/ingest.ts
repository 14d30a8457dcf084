import { withTimeout } from "../../io/timeout.js";
import type { TrapEvent } from "../../pet/trap.js";
import {
  createRedis,
  DEFAULT_PREFIX,
  INGEST_JOB,
  type IngestQueue,
  ingestQueue,
  type RedisConnection,
  type RedisTarget,
} from "../queues.js";
import { ReplicaBarrier } from "../replicas.js";
import { eventId, type QueuedEvent } from "./event.js";
import { Spool } from "./spool.js";

export interface IngestOptions {
  connection: RedisTarget;
  /** Key prefix of the queues (default "petgate"; "{petgate}" on Redis Cluster). */
  prefix?: string;
  /** Where batches go while Redis cannot take them. One Ingest (one process) per file. */
  spoolFile: string;
  /** A batch is sent when it has this many distinct events… */
  batchMaxEvents?: number;
  /**
   * …or this long after its first event: batchMinMs (default 2) while traps are sparse, growing with
   * the rate (EventRate; 1 ms per 50 events a second) up to batchMaxMs (default 20).
   */
  batchMinMs?: number;
  batchMaxMs?: number;
  /** An INGEST add not acknowledged by Redis within this is given up and the batch spooled. */
  addTimeoutMs?: number;
  /** While Redis is up but the spool is not empty (a replay failed), how often to replay again. */
  retryMs?: number;
  /** Replicas that must hold a batch before it counts as queued (redis.replicaAcks; default 0). */
  replicaAcks?: number;
  log?: (message: string) => void;
}

/**
 * How an event was made durable: "queued" = Redis acknowledged its INGEST batch (as durable as the
 * operator's Redis persistence makes it: AOF with appendfsync everysec or always; and held by
 * `replicaAcks` replicas when asked); "spooled" = it is fdatasync'd to the local spool and will be
 * queued when Redis is back.
 */
export type Durability = "queued" | "spooled";

export interface IngestResult {
  id: string;
  durable: Durability;
}

export interface IngestStats {
  /** add() calls. */
  received: number;
  /** add() calls for an event already waiting in the batch being built (collapsed before Redis). */
  duplicatesCollapsed: number;
  /** INGEST jobs added, live and from the spool. */
  batches: number;
  /** Distinct events queued at once; spooled; queued later from the spool. */
  queued: number;
  spooled: number;
  replayed: number;
  /** INGEST adds that failed or timed out (the batch was spooled). */
  addFailures: number;
  /** Events in batches on their way to Redis or the spool. */
  inFlight: number;
  spool: ReturnType<Spool["stats"]>;
}

interface Pending {
  event: QueuedEvent;
  waiters: { resolve: (r: IngestResult) => void; reject: (e: unknown) => void }[];
}

/**
 * Takes the listener's events into the INGEST queue: micro-batched (one INGEST job per batch, so the
 * listener is not bound by BullMQ's per-job cost), with a local spool for when Redis is unreachable.
 * A batch waits longer the faster traps come (batchMinMs … batchMaxMs): a sparse trap is queued in
 * a couple of milliseconds, and a storm makes fewer, larger batches, which every later stage pays
 * for per batch (a job's life cycle, a Redis call per stage, a flush per receiver).
 * A PET Acknowledge, when the destination wants one, is to be sent once add() has resolved.
 */
export class Ingest {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private readonly deliveries = new Set<Promise<void>>();
  private queue: IngestQueue | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private closed = false;
  private reachable = true;
  private readonly counters = {
    received: 0,
    duplicatesCollapsed: 0,
    batches: 0,
    queued: 0,
    spooled: 0,
    replayed: 0,
    addFailures: 0,
    inFlight: 0,
  };
  private readonly prefix: string;
  private readonly batchMaxEvents: number;
  private readonly batchMinMs: number;
  private readonly batchMaxMs: number;
  private readonly rate = new EventRate();
  private readonly addTimeoutMs: number;
  private readonly retryMs: number;
  private readonly log: (message: string) => void;
  private readonly replicas: ReplicaBarrier;

  private constructor(
    private readonly redis: RedisConnection,
    private readonly spool: Spool,
    options: IngestOptions,
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.batchMaxEvents = options.batchMaxEvents ?? 500;
    this.batchMaxMs = options.batchMaxMs ?? 20;
    this.batchMinMs = Math.min(options.batchMinMs ?? 2, this.batchMaxMs);
    this.addTimeoutMs = options.addTimeoutMs ?? 1_000;
    this.retryMs = options.retryMs ?? 1_000;
    this.log = options.log ?? ((m) => process.stderr.write(`petgate: ${m}\n`));
    // Half the add's time: what the replicas answer is known before the add is given up.
    this.replicas = new ReplicaBarrier(redis, options.replicaAcks ?? 0, this.addTimeoutMs / 2, this.log);
  }

  /**
   * Opens the spool and connects, waiting at most addTimeoutMs for Redis: if it is not there by then,
   * events spool until it is.
   */
  static async start(options: IngestOptions): Promise<Ingest> {
    const spool = await Spool.open(options.spoolFile);
    const redis = createRedis(options.connection, "producer");
    const ingest = new Ingest(redis, spool, options);
    const connected = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ingest.addTimeoutMs);
      redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    redis.on("ready", () => {
      if (!ingest.reachable) ingest.log("Redis is reachable again");
      ingest.reachable = true;
      ingest.scheduleReplay(0);
    });
    redis.on("error", (err: Error) => {
      if (ingest.reachable)
        ingest.log(`Redis unreachable (${err.message}): spooling to ${options.spoolFile}`);
      ingest.reachable = false;
    });
    await connected;
    return ingest;
  }

  /** Resolves once the event is durably queued or spooled; rejects only if it could be neither. */
  add(trap: TrapEvent): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new Error("Ingest is closed"));
    this.counters.received++;
    const id = eventId(trap);
    return new Promise((resolve, reject) => {
      const existing = this.pending.get(id);
      if (existing) {
        this.counters.duplicatesCollapsed++;
        existing.waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(id, { event: { id, trap }, waiters: [{ resolve, reject }] });
      const perSecond = this.rate.count(Date.now());
      if (this.pending.size >= this.batchMaxEvents) this.flush();
      else
        this.timer ??= setTimeout(
          () => this.flush(),
          batchLingerMs(perSecond, this.batchMinMs, this.batchMaxMs),
        );
    });
  }

  stats(): IngestStats {
    return { ...this.counters, spool: this.spool.stats() };
  }

  /** Sends what is batched, waits for every batch to be queued or spooled, and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
    clearTimeout(this.replayTimer);
    await this.replaying;
    await this.queue?.close().catch(() => undefined);
    if (this.redis.status === "ready") await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
    await this.spool.close();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.counters.inFlight += batch.size;
    const delivery: Promise<void> = this.deliver(batch).finally(() => {
      this.counters.inFlight -= batch.size;
      this.deliveries.delete(delivery);
    });
    this.deliveries.add(delivery);
  }

  private async deliver(batch: Map<string, Pending>): Promise<void> {
    const events = [...batch.values()].map((p) => p.event);
    let durable: Durability;
    try {
      await this.send(events);
      this.counters.queued += events.length;
      durable = "queued";
    } catch (err) {
      this.counters.addFailures++;
      if (this.reachable) this.log(`INGEST add failed (${String(err)}): spooling ${events.length} event(s)`);
      try {
        await this.spool.append(events);
      } catch (spoolErr) {
        this.log(`spool append failed: ${String(spoolErr)}; ${events.length} event(s) not durable`);
        for (const p of batch.values()) for (const w of p.waiters) w.reject(spoolErr);
        return;
      }
      this.counters.spooled += events.length;
      durable = "spooled";
      this.scheduleReplay(this.retryMs);
    }
    for (const p of batch.values()) for (const w of p.waiters) w.resolve({ id: p.event.id, durable });
  }

  /** One INGEST job; throws unless Redis (and replicaAcks replicas) acknowledged it within addTimeoutMs. */
  private async send(events: QueuedEvent[]): Promise<void> {
    if (this.redis.status !== "ready") throw new Error(`Redis connection is ${this.redis.status}`);
    const add = this.ingestQueue()
      .add(INGEST_JOB, { events })
      .then(() => this.replicas.wait());
    // A timed-out add may still land later: the batch is then both spooled and queued, and the events
    // worker drops the second copy of each event (claim.ts).
    add.catch(() => undefined);
    await withTimeout(add, this.addTimeoutMs, "INGEST add timed out");
    this.counters.batches++;
  }

  /** The queue is made once Redis has been reached, and remade if its set-up failed (Redis flapping). */
  private ingestQueue(): IngestQueue {
    if (this.queue) return this.queue;
    const queue = ingestQueue(this.redis, this.prefix);
    queue.waitUntilReady().catch(() => {
      if (this.queue === queue) this.queue = undefined;
      queue.close().catch(() => undefined);
    });
    this.queue = queue;
    return queue;
  }

  private scheduleReplay(delayMs: number): void {
    if (this.closed || this.replayTimer || this.spool.isEmpty()) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      this.replaying ??= this.replay().finally(() => {
        this.replaying = undefined;
        if (!this.spool.isEmpty() && this.redis.status === "ready") this.scheduleReplay(this.retryMs);
      });
    }, delayMs);
  }

  private async replay(): Promise<void> {
    if (this.closed || this.redis.status !== "ready" || this.spool.isEmpty()) return;
    try {
      const result = await this.spool.replay(async (events) => {
        await this.send(events);
        this.counters.replayed += events.length;
      }, this.batchMaxEvents);
      const skipped = result.skippedLines > 0 ? `, skipped ${result.skippedLines} torn line(s)` : "";
      this.log(`replayed ${result.replayed} spooled event(s)${skipped}`);
    } catch (err) {
      this.log(`spool replay stopped (${String(err)}); will retry`);
    }
  }
}

/** How long a batch waits at `perSecond` events a second: 1 ms per 50, within minMs…maxMs. */
export function batchLingerMs(perSecond: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(minMs, Math.floor(perSecond / 50)));
}

/**
 * The current window's count is taken as a second's once RATE_RAMP_MS of it passed (scaled to a
 * second): a storm that starts abruptly gets its batch size within a tenth of a second, where
 * counting up to a whole second made its first few hundred milliseconds batches of two or three
 * events, each paying a whole job life cycle, and the backlog they made took seconds to drain.
 */
const RATE_RAMP_MS = 100;

/**
 * Events a second, from whole-second windows: the current one's count scaled to a second (after
 * RATE_RAMP_MS), or the last one's if higher.
 */
export class EventRate {
  private windowStart = Number.NEGATIVE_INFINITY;
  private current = 0;
  private previous = 0;

  /** Counts one event at `now` (ms); returns the rate it makes. */
  count(now: number): number {
    if (now - this.windowStart >= 1000) {
      // The window just ended counts only if this one follows it; after a quiet second it is 0.
      this.previous = now - this.windowStart < 2000 ? this.current : 0;
      this.current = 0;
      this.windowStart = now;
    }
    this.current++;
    // Whole milliseconds: events at 0 … 999 ms of a window span 1,000 ms.
    const elapsed = Math.max(RATE_RAMP_MS, now - this.windowStart + 1);
    return Math.max(this.previous, Math.floor((this.current * 1000) / elapsed));
  }
}
