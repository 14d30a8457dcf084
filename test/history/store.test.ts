import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type HistoryEvent, HistoryStore, textQuery } from "../../src/history/store.js";
import { historyEvent } from "../support/history.js";

/*
 * The history file (real SQLite): what is kept, what each filter finds, pages, delivery states,
 * replacement of a re-processed event, retention, a reopened file, and queries that cannot break it.
 */

const dir = mkdtempSync(join(tmpdir(), "petgate-history-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => new HistoryStore(join(dir, `h${files++}`, "history.sqlite"));

const T0 = Date.parse("2026-12-01T00:00:00Z");

/** Event n of three BMCs, odd ones CPU temperatures (critical, rack r1), even ones fans. */
function event(n: number, overrides: Partial<HistoryEvent> = {}): HistoryEvent {
  const bmc = overrides.bmc ?? `bmc-${n % 3}`;
  const cpu = n % 2 === 1;
  const severity = cpu ? "critical" : "non-critical";
  return historyEvent(`e${n}`, T0 + n * 1000, {
    bmc,
    source: `192.0.2.${n % 3}`,
    notification: `n${n}`,
    ...(!cpu && { sensor: "FAN3", sensorType: "Fan", event: "Lower Critical - going low" }),
    severity,
    labels: { bmc, label_rack: `r${n % 2}`, severity },
    ...overrides,
  });
}

const ids = (store: HistoryStore, filter: Parameters<HistoryStore["query"]>[0] = {}) =>
  store.query(filter).events.map((e) => e.id);

describe("the history file", () => {
  const store = fresh();
  store.record(Array.from({ length: 12 }, (_, n) => event(n)));

  it("answers newest first, with each filter", () => {
    expect(ids(store)).toEqual(["e11", "e10", "e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1", "e0"]);
    expect(ids(store, { bmc: "bmc-1" })).toEqual(["e10", "e7", "e4", "e1"]);
    expect(ids(store, { severity: "critical", labels: { label_rack: "r1" } })).toEqual([
      "e11",
      "e9",
      "e7",
      "e5",
      "e3",
      "e1",
    ]);
    expect(ids(store, { labels: { label_rack: "r1", bmc: "bmc-0" } })).toEqual(["e9", "e3"]);
    expect(ids(store, { sensorType: "Fan", bmc: "bmc-2" })).toEqual(["e8", "e2"]);
    expect(ids(store, { since: T0 + 9000 })).toEqual(["e11", "e10", "e9"]);
    expect(ids(store, { until: T0 + 2000 })).toEqual(["e1", "e0"]);
    expect(ids(store, { status: "resolved" })).toEqual([]);
  });

  it("free text: every word, each a prefix of a word of any field, case-insensitive", () => {
    expect(ids(store, { text: "fan3 going LOW", bmc: "bmc-0" })).toEqual(["e6", "e0"]);
    expect(ids(store, { text: "upper crit", until: T0 + 4000 })).toEqual(["e3", "e1"]);
    expect(ids(store, { text: "upper fan3" })).toEqual([]);
    expect(ids(store, { text: "192.0.2.1" })).toEqual(["e10", "e7", "e4", "e1"]);
  });

  it("pages with the cursor: every event once", () => {
    const seen: string[] = [];
    let cursor: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = store.query({ limit: 5, ...(cursor !== undefined && { cursor }) });
      seen.push(...page.events.map((e) => e.id));
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(seen).toEqual(ids(store));
  });

  it("orders by the time an event was processed, not when it was recorded; many in one millisecond all kept", () => {
    const s = fresh();
    s.record([event(5), event(9)]);
    s.record([event(7)]); // another worker's, recorded late
    expect(ids(s)).toEqual(["e9", "e7", "e5"]);
    const same = Array.from({ length: 1100 }, (_, k) => event(100, { id: `same-${k}` }));
    s.record(same);
    expect(s.count()).toBe(1103);
    const seen = new Set<string>();
    let cursor: number | undefined;
    do {
      const page = s.query({ limit: 500, ...(cursor !== undefined && { cursor }) });
      for (const e of page.events) seen.add(e.id);
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    expect(seen.size).toBe(1103);
    expect(ids(s, { until: T0 + 100_000 })).toEqual(["e9", "e7", "e5"]);
    s.close();
  });

  it("keeps each receiver's latest delivery state; a pending one replaces no outcome", () => {
    const s = fresh();
    s.record([event(1, { receivers: ["ops", "pager"] })]);
    expect(s.query().events[0]?.deliveries).toMatchObject({
      ops: { status: "pending" },
      pager: { status: "pending" },
    });
    s.record(
      [],
      [{ notification: "n1", receiver: "ops", status: "delivered", outcome: "delivered", at: T0 + 5000 }],
    );
    // The entry recorded again (a batch processed again): its pending states do not undo the outcome.
    s.record([event(1, { receivers: ["ops", "pager"] })]);
    expect(s.query().events[0]?.deliveries).toEqual({
      ops: { status: "delivered", outcome: "delivered", at: new Date(T0 + 5000).toISOString() },
      pager: { status: "pending", at: new Date(T0 + 1000).toISOString() },
    });
    // An outcome that came before its entry (a fast receiver) is kept too.
    s.record(
      [],
      [{ notification: "n2", receiver: "ops", status: "dead-lettered", outcome: "permanent", at: T0 }],
    );
    s.record([event(2)]);
    expect(s.query({ bmc: "bmc-2" }).events[0]?.deliveries.ops).toMatchObject({
      status: "dead-lettered",
      outcome: "permanent",
    });
    s.close();
  });

  it("an event recorded again replaces its row, its labels and its words", () => {
    const s = fresh();
    s.record([event(1)]);
    s.record([event(1, { sensor: "PSU1", labels: { bmc: "bmc-1", label_rack: "r7" } })]);
    expect(s.count()).toBe(1);
    expect(ids(s, { text: "cpu1" })).toEqual([]);
    expect(ids(s, { text: "psu1" })).toEqual(["e1"]);
    expect(ids(s, { labels: { label_rack: "r1" } })).toEqual([]);
    expect(ids(s, { labels: { label_rack: "r7" } })).toEqual(["e1"]);
    s.close();
  });

  it("prunes what is older than the retention, with its labels, words and deliveries", () => {
    const s = fresh();
    s.record(Array.from({ length: 6 }, (_, n) => event(n)));
    expect(s.prune(T0 + 3000)).toBe(3);
    expect(ids(s)).toEqual(["e5", "e4", "e3"]);
    expect(ids(s, { text: "fan3" })).toEqual(["e4"]);
    expect(ids(s, { labels: { label_rack: "r0" } })).toEqual(["e4"]);
    s.close();
  });

  it("survives a restart, and opens read-only for the CLI", () => {
    const file = join(dir, "restart", "history.sqlite");
    const writer = new HistoryStore(file);
    writer.record([event(1), event(2)]);
    writer.close();
    expect((statSync(join(dir, "restart")).mode & 0o777).toString(8)).toBe("700");
    const reader = new HistoryStore(file, { readonly: true });
    expect(ids(reader)).toEqual(["e2", "e1"]);
    expect(() => reader.record([event(3)])).toThrow(/readonly/);
    reader.close();
  });
});

describe("a file of the first layout (labels in a table of their own, with two indexes)", () => {
  const file = join(dir, "v1", "history.sqlite");
  mkdirSync(join(dir, "v1"));
  const v1 = new Database(file);
  v1.exec(`
    CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, bmc TEXT NOT NULL,
      severity TEXT NOT NULL, status TEXT, sensor_type TEXT, notification TEXT, entry TEXT NOT NULL);
    CREATE TABLE labels (name TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL);
    CREATE INDEX labels_match ON labels (name, value, seq);
    CREATE INDEX labels_seq ON labels (seq);
    CREATE TABLE deliveries (notification TEXT NOT NULL, receiver TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT,
      at INTEGER NOT NULL, PRIMARY KEY (notification, receiver)) WITHOUT ROWID;
    CREATE VIRTUAL TABLE text USING fts5 (body, content='', contentless_delete=1);
  `);
  for (const n of [1, 2]) {
    const { labels, at, ...entry } = event(n);
    const seq = at * 1024;
    v1.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)").run(
      seq,
      entry.id,
      at,
      entry.bmc,
      entry.severity,
      entry.status,
      entry.sensorType,
      entry.notification,
      JSON.stringify(entry),
    );
    v1.prepare("INSERT INTO labels VALUES ('label_rack', ?, ?)").run(labels.label_rack, seq);
    v1.prepare("INSERT INTO text (rowid, body) VALUES (?, ?)").run(seq, `${entry.bmc} ${entry.sensor}`);
  }
  v1.close();

  it("is refused read-only, saying what brings it up to date; the writer does, keeping every label", () => {
    expect(() => new HistoryStore(file, { readonly: true })).toThrow(
      /history\.sqlite was written by an older petgate: start petgate serve/,
    );
    const upgraded = new HistoryStore(file);
    expect(ids(upgraded, { labels: { label_rack: "r1" } })).toEqual(["e1"]);
    expect(upgraded.query({ bmc: "bmc-2" }).events[0]?.labels).toEqual({
      label_rack: "r0",
      bmc: "bmc-2",
      severity: "non-critical",
      status: "firing",
    });
    upgraded.record([event(3)]);
    expect(ids(upgraded, { labels: { label_rack: "r1" } })).toEqual(["e3", "e1"]);
    expect(upgraded.prune(T0 + 2000)).toBe(1);
    expect(ids(upgraded, { labels: { label_rack: "r1" } })).toEqual(["e3"]);
    upgraded.close();
    // The pruned event's label row went with it: e2's and e3's are left.
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("SELECT name, value FROM labels ORDER BY seq").all()).toEqual([
      { name: "label_rack", value: "r0" },
      { name: "label_rack", value: "r1" },
    ]);
    raw.close();
    const reader = new HistoryStore(file, { readonly: true });
    expect(ids(reader)).toEqual(["e3", "e2"]);
    reader.close();
  });
});

describe("untrusted query text", () => {
  const store = fresh();
  store.record([event(1, { sensor: 'weird "quoted" AND (name)*' })]);

  it("reaches FTS5 only as quoted prefix terms of its words", () => {
    expect(textQuery('"AND (* NEAR OR cpu1')).toBe('"""AND"* "NEAR"* "OR"* "cpu1"*');
    expect(textQuery("  -- ")).toBeUndefined();
    expect(ids(store, { text: 'weird "quoted' })).toEqual(["e1"]);
  });

  it("never throws, whatever the words and labels (fuzz)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
        fc.option(fc.string({ maxLength: 30 })),
        (text, labels, bmc) => {
          const page = store.query({ text, labels, ...(bmc !== null && { bmc }) });
          expect(Array.isArray(page.events)).toBe(true);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
