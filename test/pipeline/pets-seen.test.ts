import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Enrichment } from "../../src/pipeline/enrich/enrich.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import {
  MAX_PETS_SEEN,
  PETS_SEEN_MS,
  petMember,
  petsSeenKey,
  petsSeenStage,
} from "../../src/pipeline/sel/pets-seen.js";
import type { Item } from "../../src/pipeline/stage.js";
import { assertedPetFrom, startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";

/*
 * The PETs-seen stage (sel/pets-seen.ts) on a real Redis: a batch's PETs remembered by their BMC,
 * in one script call whatever the number of BMCs, the sets kept to the window and the cap.
 */

let redis: TestRedis;
let client: Redis;
let worker: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.socket);
  worker = new Redis(redis.socket);
  await Promise.all([client.ping(), worker.ping()]);
});
afterAll(async () => {
  client?.disconnect();
  worker?.disconnect();
  await redis?.dispose();
});

const NOW = Date.parse("2026-12-07T12:00:00Z");

/** PET `k` of BMC `bmc` (enriched as that BMC), received at NOW. */
function item(bmc: string, k: number): Item {
  const trap = { ...assertedPetFrom(`10.9.0.${k}`, `guid-${k}`, k), receivedAt: new Date(NOW).toISOString() };
  const enrichment = { status: "ok", bmc: { name: bmc, address: trap.source.address, labels: {} } };
  return { event: { id: eventId(trap), trap }, enrichment: enrichment as Enrichment };
}

it("remembers a batch's PETs by BMC in one script call, however many BMCs", async () => {
  const stage = petsSeenStage(worker, "seen", () => NOW);
  await stage.exec([item("bmc-z", 9)], { batchId: "b0" }); // the script loaded
  const items = [item("bmc-a", 1), item("bmc-b", 2), item("bmc-a", 3), item("bmc-c", 4)];
  const sent = await commandsDuring(client, async () => stage.exec(items, { batchId: "b1" }), {
    scripts: false,
  });
  expect(sent.map(([command]) => command?.toLowerCase())).toEqual(["evalsha"]);
  const members = async (bmc: string) => client.zrange(petsSeenKey("seen", bmc), 0, -1, "WITHSCORES");
  const memberOf = (i: Item) => (i.event?.trap.kind === "pet" ? petMember(i.event.trap.pet, NOW) : "");
  expect(await members("bmc-a")).toEqual([
    ...[memberOf(items[0] as Item), memberOf(items[2] as Item)].sort().flatMap((m) => [m, String(NOW)]),
  ]);
  expect(await members("bmc-b")).toEqual([memberOf(items[1] as Item), String(NOW)]);
  expect(await members("bmc-c")).toEqual([memberOf(items[3] as Item), String(NOW)]);
  const ttl = await client.pttl(petsSeenKey("seen", "bmc-c"));
  expect(ttl).toBeGreaterThan(PETS_SEEN_MS - 60_000);
  expect(ttl).toBeLessThanOrEqual(PETS_SEEN_MS);
});

it("drops what is older than the window, and keeps the newest MAX_PETS_SEEN of a BMC", async () => {
  const key = petsSeenKey("trim", "bmc-a");
  await client.zadd(key, NOW - PETS_SEEN_MS - 1, "too-old");
  const old = Array.from({ length: MAX_PETS_SEEN }, (_, i) => [
    NOW - PETS_SEEN_MS + 1 + i,
    `kept-${i}`,
  ]).flat();
  await client.zadd(key, ...old);
  await petsSeenStage(worker, "trim", () => NOW).exec([item("bmc-a", 1), item("bmc-a", 2)], {
    batchId: "b2",
  });
  expect(await client.zcard(key)).toBe(MAX_PETS_SEEN);
  expect(await client.zscore(key, "too-old")).toBeNull();
  // The two oldest within the window made room for the batch's two.
  expect(await client.zrange(key, 0, 0)).toEqual(["kept-2"]);
  expect(await client.zcount(key, NOW, NOW)).toBe(2);
});

it("leaves a batch without PETs of inventory BMCs alone: no command", async () => {
  const stranger = { ...item("bmc-a", 5), enrichment: { status: "unknown-bmc" } as Enrichment };
  const sent = await commandsDuring(
    client,
    async () => petsSeenStage(worker, "none", () => NOW).exec([stranger], { batchId: "b3" }),
    { scripts: false },
  );
  expect(sent).toEqual([]);
});
