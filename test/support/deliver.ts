import { Redis as IORedis, type Redis } from "ioredis";
import type { Config } from "../../src/config/schema.js";
import {
  type EventsWorker,
  type EventsWorkerOptions,
  startEventsWorker,
} from "../../src/pipeline/events-worker.js";
import {
  type DeliverQueue,
  type DeliveryWorker,
  deliverQueue,
  startDeliveryWorker,
} from "../../src/pipeline/notify/deliver.js";
import { DeadLetterQueue } from "../../src/pipeline/notify/dlq.js";
import { createRedis } from "../../src/pipeline/queues.js";
import type { Sink } from "../../src/sinks/sink.js";
import { startRedis, type TestRedis } from "./redis.js";

/** A fresh redis-server with a worker connection, the deliver queue and the dead-letter queue on it. */
export async function startDeliverQueues(
  prefix: string,
): Promise<{ redis: TestRedis; client: Redis; queue: DeliverQueue; dlq: DeadLetterQueue }> {
  const redis = await startRedis();
  const client = createRedis(redis.socket, "worker");
  client.on("error", () => undefined);
  return { redis, client, queue: deliverQueue(client, prefix), dlq: new DeadLetterQueue(client, prefix) };
}

export interface RecordingPipeline {
  redis: TestRedis;
  /** A connection to enqueue INGEST batches on. */
  producer: Redis;
  events: EventsWorker;
  delivery: DeliveryWorker;
  close(): Promise<void>;
}

/**
 * The events worker and the delivery worker on a fresh redis-server, delivering to `sink` (receiver
 * "ops"), with a producer connection to enqueue INGEST batches on; close() stops all of it.
 */
export async function startRecordingPipeline(
  config: Config,
  sink: Sink,
  options: Partial<EventsWorkerOptions> = {},
): Promise<RecordingPipeline> {
  const redis = await startRedis();
  const producer = new IORedis(redis.socket, { maxRetriesPerRequest: null });
  const delivery = await startDeliveryWorker({ connection: redis.socket, sinks: new Map([["ops", sink]]) });
  const events = await startEventsWorker({
    config,
    connection: redis.socket,
    inventory: [],
    receivers: ["ops"],
    tickMs: 20,
    log: () => undefined,
    ...options,
  });
  return {
    redis,
    producer,
    events,
    delivery,
    async close() {
      await events.close();
      await delivery.close();
      producer.disconnect();
      await redis.dispose();
    },
  };
}
