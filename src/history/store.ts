import { mkdirSync } from "node:fs";
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
 *               recent-events API shows it (JSON), and the columns filters use, each indexed
 *               with seq, the order of arrival, so that "newest first" walks an index
 *   labels      (seq, name, value): the labels routes matched the event's notification on
 *   deliveries  (notification, receiver) → its latest state; "pending" never replaces an outcome
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
  /** Words that must all appear (in any field), each matched as a prefix. */
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
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_bmc ON events (bmc, seq);
CREATE INDEX IF NOT EXISTS events_severity ON events (severity, seq);
CREATE INDEX IF NOT EXISTS events_status ON events (status, seq);
CREATE INDEX IF NOT EXISTS events_sensor_type ON events (sensor_type, seq);
CREATE TABLE IF NOT EXISTS labels (seq INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS labels_match ON labels (name, value, seq);
CREATE INDEX IF NOT EXISTS labels_seq ON labels (seq);
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

/** The words of an entry the free-text search finds. */
function words(e: HistoryEvent): string {
  return [
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
    ...Object.values(e.labels),
    ...(e.varbinds ?? []).map((v) => `${v.oid} ${v.value ?? ""}`),
  ]
    .filter((w) => w !== null && w !== undefined && w !== "")
    .join(" ");
}

/** FTS5 query text: each word a quoted prefix term (its syntax never reaches FTS5 from a user). */
export function textQuery(text: string): string | undefined {
  const terms = text
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((t) => t !== "")
    .slice(0, TEXT_TERMS_MAX);
  return terms.length === 0 ? undefined : terms.map((t) => `"${t}"*`).join(" ");
}

export class HistoryStore {
  private readonly db: Database.Database;
  private writes: ReturnType<typeof prepareWrites> | undefined;

  /** Opens (creating it and its directory unless `readonly`) the history file. */
  constructor(
    readonly path: string,
    options: { readonly?: boolean } = {},
  ) {
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path, {
      readonly: options.readonly === true,
      fileMustExist: options.readonly === true,
    });
    if (!options.readonly) {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.exec(SCHEMA);
    }
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
        const { lastInsertRowid } = s.insertEvent.run(
          e.id,
          at,
          e.bmc,
          e.severity,
          e.status,
          e.sensorType,
          e.notification,
          JSON.stringify(entry),
        );
        const seq = Number(lastInsertRowid);
        for (const [name, value] of Object.entries(labels)) s.insertLabel.run(seq, name, value);
        s.insertText.run(seq, words(e));
        if (e.notification !== null)
          for (const receiver of e.receivers) s.pending.run(e.notification, receiver, at);
      }
      for (const d of deliveries)
        s.delivery.run(d.notification, d.receiver, d.status, d.outcome ?? null, d.at);
    })();
  }

  /** The entries that pass the filter, newest first, a page at a time. */
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
    if (filter.since !== undefined) {
      where.push("e.at >= ?");
      args.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push("e.at < ?");
      args.push(filter.until);
    }
    if (filter.cursor !== undefined) {
      where.push("e.seq < ?");
      args.push(filter.cursor);
    }
    for (const [name, value] of Object.entries(filter.labels ?? {})) {
      where.push("EXISTS (SELECT 1 FROM labels l WHERE l.name = ? AND l.value = ? AND l.seq = e.seq)");
      args.push(name, value);
    }
    const text = filter.text === undefined ? undefined : textQuery(filter.text);
    if (text !== undefined) {
      where.push("e.seq IN (SELECT rowid FROM text WHERE text MATCH ?)");
      args.push(text);
    }
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), HISTORY_PAGE_MAX);
    const rows = this.db
      .prepare(
        `SELECT e.seq, e.at, e.notification, e.entry, (SELECT json_group_array(json_array(l.name, l.value)) FROM labels l WHERE l.seq = e.seq) AS labels
         FROM events e ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY e.seq DESC LIMIT ?`,
      )
      .all(...args, limit + 1) as {
      seq: number;
      at: number;
      notification: string | null;
      entry: string;
      labels: string;
    }[];
    const page = rows.slice(0, limit);
    const deliveriesOf = this.db.prepare(
      "SELECT receiver, status, outcome, at FROM deliveries WHERE notification = ?",
    );
    return {
      events: page.map((r) => {
        const entry = JSON.parse(r.entry) as Omit<HistoryEvent, "at" | "labels">;
        const deliveries: Record<string, DeliveryState> = {};
        if (r.notification !== null)
          for (const d of deliveriesOf.all(r.notification) as {
            receiver: string;
            status: DeliveryState["status"];
            outcome: string | null;
            at: number;
          }[])
            deliveries[d.receiver] = {
              status: d.status,
              ...(d.outcome !== null && { outcome: d.outcome }),
              at: new Date(d.at).toISOString(),
            };
        return {
          ...entry,
          at: r.at,
          labels: Object.fromEntries(JSON.parse(r.labels) as [string, string][]),
          deliveries,
        };
      }),
      next: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
    };
  }

  /** Drops the events processed before `before` (ms), with their labels, words and deliveries. */
  prune(before: number): number {
    return this.db.transaction(() => {
      const old = "SELECT seq FROM events WHERE at < ?";
      this.db.prepare(`DELETE FROM labels WHERE seq IN (${old})`).run(before);
      this.db.prepare(`DELETE FROM text WHERE rowid IN (${old})`).run(before);
      this.db
        .prepare(
          `DELETE FROM deliveries WHERE notification IN (SELECT notification FROM events WHERE at < ? AND notification IS NOT NULL)`,
        )
        .run(before);
      return this.db.prepare("DELETE FROM events WHERE at < ?").run(before).changes;
    })();
  }

  /** Events held. */
  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

function prepareWrites(db: Database.Database) {
  const deleteLabels = db.prepare("DELETE FROM labels WHERE seq = ?");
  const deleteText = db.prepare("DELETE FROM text WHERE rowid = ?");
  const deleteEvent = db.prepare("DELETE FROM events WHERE seq = ?");
  return {
    seqOf: db.prepare("SELECT seq FROM events WHERE id = ?"),
    forget(seq: number) {
      deleteLabels.run(seq);
      deleteText.run(seq);
      deleteEvent.run(seq);
    },
    insertEvent: db.prepare(
      "INSERT INTO events (id, at, bmc, severity, status, sensor_type, notification, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    insertLabel: db.prepare("INSERT INTO labels (seq, name, value) VALUES (?, ?, ?)"),
    insertText: db.prepare("INSERT INTO text (rowid, body) VALUES (?, ?)"),
    pending: db.prepare(
      "INSERT OR IGNORE INTO deliveries (notification, receiver, status, at) VALUES (?, ?, 'pending', ?)",
    ),
    // An outcome replaces what was there; a pending state replaces nothing.
    delivery: db.prepare(
      `INSERT INTO deliveries (notification, receiver, status, outcome, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (notification, receiver) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, at = excluded.at
       WHERE excluded.status <> 'pending'`,
    ),
  };
}
