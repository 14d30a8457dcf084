import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { Dispatcher } from "../../src/pipeline/alerting/dispatch.js";
import { configuredRoutes } from "../../src/pipeline/alerting/route.js";
import { type EventsWorker, startEventsWorker } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { type DeliverQueue, deliverQueue, startDeliveryWorker } from "../../src/pipeline/notify/deliver.js";
import { Outbox } from "../../src/pipeline/notify/outbox.js";
import { INGEST_JOB, ingestQueue } from "../../src/pipeline/queues.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { notification } from "../support/notifications.js";
import { assertedPetFrom, startRedis, type TestRedis } from "../support/redis.js";

/*
 * A route muted by a time interval, end to end on an injected clock: a real Redis, the events worker
 * (its grouping and its routes' intervals read the test's clock), the delivery worker and a real
 * HTTP receiver. A PET that comes during the maintenance window waits in the outbox and is delivered
 * once at the first flush after the window; an alert that fired and resolved within it never is; a
 * stopped worker's muted delivery stays held through another worker's sweep until the window ends.
 */

const PREFIX = "mute-test";
// Saturday 02:00–06:00 in Berlin: 01:00–05:00 UTC in December.
const yml = (url: string) => ({
  time_intervals: [
    {
      name: "maintenance",
      time_intervals: [
        {
          weekdays: ["saturday"],
          times: [{ start_time: "02:00", end_time: "06:00" }],
          location: "Europe/Berlin",
        },
      ],
    },
  ],
  routes: {
    receiver: "ops",
    group_by: ["bmc"],
    group_wait: "0s",
    group_interval: "1m",
    routes: [{ matchers: ['severity=~".+"'], mute_time_intervals: ["maintenance"] }],
  },
  receivers: [{ name: "ops", webhook: { url } }],
});

let redis: TestRedis;
let webhook: HttpReceiver;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  webhook = await startHttpReceiver();
  client = new Redis(redis.socket);
});
afterAll(async () => {
  client?.disconnect();
  await webhook?.close();
  await redis?.dispose();
});

/** A BMC's PET: its assertion (fires an alert of its own) or its deassertion (resolves it). */
function pet(address: string, direction: "assertion" | "deassertion", sequence: number) {
  const trap = assertedPetFrom(address, `guid-${address}`, sequence);
  if (trap.kind !== "pet") throw new Error("not a PET");
  const pet = { ...trap.pet, eventDirection: direction };
  return { ...trap, pet };
}

it("holds what comes in a maintenance window and delivers it once when the window ends; drops what fired and resolved within it", async () => {
  let now = Date.parse("2026-12-12T02:00:00Z"); // Saturday 03:00 in Berlin: muted
  const config = configSchema.parse(yml(webhook.url));
  const sink = new WebhookSink({ name: "ops", url: webhook.url });
  const delivery = await startDeliveryWorker({
    connection: redis.socket,
    prefix: PREFIX,
    sinks: new Map([["ops", sink]]),
  });
  let worker: EventsWorker | undefined;
  const ingest = ingestQueue(client, PREFIX);
  const send = async (trap: ReturnType<typeof pet>) => {
    const completed = new Promise<void>((resolve) => worker?.worker.once("completed", () => resolve()));
    await ingest.add(INGEST_JOB, { events: [{ id: eventId(trap), trap }] });
    await completed;
  };
  try {
    worker = await startEventsWorker({
      config,
      connection: redis.socket,
      prefix: PREFIX,
      inventory: [],
      clock: () => now,
      tickMs: 20,
      log: () => undefined,
    });
    const held = () => client.zcard(`${PREFIX}:outbox`);

    // In the window: the group (group_wait 0) flushes at once, muted: held back and kept in the outbox.
    await send(pet("192.0.2.21", "assertion", 1));
    await waitFor("the muted flush", () => ((worker?.stats().mutedHeld ?? 0) >= 1 ? true : undefined));
    expect(await held()).toBe(1);
    expect(webhook.requests).toHaveLength(0);

    // Another BMC's alert fires and resolves within the window.
    const heldBefore = worker.stats().mutedHeld;
    await send(pet("192.0.2.22", "assertion", 2));
    await waitFor("its muted flush", () =>
      (worker?.stats().mutedHeld ?? 0) > heldBefore ? true : undefined,
    );
    await send(pet("192.0.2.22", "deassertion", 3));
    expect(await held()).toBe(2); // the first alert, and the resolved one (its firing one was dropped)
    now += 61_000; // still in the window, its group due: the resolved notification is dropped
    await waitFor("the resolved one dropped", async () => ((await held()) === 1 ? true : undefined));
    expect(webhook.requests).toHaveLength(0);

    // 06:01 in Berlin: the window is over, and the groups' next flush is due.
    now = Date.parse("2026-12-12T05:01:00Z");
    await waitFor("the held alert at the webhook", () => (webhook.requests.length >= 1 ? true : undefined));
    await waitFor("the outbox empty", async () => ((await held()) === 0 ? true : undefined));
    const sent = webhook.notifications();
    expect(sent.map((n) => [n.bmc.name, n.status])).toEqual([["192.0.2.21", "firing"]]);

    // After the window a new alert goes out at once, and the first is not sent again.
    await send(pet("192.0.2.23", "assertion", 4));
    await waitFor("the new alert", () => (webhook.requests.length >= 2 ? true : undefined));
    expect(webhook.notifications().map((n) => n.bmc.name)).toEqual(["192.0.2.21", "192.0.2.23"]);
  } finally {
    await ingest.close();
    await worker?.close();
    await delivery.close();
    await sink.close();
  }
});

it("another worker's sweep keeps a stopped worker's muted delivery held until the window ends, then enqueues it", async () => {
  const prefix = `${PREFIX}-sweep`;
  let now = Date.parse("2026-12-12T02:00:00Z");
  const config = configSchema.parse(yml(webhook.url));
  const outbox = new Outbox(client, prefix);
  const deliver: DeliverQueue = deliverQueue(client, prefix);
  const dispatcher = new Dispatcher({
    tree: configuredRoutes(config),
    outbox,
    deliver,
    staleAfterMs: 0,
    sweepEveryMs: 0,
    clock: () => now,
    log: () => undefined,
  });
  try {
    const n = notification({ id: "held-by-a-dead-worker" });
    const heldAt = Date.now() - 600_000; // long past any staleness
    await outbox.hold([{ receiver: "ops", notification: n }], heldAt);

    await dispatcher.sweep(Date.now());
    expect(await deliver.getWaitingCount()).toBe(0);
    const [, score] = await client.zrange(`${prefix}:outbox`, 0, -1, "WITHSCORES");
    expect(Number(score)).toBeGreaterThan(heldAt); // refreshed by the sweeping worker

    now = Date.parse("2026-12-12T05:00:00Z"); // 06:00 in Berlin: the window's end is exclusive
    await dispatcher.sweep(Date.now() + 1);
    const jobs = await deliver.getJobs(["waiting"]);
    expect(jobs.flatMap((j) => j.data.groups.flatMap((g) => g.notifications.map((x) => x.id)))).toEqual([
      "held-by-a-dead-worker",
    ]);
    expect(await client.zcard(`${prefix}:outbox`)).toBe(0);
  } finally {
    await deliver.close();
  }
});
