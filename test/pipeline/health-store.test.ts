import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { type BmcHealth, healthNotification } from "../../src/pipeline/health/health.js";
import {
  HealthStore,
  healthKey,
  markResolved,
  openIncidents,
  readHealth,
  sharedIncidentStart,
} from "../../src/pipeline/health/health-store.js";
import { createRedis } from "../../src/pipeline/queues.js";
import { waitFor } from "../support/listener.js";
import { bmcTarget } from "../support/notifications.js";
import { startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis;
let reader: Redis;

const state = (name: string, s: BmcHealth["state"], failures = 0): BmcHealth => ({
  name,
  state: s,
  consecutiveFailures: failures,
  alerting: failures >= 2,
  coldResets: 0,
});

beforeAll(async () => {
  redis = await startRedis();
  reader = new Redis(redis.socket);
  reader.on("error", () => undefined); // Redis is stopped on purpose below
});

afterAll(async () => {
  reader?.disconnect();
  await redis?.dispose();
});

describe("BMC health in Redis", () => {
  it("a reader sees each BMC's newest state, by name", async () => {
    const connection = createRedis(redis.socket, "producer");
    await new Promise((r) => connection.once("ready", r));
    const store = new HealthStore(connection, "hs1", () => undefined);
    try {
      store.write(state("bmc-b", "ok"));
      store.write(state("bmc-a", "wedged", 1));
      store.write(state("bmc-a", "wedged", 2));
      await store.flush();
      expect(await readHealth(reader, "hs1")).toEqual([state("bmc-a", "wedged", 2), state("bmc-b", "ok")]);
      expect(await reader.hlen(healthKey("hs1"))).toBe(2);
      expect(await readHealth(reader, "nothing-here")).toEqual([]);
    } finally {
      connection.disconnect();
    }
  });

  it("while Redis is down only the newest state per BMC waits, and is published when it is back", async () => {
    const connection = createRedis(redis.socket, "producer");
    connection.on("error", () => undefined);
    await new Promise((r) => connection.once("ready", r));
    const logged: string[] = [];
    const store = new HealthStore(connection, "hs2", (m) => logged.push(m));
    try {
      store.write(state("bmc-1", "ok"));
      await store.flush();
      await redis.stop();
      await waitFor("the disconnect", () => connection.status !== "ready" || undefined);
      store.write(state("bmc-1", "unresponsive", 1));
      await store.flush();
      store.write(state("bmc-1", "unresponsive", 2));
      store.write(state("bmc-2", "unresponsive", 1));
      await store.flush();
      // One line for the outage, not one per write.
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/^BMC health states not published: /);
      await redis.restart();
      await waitFor(
        "the held states",
        async () => ((await readHealth(reader, "hs2").catch(() => [])).length === 2 ? true : undefined),
        10_000,
      );
      expect(await readHealth(reader, "hs2")).toEqual([
        state("bmc-1", "unresponsive", 2),
        state("bmc-2", "unresponsive", 1),
      ]);
    } finally {
      connection.disconnect();
    }
  }, 20_000);
});

describe("one start per incident, whichever monitor reports it", () => {
  const target: BmcTarget = bmcTarget({ name: "bmc-x", host: "192.0.2.40" });
  const at = (iso: string, status: "firing" | "resolved") =>
    healthNotification(target, {
      status,
      startsAt: Date.parse(iso),
      ...(status === "resolved" && { endsAt: Date.parse(iso) + 60_000 }),
      detail: "wedged",
    });

  it("a second monitor's firing and the resolution carry the first start; routed, it closes the incident", async () => {
    const first = await sharedIncidentStart(reader, "inc1", at("2026-11-21T10:00:00.000Z", "firing"));
    expect(first).toEqual(at("2026-11-21T10:00:00.000Z", "firing"));
    // The monitor that took over saw the incident begin later: same alert all the same.
    const second = await sharedIncidentStart(reader, "inc1", at("2026-11-21T10:00:30.000Z", "firing"));
    expect(second.id).toBe(first.id);
    expect(second.startsAt).toBe(first.startsAt);
    expect(await openIncidents(reader, "inc1")).toEqual(new Map([["bmc-x", first.startsAt]]));
    const resolved = await sharedIncidentStart(reader, "inc1", at("2026-11-21T10:00:30.000Z", "resolved"));
    expect(resolved.startsAt).toBe(first.startsAt);
    expect(resolved.id).toBe(at("2026-11-21T10:00:00.000Z", "resolved").id);
    // Open until the resolution is routed (a worker dying in between leaves it to the next holder).
    expect((await openIncidents(reader, "inc1")).size).toBe(1);
    await markResolved(reader, "inc1", resolved);
    expect((await openIncidents(reader, "inc1")).size).toBe(0);
    // A stale second resolution of the same incident is the same notification.
    const again = await sharedIncidentStart(reader, "inc1", at("2026-11-21T10:00:45.000Z", "resolved"));
    expect(again.id).toBe(resolved.id);
    // The next incident starts afresh.
    const next = await sharedIncidentStart(reader, "inc1", at("2026-11-21T11:00:00.000Z", "firing"));
    expect(next).toEqual(at("2026-11-21T11:00:00.000Z", "firing"));
    expect(next.id).not.toBe(first.id);
  });
});
