import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { type EventsWorker, startEventsWorker } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { type DeliverQueue, deliverQueue, startDeliveryWorker } from "../../src/pipeline/notify/deliver.js";
import { INGEST_JOB, type IngestQueue, ingestQueue } from "../../src/pipeline/queues.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { nodeDaemon } from "../support/cli.js";
import { type HttpReceiver, petgateBodyOf, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";

/*
 * An events worker process SIGKILLed while a notification waits in its group (group_wait): the
 * notification was held in the outbox before the event's batch completed, so another worker's sweep
 * delivers it, once. A group due at once needs no outbox: its DELIVER job exists before the batch
 * completes.
 */

const EVENTS_WORKER = fileURLToPath(new URL("../../dist/workers/events.js", import.meta.url));
const PREFIX = "outbox-test";

let redis: TestRedis;
let webhook: HttpReceiver;
let dir: string;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  webhook = await startHttpReceiver();
  dir = mkdtempSync(join(tmpdir(), "petgate-outbox-"));
  client = new Redis(redis.socket);
  await client.ping(); // connected, its ready check done: nothing in flight when a test starts MONITOR
});
afterAll(async () => {
  client?.disconnect();
  await webhook?.close();
  await redis?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The fixture PET (a deassertion) as the assertion that fires its alert. */
function firingTrap(sequence = 1) {
  const deassertion = petTrap(sequence);
  if (deassertion.kind !== "pet") throw new Error("not a PET");
  return { ...deassertion, pet: { ...deassertion.pet, eventDirection: "assertion" as const } };
}

it("a group due at once (group_wait 0) is on the DELIVER queue before its event's batch completes, never in the outbox", async () => {
  const prefix = `${PREFIX}-direct`;
  const yml = {
    routes: { receiver: "ops", group_wait: "0s" },
    receivers: [{ name: "ops", webhook: { url: webhook.url } }],
  };
  let ingest: IngestQueue | undefined;
  let deliver: DeliverQueue | undefined;
  let worker: EventsWorker | undefined;
  try {
    const trap = firingTrap();
    // Every command Redis ran from the worker's start until its batch completed. Nothing else talks to
    // Redis while MONITOR starts: ioredis takes a MONITOR line read with MONITOR's OK for a stray reply.
    const commands = await commandsDuring(client, async () => {
      worker = await startEventsWorker({
        config: configSchema.parse(yml),
        connection: redis.socket,
        prefix,
        inventory: [],
        tickMs: 60_000, // no tick during the test: only the event's own flush can enqueue
        log: () => undefined,
      });
      ingest = ingestQueue(client, prefix);
      deliver = deliverQueue(client, prefix);
      const completed = new Promise<void>((resolve) => worker?.worker.once("completed", () => resolve()));
      await ingest.add(INGEST_JOB, { events: [{ id: eventId(trap), trap }] });
      await completed;
    });
    const jobs = (await deliver?.getJobs(["waiting"])) ?? [];
    expect(jobs.map((j) => j.data.receiver)).toEqual(["ops"]);
    expect(jobs[0]?.data.groups.flatMap((g) => g.notifications.map((n) => n.status))).toEqual(["firing"]);
    expect(commands.some((c) => c.some((a) => a.startsWith(`${prefix}:ingest`)))).toBe(true);
    expect(commands.filter((c) => c.some((a) => a.startsWith(`${prefix}:outbox`)))).toEqual([]);
    expect(worker?.stats()).toMatchObject({ deliveries: 1, batches: 1 });
  } finally {
    await deliver?.close();
    await ingest?.close();
    await worker?.close();
  }
});

it("groups held by a killed events worker are delivered by another worker's outbox sweep, once, each in its own group", async () => {
  const yml = {
    routes: { receiver: "ops", group_by: ["..."], group_wait: "4s", group_interval: "4s" },
    receivers: [{ name: "ops", webhook: { url: webhook.url } }],
  };
  const file = join(dir, "petgate.yml");
  writeFileSync(file, JSON.stringify(yml)); // JSON is YAML
  const doomed = await nodeDaemon(EVENTS_WORKER, [file], /events worker started/, {
    PETGATE_REDIS: redis.socket,
    PETGATE_PREFIX: PREFIX,
  });
  // Two alerts (two sensors), so two groups under group_by ['...'].
  const other = firingTrap(2);
  const traps = [firingTrap(), { ...other, pet: { ...other.pet, sensorNumber: other.pet.sensorNumber + 1 } }];
  const ingest = ingestQueue(client, PREFIX);
  await ingest.add(INGEST_JOB, { events: traps.map((trap) => ({ id: eventId(trap), trap })) });
  // Processed (its batch completed) and held, still in their 4 s groups: now the process dies.
  await waitFor(
    "the deliveries held",
    async () => (await client.zcard(`${PREFIX}:outbox`)) === 2 || undefined,
  );
  await waitFor("the batch completed", async () => (await ingest.getCompletedCount()) === 1 || undefined);
  doomed.child.kill("SIGKILL");
  await doomed.exited;
  await ingest.close();

  const sink = new WebhookSink({ name: "ops", url: webhook.url });
  const delivery = await startDeliveryWorker({
    connection: redis.socket,
    prefix: PREFIX,
    sinks: new Map([["ops", sink]]),
  });
  const rescuer = await startEventsWorker({
    config: configSchema.parse(yml),
    connection: redis.socket,
    prefix: PREFIX,
    inventory: [],
    tickMs: 50,
    outbox: { sweepEveryMs: 100, marginMs: 0 },
    log: () => undefined,
  });
  try {
    await waitFor(
      "the held notifications at the webhook",
      () => webhook.requests.length === 2 || undefined,
      20_000,
    );
    await waitFor(
      "the outbox empty",
      async () => (await client.zcard(`${PREFIX}:outbox`)) === 0 || undefined,
    );
    // Nothing more arrives: one delivery a group, each group the one its route gives the alert (not
    // one group of everything swept).
    await new Promise((r) => setTimeout(r, 500));
    expect(webhook.requests).toHaveLength(2);
    expect(webhook.idempotencyKeys()).toHaveLength(2);
    const groups = webhook.requests.map((r) => petgateBodyOf(r));
    expect(groups.map((g) => g?.notifications.length)).toEqual([1, 1]);
    const numbers = groups.map((g) => g?.groupLabels.sensor_number);
    expect(new Set(numbers).size).toBe(2);
    for (const g of groups)
      expect(g?.groupKey).toContain(`"sensor_number":"${g?.groupLabels.sensor_number}"`);
    expect(await client.hlen(`${PREFIX}:outbox:data`)).toBe(0);
  } finally {
    await rescuer.close();
    await delivery.close();
    await sink.close();
  }
});
