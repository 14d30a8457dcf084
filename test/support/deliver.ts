import type { Redis } from "ioredis";
import { type DeliverQueue, deliverQueue } from "../../src/pipeline/notify/deliver.js";
import { DeadLetterQueue } from "../../src/pipeline/notify/dlq.js";
import { createRedis } from "../../src/pipeline/queues.js";
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
