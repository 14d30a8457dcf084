import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisLease } from "../../src/pipeline/health/lease.js";
import { waitFor } from "../support/listener.js";
import { startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis;
const connections: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await redis?.dispose();
});

/** A lease on its own connection (as each worker process has), logging its holds. */
function contender(key: string, events: string[], name: string) {
  const connection = new Redis(redis.socket, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  connection.on("error", () => undefined);
  connections.push(connection);
  const lease = new RedisLease({
    redis: connection,
    key,
    ttlMs: 300,
    onAcquired: () => events.push(`${name} acquired`),
    onLost: () => {
      events.push(`${name} lost`);
    },
  });
  return { lease, connection };
}

it("one holder among three; a closed holder hands over; a dead one is replaced after its TTL", async () => {
  const events: string[] = [];
  const all = ["a", "b", "c"].map((n) => ({ name: n, ...contender("t:lease", events, n) }));
  for (const c of all) c.lease.start();
  const first = await waitFor("a holder", () => all.find((c) => c.lease.isHeld));
  // Several renewal periods later still exactly one holder, and the key names it.
  await new Promise((r) => setTimeout(r, 700));
  expect(all.filter((c) => c.lease.isHeld)).toEqual([first]);
  expect(await first.connection.get("t:lease")).toBe(first.lease.holder);

  // close() releases at once: another takes over within one retry period.
  await first.lease.close();
  expect(events).toContain(`${first.name} lost`);
  const second = await waitFor("a second holder", () => all.find((c) => c !== first && c.lease.isHeld));

  // A holder that dies (its connection gone, no release) is replaced once the key expires.
  second.connection.disconnect();
  const third = await waitFor(
    "a third holder",
    () => all.find((c) => c !== first && c !== second && c.lease.isHeld),
    3_000,
  );
  expect(await third.connection.get("t:lease")).toBe(third.lease.holder);
  // The dead one noticed its renewal failing and gave the lease up.
  await waitFor("the dead holder to give up", () => !second.lease.isHeld || undefined);
  expect(events.filter((e) => e.endsWith("acquired"))).toHaveLength(3);
  for (const c of all) await c.lease.close();
});
