import type { Job, Worker } from "bullmq";
import { listenerOptions } from "../cli/listen.js";
import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import type { HostPort } from "../net/address.js";
import { TrapListener } from "../pet/listener.js";
import type { Notification, Sink } from "../sinks/sink.js";
import { RedisAlertBook } from "./alert-book-redis.js";
import { BmcPool } from "./bmc-pool.js";
import { CircuitBreaker } from "./breaker.js";
import { type DeliveryWorker, deliverQueue, enqueueDeliveries, startDeliveryWorker } from "./deliver.js";
import { enrich } from "./enrich.js";
import { type FanOut, Ingest, startFanOut } from "./ingest.js";
import { Inhibitor } from "./inhibit.js";
import {
  createRedis,
  createWorker,
  DEFAULT_PREFIX,
  type EVENT_JOB,
  EVENTS_QUEUE,
  type EventJobData,
  type RedisTarget,
} from "./queues.js";
import { compileRoutes, matchRoutes, type Route, routesSchema } from "./route.js";
import { SdrCache } from "./sdr-cache.js";
import { SilenceStore } from "./silence.js";
import { StormControl } from "./storm.js";

/*
 * The events worker: one EVENTS job (one distinct event) at a time per process.
 *
 *   enrich ─▶ AlertBook.next (firing / resolved / nothing) ─▶ inhibit (observe, then check)
 *     ─▶ silences ─▶ storm control ─▶ matchRoutes ─▶ enqueueDeliveries (one DELIVER job per receiver)
 *
 * State: the alert book is in Redis (RedisAlertBook), so a retried job or another worker process
 * sees it. Inhibition sources and storm buckets are per process (in memory): with several events
 * workers each inhibits and storm-limits what it processed itself.
 *
 * Grouping (group.ts, Grouper) is NOT applied in this version: each notification is sent at once to
 * every matched route's receiver, as with group_wait 0 and one alert per group. Applying it means
 * adding to a Grouper here and sending what a timer loop gets from grouper.due() (batches of
 * notifications per receiver, a sink API that takes batches). Storm summaries are sent by such a
 * loop (StormControl.due), every `tickMs`.
 */

export type EventOutcome = "sent" | "unchanged" | "inhibited" | "silenced" | "storm";

export interface EventJobResult {
  outcome: EventOutcome;
  notification?: string;
  receivers?: string[];
}

export interface EventsWorkerOptions {
  config: Config;
  connection: RedisTarget;
  prefix?: string;
  /** The receivers the delivery workers know; a route to another one is logged at start. */
  receivers?: Iterable<string>;
  /** The resolved inventory; default resolveBmcs(config). */
  inventory?: readonly BmcTarget[];
  /** Deadline of one event's enrichment; default 3000 ms. */
  enrichDeadlineMs?: number;
  /** How often storm summaries are looked for; default 1000 ms. */
  tickMs?: number;
  log?: (message: string) => void;
}

export interface EventsWorkerStats {
  outcomes: Partial<Record<EventOutcome, number>>;
  /** DELIVER jobs enqueued (one per notification and receiver). */
  deliveries: number;
}

export interface EventsWorker {
  worker: Worker<EventJobData, EventJobResult, typeof EVENT_JOB>;
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
  const book = new RedisAlertBook(connection, prefix);
  const silences = new SilenceStore(connection, { prefix });
  const deliver = deliverQueue(connection, prefix);
  const inhibitor = new Inhibitor(config.inhibit_rules);
  const storm = new StormControl(config.storm);
  const pool = new BmcPool({ keepAliveMs: 0 });
  const sdr = new SdrCache();
  const breaker = new CircuitBreaker();
  const stats: EventsWorkerStats = { outcomes: {}, deliveries: 0 };

  const send = async (n: Notification): Promise<string[]> => {
    const receivers = [...new Set(matchRoutes(tree, n).map((r) => r.receiver))];
    await enqueueDeliveries(deliver, n, receivers);
    stats.deliveries += receivers.length;
    return receivers;
  };

  const processor = async (
    job: Job<EventJobData, EventJobResult, typeof EVENT_JOB>,
  ): Promise<EventJobResult> => {
    const done = (outcome: EventOutcome, extra: Omit<EventJobResult, "outcome"> = {}): EventJobResult => {
      stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
      return { outcome, ...extra };
    };
    const event = job.data;
    const facts = await enrich(event, {
      inventory,
      pool,
      sdr,
      breaker,
      ...(options.enrichDeadlineMs !== undefined && { deadlineMs: options.enrichDeadlineMs }),
    });
    const n = await book.next(event, facts);
    if (!n) return done("unchanged");
    inhibitor.observe(n);
    const notification = n.id;
    if (inhibitor.isInhibited(n)) return done("inhibited", { notification });
    if (await silences.isSilenced(n, Date.now())) return done("silenced", { notification });
    if (!storm.admit(n, Date.now())) return done("storm", { notification });
    return done("sent", { notification, receivers: await send(n) });
  };

  const worker = createWorker<EventJobData, EventJobResult, typeof EVENT_JOB>(EVENTS_QUEUE, processor, {
    connection,
    prefix,
    concurrency: 1,
  });
  worker.on("error", () => undefined); // connection errors: BullMQ reconnects
  worker.on("failed", (job, err) => log(`event ${job?.id ?? "?"} failed: ${err.message}`));

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    const summaries = storm.due(Date.now());
    Promise.all(
      summaries.map(async (s) => {
        if (await silences.isSilenced(s, Date.now())) return;
        await send(s);
      }),
    )
      .catch((err: unknown) => log(`storm summary not enqueued: ${String(err)}`))
      .finally(() => {
        ticking = false;
      });
  }, options.tickMs ?? 1000);
  timer.unref();

  await worker.waitUntilReady();
  return {
    worker,
    stats: () => ({ outcomes: { ...stats.outcomes }, deliveries: stats.deliveries }),
    async close() {
      clearInterval(timer);
      await worker.close();
      await deliver.close();
      await pool.closeAll();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

function routeReceivers(route: Route): string[] {
  return [route.receiver, ...route.routes.flatMap(routeReceivers)];
}

export interface PipelineOptions {
  config: Config;
  redis: RedisTarget;
  prefix?: string;
  /** Ingest's spool (one per process). */
  spoolFile: string;
  /** Sinks by receiver name (the caller owns and closes them). */
  sinks: ReadonlyMap<string, Sink>;
  /** Where the listener binds; default config.listener.bind. */
  listen?: HostPort;
  inventory?: readonly BmcTarget[];
  enrichDeadlineMs?: number;
  log?: (message: string) => void;
}

export interface Pipeline {
  listener: TrapListener;
  ingest: Ingest;
  fanOut: FanOut;
  events: EventsWorker;
  delivery: DeliveryWorker;
  /** Listener stops, what it took is flushed to Redis (or the spool), then the workers stop. */
  close(): Promise<void>;
}

/**
 * Everything in one process: trap listener → Ingest → fan-out worker → events worker → delivery
 * worker. PET acknowledgements are not sent: the listener hands over decoded events only (no reply
 * path to the BMC), so a destination with `acknowledge: true` will resend until its retries run out
 * (the copies collapse by event id).
 */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? ((m: string) => process.stderr.write(`petgate: ${m}\n`));
  const inventory = options.inventory ?? resolveBmcs(options.config);
  const delivery = await startDeliveryWorker({
    connection: options.redis,
    prefix,
    sinks: options.sinks,
    log,
  });
  const events = await startEventsWorker({
    config: options.config,
    connection: options.redis,
    prefix,
    receivers: options.sinks.keys(),
    inventory,
    ...(options.enrichDeadlineMs !== undefined && { enrichDeadlineMs: options.enrichDeadlineMs }),
    log,
  });
  const fanOut = await startFanOut({ connection: options.redis, prefix });
  const ingest = await Ingest.start({ connection: options.redis, prefix, spoolFile: options.spoolFile, log });
  const listenerConfig = listenerOptions(options.config.listener);
  const listener = await TrapListener.start(
    { ...listenerConfig, ...(options.listen && { bind: options.listen }) },
    (event) => {
      ingest.add(event).catch((err: unknown) => log(`event lost: ${String(err)}`));
    },
  );
  return {
    listener,
    ingest,
    fanOut,
    events,
    delivery,
    async close() {
      await listener.close();
      await ingest.close();
      await fanOut.close();
      await events.close();
      await delivery.close();
    },
  };
}
