import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { DeliveryState, RecentEvent } from "../pipeline/recent/recent.js";

/*
 * Alert history: every processed event, the notification it made and each receiver's delivery, kept
 * for the retention in an embedded SQLite file (no server to run; it survives restarts). Written by
 * one process (history/writer.ts, from the Redis stream the workers feed), read by the HTTP API and
 * `petgate history` (the file opened read-only; WAL lets readers and the writer go at once).
 *
 *   events      one row per event id (a batch processed again replaces its row), the entry as the
 *               recent-events API shows it (JSON), and the columns filters use, each indexed with
 *               seq; seq is in time order (seqAt: the time it was processed × 1024, then the next
 *               free one), so that "newest first" and a time range walk any of these indexes, and
 *               the free-text index in rowid order, from where the range ends
 *   labels      (name, value, seq), the primary key and all there is (no rowid, so one b-tree a
 *               label): the labels routes matched the event's notification on, but those that are
 *               its columns (COLUMN_LABELS); the event's row keeps them too (events.labels, JSON),
 *               which a page reads and forgetting or pruning the event deletes by
 *   deliveries  (notification, receiver) → its latest outcome; a receiver of the entry with none
 *               is pending
 *   text        FTS5, contentless, rowid = seq: the free-text search over the entry's words
 */

/** An event as history keeps it: the recent-events entry, when (ms), and its notification's labels. */
export interface HistoryEvent extends Omit<RecentEvent, "deliveries"> {
  at: number;
  labels: Record<string, string>;
}

/** A receiver's delivery state of a notification, as of `at` (ms). */
export interface HistoryDelivery {
  notification: string;
  receiver: string;
  status: DeliveryState["status"];
  outcome?: string;
  at: number;
}

export interface HistoryFilter {
  bmc?: string;
  /** Every label given must have exactly that value. */
  labels?: Readonly<Record<string, string>>;
  sensorType?: string;
  severity?: string;
  status?: "firing" | "resolved";
  /** Processed at or after (ms). */
  since?: number;
  /** Processed before (ms). */
  until?: number;
  /** Words that must all appear (in any field), each matched as a prefix (textQuery). */
  text?: string;
  /** Page size, at most HISTORY_PAGE_MAX (default 100). */
  limit?: number;
  /** The `next` of the previous page: entries older than it. */
  cursor?: number;
}

export interface HistoryPage {
  events: (HistoryEvent & { deliveries: Record<string, DeliveryState> })[];
  /** Give as `cursor` for the next page; null on the last page. */
  next: number | null;
}

export const HISTORY_PAGE_MAX = 500;
/**
 * Labels of a notification that are the event's own columns: not stored twice (a row and an index
 * entry each, per event), filtered on and shown from the columns.
 */
const COLUMN_LABELS = new Set(["bmc", "severity", "status"]);
/** Rows a millisecond: seq = at × SEQ_PER_MS + k (2^53 holds that for 280 years more). */
const SEQ_PER_MS = 1024;
/** The first seq of the events processed at `at` (ms) or later. */
const seqAt = (at: number) => Math.floor(at) * SEQ_PER_MS;
/** Words of a free-text query, at most (each an FTS5 prefix term). */
const TEXT_TERMS_MAX = 16;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  bmc TEXT NOT NULL,
  severity TEXT NOT NULL,
  status TEXT,
  sensor_type TEXT,
  notification TEXT,
  entry TEXT NOT NULL,
  labels TEXT
);
CREATE INDEX IF NOT EXISTS events_bmc ON events (bmc, seq);
CREATE INDEX IF NOT EXISTS events_severity ON events (severity, seq);
CREATE INDEX IF NOT EXISTS events_status ON events (status, seq);
CREATE INDEX IF NOT EXISTS events_sensor_type ON events (sensor_type, seq);
CREATE TABLE IF NOT EXISTS labels (
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (name, value, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
  notification TEXT NOT NULL,
  receiver TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (notification, receiver)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS text USING fts5 (body, content='', contentless_delete=1);
`;
/** PRAGMA user_version of the layout above; 0 is a new file or the first layout (upgrade()). */
const LAYOUT = 2;

/**
 * The first layout kept labels in a rowid table with two indexes, and not in the event's row: moves
 * them to this one, in one transaction.
 */
function upgrade(db: Database.Database): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('events')").pluck().all();
  if (columns.length === 0 || columns.includes("labels")) return;
  db.transaction(() => {
    db.exec(`
      ALTER TABLE events ADD COLUMN labels TEXT;
      UPDATE events SET labels = (SELECT json_group_object(name, value) FROM labels l WHERE l.seq = events.seq)
        WHERE seq IN (SELECT seq FROM labels);
      ALTER TABLE labels RENAME TO labels_v1;
      DROP INDEX IF EXISTS labels_match;
      DROP INDEX IF EXISTS labels_seq;
    `);
    db.exec(SCHEMA);
    db.exec(
      "INSERT OR IGNORE INTO labels (name, value, seq) SELECT name, value, seq FROM labels_v1; DROP TABLE labels_v1;",
    );
  })();
}

/**
 * The words of an entry the free-text search finds: its fields, then what its labels and varbinds
 * add (a label's value is most often a field's already: indexed once).
 */
function words(e: HistoryEvent): string {
  const fields = new Set([
    e.bmc,
    e.source,
    e.sensor,
    e.sensorType,
    e.event,
    e.severity,
    e.status,
    e.outcome,
    e.trap,
    e.rule,
  ]);
  for (const value of Object.values(e.labels)) fields.add(value);
  for (const v of e.varbinds ?? []) fields.add(`${v.oid} ${v.value ?? ""}`);
  fields.delete(null);
  fields.delete("");
  return [...fields].join(" ");
}

/**
 * FTS5 query text: each whitespace-separated word a quoted phrase, its last token a prefix
 * ("192.0.2.1" is the phrase 192 0 2 1*, as the tokenizer split the address), so that FTS5's own
 * syntax never reaches it from a user; words without a letter or digit are left out.
 */
export function textQuery(text: string): string | undefined {
  const terms = text
    .split(/\s+/u)
    .filter((t) => /[\p{L}\p{N}]/u.test(t))
    .slice(0, TEXT_TERMS_MAX);
  return terms.length === 0 ? undefined : terms.map((t) => `"${t.replaceAll('"', '""')}"*`).join(" ");
}

export class HistoryStore {
  private readonly db: Database.Database;
  private writes: ReturnType<typeof prepareWrites> | undefined;
  private deliveriesStatement: Database.Statement | undefined;

  /** Opens (creating it and its directory unless `readonly`) the history file. */
  constructor(
    readonly path: string,
    options: { readonly?: boolean } = {},
  ) {
    if (!options.readonly) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // For its owner only, whatever the umask: SQLite gives its -wal and -shm files the same mode.
      closeSync(openSync(path, "a", 0o600));
      chmodSync(path, 0o600);
    }
    this.db = new Database(path, {
      readonly: options.readonly === true,
      fileMustExist: options.readonly === true,
    });
    if (!options.readonly) {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      upgrade(this.db);
      this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${LAYOUT}`);
    } else if ((this.db.pragma("user_version", { simple: true }) as number) < LAYOUT)
      throw new Error(
        `${path} was written by an older petgate: start petgate serve (its HTTP role keeps the history) once to bring it up to date`,
      );
  }

  /** Records events and delivery states in one transaction. */
  record(events: readonly HistoryEvent[], deliveries: readonly HistoryDelivery[] = []): void {
    this.writes ??= prepareWrites(this.db);
    const s = this.writes;
    this.db.transaction(() => {
      for (const e of events) {
        const former = s.seqOf.get(e.id) as { seq: number } | undefined;
        if (former) s.forget(former.seq);
        const { labels, at, ...entry } = e;
        const own = Object.entries(labels).filter(([name]) => !COLUMN_LABELS.has(name));
        const base = seqAt(at);
        const taken = s.lastAt.get(base, base + SEQ_PER_MS) as number | null;
        const seq =
          taken === null ? base : taken + 1 < base + SEQ_PER_MS ? taken + 1 : (s.last.get() as number) + 1;
        s.insertEvent.run(
          seq,
          e.id,
          at,
          e.bmc,
          e.severity,
          e.status,
          e.sensorType,
          e.notification,
          JSON.stringify(entry),
          own.length > 0 ? JSON.stringify(Object.fromEntries(own)) : null,
        );
        for (const [name, value] of own) s.insertLabel.run(name, value, seq);
        s.insertText.run(seq, words(e));
      }
      for (const d of deliveries)
        s.delivery.run(d.notification, d.receiver, d.status, d.outcome ?? null, d.at);
    })();
  }

  /**
   * The entries that pass the filter, newest first, a page at a time. A free-text search with no
   * column filter walks the free-text index newest first (and stops at the page's end); otherwise
   * the index of a column filter, or of seq, is walked and the words are looked up.
   */
  query(filter: HistoryFilter = {}): HistoryPage {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`e.${column} = ?`);
      args.push(value);
    };
    eq("bmc", filter.bmc);
    eq("severity", filter.severity);
    eq("status", filter.status);
    eq("sensor_type", filter.sensorType);
    const given = Object.entries(filter.labels ?? {});
    const labels = given.filter(([name]) => !COLUMN_LABELS.has(name));
    for (const [name, value] of given.filter(([name]) => COLUMN_LABELS.has(name))) eq(name, value);
    if (labels.length < given.length) where.push("e.notification IS NOT NULL");
    const columns = where.length > 0;
    // The time range and the cursor as a range of seq (in time order).
    const from = filter.since === undefined ? undefined : seqAt(filter.since);
    const until = Math.min(
      filter.until === undefined ? Number.MAX_SAFE_INTEGER : seqAt(filter.until),
      filter.cursor ?? Number.MAX_SAFE_INTEGER,
    );
    for (const [name, value] of labels) {
      where.push(
        "e.seq IN (SELECT seq FROM labels WHERE name = ? AND value = ? AND seq < ?" +
          (from === undefined ? ")" : " AND seq >= ?)"),
      );
      args.push(name, value, until, ...(from === undefined ? [] : [from]));
    }
    const text = filter.text === undefined ? undefined : textQuery(filter.text);
    const drivenByText = text !== undefined && !columns && labels.length === 0;
    const o = drivenByText ? "t.rowid" : "e.seq";
    where.push(`${o} < ?`);
    args.push(until);
    if (from !== undefined) {
      where.push(`${o} >= ?`);
      args.push(from);
    }
    if (text !== undefined) {
      where.push(drivenByText ? "t.text MATCH ?" : "e.seq IN (SELECT rowid FROM text WHERE text MATCH ?)");
      args.push(text);
    }
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), HISTORY_PAGE_MAX);
    const rows = this.db
      .prepare(
        `SELECT e.seq, e.at, e.notification, e.entry, e.labels FROM ${drivenByText ? "text t JOIN events e ON e.seq = t.rowid" : "events e"}
         WHERE ${where.join(" AND ")} ORDER BY ${o} DESC LIMIT ?`,
      )
      .all(...args, limit + 1) as Row[];
    const page = rows.slice(0, limit);
    const deliveriesOf = this.deliveriesOf();
    return {
      events: page.map((r) => {
        const entry = JSON.parse(r.entry) as Omit<HistoryEvent, "at" | "labels">;
        const deliveries: Record<string, DeliveryState> = {};
        if (r.notification === null) return { ...entry, at: r.at, labels: {}, deliveries };
        const outcomes = deliveriesOf.all(r.notification) as {
          receiver: string;
          status: DeliveryState["status"];
          outcome: string | null;
          at: number;
        }[];
        for (const receiver of entry.receivers)
          deliveries[receiver] = { status: "pending", at: entry.processedAt };
        for (const d of outcomes)
          deliveries[d.receiver] = {
            status: d.status,
            ...(d.outcome !== null && { outcome: d.outcome }),
            at: new Date(d.at).toISOString(),
          };
        const own = {
          bmc: entry.bmc,
          severity: entry.severity,
          ...(entry.status !== null && { status: entry.status }),
        };
        return {
          ...entry,
          at: r.at,
          labels: { ...(r.labels === null ? {} : (JSON.parse(r.labels) as Record<string, string>)), ...own },
          deliveries,
        };
      }),
      next: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
    };
  }

  /** The statement a page reads each event's deliveries with, prepared once. */
  private deliveriesOf() {
    this.deliveriesStatement ??= this.db.prepare(
      "SELECT receiver, status, outcome, at FROM deliveries WHERE notification = ?",
    );
    return this.deliveriesStatement;
  }

  /** Drops the events processed before `before` (ms), with their labels, words and deliveries. */
  prune(before: number): number {
    const end = seqAt(before);
    return this.db.transaction(() => {
      this.db
        .prepare(`DELETE FROM labels WHERE (name, value, seq) IN (${LABELS_OF} WHERE e.seq < ?)`)
        .run(end);
      this.db.prepare("DELETE FROM text WHERE rowid < ?").run(end);
      this.db
        .prepare(
          "DELETE FROM deliveries WHERE notification IN (SELECT notification FROM events WHERE seq < ? AND notification IS NOT NULL)",
        )
        .run(end);
      return this.db.prepare("DELETE FROM events WHERE seq < ?").run(end).changes;
    })();
  }

  /**
   * Events per hour and severity processed in [since, until) (ms), the hours as their start (ms);
   * hours with none are left out.
   */
  hourly(since: number, until: number): { hour: number; severity: string; count: number }[] {
    const perHour = 3_600_000 * SEQ_PER_MS;
    return (
      this.db
        .prepare(
          "SELECT seq / CAST(? AS INTEGER) AS h, severity, count(*) AS count FROM events WHERE seq >= ? AND seq < ? GROUP BY h, severity",
        )
        .all(perHour, seqAt(since), seqAt(until)) as { h: number; severity: string; count: number }[]
    ).map((r) => ({ hour: r.h * 3_600_000, severity: r.severity, count: r.count }));
  }

  /** Events held. */
  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

/** The label rows of the events `WHERE` selects (as e), from their rows' labels. */
const LABELS_OF = "SELECT j.key, j.value, e.seq FROM events e, json_each(e.labels) j";

type Row = { seq: number; at: number; notification: string | null; entry: string; labels: string | null };

function prepareWrites(db: Database.Database) {
  const deleteLabels = db.prepare(
    `DELETE FROM labels WHERE (name, value, seq) IN (${LABELS_OF} WHERE e.seq = ?)`,
  );
  const deleteText = db.prepare("DELETE FROM text WHERE rowid = ?");
  const deleteEvent = db.prepare("DELETE FROM events WHERE seq = ?");
  return {
    seqOf: db.prepare("SELECT seq FROM events WHERE id = ?"),
    forget(seq: number) {
      deleteLabels.run(seq);
      deleteText.run(seq);
      deleteEvent.run(seq);
    },
    /** The last seq taken in a millisecond's range. */
    lastAt: db.prepare("SELECT max(seq) FROM events WHERE seq >= ? AND seq < ?").pluck(),
    last: db.prepare("SELECT max(seq) FROM events").pluck(),
    insertEvent: db.prepare(
      "INSERT INTO events (seq, id, at, bmc, severity, status, sensor_type, notification, entry, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    insertLabel: db.prepare("INSERT INTO labels (name, value, seq) VALUES (?, ?, ?)"),
    insertText: db.prepare("INSERT INTO text (rowid, body) VALUES (?, ?)"),
    // An outcome replaces what was there; a pending state (never recorded by the pipeline) nothing.
    delivery: db.prepare(
      `INSERT INTO deliveries (notification, receiver, status, outcome, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (notification, receiver) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, at = excluded.at
       WHERE excluded.status <> 'pending'`,
    ),
  };
}
