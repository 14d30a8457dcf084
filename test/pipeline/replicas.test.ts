// redis.replicaAcks on a real primary and replica: a batch counts as queued, and a notification
// leaves, only once the replica holds it (Redis WAIT); a replica that stops answering holds both
// back, and one that is gone lets them go on, said once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ReplicatedRedis, redisCli, startReplicated, until } from "../../bench/redis-topology.js";
import { Ingest } from "../../src/pipeline/intake/ingest.js";
import {
  deliverQueue,
  enqueueFlush,
  sendId,
  startDeliveryWorker,
} from "../../src/pipeline/notify/deliver.js";
import { createRedis } from "../../src/pipeline/queues.js";
import { connectedReplicas } from "../../src/pipeline/replicas.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { startHttpReceiver } from "../support/http-receiver.js";
import { notification } from "../support/notifications.js";
import { petTrap } from "../support/redis.js";

const PREFIX = "petgate-ha";
let redis: ReplicatedRedis;
let dir: string;
const logs: string[] = [];
const cleanup: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  redis = await startReplicated();
  dir = mkdtempSync(join(tmpdir(), "petgate-replicas-"));
  logs.length = 0;
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

const primary = () => ({ host: "127.0.0.1", port: redis.primary.port });
/** INGEST jobs waiting, as the replica has them. */
const waitingOnReplica = async () =>
  Number(await redisCli(redis.replica.port, "LLEN", `${PREFIX}:ingest:wait`));

async function ingest(): Promise<Ingest> {
  const i = await Ingest.start({
    connection: primary(),
    prefix: PREFIX,
    spoolFile: join(dir, "spool.ndjson"),
    replicaAcks: 1,
    // WAIT gets half: a replica fresh from its sync may take its 1 s ACK period to answer.
    addTimeoutMs: 4_000,
    retryMs: 100,
    log: (m) => logs.push(m),
  });
  cleanup.push(() => i.close());
  return i;
}

describe("Ingest with replicaAcks", () => {
  it("resolves a batch as queued once the replica holds it", async () => {
    const i = await ingest();
    expect((await i.add(petTrap(1))).durable, logs.join("\n")).toBe("queued");
    // Read at once, no polling: the add resolved after WAIT.
    expect(await waitingOnReplica()).toBe(1);
  });

  it("spools a batch the connected replica did not acknowledge, and queues it when it does", async () => {
    const i = await ingest();
    redis.replica.freeze();
    expect((await i.add(petTrap(2))).durable).toBe("spooled");
    expect(logs.join("\n")).toMatch(
      /NotReplicatedError: 0 of 1 replica\(s\) acknowledged the write within 2000 ms\): spooling 1 event/,
    );
    redis.replica.thaw();
    await until("the spool replayed", async () => (i.stats().replayed === 1 ? true : undefined));
    // The first add landed on the primary too: the events worker drops the second copy (claim.ts).
    expect(await waitingOnReplica()).toBe(2);
  });

  it("goes on when no replica is connected, and says so once", async () => {
    const i = await ingest();
    await redis.replica.kill();
    await until("the primary to see its replica gone", async () =>
      connectedReplicas(await redisCli(redis.primary.port, "INFO", "replication")) === 0 ? true : undefined,
    );
    expect((await i.add(petTrap(3))).durable).toBe("queued");
    expect((await i.add(petTrap(4))).durable).toBe("queued");
    expect(logs.filter((m) => m.startsWith("only 0 replica(s) connected, 1 asked"))).toHaveLength(1);
  });
});

describe("delivery with replicaAcks", () => {
  it("sends nothing the replica does not hold: the job retries, and delivers once when it does", async () => {
    const receiver = await startHttpReceiver();
    cleanup.push(() => receiver.close());
    const client = createRedis(primary(), "worker");
    const queue = deliverQueue(client, PREFIX);
    cleanup.push(async () => {
      await queue.close();
      client.disconnect();
    });
    const worker = await startDeliveryWorker({
      connection: primary(),
      prefix: PREFIX,
      replicaAcks: 1,
      sinks: new Map([["hook", new WebhookSink({ name: "hook", url: receiver.url, timeoutMs: 5_000 })]]),
      log: (m) => logs.push(m),
    });
    cleanup.push(() => worker.close());
    const failures: string[] = [];
    worker.worker.on("failed", (_job, err) => failures.push(err.message));

    redis.replica.freeze();
    const n = notification({ id: "0123456789abcdef0123456789abcdef" });
    await enqueueFlush(queue, [{ receiver: "hook", groupKey: "g", groupLabels: {}, notifications: [n] }]);
    await until("the job's first run to fail", async () => (failures.length > 0 ? true : undefined));
    expect(failures[0]).toMatch(/0 of 1 replica\(s\) acknowledged/);
    expect(receiver.requests).toHaveLength(0);
    // Its claim was given up: the retry (or any other job) may take it.
    expect(await client.keys(`${PREFIX}:delivering:*`)).toEqual([]);

    redis.replica.thaw();
    const jobId = sendId("hook", [n.id]);
    await until("the retry delivered", async () =>
      (await queue.getJobState(jobId)) === "completed" ? true : undefined,
    );
    expect(receiver.notificationIds()).toEqual([n.id]);
    expect(receiver.requests).toHaveLength(1);
  });
});
