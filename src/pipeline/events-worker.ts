import type { Job, Worker } from "bullmq";
import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import { MibStore } from "../mib/store.js";
import { alertStateStage, RedisAlertBook } from "./alerting/alert-book-redis.js";
import { Dispatcher } from "./alerting/dispatch.js";
import { Inhibitor, inhibitStage } from "./alerting/inhibit.js";
import type { EnrichmentFacts, Notification } from "./alerting/notification.js";
import { configuredRoutes, type Route } from "./alerting/route.js";
import { SilenceStore, silenceStage } from "./alerting/silence.js";
import { StormControl, stormStage } from "./alerting/storm.js";
import { BmcPool } from "./bmc/bmc-pool.js";
import { CircuitBreaker } from "./bmc/breaker.js";
import { type EnrichContext, enrichBatch } from "./enrich/enrich.js";
import { SdrCache } from "./enrich/sdr-cache.js";
import { warmEnrichment } from "./enrich/warm.js";
import { fruStage } from "./fru/stage.js";
import { claimStage } from "./intake/claim.js";
import type { QueuedEvent } from "./intake/event.js";
import { compileTrapRules, type TrapRules } from "./interpret/rules.js";
import { interpretStage } from "./interpret/stage.js";
import type { Verdict } from "./interpret/types.js";
import { type DeliverQueue, deliverQueue } from "./notify/deliver.js";
import { Outbox } from "./notify/outbox.js";
import {
  createRedis,
  createWorker,
  DEFAULT_PREFIX,
  type INGEST_JOB,
  INGEST_QUEUE,
  type IngestJobData,
  type RedisConnection,
  type RedisTarget,
  type WorkerSettings,
} from "./queues.js";
import { petsSeenStage } from "./sel/pets-seen.js";
import { type EventOutcome, eventOf, type Item, runStages, Sequencer, type Stage } from "./stage.js";

/*
 * The events worker takes the listeners' INGEST batches (`concurrency` batches at once per process)
 * through the events path (eventsPath below), each stage over the whole batch (stage.ts):
 *
 *   claim ─▶ enrich ─▶ FRU ─▶ PETs seen ─▶ interpret ─▶ alert state ─▶ inhibit ─▶ silence ─▶ storm
 *         ─▶ route/group ─▶ enqueue
 *
 * (FRU: each BMC's cached FRU identity, fru/stage.ts. PETs seen: sel/pets-seen.ts, for SEL reconciliation, whose records whose PET never arrived come
 * back through INGEST as events of their own: sel/sweep.ts.)
 *
 * At start, enrichment is warmed in the background: each inventory BMC's session, SDR and SEL tail
 * (enrich/warm.ts). Claim and enrichment of several batches overlap; from interpret (the `traps:` rules,
 * interpret/stage.ts) to route/group, in the order the batches were taken (those ready together as
 * one run: stage.ts Sequencer), each in batch order, so that a BMC's deassertion does not overtake its assertion. (A batch that fails
 * there and is retried runs again after the batches taken since: its assertion can then come after
 * their deassertion, as with any re-run.) One BullMQ job per batch, not per event: the per-job cost
 * is what bounded the pipeline. A notification made in this process (notify(): a BMC health alert)
 * enters at FRU, then inhibit.
 *
 * A batch job completes once its stages are done; if one fails (Redis gone), the batch is retried and
 * its events processed again, which the alert book makes idempotent.
 *
 * State: the alert book is in Redis (RedisAlertBook), so a retried batch or another worker process
 * sees it. Inhibition sources, storm buckets and groups are per process (in memory): with several
 * events workers each inhibits, storm-limits and groups what it processed itself. What a group keeps
 * waiting is held in the outbox (alerting/dispatch.ts), and what the groups hold at close is sent.
 *
 * Every tickMs (and at once when a group is due already) the due groups are flushed, the storm
 * summaries of ended windows are sent (silences apply, grouping does not), and the outbox is swept
 * for what a stopped worker held.
 */

export type { EventOutcome } from "./stage.js";

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
  /**
   * The `traps:` rules compiled against the loaded MIBs (startEventsRole loads them); default the
   * config's rules against no MIB, which numeric OIDs only can name.
   */
  rules?: TrapRules;
  /** Deadline of one event's enrichment; default 3000 ms. */
  enrichDeadlineMs?: number;
  /** How often due groups and storm summaries are looked for; default 1000 ms. */
  tickMs?: number;
  /** The clock of storm control (per BMC and fleet-wide windows); default Date.now. */
  stormClock?: () => number;
  /** The clock of grouping and of routes' time intervals; default Date.now. */
  clock?: () => number;
  log?: (message: string) => void;
  /**
   * How often held deliveries of stopped workers are looked for (default 10 s), and how long past the
   * longest group timing one must be held to count as a stopped worker's (default 60 s).
   */
  outbox?: { sweepEveryMs?: number; marginMs?: number };
  /**
   * Backpressure: DELIVER jobs (flushes, one per receiver) waiting above which this worker takes no
   * new INGEST batch, until they are below half of it; default 10,000. Deliveries are the slow stage
   * (a receiver's round trip each), so without it a burst turns into DELIVER jobs faster than they go
   * out, and Redis holds every notification of the backlog twice (the job and its data) instead of
   * the compact batches.
   */
  deliverHighWater?: number;
  /** Told of every event processed (recent-events store, metrics); must not throw. */
  onProcessed?: (processed: ProcessedEvent) => void;
}

/** What one event's processing came to, for observers. */
export interface ProcessedEvent {
  event: QueuedEvent;
  enrichment: EnrichmentFacts["status"];
  /** Time its batch's enrichment took (RMCP+ reads, bounded by the deadline). */
  enrichMs: number;
  /** What the trap rules decided. */
  verdict?: Verdict;
  outcome: EventOutcome;
  /** The notification the event made, if any ("unchanged" makes none). */
  notification?: Notification;
  receivers?: string[];
}

export interface EventsWorkerStats {
  outcomes: Partial<Record<EventOutcome, number>>;
  /** Events dropped as copies of events another batch took. */
  duplicates: number;
  /** Deliveries enqueued: notifications times receivers (one sent again counts again). */
  deliveries: number;
  /** Group batches enqueued (groups flushed, storm summaries and outbox sweeps not counted). */
  batches: number;
  /** Deliveries a muted route's flush held back (time intervals), counted at each such flush. */
  mutedHeld: number;
  /** Times the worker stopped taking INGEST batches because deliveries lagged (deliverHighWater). */
  pauses: number;
}

export interface EventsWorker {
  worker: Worker<IngestJobData, BatchResult, typeof INGEST_JOB>;
  /** The RMCP+ sessions enrichment uses (a health monitor shares them and their bounds). */
  pool: BmcPool;
  /** The SDR repositories enrichment cached, by BMC name. */
  sdr: SdrCache;
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

/** What the stages work with: the alerting state of this process and its Redis connection. */
export interface PathParts {
  redis: RedisConnection;
  prefix: string;
  enrich: EnrichContext;
  rules: TrapRules;
  unknownSeverity: Config["listener"]["unknownSeverity"];
  book: RedisAlertBook;
  inhibitor: Inhibitor;
  silences: SilenceStore;
  storm: StormControl;
  stormClock: () => number;
  dispatcher: Dispatcher;
  /** Remember the PETs each BMC sent, for SEL reconciliation (config `sel.enabled`). */
  petsSeen?: boolean;
}

export interface EventsPath {
  /** Batches overlap here. */
  overlapping: Stage[];
  /** One batch at a time, in the order they were taken. */
  inOrder: Stage[];
  /** Batches overlap again: the next one's alert state need not wait for this one's flush. */
  after: Stage[];
  /** What a notification made in this process goes through. */
  notification: Stage[];
}

/** The events path, stage by stage, as Alertmanager's notify.go composes its pipeline. */
export function eventsPath(parts: PathParts): EventsPath {
  const claim = claimStage(parts.redis, parts.prefix);
  const enrich = enrichStage(parts.enrich);
  const interpret = interpretStage(parts.rules, parts.unknownSeverity);
  const alertState = alertStateStage(parts.book);
  const inhibit = inhibitStage(parts.inhibitor);
  const silence = silenceStage(parts.silences);
  const storm = stormStage(parts.storm, parts.stormClock);
  const fru = fruStage(parts.redis, parts.prefix);
  const { groupStage: routeGroup, enqueueStage: enqueue } = parts.dispatcher;
  return {
    overlapping: [claim, enrich, fru, ...(parts.petsSeen ? [petsSeenStage(parts.redis, parts.prefix)] : [])],
    // Interpret stops some items: first in order, so that what claim let through is what is reported.
    inOrder: [interpret, alertState, inhibit, silence, storm, routeGroup],
    after: [enqueue],
    notification: [fru, inhibit, silence, storm, routeGroup],
  };
}

/** Enrichment: the batch's events from their BMCs at once (events of one BMC share reads). */
function enrichStage(context: EnrichContext): Stage {
  return {
    name: "enrich",
    async exec(items) {
      const started = performance.now();
      const enrichments = await enrichBatch(items.map(eventOf), context);
      const enrichMs = performance.now() - started;
      items.forEach((item, i) => {
        item.enrichment = enrichments[i];
        item.enrichMs = enrichMs;
      });
      return items;
    },
  };
}

/** The parts of the events path for these options, on `redis` (which the caller owns). */
export function pathParts(
  options: Omit<EventsWorkerOptions, "connection">,
  redis: RedisConnection,
  deliver: DeliverQueue,
): PathParts & { pool: BmcPool; breaker: CircuitBreaker } {
  const { config } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const tree = configuredRoutes(config);
  if (options.receivers) {
    const known = new Set(options.receivers);
    for (const r of routeReceivers(tree))
      if (!known.has(r)) log(`route receiver "${r}" has no sink: its deliveries will be dead-lettered`);
  }
  const pool = new BmcPool();
  const breaker = new CircuitBreaker();
  return {
    redis,
    prefix,
    pool,
    breaker,
    enrich: {
      inventory: options.inventory ?? resolveBmcs(config),
      pool,
      sdr: new SdrCache(),
      breaker,
      ...(options.enrichDeadlineMs !== undefined && { deadlineMs: options.enrichDeadlineMs }),
    },
    rules: options.rules ?? compileTrapRules(config.traps, MibStore.empty()),
    unknownSeverity: config.listener.unknownSeverity,
    book: new RedisAlertBook(redis, prefix, config.listener.unknownSeverity),
    inhibitor: new Inhibitor(config.inhibit_rules),
    silences: new SilenceStore(redis, { prefix }),
    storm: new StormControl(config.storm),
    stormClock: options.stormClock ?? Date.now,
    petsSeen: config.sel.enabled,
    dispatcher: new Dispatcher({
      tree,
      outbox: new Outbox(redis, prefix),
      deliver,
      // What a dead worker held is swept once every group that could hold it would have gone out.
      staleAfterMs: maxGroupTiming(tree) + (options.outbox?.marginMs ?? OUTBOX_MARGIN_MS),
      sweepEveryMs: options.outbox?.sweepEveryMs ?? OUTBOX_SWEEP_MS,
      ...(options.clock && { clock: options.clock }),
      log,
    }),
  };
}

export async function startEventsWorker(options: EventsWorkerOptions): Promise<EventsWorker> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const connection = createRedis(options.connection, "worker");
  connection.on("error", () => undefined); // BullMQ reconnects; jobs wait
  const deliver = deliverQueue(connection, prefix);
  const parts = pathParts(options, connection, deliver);
  const { dispatcher, storm, stormClock, silences } = parts;
  const path = eventsPath(parts);
  const sequencer = new Sequencer();
  const counts = { outcomes: {} as EventsWorkerStats["outcomes"], duplicates: 0, pauses: 0 };
  const counted = (outcome: EventOutcome) => {
    counts.outcomes[outcome] = (counts.outcomes[outcome] ?? 0) + 1;
  };

  const processBatch = async (
    job: Job<IngestJobData, BatchResult, typeof INGEST_JOB>,
  ): Promise<BatchResult> => {
    const { events } = job.data;
    const context = { batchId: job.id ?? "" };
    const claimed = await sequencer.run(
      () =>
        runStages(
          path.overlapping,
          events.map((event) => ({ event })),
          context,
        ),
      path.inOrder,
      context,
    );
    await runStages(path.after, claimed, context);
    counts.duplicates += events.length - claimed.length;
    for (const item of claimed) {
      const outcome = outcomeOf(item);
      counted(outcome);
      options.onProcessed?.({
        event: eventOf(item),
        enrichment: item.enrichment?.status ?? "none",
        enrichMs: item.enrichMs ?? 0,
        ...(item.verdict && { verdict: item.verdict }),
        outcome,
        ...(item.notification && { notification: item.notification }),
        ...(item.receivers && { receivers: item.receivers }),
      });
    }
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

  /** Storm summaries of ended windows, unless silenced, ungrouped. */
  const sendSummaries = async (summaries: Notification[]): Promise<void> => {
    if (summaries.length === 0) return;
    const muted = await silences.muting(Date.now());
    await dispatcher.sendNow(summaries.filter((s) => !muted(s)));
  };
  let tick: Promise<void> | undefined;
  let closing = false;
  const runTick = () => {
    if (tick || closing) return;
    tick = Promise.all([
      dispatcher
        .flush(dispatcher.clock())
        .catch((err: unknown) => log(`group batch not enqueued: ${String(err)}`)),
      dispatcher.sweep(Date.now()).catch((err: unknown) => log(`outbox sweep failed: ${String(err)}`)),
      sendSummaries(storm.due(stormClock())).catch((err: unknown) =>
        log(`storm summary not enqueued: ${String(err)}`),
      ),
    ]).then(() => {
      tick = undefined;
      // A group due already (group_wait 0) goes out now rather than at the next tick.
      if (dispatcher.due(dispatcher.clock())) setImmediate(runTick);
    });
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
      counts.pauses += 1;
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
  // Sessions, SDRs and SEL tails read before the first storm needs them (enrich/warm.ts).
  const warming = warmEnrichment(parts.enrich, () => closing).then(({ warmed, of, ms }) => {
    if (of > 0 && !closing) log(`enrichment warm: the SDR of ${warmed} of ${of} BMC(s) read in ${ms} ms`);
  });
  return {
    worker,
    pool: parts.pool,
    sdr: parts.enrich.sdr,
    breaker: parts.breaker,
    async notify(notification) {
      const item: Item = { notification };
      await sequencer.run(async () => [item], path.notification, { batchId: "" });
      await runStages(path.after, [item], { batchId: "" });
      const outcome = outcomeOf(item);
      counted(outcome);
      return outcome;
    },
    stats: () => ({ ...counts, outcomes: { ...counts.outcomes }, ...dispatcher.counts }),
    async close() {
      closing = true;
      clearInterval(timer);
      clearInterval(watcher);
      await watching;
      await worker.close();
      await tick;
      // What the groups still hold goes out now rather than being lost with this process.
      await dispatcher.drain().catch((err: unknown) => log(`group batches lost at close: ${String(err)}`));
      await deliver.close();
      await parts.pool.closeAll();
      await warming;
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

const DELIVER_HIGH_WATER = 10_000;
const BACKPRESSURE_EVERY_MS = 500;
const OUTBOX_SWEEP_MS = 10_000;
/** Beyond the longest group timing: ticks, a busy Redis. */
const OUTBOX_MARGIN_MS = 60_000;

const defaultLog = (m: string) => process.stderr.write(`petgate: ${m}\n`);

/** How an item's stages ended: each stage that stops an item says why, route/group says "sent". */
function outcomeOf(item: Item): EventOutcome {
  if (!item.outcome) throw new Error("an item went through every stage without an outcome");
  return item.outcome;
}

/** The longest a notification can wait in a group of this route tree (group_wait or group_interval). */
function maxGroupTiming(route: Route): number {
  return Math.max(route.groupWaitMs, route.groupIntervalMs, ...route.routes.map(maxGroupTiming));
}

function routeReceivers(route: Route): string[] {
  return [route.receiver, ...route.routes.flatMap(routeReceivers)];
}
