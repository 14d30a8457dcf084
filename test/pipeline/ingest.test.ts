import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventId } from "../../src/pipeline/event.js";
import { type FanOut, Ingest, type IngestOptions, startFanOut } from "../../src/pipeline/ingest.js";
import {
  createRedis,
  type EventsQueue,
  eventsQueue,
  type IngestQueue,
  ingestQueue,
} from "../../src/pipeline/queues.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

const PREFIX = "petgate-test";

let redis: TestRedis;
let dir: string;
let client: Redis;
let events: EventsQueue;
let ingestQ: IngestQueue;
const cleanup: (() => Promise<void>)[] = [];
const logs: string[] = [];

beforeEach(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "petgate-ingest-"));
  client = createRedis(redis.socket, "worker");
  client.on("error", () => undefined);
  events = eventsQueue(client, PREFIX);
  ingestQ = ingestQueue(client, PREFIX);
  logs.length = 0;
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await events.close();
  await ingestQ.close();
  client.disconnect();
  await redis.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function ingest(name = "a", options: Partial<IngestOptions> = {}): Promise<Ingest> {
  const i = await Ingest.start({
    connection: redis.socket,
    prefix: PREFIX,
    spoolFile: join(dir, `${name}.spool`),
    retryMs: 100,
    log: (m) => logs.push(`${name}: ${m}`),
    ...options,
  });
  cleanup.push(() => i.close());
  return i;
}

async function fanOut(): Promise<FanOut> {
  // A batch being fanned out when Redis stops is recovered by BullMQ's stalled-job check after its
  // lock expires: short here.
  const f = await startFanOut({
    connection: redis.socket,
    prefix: PREFIX,
    concurrency: 2,
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
  });
  cleanup.push(() => f.close());
  return f;
}

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      const counts = JSON.stringify({
        ingest: await ingestQ.getJobCounts(),
        events: await events.getJobCounts(),
      });
      throw new Error(`timed out waiting for ${what}: ${counts}\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const allStates = ["wait", "active", "delayed", "prioritized", "completed", "failed"] as const;
async function jobCount(q: EventsQueue | IngestQueue): Promise<number> {
  const counts = await q.getJobCounts(...allStates);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
async function ingestDrained(): Promise<boolean> {
  const c = await ingestQ.getJobCounts("wait", "active", "delayed", "prioritized", "failed");
  return Object.values(c).every((n) => n === 0);
}
async function eventJobIds(): Promise<string[]> {
  const jobs = await events.getJobs([...allStates]);
  return jobs.map((j) => String(j.id)).sort();
}

describe("Ingest → INGEST → fan-out → EVENTS (real redis-server)", () => {
  it("micro-batches 1,000 events into a few INGEST jobs and fans them out to exactly 1,000 EVENTS jobs", async () => {
    const i = await ingest();
    const traps = Array.from({ length: 1000 }, (_, n) => petTrap(n));
    const results = await Promise.all(traps.map((t) => i.add(t)));
    expect(results.every((r) => r.durable === "queued")).toBe(true);
    expect(results.map((r) => r.id)).toEqual(traps.map(eventId));

    const stats = i.stats();
    expect(stats).toMatchObject({ received: 1000, queued: 1000, spooled: 0, duplicatesCollapsed: 0 });
    expect(stats.batches).toBeLessThanOrEqual(40);
    expect(await jobCount(ingestQ)).toBe(stats.batches);
    expect(await jobCount(events)).toBe(0);

    const f = await fanOut();
    await until("fan-out", async () => (await ingestDrained()) && f.stats().events === 1000);
    expect(await jobCount(events)).toBe(1000);
    expect(await eventJobIds()).toEqual(traps.map(eventId).sort());
    const job = await events.getJob(eventId(traps[42] ?? petTrap(42)));
    expect(job?.data.trap.kind).toBe("pet");
    expect(job?.data.trap.kind === "pet" && job.data.trap.pet.sequence).toBe(42);
  });

  it("collapses a PET retransmitted 3 times and the same event from two listeners into one EVENTS job", async () => {
    const a = await ingest("a");
    const b = await ingest("b");
    await fanOut();

    // Retransmissions in separate batches (each awaited), then within one batch, then another listener.
    const first = await a.add(petTrap(7));
    expect(await a.add(petTrap(7))).toEqual(first);
    expect(await a.add(petTrap(7))).toEqual(first);
    const sameBatch = await Promise.all([a.add(petTrap(7)), a.add(petTrap(7)), a.add(petTrap(8))]);
    expect(a.stats().duplicatesCollapsed).toBe(1);
    const other = await b.add(petTrap(7, { address: "198.51.100.5", port: 623 }));
    expect(other.id).toBe(first.id);
    expect(sameBatch[0]).toEqual(first);

    await until("fan-out", async () => (await ingestDrained()) && (await jobCount(ingestQ)) === 5);
    expect(await eventJobIds()).toEqual([eventId(petTrap(7)), eventId(petTrap(8))].sort());
  });

  it("spools while Redis is down and replays when it is back: every distinct event once, spool empty", async () => {
    const i = await ingest();
    const f = await fanOut();
    const before = await Promise.all(Array.from({ length: 300 }, (_, n) => i.add(petTrap(n))));
    expect(before.every((r) => r.durable === "queued")).toBe(true);

    await redis.stop();
    // New events, plus retransmissions of events already queued before the outage.
    const during = await Promise.all([
      ...Array.from({ length: 300 }, (_, n) => i.add(petTrap(300 + n))),
      ...Array.from({ length: 50 }, (_, n) => i.add(petTrap(n))),
    ]);
    expect(during.every((r) => r.durable === "spooled")).toBe(true);
    expect(i.stats()).toMatchObject({ queued: 300, spooled: 350, replayed: 0 });
    const spoolFile = join(dir, "a.spool");
    expect(statSync(spoolFile).size).toBeGreaterThan(0);

    await redis.restart();
    await until("replay", () => i.stats().replayed === 350 && i.stats().spool.pendingBytes === 0);
    await until("fan-out", async () => (await ingestDrained()) && f.stats().events >= 300 + 350);

    const expected = Array.from({ length: 600 }, (_, n) => eventId(petTrap(n))).sort();
    expect(await eventJobIds()).toEqual(expected);
    expect(await jobCount(events)).toBe(600);
    expect(statSync(spoolFile).size).toBe(0);
    expect(existsSync(`${spoolFile}.replaying`)).toBe(false);
    expect(logs.some((l) => l.includes("replayed 350 spooled event(s)"))).toBe(true);
  });

  it("spools from the start when Redis is unreachable, and a new Ingest replays the spool it left", async () => {
    await redis.stop();
    const first = await ingest("a", { addTimeoutMs: 200 });
    const spooled = await Promise.all(Array.from({ length: 20 }, (_, n) => first.add(petTrap(n))));
    expect(spooled.every((r) => r.durable === "spooled")).toBe(true);
    await first.close();

    await redis.restart();
    const second = await ingest("a");
    await fanOut();
    await until("replay", () => second.stats().replayed === 20);
    await until("fan-out", async () => (await ingestDrained()) && (await jobCount(events)) === 20);
    expect(await eventJobIds()).toEqual(Array.from({ length: 20 }, (_, n) => eventId(petTrap(n))).sort());
    expect(second.stats().spool.pendingBytes).toBe(0);
  });
});
