import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrapEvent } from "../../src/pet/trap.js";
import { RedisAlertBook } from "../../src/pipeline/alerting/alert-book-redis.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";

/*
 * The alert book over a batch (RedisAlertBook.nextBatch): one HMGET and one compare-and-set script
 * for all the batch's alerts, the events of one alert applied in batch order.
 */

let redis: TestRedis;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.socket);
  await client.ping();
});
afterAll(async () => {
  client?.disconnect();
  await redis?.dispose();
});

const facts = { status: "ok" as const, bmc: { name: "bmc-x", address: "192.0.2.10", labels: {} } };

/** The fixture PET with sequence `sequence`, in `direction`, about sensor `sensor` (its own alert). */
function event(sequence: number, direction: "assertion" | "deassertion", sensor = 1) {
  const base = petTrap(sequence);
  if (base.kind !== "pet") throw new Error("not a PET");
  const trap: TrapEvent = { ...base, pet: { ...base.pet, eventDirection: direction, sensorNumber: sensor } };
  const queued: QueuedEvent = { id: eventId(trap), trap };
  return { event: queued, facts };
}

describe("RedisAlertBook.nextBatch", () => {
  it("an assertion then the deassertion of one alert in one batch both take effect, in order", async () => {
    const book = new RedisAlertBook(client, "book-pair");
    const [firing, resolved, again] = await book.nextBatch([
      event(1, "assertion"),
      event(2, "deassertion"),
      event(3, "deassertion"),
    ]);
    expect(firing?.status).toBe("firing");
    expect(resolved).toMatchObject({ status: "resolved", startsAt: firing?.startsAt });
    expect(again).toBeUndefined(); // nothing firing any more
    expect(await book.firing()).toEqual([]);
    // The batch re-run (a retried job) gives the same notifications again, and leaves it resolved.
    const rerun = await book.nextBatch([event(1, "assertion"), event(2, "deassertion")]);
    expect(rerun.map((n) => n?.id)).toEqual([firing?.id, resolved?.id]);
    expect(await book.firing()).toEqual([]);
  });

  it("costs one HMGET and one script call for a batch of many alerts", async () => {
    const book = new RedisAlertBook(client, "book-many");
    const batch = Array.from({ length: 50 }, (_, i) => event(i, "assertion", i));
    await book.nextBatch([event(1000, "assertion", 200)]); // the script loaded
    let results: Awaited<ReturnType<RedisAlertBook["nextBatch"]>> = [];
    const commands = await commandsDuring(
      client,
      async () => {
        results = await book.nextBatch(batch);
      },
      { scripts: false },
    );
    expect(commands.map(([c]) => c?.toLowerCase())).toEqual(["hmget", "evalsha"]);
    expect(results.filter((n) => n?.status === "firing")).toHaveLength(50);
    expect(await book.firing()).toHaveLength(51);
  });

  it("two workers racing on one alert: one fires it, the other's assertion changes nothing", async () => {
    const other = new Redis(redis.socket);
    try {
      const winner = new RedisAlertBook(client, "book-race");
      // The loser reads the alert (not firing), then the winner fires it before the loser's write.
      const racing = Object.create(other) as Redis;
      racing.hmget = (async (...args: Parameters<Redis["hmget"]>) => {
        const read = await other.hmget(...args);
        await winner.nextBatch([event(1, "assertion")]);
        return read;
      }) as Redis["hmget"];
      const loser = new RedisAlertBook(racing, "book-race");
      const [lost] = await loser.nextBatch([event(2, "assertion")]);
      expect(lost).toBeUndefined();
      const firing = await winner.firing();
      expect(firing).toHaveLength(1);
      expect(firing[0]?.id).toBe((await winner.next(event(1, "assertion").event, facts))?.id);
    } finally {
      other.disconnect();
    }
  });
});
