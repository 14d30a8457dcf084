import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PetSeverity } from "../../src/pet/tables/severity.js";
import { buildNotification } from "../../src/pipeline/alerting/notification.js";
import type { ProcessedEvent } from "../../src/pipeline/events-worker.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import {
  type ProcessedAt,
  RECENT_ENTRY_MAX_BYTES,
  type RecentEvent,
  RecentEvents,
  recordRecent,
  TRIM_MAX,
} from "../../src/pipeline/recent/recent.js";
import { genericTrap, petTrap, startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring, hashFieldsRead } from "../support/redis-monitor.js";

/*
 * The recent-events store on a real redis-server, with processed events as the events worker hands
 * them over (real PET traps, notifications built by the pipeline's own buildNotification).
 */

let redis: TestRedis;
let writer: Redis;
let reader: Redis;

beforeAll(async () => {
  redis = await startRedis();
  writer = new Redis(redis.socket);
  reader = new Redis(redis.socket);
});

afterAll(async () => {
  writer?.disconnect();
  reader?.disconnect();
  await redis?.dispose();
});

const SOURCE = { address: "127.44.0.1", port: 623 };

function processed(sequence: number, receivers = ["webhook", "email"]): ProcessedEvent {
  const trap = petTrap(sequence, SOURCE);
  const event: QueuedEvent = { id: eventId(trap), trap };
  const notification = buildNotification(event, {
    status: "ok",
    bmc: { name: "bmc-7", address: SOURCE.address, labels: {} },
    sensor: { name: "Intrusion", reading: null, unit: "", thresholds: {} },
  });
  return { event, enrichment: "ok", enrichMs: 3, outcome: "sent", notification, receivers };
}

describe("RecentEvents", () => {
  it("keeps the newest `max` entries, readable from another connection, and drops the rest with their deliveries", async () => {
    const prefix = "trim";
    const store = new RecentEvents(writer, { prefix, max: 3 });
    const all = [1, 2, 3, 4, 5].map((n) => processed(n));
    for (const [i, p] of all.entries()) await store.record(p, 1_000 + i);
    await store.trim();

    const listed = await new RecentEvents(reader, { prefix, max: 3 }).list();
    expect(listed.map((e) => e.id)).toEqual(
      all
        .slice(2)
        .reverse()
        .map((p) => p.event.id),
    );
    expect(listed[0]?.deliveries).toMatchObject({
      webhook: { status: "pending" },
      email: { status: "pending" },
    });
    const deliveryKeys = all.map((p) => `${prefix}:recent:delivery:${p.notification?.id}`);
    expect(await reader.exists(...deliveryKeys.slice(0, 2))).toBe(0);
    expect(await reader.exists(...deliveryKeys.slice(2))).toBe(3);
  });

  it("shows a delivery the worker recorded even before the event itself", async () => {
    const store = new RecentEvents(writer, { prefix: "early" });
    const p = processed(10);
    const id = p.notification?.id ?? "";
    await store.recordDelivery(id, "webhook", "delivered");
    expect(await reader.ttl(`early:recent:delivery:${id}`)).toBeGreaterThan(0);

    await store.record(p);
    await store.recordDelivery(id, "email", "exhausted");
    const [entry] = await store.list();
    expect(entry?.deliveries).toMatchObject({
      webhook: { status: "delivered", outcome: "delivered" },
      email: { status: "dead-lettered", outcome: "exhausted" },
    });
    // Adopted by its entry: it now lives as long as the entry does.
    expect(await reader.ttl(`early:recent:delivery:${id}`)).toBe(-1);
  });

  it("lets the delivery of a notification it never recorded expire", async () => {
    const store = new RecentEvents(writer, { prefix: "orphan" });
    await store.recordDelivery("health-alert-id", "webhook", "delivered");
    const ttl = await reader.ttl("orphan:recent:delivery:health-alert-id");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await store.list()).toEqual([]);
  });

  it("names the sender from the inventory when the event made no notification", async () => {
    const store = new RecentEvents(writer, {
      prefix: "names",
      inventory: [{ name: "bmc-7", host: SOURCE.address }],
    });
    const { notification: _, receivers: __, ...p } = processed(20);
    await store.record({ ...p, outcome: "unchanged" });
    const [entry] = await store.list({ bmc: "bmc-7" });
    expect(entry).toMatchObject({
      bmc: "bmc-7",
      source: SOURCE.address,
      status: null,
      outcome: "unchanged",
      notification: null,
      deliveries: {},
      direction: "deassertion",
    });
  });
});

/** One recorded entry of a test table: its BMC, severity and status as the pipeline decided them. */
interface Row {
  id: string;
  bmc: string;
  severity: RecentEvent["severity"];
  status: "firing" | "resolved" | null;
  at: number;
}

/**
 * Event `sequence` of BMC `bmc-<k>` (sender 127.44.1.<k>); with a status, its notification has that
 * status and severity, without one the event made no notification (its PET's own severity).
 */
function processedFor(
  sequence: number,
  k: number,
  severity: PetSeverity,
  status: Row["status"],
): ProcessedEvent {
  const trap = petTrap(sequence, { address: `127.44.1.${k}`, port: 623 });
  const event: QueuedEvent = { id: eventId(trap), trap };
  if (status === null) return { event, enrichment: "ok", enrichMs: 1, outcome: "unchanged" };
  const built = buildNotification(event, {
    status: "ok",
    bmc: { name: `bmc-${k}`, address: trap.source.address, labels: {} },
  });
  const notification = { ...built, severity, status };
  return { event, enrichment: "ok", enrichMs: 1, outcome: "sent", notification, receivers: ["webhook"] };
}

const INVENTORY = [0, 1, 2, 3].map((k) => ({ name: `bmc-${k}`, host: `127.44.1.${k}` }));

describe("RecentEvents filters", () => {
  const prefix = "filters";
  const rows: Row[] = [];

  beforeAll(async () => {
    const store = new RecentEvents(writer, { prefix, inventory: INVENTORY });
    for (let i = 0; i < 90; i++) {
      const k = i % 3;
      const status = i % 5 === 0 ? null : i % 2 === 0 ? "firing" : "resolved";
      const p = processedFor(100 + i, k, i % 4 === 0 ? "critical" : "non-critical", status);
      const at = 50_000 + i * 10;
      const e = await store.record(p, at);
      rows.push({ id: e.id, bmc: `bmc-${k}`, severity: e.severity, status, at });
    }
  });

  /** What the filter should return, from the table alone. */
  const expected = (f: {
    bmc?: string;
    severity?: string;
    status?: string;
    since?: number;
    limit?: number;
  }) =>
    rows
      .filter(
        (r) =>
          (f.bmc === undefined || r.bmc === f.bmc) &&
          (f.severity === undefined || r.severity === f.severity) &&
          (f.status === undefined || r.status === f.status) &&
          (f.since === undefined || r.at >= f.since),
      )
      .reverse()
      .slice(0, f.limit ?? 100)
      .map((r) => r.id);

  it.each([
    { name: "by BMC", filter: { bmc: "bmc-1", limit: 5 } },
    { name: "by severity", filter: { severity: "critical" as const, limit: 4 } },
    { name: "by status", filter: { status: "resolved" as const } },
    { name: "by time", filter: { since: 50_000 + 75 * 10, limit: 5 } },
    {
      name: "by BMC, severity, status and time at once",
      filter: {
        bmc: "bmc-2",
        severity: "non-critical" as const,
        status: "firing" as const,
        since: 50_200,
        limit: 3,
      },
    },
    { name: "by a BMC with no event", filter: { bmc: "bmc-3" } },
  ])("answers $name with exactly the entries that match, and reads no other entry", async ({ filter }) => {
    const store = new RecentEvents(reader, { prefix });
    let listed: RecentEvent[] = [];
    const commands = await commandsDuring(writer, async () => {
      listed = await store.list(filter);
    });
    const want = expected(filter);
    expect(listed.map((e) => e.id)).toEqual(want);
    expect(hashFieldsRead(commands, `${prefix}:recent:events`).sort()).toEqual([...want].sort());
  });

  it("names each BMC's newest entry, reading one entry per BMC asked about", async () => {
    const store = new RecentEvents(reader, { prefix });
    let latest = new Map<string, RecentEvent>();
    const commands = await commandsDuring(writer, async () => {
      latest = await store.latest(["bmc-0", "bmc-1", "bmc-3"]);
    });
    const newest = (bmc: string) => rows.filter((r) => r.bmc === bmc).at(-1)?.id;
    expect([...latest].map(([bmc, e]) => [bmc, e.id])).toEqual([
      ["bmc-0", newest("bmc-0")],
      ["bmc-1", newest("bmc-1")],
    ]);
    expect(hashFieldsRead(commands, `${prefix}:recent:events`)).toHaveLength(2);
  });
});

describe("RecentEvents filters that rarely meet", () => {
  it("walk 1,000 ids in a few pages by rank, each id asked about once, for limit 1", async () => {
    const prefix = "apart";
    const store = new RecentEvents(writer, { prefix, inventory: INVENTORY });
    // bmc-0's 1,000 entries are all non-critical; the 1,000 critical entries are bmc-1's.
    for (let batch = 0; batch < 20; batch++)
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const i = batch * 100 + j;
          const [k, severity]: [number, PetSeverity] = i % 2 === 0 ? [0, "non-critical"] : [1, "critical"];
          return store.record(processedFor(10_000 + i, k, severity, "firing"), 90_000 + i);
        }),
      );

    let listed: RecentEvent[] | undefined;
    const commands = await commandsDuring(writer, async () => {
      listed = await new RecentEvents(reader, { prefix }).list({
        bmc: "bmc-0",
        severity: "critical",
        limit: 1,
      });
    });
    expect(listed).toEqual([]);
    const named = (name: string) => commands.filter(([c = ""]) => c.toLowerCase() === name);
    const ranges = commands.filter(([c = ""]) => /^z(rev)?range/i.test(c));
    // One index walked in pages of 256 (an offset re-skipped per page would be quadratic), the other
    // asked once per id walked.
    expect(ranges.length).toBeLessThanOrEqual(Math.ceil(1000 / 256));
    expect(ranges.flat()).not.toContainEqual(expect.stringMatching(/^limit$/i));
    expect(named("zscore")).toHaveLength(1000);
    expect(hashFieldsRead(commands, `${prefix}:recent:events`)).toEqual([]);
  });
});

describe("RecentEvents indexes and size", () => {
  it("drops trimmed entries from the BMC, severity and status indexes too", async () => {
    const prefix = "trim-indexes";
    const store = new RecentEvents(writer, { prefix, max: 4, inventory: INVENTORY });
    // bmc-3's only entries are the oldest: trimming leaves nothing of it.
    const plan: [number, PetSeverity, Row["status"]][] = [
      [3, "critical", "firing"],
      [3, "critical", null],
      [0, "critical", "resolved"],
      [1, "non-critical", "firing"],
      [0, "critical", null],
      [1, "critical", "firing"],
      [2, "non-critical", "resolved"],
    ];
    for (const [i, [k, severity, status]] of plan.entries())
      await store.record(processedFor(300 + i, k, severity, status), 70_000 + i);
    await store.trim();

    const kept = await reader.zrange(`${prefix}:recent`, 0, -1);
    expect(kept).toHaveLength(4);
    const indexKeys = await reader.keys(`${prefix}:recent:by-*`);
    const members = (await Promise.all(indexKeys.map((k) => reader.zrange(k, 0, -1)))).flat();
    expect(new Set(members)).toEqual(new Set(kept));
    // Each kept entry is in its BMC's, its severity's and (with a status) its status's index.
    expect(members).toHaveLength(4 + 4 + 3);
    expect(indexKeys).not.toContain(`${prefix}:recent:by-bmc:bmc-3`);
    expect(await store.list({ bmc: "bmc-3" })).toEqual([]);
    expect(await reader.hlen(`${prefix}:recent:events`)).toBe(4);
  });

  it("moves an event recorded again to the indexes of its new entry, and drops its former notification's deliveries", async () => {
    const prefix = "again";
    const store = new RecentEvents(writer, { prefix, inventory: INVENTORY });
    const first = processedFor(400, 1, "critical", "firing");
    await store.record(first, 80_000);
    await store.record({ ...first, outcome: "unchanged", notification: undefined, receivers: [] }, 80_001);
    expect(await store.list({ status: "firing" })).toEqual([]);
    expect(await store.list({ severity: "critical" })).toEqual([]);
    expect((await store.list({ bmc: "bmc-1" })).map((e) => e.outcome)).toEqual(["unchanged"]);
    expect(await reader.exists(`${prefix}:recent:delivery:${first.notification?.id}`)).toBe(0);
  });

  it("keeps a trap's varbinds whole when the entry fits", async () => {
    const store = new RecentEvents(writer, { prefix: "whole" });
    const trap = genericTrap("127.44.2.1", "1.3.6.1.4.1.99999.0.7", [Buffer.from("fan tray 2 removed")]);
    const p: ProcessedEvent = {
      event: { id: eventId(trap), trap },
      enrichment: "none",
      enrichMs: 0,
      outcome: "sent",
    };
    const entry = await store.record(p);
    expect(entry).toMatchObject({
      event: "trap 1.3.6.1.4.1.99999.0.7",
      trap: "1.3.6.1.4.1.99999.0.7",
      rule: null,
      varbinds: [{ oid: "1.3.6.1.4.1.99999.1.1", type: "OctetString", value: "fan tray 2 removed" }],
      truncated: null,
    });
    expect((await store.list())[0]).toEqual(entry);
  });

  it(`cuts the trap-supplied text of an entry to ${RECENT_ENTRY_MAX_BYTES} bytes and says what it cut`, async () => {
    const prefix = "cut";
    const store = new RecentEvents(writer, { prefix });
    const longOid = `1.3.6.1.4.1.99999.${Array.from({ length: 120 }, (_, i) => 1000 + i).join(".")}`;
    const values = Array.from({ length: 30 }, (_, i) => Buffer.alloc(2000, `varbind ${i} `));
    const trap = genericTrap("127.44.2.2", longOid, values);
    const p: ProcessedEvent = {
      event: { id: eventId(trap), trap },
      enrichment: "none",
      enrichMs: 0,
      outcome: "sent",
    };
    await store.record(p);

    const stored = (await reader.hget(`${prefix}:recent:events`, p.event.id)) ?? "";
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(RECENT_ENTRY_MAX_BYTES);
    const [entry] = await store.list();
    if (!entry?.varbinds || !entry.truncated) throw new Error(`not cut: ${stored.slice(0, 200)}`);
    expect(entry.truncated.bytes).toBeGreaterThan(30 * 500);
    expect(entry.truncated.fields.sort()).toEqual(["event", "trap", "varbinds"]);
    expect(entry.event).toBe(`${`trap ${longOid}`.slice(0, 200)}…`);
    // The first varbinds are kept, each value cut short; the rest left out.
    expect(entry.varbinds.length).toBeGreaterThan(0);
    expect(entry.varbinds.length).toBeLessThan(30);
    expect(entry.varbinds[0]).toMatchObject({
      oid: "1.3.6.1.4.1.99999.1.1",
      value: expect.stringMatching(/^varbind 0 .{190}…$/),
    });
    // What the page and the API need is whole.
    expect(entry).toMatchObject({
      bmc: "127.44.2.2",
      source: "127.44.2.2",
      severity: "information",
      outcome: "sent",
    });
  });
});

describe("RecentEvents trim", () => {
  /** Entries of bmc-0…bmc-3, severities, statuses and (with a status) notifications all mixed. */
  const mixed = (from: number, n: number): ProcessedAt[] =>
    Array.from({ length: n }, (_, i) => {
      const status = i % 3 === 0 ? null : i % 3 === 1 ? "firing" : "resolved";
      const severity: PetSeverity = i % 2 === 0 ? "critical" : "non-critical";
      return { processed: processedFor(from + i, i % 4, severity, status), at: 100_000 + from + i };
    });

  /** Every index member, every entry, name and delivery hash left under `prefix`, by what it is. */
  const leftIn = async (prefix: string) => {
    const indexKeys = await reader.keys(`${prefix}:recent:by-*`);
    const members = (await Promise.all(indexKeys.map((k) => reader.zrange(k, 0, -1)))).flat();
    return {
      index: new Set(await reader.zrange(`${prefix}:recent`, 0, -1)),
      indexed: new Set(members),
      indexMembers: members.length,
      entries: new Set(await reader.hkeys(`${prefix}:recent:events`)),
      names: new Set(await reader.hkeys(`${prefix}:recent:keys`)),
      deliveries: new Set(await reader.keys(`${prefix}:recent:delivery:*`)),
    };
  };

  /** What leftIn should find when exactly `kept` are stored. */
  const only = (prefix: string, kept: readonly ProcessedAt[]) => {
    const ids = new Set(kept.map((e) => e.processed.event.id));
    const notified = kept.filter((e) => e.processed.notification);
    return {
      index: ids,
      indexed: ids,
      // Its BMC's and its severity's index each; with a notification, its status's too.
      indexMembers: 2 * kept.length + notified.length,
      entries: ids,
      names: ids,
      deliveries: new Set(notified.map((e) => `${prefix}:recent:delivery:${e.processed.notification?.id}`)),
    };
  };

  it("decodes no entry: it finds an entry's indexes and delivery hash by its name, even when its JSON does not parse", async () => {
    const prefix = "trim-names";
    const store = new RecentEvents(writer, { prefix, max: 4, inventory: INVENTORY });
    const all = mixed(500, 12);
    await store.write({ entries: all });
    for (const e of all) await writer.hset(`${prefix}:recent:events`, e.processed.event.id, "{not json");

    const commands = await commandsDuring(writer, () => store.trim());
    expect(hashFieldsRead(commands, `${prefix}:recent:events`)).toEqual([]);
    expect(await leftIn(prefix)).toEqual(only(prefix, all.slice(8)));
  });

  it("trims entries stored before entries had names by their JSON, and moves such an entry recorded again", async () => {
    const prefix = "trim-former";
    const store = new RecentEvents(writer, { prefix, max: 4, inventory: INVENTORY });
    const all = mixed(600, 12);
    await store.write({ entries: all });
    await writer.del(`${prefix}:recent:keys`); // as the format before names stored them
    // The newest, recorded again as an event that changed nothing: out of its status's index.
    const last = all[11] as ProcessedAt;
    const { notification: _, ...unchanged } = last.processed;
    const again = { ...last, processed: { ...unchanged, outcome: "unchanged" as const } };
    await store.record(again.processed, again.at);

    await store.trim();
    const kept = [...all.slice(8, 11), again];
    expect(await leftIn(prefix)).toEqual({
      ...only(prefix, kept),
      names: new Set([last.processed.event.id]),
    });
  });

  it(`drops ${TRIM_MAX} entries a script call at most, and as many calls as it takes`, async () => {
    const prefix = "trim-bounded";
    const store = new RecentEvents(writer, { prefix, max: 100, inventory: INVENTORY });
    const all = mixed(1_000, 2 * TRIM_MAX + 300);
    for (let i = 0; i < all.length; i += 400) await store.write({ entries: all.slice(i, i + 400) });
    await store.write({ trim: true }); // script loaded
    expect(await reader.zcard(`${prefix}:recent`)).toBe(all.length - TRIM_MAX);

    const commands = await commandsDuring(writer, () => store.trim(), { scripts: false });
    expect(commands.map(([c]) => c?.toLowerCase())).toEqual(["evalsha", "evalsha"]);
    expect(await leftIn(prefix)).toEqual(only(prefix, all.slice(-100)));
  });
});

describe("the recorder of a process (recordRecent)", () => {
  it("writes a burst of processed events in one script call and trims in the same round trip: the same commands for 5 events as for 200", async () => {
    const prefix = "burst";
    const recorder = recordRecent(redis.socket, { prefix, log: () => undefined });
    try {
      recorder.onProcessed(processed(30_000)); // scripts loaded
      await recorder.flush();
      const burst = async (from: number, n: number) =>
        commandsDuring(
          writer,
          async () => {
            for (let i = 0; i < n; i++) recorder.onProcessed(processed(from + i));
            await recorder.flush();
          },
          { scripts: false },
        );
      const few = await burst(31_000, 5);
      const many = await burst(32_000, 200);
      const sent = (commands: string[][]) => commands.map(([c]) => c?.toLowerCase());
      expect(sent(many)).toEqual(sent(few));
      expect(sent(few)).toEqual(["evalsha", "evalsha"]);

      const listed = await new RecentEvents(reader, { prefix }).list({ limit: 1_000 });
      const ids = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => processed(from + i).event.id);
      expect(new Set(listed.map((e) => e.id))).toEqual(
        new Set([processed(30_000).event.id, ...ids(31_000, 5), ...ids(32_000, 200)]),
      );
      for (const e of listed)
        expect(e.deliveries).toMatchObject({ webhook: { status: "pending" }, email: { status: "pending" } });
      expect(recorder.stats()).toEqual({
        recorded: { events: 206, deliveries: 0 },
        dropped: { events: 0, deliveries: 0 },
      });
    } finally {
      await recorder.close();
    }
  });

  it("writes the delivery outcomes of many notifications in one script call", async () => {
    const prefix = "outcomes";
    const store = new RecentEvents(writer, { prefix });
    const all = Array.from({ length: 100 }, (_, i) => processed(33_000 + i));
    await store.write({ entries: all.map((p, i) => ({ processed: p, at: 60_000 + i })) });
    const at = 61_000;
    const deliveries = all.flatMap((p) => [
      { notificationId: p.notification?.id ?? "", receiver: "webhook", outcome: "delivered" as const, at },
      { notificationId: p.notification?.id ?? "", receiver: "email", outcome: "exhausted" as const, at },
    ]);
    await store.recordDelivery("warm-up", "webhook", "delivered"); // script loaded
    const commands = await commandsDuring(writer, () => store.write({ deliveries }), { scripts: false });
    expect(commands.map(([c]) => c?.toLowerCase())).toEqual(["evalsha"]);
    const listed = await store.list({ limit: 100 });
    expect(listed.map((e) => e.id)).toEqual(all.map((p) => p.event.id).reverse());
    for (const e of listed)
      expect(e.deliveries).toEqual({
        webhook: { status: "delivered", outcome: "delivered", at: new Date(at).toISOString() },
        email: { status: "dead-lettered", outcome: "exhausted", at: new Date(at).toISOString() },
      });
  });

  it("holds the newest `max` entries while Redis is away, counts those it drops, and writes the rest once Redis is back, trimmed", async () => {
    const prefix = "away";
    const own = await startRedis();
    const logs: string[] = [];
    let lost: () => void = () => undefined;
    const connectionLost = new Promise<void>((resolve) => {
      lost = resolve;
    });
    const recorder = recordRecent(own.socket, {
      prefix,
      max: 50,
      log: (m) => {
        logs.push(m);
        if (m.includes("held until Redis is back")) lost();
      },
    });
    const observer = new Redis(own.socket, { lazyConnect: true });
    try {
      recorder.onProcessed(processed(40_000));
      await recorder.flush();
      await own.stop();
      await connectionLost;

      const away = Array.from({ length: 120 }, (_, i) => processed(41_000 + i));
      for (const p of away) recorder.onProcessed(p); // never throws, never waits
      expect(recorder.stats().dropped).toEqual({ events: 70, deliveries: 0 });

      await own.restart();
      await recorder.flush();
      // The entry written before the outage is the 51st: trimmed as the held ones are written.
      const kept = await observer.zrange(`${prefix}:recent`, 0, -1);
      expect(new Set(kept)).toEqual(new Set(away.slice(70).map((p) => p.event.id)));
      expect(recorder.stats()).toEqual({
        recorded: { events: 51, deliveries: 0 },
        dropped: { events: 70, deliveries: 0 },
      });
      expect(logs).toEqual([
        "recent events held until Redis is back (the newest 50 at most)",
        "recent events: 70 entries and 0 delivery outcomes dropped while Redis was away or slow",
      ]);

      // Closing while Redis is away drops what is held rather than waiting for it.
      await own.stop();
      recorder.onProcessed(processed(42_000));
      await recorder.close();
      expect(recorder.stats().dropped.events).toBe(71);
    } finally {
      observer.disconnect();
      await recorder.close().catch(() => undefined);
      await own.dispose();
    }
  });

  it("writes again what it was writing when the connection went, once it is back", async () => {
    const prefix = "cut";
    const own = await startRedis();
    const logs: string[] = [];
    const recorder = recordRecent(own.socket, { prefix, log: (m) => logs.push(m) });
    const admin = new Redis(own.socket);
    try {
      recorder.onProcessed(processed(50_000)); // scripts loaded
      await recorder.flush();
      // The next write waits in Redis (a write paused), and its connection is killed under it.
      await admin.call("CLIENT", "PAUSE", "10000", "WRITE");
      recorder.onProcessed(processed(50_001));
      const clients = async () => String(await admin.call("CLIENT", "LIST"));
      while (!/ cmd=evalsha /.test(await clients())) await new Promise((r) => setTimeout(r, 10));
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      await admin.call("CLIENT", "UNPAUSE");
      await recorder.flush();
      expect(await admin.zscore(`${prefix}:recent`, processed(50_001).event.id)).not.toBeNull();
      expect(recorder.stats()).toEqual({
        recorded: { events: 2, deliveries: 0 },
        dropped: { events: 0, deliveries: 0 },
      });
    } finally {
      admin.disconnect();
      await recorder.close().catch(() => undefined);
      await own.dispose();
    }
  });
});
