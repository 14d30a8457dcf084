import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { type EventsWorker, startEventsWorker } from "../../src/pipeline/events-worker.js";
import { eventClaimKey } from "../../src/pipeline/intake/claim.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { batchLingerMs, EventRate, Ingest, type IngestOptions } from "../../src/pipeline/intake/ingest.js";
import { createRedis, type IngestQueue, ingestQueue } from "../../src/pipeline/queues.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

const PREFIX = "petgate-test";

let redis: TestRedis;
let dir: string;
let client: Redis;
let ingestQ: IngestQueue;
/** Event ids in the order the events worker processed them (a retried batch processes again). */
let processed: string[];
const cleanup: (() => Promise<void>)[] = [];
const logs: string[] = [];

beforeEach(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "petgate-ingest-"));
  client = createRedis(redis.socket, "worker");
  client.on("error", () => undefined);
  ingestQ = ingestQueue(client, PREFIX);
  processed = [];
  logs.length = 0;
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
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

async function eventsWorker(): Promise<EventsWorker> {
  // A batch being processed when Redis stops is recovered by BullMQ's stalled-job check after its
  // lock expires: short here.
  const w = await startEventsWorker({
    config: configSchema.parse({}),
    connection: redis.socket,
    prefix: PREFIX,
    inventory: [],
    lockDurationMs: 1_000,
    stalledIntervalMs: 500,
    onProcessed: (p) => processed.push(p.event.id),
    log: (m) => logs.push(`events: ${m}`),
  });
  cleanup.push(() => w.close());
  return w;
}

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      const counts = JSON.stringify({ ingest: await ingestQ.getJobCounts(), processed: processed.length });
      throw new Error(`timed out waiting for ${what}: ${counts}\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const allStates = ["wait", "active", "delayed", "prioritized", "completed", "failed"] as const;
async function jobCount(q: IngestQueue): Promise<number> {
  const counts = await q.getJobCounts(...allStates);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
async function ingestDrained(): Promise<boolean> {
  const c = await ingestQ.getJobCounts("wait", "active", "delayed", "prioritized", "failed");
  return Object.values(c).every((n) => n === 0);
}
/** The events claimed by some batch (src/pipeline/intake/claim.ts): each distinct event once. */
async function claimedIds(): Promise<string[]> {
  const keys = await client.keys(eventClaimKey(PREFIX, "*"));
  return keys.map((k) => k.slice(eventClaimKey(PREFIX, "").length)).sort();
}
const distinct = (ids: string[]) => [...new Set(ids)].sort();

describe("Ingest → INGEST → events worker (real redis-server)", () => {
  it("micro-batches 1,000 events into a few INGEST jobs, and the events worker processes each once", async () => {
    const i = await ingest();
    const traps = Array.from({ length: 1000 }, (_, n) => petTrap(n));
    const results = await Promise.all(traps.map((t) => i.add(t)));
    expect(results.every((r) => r.durable === "queued")).toBe(true);
    expect(results.map((r) => r.id)).toEqual(traps.map(eventId));

    const stats = i.stats();
    expect(stats).toMatchObject({ received: 1000, queued: 1000, spooled: 0, duplicatesCollapsed: 0 });
    expect(stats.batches).toBeLessThanOrEqual(40);
    expect(await jobCount(ingestQ)).toBe(stats.batches);
    const [batch] = await ingestQ.getJobs(["wait"], 0, 0);
    expect(batch?.data.events[0]?.trap.kind).toBe("pet");
    expect(processed).toEqual([]);

    const w = await eventsWorker();
    await until("processing", async () => (await ingestDrained()) && processed.length === 1000);
    expect([...processed].sort()).toEqual(traps.map(eventId).sort());
    expect(await claimedIds()).toEqual(traps.map(eventId).sort());
    expect(w.stats().duplicates).toBe(0);
  });

  it("processes a PET retransmitted 3 times and the same event from two listeners once", async () => {
    const a = await ingest("a");
    const b = await ingest("b");
    const w = await eventsWorker();

    // Retransmissions in separate batches (each awaited), then within one batch, then another listener.
    const first = await a.add(petTrap(7));
    expect(await a.add(petTrap(7))).toEqual(first);
    expect(await a.add(petTrap(7))).toEqual(first);
    const sameBatch = await Promise.all([a.add(petTrap(7)), a.add(petTrap(7)), a.add(petTrap(8))]);
    expect(a.stats().duplicatesCollapsed).toBe(1);
    const other = await b.add(petTrap(7, { address: "198.51.100.5", port: 623 }));
    expect(other.id).toBe(first.id);
    expect(sameBatch[0]).toEqual(first);

    await until("processing", async () => (await ingestDrained()) && (await jobCount(ingestQ)) === 5);
    // Five batches carried 7, 7, 7, (7, 8) and 7: each event processed once, four copies dropped.
    expect([...processed].sort()).toEqual([eventId(petTrap(7)), eventId(petTrap(8))].sort());
    expect(w.stats().duplicates).toBe(4);
  });

  it("spools while Redis is down and replays when it is back: every distinct event once, spool empty", async () => {
    const i = await ingest();
    const w = await eventsWorker();
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
    // The replay's end (its log line comes once the spool has started its fresh file), not its count:
    // the count is reached before the spool file is opened again.
    await until("replay", () => logs.some((l) => l.includes("replayed 350 spooled event(s)")));
    expect(i.stats()).toMatchObject({ replayed: 350, spool: { pendingBytes: 0 } });
    await until("processing", async () => (await ingestDrained()) && distinct(processed).length === 600);

    // Every distinct event processed (a batch cut off by the outage may have run twice: idempotent),
    // claimed once; the 50 retransmissions dropped as copies (more if an add that timed out landed
    // after its batch was spooled: then the spooled copy is dropped too).
    const expected = Array.from({ length: 600 }, (_, n) => eventId(petTrap(n))).sort();
    expect(distinct(processed)).toEqual(expected);
    expect(await claimedIds()).toEqual(expected);
    expect(w.stats().duplicates).toBeGreaterThanOrEqual(50);
    expect(statSync(spoolFile).size).toBe(0);
    expect(existsSync(`${spoolFile}.replaying`)).toBe(false);
  });

  it("spools from the start when Redis is unreachable, and a new Ingest replays the spool it left", async () => {
    await redis.stop();
    const first = await ingest("a", { addTimeoutMs: 200 });
    const spooled = await Promise.all(Array.from({ length: 20 }, (_, n) => first.add(petTrap(n))));
    expect(spooled.every((r) => r.durable === "spooled")).toBe(true);
    await first.close();

    await redis.restart();
    const second = await ingest("a");
    await eventsWorker();
    await until("replay", () => second.stats().replayed === 20);
    await until("processing", async () => (await ingestDrained()) && processed.length === 20);
    expect([...processed].sort()).toEqual(Array.from({ length: 20 }, (_, n) => eventId(petTrap(n))).sort());
    expect(second.stats().spool.pendingBytes).toBe(0);
  });
});

describe("batch linger: longer the faster traps come", () => {
  it("EventRate counts events a second from whole-second windows; a quiet second resets it", () => {
    const rate = new EventRate();
    let got = 0;
    // 1,000 events over one second, 1 ms apart.
    for (let t = 0; t < 1000; t++) got = rate.count(10_000 + t);
    expect(got).toBe(1000);
    // The next second starts from the last one's count.
    expect(rate.count(11_000)).toBe(1000);
    // A trap after a quiet second: the rate is this window's alone, its first 100 ms as a tenth of a second.
    expect(rate.count(13_500)).toBe(10);
    expect(rate.count(13_501)).toBe(20);
    // Sparse traps stay sparse: 3 in 800 ms.
    expect(rate.count(14_300)).toBe(3);
  });

  it("EventRate: a storm that starts at 1,000/s has that rate, and the longest linger, within 100 ms", () => {
    const rate = new EventRate();
    const at: number[] = [];
    for (let t = 0; t < 300; t++) at.push(rate.count(50_000 + t));
    expect(at[9]).toBe(100); // 10 events in the first 10 ms: not yet judged
    expect(at[99]).toBe(1000);
    expect(batchLingerMs(at[99] as number, 2, 20)).toBe(20);
    expect(at[299]).toBe(1000);
  });

  it("batchLingerMs: 1 ms per 50 events a second, within the bounds", () => {
    expect([0, 1, 99, 100, 500, 1000, 2000, 100_000].map((r) => batchLingerMs(r, 2, 20))).toEqual([
      2, 2, 2, 2, 10, 20, 20, 20,
    ]);
  });
});
