import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import type { Sink } from "../sinks/sink.js";
import { parseDuration } from "./alerting/route.js";
import { type EventsWorker, type ProcessedEvent, startEventsWorker } from "./events-worker.js";
import { FruWatcher } from "./fru/watch.js";
import { HealthMonitor, type HealthMonitorOptions, type HealthState } from "./health/health.js";
import { HealthStore, markResolved, openIncidents, sharedIncidentStart } from "./health/health-store.js";
import { RedisLease } from "./health/lease.js";
import { type Intake, type IntakeOptions, startIntake } from "./intake/intake.js";
import { loadTrapRules } from "./interpret/load.js";
import type { TrapRules } from "./interpret/rules.js";
import { type DeliveryWorker, startDeliveryWorker } from "./notify/deliver.js";
import type { RetryOptions } from "./notify/retry.js";
import {
  createRedis,
  DEFAULT_PREFIX,
  ingestQueue,
  type RedisConnection,
  type RedisTarget,
  type WorkerSettings,
} from "./queues.js";
import { type RecentRecorder, recordRecent } from "./recent/recent.js";
import { SelHealth } from "./sel/health.js";
import { selAlerting } from "./sel/record-event.js";
import { SelSweeper } from "./sel/sweep.js";

/*
 * The pipeline's two roles, which `petgate serve` runs together or apart (any number of each on one
 * Redis):
 *
 *   intake:  trap listener → Ingest (INGEST queue, or the spool while Redis is away) → PET Acknowledge
 *            (intake/intake.ts)
 *   workers: events worker (INGEST batches) → DELIVER → delivery worker → sinks; BMC health monitor
 *            and SEL reconciliation (its records whose PET never arrived → INGEST)
 */

const defaultLog = (m: string) => process.stderr.write(`petgate: ${m}\n`);

export interface WorkersOptions extends Pick<WorkerSettings, "lockDurationMs" | "stalledIntervalMs"> {
  config: Config;
  redis: RedisTarget;
  prefix?: string;
  /** Replicas that must hold a delivery's claims before it is sent (redis.replicaAcks); default 0. */
  replicaAcks?: number;
  /** Sinks by receiver name (the caller owns and closes them). */
  sinks: ReadonlyMap<string, Sink>;
  /** The resolved inventory; default resolveBmcs(config). */
  inventory?: readonly BmcTarget[];
  /** The compiled `traps:` rules; default loaded at start (loadTrapRules: MIBs, then the rules). */
  rules?: TrapRules;
  /** Where parsed MIBs are cached when config `mibs.cache` does not say (serve: its data dir). */
  mibCacheDir?: string;
  /** Where SEL archives go when config `sel.archive_dir` does not say (serve: its data dir); default ./sel-archive. */
  selArchiveDir?: string;
  enrichDeadlineMs?: number;
  /** The events worker's tick (groups, storm summaries); default 1000 ms. */
  tickMs?: number;
  /** The delivery retry policy of every sink (deliverWithRetries). */
  retry?: RetryOptions;
  /** Overrides of the health monitor's settings (config `health:`); false: no monitor. */
  health?: false | Partial<HealthMonitorOptions>;
  /** Told of every event processed, besides the recent events (metrics); must not throw. */
  onProcessed?: (processed: ProcessedEvent) => void;
  log?: (message: string) => void;
}

export interface Workers extends EventsRole, DeliveryRole {
  /** Probes stop, then each worker finishes the jobs in hand (a crash hands them back: stalled jobs). */
  close(): Promise<void>;
}

/**
 * The events and delivery workers, and the health monitor of the inventory's BMCs: both halves
 * (startEventsRole, startDeliveryRole) sharing one recent-events recorder.
 */
export async function startWorkers(options: WorkersOptions): Promise<Workers> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const inventory = options.inventory ?? resolveBmcs(options.config);
  // First: a rule that does not compile stops the start before anything runs.
  const rules = options.rules ?? (await trapRules(options, log));
  const recent = recordRecent(options.redis, {
    prefix,
    inventory,
    log,
    history: options.config.history.enabled,
  });
  const delivery = await startDeliveryRole({ ...options, prefix, log, recent });
  const events = await startEventsRole({
    ...options,
    prefix,
    log,
    inventory,
    rules,
    receivers: options.sinks.keys(),
    recent,
  });
  return {
    events: events.events,
    delivery: delivery.delivery,
    health: events.health,
    async close() {
      await events.close();
      await delivery.close();
      await recent.close();
    },
  };
}

export interface EventsRoleOptions extends Omit<WorkersOptions, "sinks" | "retry"> {
  /** The receivers the delivery workers know; default the config's `receivers:`. */
  receivers?: Iterable<string>;
  /** Where processed events are recorded; default a recorder of its own, closed with the role. */
  recent?: RecentRecorder;
}

export interface EventsRole {
  events: EventsWorker;
  /** Undefined with `health: false` or an empty inventory. */
  health: HealthMonitor | undefined;
  /** Probes stop, then the events worker finishes the batches in hand. */
  close(): Promise<void>;
}

/**
 * The events worker (enrichment over the inventory, processed events recorded in Redis for the HTTP
 * API of any process) and the health monitor on its BMC pool: half of startWorkers, and all of
 * `workers/events.ts`.
 */
export async function startEventsRole(options: EventsRoleOptions): Promise<EventsRole> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const inventory = options.inventory ?? resolveBmcs(options.config);
  const rules = options.rules ?? (await trapRules(options, log));
  const recent =
    options.recent ??
    recordRecent(options.redis, { prefix, inventory, log, history: options.config.history.enabled });
  const events = await startEventsWorker({
    config: options.config,
    connection: options.redis,
    prefix,
    receivers: options.receivers ?? (options.config.receivers ?? []).map((r) => r.name),
    inventory,
    rules,
    ...workerSettings(options),
    ...(options.enrichDeadlineMs !== undefined && { enrichDeadlineMs: options.enrichDeadlineMs }),
    ...(options.tickMs !== undefined && { tickMs: options.tickMs }),
    onProcessed: (p) => {
      recent.onProcessed(p);
      options.onProcessed?.(p);
    },
    log,
  });
  const health =
    options.health === false || inventory.length === 0
      ? undefined
      : startHealth({
          config: options.config,
          redis: options.redis,
          prefix,
          log,
          inventory,
          events,
          overrides: options.health ?? {},
          ...(options.selArchiveDir !== undefined && { selArchiveDir: options.selArchiveDir }),
        });
  return {
    events,
    health: health?.monitor,
    async close() {
      await health?.close();
      await events.close();
      if (!options.recent) await recent.close();
    },
  };
}

export interface DeliveryRoleOptions
  extends Pick<
    WorkersOptions,
    "redis" | "prefix" | "replicaAcks" | "sinks" | "retry" | "log" | "lockDurationMs" | "stalledIntervalMs"
  > {
  /** Feed alert history with the outcomes (config `history.enabled`); default false. */
  history?: boolean;
  /** Where delivery outcomes are recorded; default a recorder of its own, closed with the role. */
  recent?: RecentRecorder;
}

export interface DeliveryRole {
  delivery: DeliveryWorker;
  /** The delivery worker finishes the deliveries in hand. */
  close(): Promise<void>;
}

/**
 * The delivery worker, its outcomes recorded with the recent events: half of startWorkers, and all
 * of `workers/deliver.ts`.
 */
export async function startDeliveryRole(options: DeliveryRoleOptions): Promise<DeliveryRole> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const recent =
    options.recent ?? recordRecent(options.redis, { prefix, log, history: options.history === true });
  const delivery = await startDeliveryWorker({
    connection: options.redis,
    prefix,
    ...(options.replicaAcks && { replicaAcks: options.replicaAcks }),
    sinks: options.sinks,
    ...workerSettings(options),
    ...(options.retry && { retry: options.retry }),
    log,
  });
  recent.follow(delivery);
  return {
    delivery,
    async close() {
      await delivery.close();
      if (!options.recent) await recent.close();
    },
  };
}

function trapRules(options: Pick<WorkersOptions, "config" | "mibCacheDir">, log: (m: string) => void) {
  return loadTrapRules(options.config, {
    ...(options.mibCacheDir !== undefined && { cacheDir: options.mibCacheDir }),
    log,
  });
}

function workerSettings(options: Pick<WorkerSettings, "lockDurationMs" | "stalledIntervalMs">) {
  return {
    ...(options.lockDurationMs !== undefined && { lockDurationMs: options.lockDurationMs }),
    ...(options.stalledIntervalMs !== undefined && { stalledIntervalMs: options.stalledIntervalMs }),
  };
}

/**
 * A HealthMonitor on the events worker's pool and breaker (so enrichment timeouts count as evidence
 * and probes share the per-BMC bounds), its alerts routed as events' are, its states in Redis.
 */
function startHealth(o: {
  config: Config;
  redis: RedisTarget;
  prefix: string;
  log: (message: string) => void;
  inventory: readonly BmcTarget[];
  events: EventsWorker;
  overrides: Partial<HealthMonitorOptions>;
  selArchiveDir?: string;
}): { monitor: HealthMonitor; close(): Promise<void> } {
  const settings = o.config.health;
  const connection = createRedis(o.redis, "producer");
  connection.on("error", () => undefined); // reconnects; the store resends on 'ready'
  const store = new HealthStore(connection, o.prefix, o.log);
  // Alerts wait through a Redis outage rather than fail: the monitor emits each transition once.
  const alerts = createRedis(o.redis, "worker");
  alerts.on("error", () => undefined);
  const monitor = new HealthMonitor({
    inventory: o.inventory,
    pool: o.events.pool,
    breaker: o.events.breaker,
    intervalMs: parseDuration(settings.interval),
    probeDeadlineMs: parseDuration(settings.probe_deadline),
    failuresBeforeAlert: settings.failures_before_alert,
    autoColdReset: {
      enabled: settings.auto_cold_reset.enabled,
      minIntervalMs: parseDuration(settings.auto_cold_reset.min_interval),
      maxPerHour: settings.auto_cold_reset.max_per_hour,
    },
    onNotification: (n) => {
      sharedIncidentStart(alerts, o.prefix, n)
        .then(async (shared) => {
          await o.events.notify(shared);
          if (shared.status === "resolved") await markResolved(alerts, o.prefix, shared);
        })
        .catch((err: unknown) => o.log(`health notification ${n.id} not routed: ${String(err)}`));
    },
    onProbed: (h) => {
      store.write(h);
      // A BMC answering again may have logged what it could not send: its SEL is read at once.
      const target = o.inventory.find((t) => t.name === h.name);
      const recovered = (states.get(h.name) ?? "ok") !== "ok";
      if (target && h.state === "ok" && recovered) void sel?.sweeper.sweep(target);
      // Its FRU at first contact, after a recovery (a replaced board) and daily (fru/watch.ts).
      if (target && h.state === "ok") void fru.observe(target, recovered);
      states.set(h.name, h.state);
    },
    log: o.log,
    ...o.overrides,
  });
  const states = new Map<string, HealthState>();
  const fru = new FruWatcher({
    pool: o.events.pool,
    breaker: o.events.breaker,
    redis: alerts,
    prefix: o.prefix,
    deadlineMs: parseDuration(settings.probe_deadline),
    log: o.log,
  });
  const sel = o.config.sel.enabled
    ? startSelSweeper({ ...o, redis: alerts, probeDeadlineMs: settings.probe_deadline })
    : undefined;
  // One process at a time probes the fleet: N worker processes, one alert per BMC.
  const lease = new RedisLease({
    redis: connection,
    key: `${o.prefix}:health-lease`,
    // The previous holder's open incidents carry on here (same alert, then its recovery).
    onAcquired: () =>
      void openIncidents(alerts, o.prefix)
        .then(
          (incidents) => monitor.adopt(incidents),
          (err: unknown) => o.log(`health: open incidents not read (${String(err)})`),
        )
        .finally(() => {
          if (!lease.isHeld) return;
          monitor.start();
          sel?.sweeper.start();
        }),
    onLost: async () => {
      await Promise.all([monitor.stop(), sel?.sweeper.stop()]);
    },
    log: o.log,
  });
  lease.start();
  return {
    monitor,
    async close() {
      await lease.close();
      await monitor.stop();
      await fru.idle();
      await sel?.close();
      await store.flush();
      await connection.quit().catch(() => connection.disconnect());
      await alerts.quit().catch(() => alerts.disconnect());
    },
  };
}

/**
 * SEL reconciliation (sel/sweep.ts) beside the health monitor, on the same pool and breaker, its
 * records whose PET never arrived queued to INGEST as a listener's events are.
 */
function startSelSweeper(o: {
  config: Config;
  redis: RedisConnection;
  prefix: string;
  log: (message: string) => void;
  inventory: readonly BmcTarget[];
  events: EventsWorker;
  probeDeadlineMs: string;
  selArchiveDir?: string;
}): { sweeper: SelSweeper; close(): Promise<void> } {
  const ingest = ingestQueue(o.redis, o.prefix);
  const sweeper = new SelSweeper({
    inventory: o.inventory,
    pool: o.events.pool,
    breaker: o.events.breaker,
    redis: o.redis,
    prefix: o.prefix,
    ingest,
    alerting: selAlerting(o.config),
    intervalMs: parseDuration(o.config.sel.interval),
    petGraceMs: parseDuration(o.config.sel.pet_grace),
    deadlineMs: parseDuration(o.probeDeadlineMs),
    observer: new SelHealth({
      config: o.config.sel,
      archiveDir: o.selArchiveDir ?? "sel-archive",
      emit: (n) =>
        void o.events
          .notify(n)
          .catch((err: unknown) => o.log(`SEL health notification ${n.id} not routed: ${String(err)}`)),
      log: o.log,
    }),
    log: o.log,
  });
  return {
    sweeper,
    async close() {
      await sweeper.stop();
      await ingest.close();
    },
  };
}

export interface PipelineOptions extends IntakeOptions, WorkersOptions {}

export interface Pipeline extends Intake, Workers {
  /** Intake stops and flushes to Redis (or the spool), then the workers stop. */
  close(): Promise<void>;
}

/** Everything in one process: startWorkers, then startIntake. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const workers = await startWorkers(options);
  const intake = await startIntake(options).catch(async (err: unknown) => {
    await workers.close();
    throw err;
  });
  return {
    ...workers,
    ...intake,
    async close() {
      await intake.close();
      await workers.close();
    },
  };
}
