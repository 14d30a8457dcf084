import { readFile } from "node:fs/promises";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { withTimeout } from "../io/timeout.js";
import type { ProcessedEvent } from "../pipeline/events-worker.js";
import type { HealthState } from "../pipeline/health/health.js";
import { readHealth } from "../pipeline/health/health-store.js";
import type { Intake } from "../pipeline/intake/intake.js";
import { deliverQueue } from "../pipeline/notify/deliver.js";
import type { Workers } from "../pipeline/pipeline.js";
import { ingestQueue, type RedisConnection } from "../pipeline/queues.js";
import { ARCHIVE_RESULTS } from "../pipeline/sel/archive.js";
import { archiveCounts, type SelHealthState } from "../pipeline/sel/health.js";
import { readSelStates, type SelState } from "../pipeline/sel/store.js";

/*
 * petgate's Prometheus metrics, in a Registry of their own (never prom-client's global one).
 *
 * Counters of this process's parts (listener, ingest, delivery worker) are read from their stats()
 * at scrape time; events by enrichment status and the enrichment latency are fed by the events
 * worker's onProcessed. Queue depths and BMC health come from Redis, so every process shows the
 * fleet's. Each process serves its own counters: scrape every petgate process.
 */

const HEALTH_STATES: readonly HealthState[] = ["unknown", "ok", "unresponsive", "wedged"];
/** How long a scrape or an API call waits for Redis. */
export const REDIS_TIMEOUT_MS = 2_000;

export class PipelineMetrics {
  readonly registry = new Registry();
  private readonly processed: Counter<"enrichment" | "outcome">;
  private readonly enrichSeconds: Histogram<"enrichment">;
  private readonly trapRules: Counter<"rule" | "action">;
  private attached = false;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.processed = new Counter({
      name: "petgate_events_processed_total",
      help: "Events processed by this process's events worker, by enrichment status and outcome",
      labelNames: ["enrichment", "outcome"],
      registers: [this.registry],
    });
    this.enrichSeconds = new Histogram({
      name: "petgate_enrichment_duration_seconds",
      help: "Time spent enriching one event over RMCP+ (SEL, SDR, reading), by enrichment status",
      labelNames: ["enrichment"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
      registers: [this.registry],
    });
    this.trapRules = new Counter({
      name: "petgate_trap_rules_total",
      help: 'Events interpreted by this process\'s events worker, by the trap rule that applied (rule="" when none did: the catch-all) and its action (notify, log, drop)',
      labelNames: ["rule", "action"],
      registers: [this.registry],
    });
  }

  /** The events worker's onProcessed (startWorkers); never throws. */
  readonly onProcessed = (p: ProcessedEvent): void => {
    this.processed.inc({ enrichment: p.enrichment, outcome: p.outcome });
    this.enrichSeconds.observe({ enrichment: p.enrichment }, p.enrichMs / 1000);
    if (p.verdict) this.trapRules.inc({ rule: p.verdict.rule ?? "", action: p.verdict.action });
  };

  /**
   * Adds the scrape-time metrics of this process's parts and of Redis (once per registry).
   */
  attach(sources: {
    redis: RedisConnection;
    prefix: string;
    queues: PipelineQueues;
    intake?: Intake;
    workers?: Workers;
  }): void {
    if (this.attached) throw new Error("metrics are already attached to a server");
    this.attached = true;
    const { registry } = this;
    /** A counter whose values are read from a part's own counters at scrape time. */
    const counter = (
      name: string,
      help: string,
      labelNames: string[],
      read: () => Sample[] | Promise<Sample[]>,
    ) =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          const samples = await read();
          this.reset();
          for (const [labels, value] of samples) this.inc(labels, value);
        },
      });

    const { intake, workers } = sources;
    if (intake) {
      const listener = () => intake.listener.stats();
      counter("petgate_traps_received_total", "Datagrams the trap listener received", [], () => [
        [{}, listener().received],
      ]);
      counter("petgate_traps_decoded_total", "Traps accepted, by kind", ["kind"], () => {
        const s = listener();
        return [
          [{ kind: "pet" }, s.pet],
          [{ kind: "trap" }, s.nonPet],
          [{ kind: "pet_malformed" }, s.petMalformed],
        ];
      });
      counter("petgate_traps_rejected_total", "Datagrams refused, by reason", ["reason"], () =>
        Object.entries(listener().rejected).map(([reason, n]) => [{ reason }, n]),
      );
      counter("petgate_ingest_events_total", "Events made durable, by how", ["durability"], () => {
        const s = intake.ingest.stats();
        return [
          [{ durability: "queued" }, s.queued],
          [{ durability: "spooled" }, s.spooled],
          [{ durability: "replayed" }, s.replayed],
        ];
      });
      counter(
        "petgate_pet_acks_total",
        "PET Acknowledge requests, by outcome (not_allowed: the source is no inventory BMC nor in ack.allowSources; nothing sent)",
        ["outcome"],
        () => {
          const s = intake.acknowledger.stats();
          return [
            [{ outcome: "acknowledged" }, s.acknowledged],
            [{ outcome: "rejected" }, s.rejected],
            [{ outcome: "no_answer" }, s.noAnswer],
            [{ outcome: "not_allowed" }, s.notAllowed],
          ];
        },
      );
    }
    if (workers) {
      counter(
        "petgate_deliveries_total",
        "Notifications the delivery worker of this process finished with, by receiver (sink) and outcome",
        ["receiver", "outcome"],
        () =>
          Object.entries(workers.delivery.stats().outcomes).flatMap(([receiver, byOutcome]) =>
            Object.entries(byOutcome).map(([outcome, n]): Sample => [{ receiver, outcome }, n]),
          ),
      );
    }
    counter(
      "petgate_udp_receive_buffer_errors_total",
      "Datagrams the kernel dropped for a full socket receive buffer, host-wide (/proc/net/snmp RcvbufErrors)",
      ["family"],
      readUdpDrops,
    );

    // Read from Redis at each scrape, each metric on its own (prom-client collects them at once); a
    // Redis that does not answer in time leaves them out and petgate_redis_up at 0.
    const fromRedis = <T>(read: () => Promise<T>) =>
      withTimeout(read(), REDIS_TIMEOUT_MS, "Redis did not answer");
    const { redis, prefix, queues } = sources;
    new Gauge({
      name: "petgate_redis_up",
      help: "Whether Redis answered PING during this scrape",
      registers: [registry],
      async collect() {
        this.set(
          await fromRedis(() => redis.ping()).then(
            () => 1,
            () => 0,
          ),
        );
      },
    });
    new Gauge({
      name: "petgate_queue_jobs",
      help: "Jobs in each pipeline queue (ingest, events, deliver), by state",
      labelNames: ["queue", "state"],
      registers: [registry],
      async collect() {
        this.reset();
        const depths = await fromRedis(() => queues.depths()).catch(() => ({}));
        for (const [queue, byState] of Object.entries(depths))
          for (const [state, n] of Object.entries(byState)) this.set({ queue, state }, n);
      },
    });
    const selStates = () =>
      fromRedis(() => readSelStates(redis, prefix)).catch(() => new Map<string, SelState>());
    counter(
      "petgate_sel_pets_missed_total",
      "SEL records alerted from the SEL because their PET never arrived, by BMC: the health of the alert path",
      ["bmc"],
      async () => [...(await selStates())].map(([bmc, s]): Sample => [{ bmc }, s.petsMissed]),
    );
    counter(
      "petgate_sel_archives_total",
      "sel.archive_and_clear runs of the fleet, by result (cleared, reservation_lost: a record came meanwhile, failed: SEL kept, see the log); counted since the sweeping process started",
      ["result"],
      async () => {
        const totals = archiveCounts();
        for (const s of (await selStates()).values())
          for (const result of ARCHIVE_RESULTS)
            totals[result] += (s.archives as SelHealthState["archives"])?.[result] ?? 0;
        return ARCHIVE_RESULTS.map((result): Sample => [{ result }, totals[result]]);
      },
    );
    const health = () => fromRedis(() => readHealth(redis, prefix)).catch(() => []);
    new Gauge({
      name: "petgate_bmc_health",
      help: "1 for each BMC's current health state (unknown, ok, unresponsive, wedged), else 0",
      labelNames: ["bmc", "state"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const h of await health())
          for (const state of HEALTH_STATES) this.set({ bmc: h.name, state }, h.state === state ? 1 : 0);
      },
    });
    new Gauge({
      name: "petgate_bmc_unresponsive_alerting",
      help: 'Whether a "BMC unresponsive" alert is firing for the BMC',
      labelNames: ["bmc"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const h of await health()) this.set({ bmc: h.name }, h.alerting ? 1 : 0);
      },
    });
  }
}

/** The pipeline's queues (ingest, deliver), opened on a connection the caller owns. */
export interface PipelineQueues {
  /** Job counts by queue and state (waiting, active, delayed, failed, …). */
  depths(): Promise<Record<string, Record<string, number>>>;
  close(): Promise<void>;
}

export function openQueues(redis: RedisConnection, prefix: string): PipelineQueues {
  const queues = [ingestQueue(redis, prefix), deliverQueue(redis, prefix)];
  return {
    depths: async () =>
      Object.fromEntries(
        await Promise.all(queues.map(async (q) => [q.name, await q.getJobCounts()] as const)),
      ),
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
type Sample = [Record<string, string>, number];

/** RcvbufErrors of the Udp line of /proc/net/snmp and Udp6RcvbufErrors of /proc/net/snmp6. */
export async function readUdpDrops(): Promise<Sample[]> {
  const samples: Sample[] = [];
  const snmp = await readFile("/proc/net/snmp", "utf8").catch(() => "");
  const [header, values] = snmp.split("\n").filter((l) => l.startsWith("Udp: "));
  const column = header?.split(/\s+/).indexOf("RcvbufErrors") ?? -1;
  const v4 = Number(values?.split(/\s+/)[column]);
  if (column > 0 && Number.isFinite(v4)) samples.push([{ family: "ipv4" }, v4]);
  const snmp6 = await readFile("/proc/net/snmp6", "utf8").catch(() => "");
  const v6 = Number(/^Udp6RcvbufErrors\s+(\d+)$/m.exec(snmp6)?.[1]);
  if (Number.isFinite(v6)) samples.push([{ family: "ipv6" }, v6]);
  return samples;
}
