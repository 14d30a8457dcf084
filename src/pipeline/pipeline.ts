import { listenerOptions } from "../cli/listen.js";
import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import type { HostPort } from "../net/address.js";
import { PetAcknowledger } from "../pet/ack.js";
import { TrapListener } from "../pet/listener.js";
import type { Sink } from "../sinks/sink.js";
import { type DeliveryWorker, startDeliveryWorker } from "./deliver.js";
import { type EventsWorker, startEventsWorker } from "./events-worker.js";
import { type FanOut, Ingest, startFanOut } from "./ingest.js";
import { DEFAULT_PREFIX, type RedisTarget } from "./queues.js";

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
  /** The events worker's tick (groups, storm summaries); default 1000 ms. */
  tickMs?: number;
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
 * worker. A PET is acknowledged (PET Acknowledge to its sender) only once Ingest holds it durably,
 * queued or spooled; a BMC whose destination wants no ack ignores it (or answers D5h).
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
    ...(options.tickMs !== undefined && { tickMs: options.tickMs }),
    log,
  });
  const fanOut = await startFanOut({ connection: options.redis, prefix });
  const ingest = await Ingest.start({ connection: options.redis, prefix, spoolFile: options.spoolFile, log });
  const listenerConfig = listenerOptions(options.config.listener);
  const acknowledger = new PetAcknowledger();
  const listener = await TrapListener.start(
    { ...listenerConfig, ...(options.listen && { bind: options.listen }) },
    (event) => {
      const added = ingest.add(event);
      added.catch((err: unknown) => log(`event lost: ${String(err)}`));
      // Acknowledge only what is durable; a lost event is resent by its BMC instead.
      if (event.kind === "pet")
        void added.then(
          () => acknowledger.acknowledge(event),
          () => undefined,
        );
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
      await acknowledger.close();
      await fanOut.close();
      await events.close();
      await delivery.close();
    },
  };
}
