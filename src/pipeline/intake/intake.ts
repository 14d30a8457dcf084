import type { Config } from "../../config/schema.js";
import type { HostPort } from "../../net/address.js";
import { PetAcknowledger } from "../../pet/ack.js";
import { AckDestinations } from "../../pet/ack-destinations.js";
import { TrapListener } from "../../pet/listener.js";
import { listenerOptions } from "../../pet/listener-options.js";
import { DEFAULT_PREFIX, type RedisTarget } from "../queues.js";
import { Ingest } from "./ingest.js";

/*
 * The pipeline's intake role: trap listener → Ingest (INGEST queue, or the spool while Redis is away)
 * → PET Acknowledge.
 */

const defaultLog = (m: string) => process.stderr.write(`petgate: ${m}\n`);

export interface IntakeOptions {
  config: Config;
  redis: RedisTarget;
  prefix?: string;
  /** Replicas that must hold a batch before it counts as queued (redis.replicaAcks). */
  replicaAcks?: number;
  /** Ingest's spool (one per process). */
  spoolFile: string;
  /** Where the listener binds; default config.listener.bind. */
  listen?: HostPort;
  log?: (message: string) => void;
}

export interface Intake {
  listener: TrapListener;
  ingest: Ingest;
  /** PET Acknowledge, to inventory BMCs and ack.allowSources only (ack-destinations.ts). */
  acknowledger: PetAcknowledger;
  /** The listener stops, Ingest flushes what it took (to Redis or the spool), the ack socket closes. */
  close(): Promise<void>;
}

/**
 * The listener into Ingest. A PET is acknowledged (PET Acknowledge to its sender) only once Ingest
 * holds it durably, queued or spooled, and only when its source is an inventory BMC or in
 * ack.allowSources; a BMC whose destination wants no ack ignores it (or answers D5h).
 */
export async function startIntake(options: IntakeOptions): Promise<Intake> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? defaultLog;
  const ingest = await Ingest.start({
    connection: options.redis,
    prefix,
    spoolFile: options.spoolFile,
    ...(options.replicaAcks && { replicaAcks: options.replicaAcks }),
    log,
  });
  const destinations = AckDestinations.fromConfig(options.config);
  // In the background: intake does not wait for DNS; a BMC known by name is acknowledged once resolved.
  void destinations.resolveNames();
  const acknowledger = new PetAcknowledger({ destination: (source) => destinations.to(source) });
  const listener = await TrapListener.start(
    { ...listenerOptions(options.config.listener), ...(options.listen && { bind: options.listen }) },
    (event) =>
      // Acknowledge only what is durable; a lost event is resent by its BMC instead.
      ingest.add(event).then(
        () => {
          if (event.kind === "pet") void acknowledger.acknowledge(event);
        },
        (err: unknown) => log(`event lost: ${String(err)}`),
      ),
  );
  return {
    listener,
    ingest,
    acknowledger,
    async close() {
      await listener.close();
      await ingest.close();
      await acknowledger.close();
    },
  };
}
