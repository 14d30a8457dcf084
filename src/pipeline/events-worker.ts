import type { Job, Worker } from "bullmq";
import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import { RedisAlertBook } from "./alerting/alert-book-redis.js";
import { type Batch, Grouper } from "./alerting/group.js";
import { Inhibitor } from "./alerting/inhibit.js";
import type { EnrichmentFacts, Notification } from "./alerting/notification.js";
import { compileRoutes, matchRoutes, type Route, routesSchema } from "./alerting/route.js";
import { SilenceStore } from "./alerting/silence.js";
import { StormControl } from "./alerting/storm.js";
import { BmcPool } from "./bmc/bmc-pool.js";
import { CircuitBreaker } from "./bmc/breaker.js";
import { enrich } from "./enrich/enrich.js";
import { SdrCache } from "./enrich/sdr-cache.js";
import { claimEvents } from "./intake/claim.js";
import type { QueuedEvent } from "./intake/event.js";
import { deliverQueue, deliveryId, enqueueDeliveries, enqueueDeliveryJobs } from "./notify/deliver.js";
import { Outbox } from "./notify/outbox.js";
import {
  createRedis,
  createWorker,
  DEFAULT_PREFIX,
  type INGEST_JOB,
  INGEST_QUEUE,
  type IngestJobData,
  type RedisTarget,
  type WorkerSettings,
} from "./queues.js";

/*
 * The events worker takes the listeners' INGEST batches (`concurrency` batches at once per process),
 * claims each event (intake/claim.ts: a copy of an event another batch took is dropped), and processes the
 * claimed ones all at once, those of one BMC (source address) one at a time in batch order. One
 * BullMQ job per batch, not per event: the per-job cost is what bounded the pipeline.
 *
 *   enrich ─▶ AlertBook.next (firing / resolved / nothing) ─▶ inhibit (observe, then check)
 *     ─▶ silences ─▶ storm control (per BMC, then fleet-wide) ─▶ matchRoutes
 *     ─▶ Grouper.add (one group per route and labels)
 *   every tickMs, and at once when a group is due already (group_wait 0): Grouper.due ─▶ batches
 *     ─▶ enqueueDeliveryJobs (one DELIVER job per notification of a batch, for the batch's receiver)
 *
 * A batch job completes once each of its events is processed; if one fails (Redis gone), the batch
 * is retried and its events processed again, which the alert book makes idempotent.
 *
 * State: the alert book is in Redis (RedisAlertBook), so a retried batch or another worker process
 * sees it. Inhibition sources and storm buckets are per process (in memory): with several events
 * workers each inhibits and storm-limits what it processed itself (the fleet limit is per process too).
 *
 * Grouping (alerting/group.ts, Grouper) decides WHEN notifications go out: a notification is added to its
 * group under each matched route, and a timer loop (every `tickMs`) enqueues what grouper.due()
 * returns. Sinks stay per notification: each notification of a batch is its own DELIVER job for the
 * batch's receiver. A batch that resends an alert already delivered (a group's later batches carry
 * its firing alerts again) collapses into the delivered marker, so group_interval brings what
 * changed and repeat_interval re-sends nothing a receiver already has. Groups are per process (in
 * memory), like inhibition: what is still held when the worker closes is sent at close, and what a
 * group keeps waiting is held in the outbox (notify/outbox.ts) so that a crash loses nothing; a group due at
 * once is enqueued before the event's batch completes and needs no outbox. Batches that could not
 * be enqueued (Redis down) are retried at the next tick. Storm summaries (StormControl.due) are
 * enqueued by the same loop at once, not grouped.
 */

export type EventOutcome = "sent" | "unchanged" | "inhibited" | "silenced" | "storm";

export interface BatchResult {
  /** Events in the batch; claimed by it (the others were copies of events taken already). */
  events: number;
  claimed: number;
}

export interface EventsWorkerOptions extends WorkerSettings {
  config: Config;
  connection: RedisTarget;
  /** The receivers the delivery workers know; a route to another one is logged at start. */
  receivers?: Iterable<string>;
  /** The resolved inventory; default resolveBmcs(config). */
  inventory?: readonly BmcTarget[];
  /** Deadline of one event's enrichment; default 3000 ms. */
  enrichDeadlineMs?: number;
  /** How often due groups and storm summaries are looked for; default 1000 ms. */
  tickMs?: number;
  /** The clock of storm control (per BMC and fleet-wide windows); default Date.now. */
  stormClock?: () => number;
  log?: (message: string) => void;
  /**
   * How often held deliveries of stopped workers are looked for (default 10 s), and how long past the
   * longest group timing one must be held to count as a stopped worker's (default 60 s).
   */
  outbox?: { sweepEveryMs?: number; marginMs?: number };
  /**
   * Backpressure: DELIVER jobs waiting above which this worker takes no new INGEST batch, until they
   * are below half of it; default 10,000. Deliveries are the slow stage (a receiver's round trip
   * each), so without it a burst turns into DELIVER jobs faster than they go out, and Redis holds
   * every notification of the backlog twice (the job and its data) instead of the compact batches.
   */
  deliverHighWater?: number;
  /** Told of every event processed (recent-events store, metrics); must not throw. */
  onProcessed?: (processed: ProcessedEvent) => void;
}

/** What one event's processing came to, for observers. */
export interface ProcessedEvent {
  event: QueuedEvent;
  enrichment: EnrichmentFacts["status"];
  /** Time spent in enrich() (RMCP+ reads, bounded by the deadline). */
  enrichMs: number;
  outcome: EventOutcome;
  /** The notification the event made, if any ("unchanged" makes none). */
  notification?: Notification;
  receivers?: string[];
}

export interface EventsWorkerStats {
  outcomes: Partial<Record<EventOutcome, number>>;
  /** Events dropped as copies of events another batch took. */
  duplicates: number;
  /** DELIVER jobs enqueued (one per notification and receiver; a copy of an existing job counts). */
  deliveries: number;
  /** Group batches enqueued. */
  batches: number;
  /** Times the worker stopped taking INGEST batches because deliveries lagged (deliverHighWater). */
  pauses: number;
}

export interface EventsWorker {
  worker: Worker<IngestJobData, BatchResult, typeof INGEST_JOB>;
  /** The RMCP+ sessions enrichment uses (a health monitor shares them and their bounds). */
  pool: BmcPool;
  /** Per-BMC breaker of enrichment reads. */
  breaker: CircuitBreaker;
  /**
   * A notification made in this process (a BMC health alert): inhibition, silences, storm control
   * and routing as for an event's. Its id makes it idempotent at the receivers.
   */
  notify(notification: Notification): Promise<EventOutcome>;
  stats(): EventsWorkerStats;
  close(): Promise<void>;
}

const DEFAULT_ROUTES = { receiver: "default" };

export async function startEventsWorker(options: EventsWorkerOptions): Promise<EventsWorker> {
  const { config } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? ((m: string) => process.stderr.write(`petgate: ${m}\n`));
  const inventory = options.inventory ?? resolveBmcs(config);
  const tree = compileRoutes(config.routes ?? routesSchema.parse(DEFAULT_ROUTES));
  if (options.receivers) {
    const known = new Set(options.receivers);
    for (const r of routeReceivers(tree))
      if (!known.has(r)) log(`route receiver "${r}" has no sink: its deliveries will be dead-lettered`);
  }

  const connection = createRedis(options.connection, "worker");
  connection.on("error", () => undefined); // BullMQ reconnects; jobs wait
  const book = new RedisAlertBook(connection, prefix, config.listener.unknownSeverity);
  const silences = new SilenceStore(connection, { prefix });
  const deliver = deliverQueue(connection, prefix);
  const inhibitor = new Inhibitor(config.inhibit_rules);
  const storm = new StormControl(config.storm);
  const stormClock = options.stormClock ?? Date.now;
  const pool = new BmcPool({ keepAliveMs: 0 });
  const sdr = new SdrCache();
  const breaker = new CircuitBreaker();
  const stats: EventsWorkerStats = { outcomes: {}, duplicates: 0, deliveries: 0, batches: 0, pauses: 0 };
  const grouper = new Grouper();
  const outbox = new Outbox(connection, prefix);
  // What a dead worker held is swept once every group that could hold it would have gone out.
  const staleAfterMs = maxGroupTiming(tree) + (options.outbox?.marginMs ?? OUTBOX_MARGIN_MS);
  const sweepEveryMs = options.outbox?.sweepEveryMs ?? OUTBOX_SWEEP_MS;
  let lastSweep = 0;
  /** Delivery ids this process holds in the outbox (those of groups that wait). */
  const held = new Set<string>();
  /** Outbox entries to release (kept until a release succeeds). */
  const unheld: string[] = [];
  /** Batches due but not yet enqueued (a failed enqueue is retried at the next tick). */
  const pending: Batch[] = [];

  /**
   * Into its group under every route that takes it; returns the receivers. A group due at once
   * (group_wait 0, or its group_interval over) is enqueued before this returns, so before the event's
   * INGEST batch completes. A group that waits keeps it in process memory, so its deliveries are held
   * in the outbox (Redis) first: a crash before the group goes out loses nothing.
   */
  const group = async (n: Notification): Promise<string[]> => {
    const routes = matchRoutes(tree, n);
    const now = Date.now();
    const waiting = routes.filter((r) => grouper.flushAt(n, r, now) > now);
    const toHold = receiversOf(waiting);
    await outbox.hold(n, toHold);
    for (const r of toHold) held.add(deliveryId(n.id, r));
    for (const route of routes) grouper.add(n, route, now);
    if (waiting.length < routes.length) await flushGroups(Date.now());
    else flushIfDue();
    return receiversOf(routes);
  };

  /** Enqueues, ungrouped, the deliveries a dead worker held (see notify/outbox.ts); every sweepEveryMs. */
  const sweepOutbox = async (now: number): Promise<void> => {
    if (now - lastSweep < sweepEveryMs) return;
    lastSweep = now;
    const { ids, deliveries } = await outbox.stale(now - staleAfterMs);
    await enqueueDeliveryJobs(deliver, deliveries);
    await outbox.release(ids);
    if (deliveries.length > 0)
      log(`outbox: ${deliveries.length} held delivery(ies) of a stopped worker enqueued`);
  };

  /** Straight to the DELIVER queue, ungrouped (storm summaries). */
  const send = async (n: Notification): Promise<void> => {
    const receivers = receiversOf(matchRoutes(tree, n));
    await enqueueDeliveries(deliver, n, receivers);
    stats.deliveries += receivers.length;
  };

  /**
   * Enqueues the batches due at `now` and any left over from a failed flush, in order, in one round
   * trip. One flush at a time: two would both send what is pending (close's final flush can meet a
   * tick), and a flush awaited by an event must include the batches due before it.
   */
  let flushing: Promise<void> = Promise.resolve();
  const flushGroups = (now: number): Promise<void> => {
    const flush = flushing.then(async () => {
      pending.push(...grouper.due(now));
      if (pending.length > 0) {
        const deliveries = pending.flatMap((b) =>
          b.notifications.map((notification) => ({ receiver: b.receiver, notification })),
        );
        const ids = await enqueueDeliveryJobs(deliver, deliveries);
        stats.deliveries += deliveries.length;
        stats.batches += pending.length;
        pending.length = 0;
        unheld.push(...ids.filter((id) => held.delete(id)));
      }
      // Held deliveries the groups dropped (superseded before their batch): never to be sent.
      const discarded = grouper.takeDiscarded().map((d) => deliveryId(d.notification.id, d.receiver));
      unheld.push(...discarded.filter((id) => held.delete(id)));
      await outbox.release(unheld);
      unheld.length = 0;
    });
    flushing = flush.catch(() => undefined);
    return flush;
  };

  const admit = async (n: Notification): Promise<EventOutcome> => {
    inhibitor.observe(n);
    if (inhibitor.isInhibited(n)) return "inhibited";
    if (await silences.isSilenced(n, Date.now())) return "silenced";
    if (!storm.admit(n, stormClock())) return "storm";
    return "sent";
  };

  const processEvent = async (event: QueuedEvent): Promise<void> => {
    const started = performance.now();
    const facts = await enrich(event, {
      inventory,
      pool,
      sdr,
      breaker,
      ...(options.enrichDeadlineMs !== undefined && { deadlineMs: options.enrichDeadlineMs }),
    });
    const enrichMs = performance.now() - started;
    const n = await book.next(event, facts);
    const outcome = n ? await admit(n) : "unchanged";
    const receivers = n && outcome === "sent" ? await group(n) : undefined;
    stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
    options.onProcessed?.({
      event,
      enrichment: facts.status,
      enrichMs,
      outcome,
      ...(n && { notification: n }),
      ...(receivers && { receivers }),
    });
  };

  // Events of one BMC (one source address) are processed in the order they were taken, so that a
  // deassertion cannot overtake its assertion while the assertion's enrichment is still reading.
  const inOrder = new KeyedSerializer();
  const processBatch = async (
    job: Job<IngestJobData, BatchResult, typeof INGEST_JOB>,
  ): Promise<BatchResult> => {
    const { events } = job.data;
    const claimed = await claimEvents(connection, prefix, job.id ?? "", events);
    stats.duplicates += events.length - claimed.length;
    const results = await Promise.allSettled(
      claimed.map((e) => inOrder.run(e.trap.source.address, () => processEvent(e))),
    );
    const failure = results.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    return { events: events.length, claimed: claimed.length };
  };

  const worker = createWorker<IngestJobData, BatchResult, typeof INGEST_JOB>(INGEST_QUEUE, processBatch, {
    ...options,
    connection,
    prefix,
    concurrency: options.concurrency ?? 4,
  });
  worker.on("error", () => undefined); // connection errors: BullMQ reconnects
  worker.on("failed", (job, err) => log(`INGEST batch ${job?.id ?? "?"} failed: ${err.message}`));

  let tick: Promise<void> | undefined;
  const runTick = () => {
    if (tick) return;
    const summaries = storm.due(stormClock());
    tick = Promise.all([
      flushGroups(Date.now()).catch((err: unknown) => log(`group batch not enqueued: ${String(err)}`)),
      sweepOutbox(Date.now()).catch((err: unknown) => log(`outbox sweep failed: ${String(err)}`)),
      Promise.all(
        summaries.map(async (s) => {
          if (await silences.isSilenced(s, Date.now())) return;
          await send(s);
        }),
      ).catch((err: unknown) => log(`storm summary not enqueued: ${String(err)}`)),
    ]).then(() => {
      tick = undefined;
      flushIfDue();
    });
  };
  /** A group due already (group_wait 0) goes out now rather than at the next tick. */
  const flushIfDue = () => {
    if ((grouper.nextDue() ?? Number.POSITIVE_INFINITY) <= Date.now()) setImmediate(runTick);
  };
  const timer = setInterval(runTick, options.tickMs ?? 1000);
  timer.unref();

  // Backpressure (deliverHighWater): pause taking INGEST batches while deliveries lag.
  const highWater = options.deliverHighWater ?? DELIVER_HIGH_WATER;
  let paused = false;
  const watchDeliveries = async () => {
    const waiting = await deliver.getWaitingCount();
    if (!paused && waiting > highWater) {
      paused = true;
      stats.pauses += 1;
      log(`events worker paused: ${waiting} deliveries waiting (high water ${highWater})`);
      await worker.pause(true);
    } else if (paused && waiting < highWater / 2) {
      paused = false;
      log(`events worker resumed: ${waiting} deliveries waiting`);
      worker.resume();
    }
  };
  let watching: Promise<void> | undefined;
  const watcher = setInterval(() => {
    watching ??= watchDeliveries()
      .catch(() => undefined) // Redis away: the next look decides
      .finally(() => {
        watching = undefined;
      });
  }, BACKPRESSURE_EVERY_MS);
  watcher.unref();

  await worker.waitUntilReady();
  return {
    worker,
    pool,
    breaker,
    async notify(n) {
      const outcome = await admit(n);
      stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
      if (outcome === "sent") await group(n);
      return outcome;
    },
    stats: () => ({ ...stats, outcomes: { ...stats.outcomes } }),
    async close() {
      clearInterval(timer);
      clearInterval(watcher);
      await watching;
      await worker.close();
      await tick;
      // What the groups still hold goes out now rather than being lost with this process.
      await flushGroups(Number.MAX_SAFE_INTEGER).catch((err: unknown) =>
        log(`group batches lost at close: ${String(err)}`),
      );
      await deliver.close();
      await pool.closeAll();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

const DELIVER_HIGH_WATER = 10_000;
const BACKPRESSURE_EVERY_MS = 500;
const OUTBOX_SWEEP_MS = 10_000;
/** Beyond the longest group timing: ticks, a busy Redis. */
const OUTBOX_MARGIN_MS = 60_000;

/** The longest a notification can wait in a group of this route tree (group_wait or group_interval). */
function maxGroupTiming(route: Route): number {
  return Math.max(route.groupWaitMs, route.groupIntervalMs, ...route.routes.map(maxGroupTiming));
}

/** The distinct receivers of the matched routes. */
function receiversOf(routes: readonly Route[]): string[] {
  return [...new Set(routes.map((r) => r.receiver))];
}

/** Runs tasks one at a time per key, in the order they were given; different keys run at once. */
class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

function routeReceivers(route: Route): string[] {
  return [route.receiver, ...route.routes.flatMap(routeReceivers)];
}
