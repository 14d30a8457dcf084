import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FEED_EVENTS_MAX, historyStreamKey } from "../../src/history/feed.js";
import { startHistoryKeeper } from "../../src/history/keeper.js";
import { HistoryStore } from "../../src/history/store.js";
import {
  HISTORY_CONSUMER,
  type HistoryWriterOptions,
  historyGroup,
  startHistoryWriter,
} from "../../src/history/writer.js";
import { buildNotification } from "../../src/pipeline/alerting/notification.js";
import type { ProcessedEvent } from "../../src/pipeline/events-worker.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { RecentEvents } from "../../src/pipeline/recent/recent.js";
import { waitFor } from "../support/listener.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

/*
 * The history feed end to end on a real redis-server: what the recent-events writes add to the
 * stream (as the workers write them) is recorded in the history file by the writer; what a stopped
 * writer had read but not recorded is read again; an unreadable entry is counted and skipped.
 */

let redis: TestRedis;
let client: Redis;
const dir = mkdtempSync(join(tmpdir(), "petgate-history-writer-"));
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.socket);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const SOURCE = { address: "127.44.0.9", port: 623 };

/** A history keeper of `store` on the test's Redis, keeping everything, reading every 100 ms. */
function keeper(prefix: string, store: HistoryStore, options: Partial<HistoryWriterOptions> = {}) {
  return startHistoryWriter({
    redis: redis.socket,
    prefix,
    store,
    retentionMs: Number.MAX_SAFE_INTEGER,
    blockMs: 100,
    log: () => undefined,
    ...options,
  });
}

function processed(sequence: number): ProcessedEvent {
  const trap = petTrap(sequence, SOURCE);
  const event: QueuedEvent = { id: eventId(trap), trap };
  const notification = buildNotification(event, {
    status: "ok",
    bmc: { name: "bmc-9", address: SOURCE.address, labels: { rack: "r9" } },
    sensor: { name: "Intrusion", reading: null, unit: "", thresholds: {} },
  });
  return { event, enrichment: "ok", enrichMs: 3, outcome: "sent", notification, receivers: ["ops"] };
}

it("records what the workers' writes feed, with the labels and outcomes, and acknowledges it", async () => {
  const prefix = "feed";
  const store = new HistoryStore(join(dir, "feed.sqlite"));
  const recent = new RecentEvents(client, { prefix, history: true });
  const all = Array.from({ length: FEED_EVENTS_MAX + 20 }, (_, i) => processed(i + 1));
  const { recorded } = await recent.write({ entries: all.map((p, i) => ({ processed: p, at: 1_000 + i })) });
  // One write, split into stream entries of FEED_EVENTS_MAX events at most.
  expect(await client.xlen(historyStreamKey(prefix))).toBe(2);
  const first = recorded[0]?.notification as string;
  await recent.write({
    deliveries: [{ notificationId: first, receiver: "ops", outcome: "delivered", at: 5_000 }],
  });

  const writer = await keeper(prefix, store);
  try {
    await waitFor("every event and the outcome recorded", () =>
      writer.stats().events === all.length && writer.stats().deliveries === 1 ? true : undefined,
    );
    expect(store.count()).toBe(all.length);
    const page = store.query({ labels: { label_rack: "r9" }, limit: 500 });
    expect(page.events).toHaveLength(all.length);
    const oldest = page.events.at(-1);
    expect(oldest).toMatchObject({ id: all[0]?.event.id, at: 1_000, bmc: "bmc-9", labels: { bmc: "bmc-9" } });
    expect(oldest?.deliveries.ops).toMatchObject({ status: "delivered", outcome: "delivered" });
    const pending = async () =>
      ((await client.xpending(historyStreamKey(prefix), historyGroup(store.path))) as [number])[0];
    await waitFor("every entry acknowledged", async () => ((await pending()) === 0 ? true : undefined));
  } finally {
    await writer.close();
    store.close();
  }
});

it("reads again what it had read but not recorded when it stopped, and skips an unreadable entry", async () => {
  const prefix = "again";
  const key = historyStreamKey(prefix);
  const store = new HistoryStore(join(dir, "again.sqlite"));
  const recent = new RecentEvents(client, { prefix, history: true });
  await recent.write({ entries: [{ processed: processed(1), at: 2_000 }] });
  await client.xadd(key, "*", "batch", "{not json");
  await recent.write({ entries: [{ processed: processed(2), at: 3_000 }] });
  // A keeper of this file (an earlier process) read all three and stopped before recording them.
  await client.xgroup("CREATE", key, historyGroup(store.path), "0");
  const read = (await client.call(
    "XREADGROUP",
    "GROUP",
    historyGroup(store.path),
    HISTORY_CONSUMER,
    "STREAMS",
    key,
    ">",
  )) as [string, unknown[]][];
  expect(read[0]?.[1]).toHaveLength(3);

  const writer = await keeper(prefix, store);
  try {
    await waitFor("both events recorded", () => (writer.stats().events === 2 ? true : undefined));
    expect(writer.stats().unreadable).toBe(1);
    expect(store.query().events.map((e) => e.at)).toEqual([3_000, 2_000]);
    const pending = async () => ((await client.xpending(key, historyGroup(store.path))) as [number])[0];
    await waitFor("every entry acknowledged", async () => ((await pending()) === 0 ? true : undefined));
  } finally {
    await writer.close();
    store.close();
  }
});

it("reads again a read it could not record (the file refused it), logging that once", async () => {
  const prefix = "refused";
  const store = new HistoryStore(join(dir, "refused.sqlite"));
  const record = store.record.bind(store);
  let refusals = 2;
  store.record = (...args: Parameters<HistoryStore["record"]>) => {
    if (refusals-- > 0) throw new Error("database or disk is full");
    record(...args);
  };
  const logged: string[] = [];
  const writer = await keeper(prefix, store, { log: (m) => logged.push(m) });
  try {
    await new RecentEvents(client, { prefix, history: true }).write({
      entries: [{ processed: processed(1), at: 1_000 }],
    });
    await waitFor("recorded at the third try", () => (store.count() === 1 ? true : undefined), 10_000);
    expect(logged).toEqual(["history: not recorded, to be read again: database or disk is full"]);
  } finally {
    await writer.close();
    store.close();
  }
});

it("records new entries read one by one in one transaction, once the first has waited lingerMs", async () => {
  const prefix = "linger";
  const store = new HistoryStore(join(dir, "linger.sqlite"));
  const transactions: number[] = [];
  const record = store.record.bind(store);
  store.record = (...args: Parameters<HistoryStore["record"]>) => {
    transactions.push(args[0].length);
    record(...args);
  };
  // Long enough that the five writes below, each awaited, land inside it on a loaded machine.
  const writer = await keeper(prefix, store, { lingerMs: 3_000 });
  try {
    const recent = new RecentEvents(client, { prefix, history: true });
    for (let n = 1; n <= 5; n++) await recent.write({ entries: [{ processed: processed(n), at: n * 1000 }] });
    await waitFor("all five recorded", () => (store.count() === 5 ? true : undefined), 10_000);
    expect(transactions).toEqual([5]);
  } finally {
    await writer.close();
    store.close();
  }
});

it("goes on when Redis loses the stream (restarted empty, the key deleted): its group made again", async () => {
  const prefix = "lost";
  const store = new HistoryStore(join(dir, "lost.sqlite"));
  const recent = new RecentEvents(client, { prefix, history: true });
  const writer = await keeper(prefix, store);
  try {
    await recent.write({ entries: [{ processed: processed(1), at: 1_000 }] });
    await waitFor("the first recorded", () => (store.count() === 1 ? true : undefined));
    await client.del(historyStreamKey(prefix));
    await recent.write({ entries: [{ processed: processed(2), at: 2_000 }] });
    await waitFor("the second recorded", () => (store.count() === 2 ? true : undefined), 10_000);
  } finally {
    await writer.close();
    store.close();
  }
});

it("two keepers (two HTTP processes' files) each keep every event", async () => {
  const prefix = "two";
  const [a, b] = ["a.sqlite", "b.sqlite"].map((f) => new HistoryStore(join(dir, "two", f))) as [
    HistoryStore,
    HistoryStore,
  ];
  const recent = new RecentEvents(client, { prefix, history: true });
  const keepers = [await keeper(prefix, a), await keeper(prefix, b)];
  try {
    await recent.write({ entries: [1, 2, 3].map((n) => ({ processed: processed(n), at: n * 1000 })) });
    await waitFor("both files have all three", () => (a.count() === 3 && b.count() === 3 ? true : undefined));
  } finally {
    for (const k of keepers) await k.close();
    a.close();
    b.close();
  }
});

it("prunes what is older than the retention when it starts", async () => {
  const store = new HistoryStore(join(dir, "prune.sqlite"));
  const recent = new RecentEvents(client, { prefix: "prune", history: true });
  await recent.write({
    entries: [
      { processed: processed(1), at: 1_000 },
      { processed: processed(2), at: 9_000 },
    ],
  });
  const first = await keeper("prune", store);
  await waitFor("both recorded", () => (first.stats().events === 2 ? true : undefined));
  await first.close();
  const logged: string[] = [];
  const second = await keeper("prune", store, {
    retentionMs: 5_000,
    clock: () => 10_000,
    log: (m) => logged.push(m),
  });
  await second.close();
  expect(store.query().events.map((e) => e.at)).toEqual([9_000]);
  expect(logged).toEqual(["history: 1 event(s) older than the retention pruned"]);
  store.close();
});

it("on a thread of its own (startHistoryKeeper): records the feed into the file this thread reads, logs through it, and stops when closed", async () => {
  const prefix = "thread";
  const path = join(dir, "thread.sqlite");
  const store = new HistoryStore(path); // the HTTP role's handle, opened first
  const recent = new RecentEvents(client, { prefix, history: true });
  const lines: string[] = [];
  const start = (retentionMs: number) =>
    startHistoryKeeper({ redis: redis.socket, prefix, path, retentionMs, log: (line) => lines.push(line) });
  let kept = await start(Number.MAX_SAFE_INTEGER);
  try {
    await recent.write({ entries: [1, 2, 3].map((n) => ({ processed: processed(n), at: 7_000 + n })) });
    await waitFor(
      "the thread's records in this thread's reads",
      () => (store.count() === 3 ? true : undefined),
      20_000,
    );
    expect(store.query({ limit: 10 }).events[0]).toMatchObject({
      at: 7_003,
      bmc: "bmc-9",
      labels: { label_rack: "r9" },
    });
    await kept.close();
    // Started again with a retention the three are past: its start's prune, logged through here.
    kept = await start(60_000);
    expect(store.count()).toBe(0);
    expect(lines).toContain("history: 3 event(s) older than the retention pruned");
  } finally {
    await kept.close();
    store.close();
  }
});

it("a keeper that cannot open its file fails its start with the reason, in one line", async () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "");
  const failed = startHistoryKeeper({
    redis: redis.socket,
    prefix: "nofile",
    path: join(file, "history.sqlite"),
    retentionMs: 1,
    log: () => undefined,
  });
  await expect(failed).rejects.toThrow(/^EEXIST: file already exists, mkdir '[^\n]*'$/);
});
