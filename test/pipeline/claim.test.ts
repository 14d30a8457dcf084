import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { claimEvents, eventClaimKey } from "../../src/pipeline/intake/claim.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.socket);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.dispose();
});

const queued = (...sequences: number[]): QueuedEvent[] =>
  sequences.map((n) => {
    const trap = petTrap(n);
    return { id: eventId(trap), trap };
  });
const ids = (events: QueuedEvent[]) => events.map((e) => e.trap.kind === "pet" && e.trap.pet.sequence);

it("a batch claims what no other batch took, again on its own retry; another batch's copies are dropped", async () => {
  expect(ids(await claimEvents(client, "c1", "batch-1", queued(1, 2, 3)))).toEqual([1, 2, 3]);
  // The same INGEST job run again (a retry after a crash or a failure): its events are its own still.
  expect(ids(await claimEvents(client, "c1", "batch-1", queued(1, 2, 3)))).toEqual([1, 2, 3]);
  // Another batch carrying copies of 2 and 3 (a retransmission, another listener) and a new event.
  expect(ids(await claimEvents(client, "c1", "batch-2", queued(2, 4, 3)))).toEqual([4]);
  expect(await client.get(eventClaimKey("c1", eventId(petTrap(4))))).toBe("batch-2");
  expect(await claimEvents(client, "c1", "batch-3", [])).toEqual([]);
});

it("a claim expires after the dedup window: a copy after that is a new event", async () => {
  expect(ids(await claimEvents(client, "c2", "batch-1", queued(1), 100))).toEqual([1]);
  expect(await client.pttl(eventClaimKey("c2", eventId(petTrap(1))))).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 150));
  expect(ids(await claimEvents(client, "c2", "batch-2", queued(1), 100))).toEqual([1]);
});
