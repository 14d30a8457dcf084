import { hostname } from "node:os";
import { resolve } from "node:path";
import { createRedis, type RedisConnection, type RedisTarget } from "../pipeline/queues.js";
import { type FeedBatch, historyStreamKey } from "./feed.js";
import type { HistoryStore } from "./store.js";

/*
 * Keeps the history file from the workers' feed (history/feed.ts): reads the stream as a consumer
 * group of its own, named by its host and file (historyGroup), so that every HTTP process keeps the
 * whole history, and a restarted one goes on where it stopped: what it read but had not recorded is
 * read again (XREADGROUP from 0). New entries are held up to RECORD_LINGER_MS and recorded in one
 * transaction, then acknowledged; what could not be recorded is read again, and a stream Redis lost gets its group again. The
 * stream is trimmed by its cap (feed.ts), not by the keepers. Events older than the retention are
 * pruned at start and every pruneEveryMs.
 */

/** The one consumer of a keeper's group. */
export const HISTORY_CONSUMER = "keeper";

/** The consumer group of the keeper of this history file on this host. */
export function historyGroup(path: string): string {
  return `history@${hostname()}:${resolve(path)}`;
}
const READ_COUNT = 100;
/**
 * A transaction's commit (the WAL write, FTS5's flush) costs as much as tens of events: new entries
 * are recorded together once RECORD_ITEMS events and deliveries are held, or RECORD_LINGER_MS after
 * the first was read (history is searched, not watched: the recent events are live).
 */
const RECORD_ITEMS = 1000;
const RECORD_LINGER_MS = 250;

export interface HistoryWriterOptions {
  redis: RedisTarget;
  prefix: string;
  store: HistoryStore;
  retentionMs: number;
  /** Default an hour. */
  pruneEveryMs?: number;
  /** How long one read waits for new entries (ms); default 1000. */
  blockMs?: number;
  /** How long new entries are held to be recorded with what follows them (ms); default 250. */
  lingerMs?: number;
  log: (message: string) => void;
  /** The clock of the retention; default Date.now. */
  clock?: () => number;
}

export interface HistoryWriter {
  stats(): { events: number; deliveries: number; unreadable: number };
  close(): Promise<void>;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

export async function startHistoryWriter(options: HistoryWriterOptions): Promise<HistoryWriter> {
  const { store, log } = options;
  const clock = options.clock ?? Date.now;
  const key = historyStreamKey(options.prefix);
  // One consumer a group: the group is this keeper's, and its restart must find what it had read.
  const consumer = HISTORY_CONSUMER;
  const connection: RedisConnection = createRedis(options.redis, "worker");
  connection.on("error", () => undefined); // reconnects; reads wait
  const stats = { events: 0, deliveries: 0, unreadable: 0 };
  const group = historyGroup(store.path);
  const createGroup = () =>
    connection.xgroup("CREATE", key, group, "0", "MKSTREAM").catch((err: Error) => {
      if (!err.message.includes("BUSYGROUP")) throw err;
    });
  await createGroup();

  const prune = () => {
    try {
      const pruned = store.prune(clock() - options.retentionMs);
      if (pruned > 0) log(`history: ${pruned} event(s) older than the retention pruned`);
    } catch (err) {
      log(`history: prune failed: ${(err as Error).message}`);
    }
  };
  prune();
  const pruning = setInterval(prune, options.pruneEveryMs ?? 3_600_000);
  pruning.unref();

  /** What reads returned and is not recorded yet: its stream ids, and since when it is held (ms). */
  let held: { batch: FeedBatch; ids: string[]; since: number } | undefined;
  const hold = (reply: StreamReply): number => {
    const entries = reply?.[0]?.[1] ?? [];
    held ??= { batch: { events: [], deliveries: [] }, ids: [], since: performance.now() };
    for (const [id, fields] of entries) {
      held.ids.push(id);
      try {
        const read = JSON.parse(fields[fields.indexOf("batch") + 1] ?? "") as FeedBatch;
        held.batch.events.push(...read.events);
        held.batch.deliveries.push(...read.deliveries);
      } catch {
        stats.unreadable++;
      }
    }
    return entries.length;
  };
  /** Records what is held in one transaction; the ids to acknowledge. */
  const record = (): string[] => {
    if (!held) return [];
    const { batch, ids } = held;
    held = undefined;
    if (batch.events.length > 0 || batch.deliveries.length > 0) store.record(batch.events, batch.deliveries);
    stats.events += batch.events.length;
    stats.deliveries += batch.deliveries.length;
    return ids;
  };
  /** New entries go on being read into what is held until it is big or old enough to record. */
  const lingerMs = options.lingerMs ?? RECORD_LINGER_MS;
  const lingering = () =>
    held !== undefined &&
    held.batch.events.length + held.batch.deliveries.length < RECORD_ITEMS &&
    performance.now() - held.since < lingerMs;

  let stopping = false;
  /** A read or a record failed and none has succeeded since (logged once). */
  let failing = false;
  const loop = (async () => {
    // First what this consumer read and never acknowledged (a previous run of it), then what is new.
    let from = "0";
    while (!stopping) {
      try {
        const blockMs = held
          ? Math.max(1, Math.ceil(held.since + lingerMs - performance.now()))
          : (options.blockMs ?? 1000);
        const reply = (await connection.call(
          "XREADGROUP",
          "GROUP",
          group,
          consumer,
          "COUNT",
          READ_COUNT,
          ...(from === ">" ? ["BLOCK", blockMs] : []),
          "STREAMS",
          key,
          from,
        )) as StreamReply;
        const read = hold(reply);
        // What was pending (from 0) is recorded read by read: reading 0 again would return it again.
        if (from === ">" && read > 0 && lingering()) continue;
        const ids = record();
        if (ids.length > 0) await connection.xack(key, group, ...ids);
        else if (from === "0") from = ">";
        failing = false;
      } catch (err) {
        if (stopping) break;
        const message = (err as Error).message;
        if (!failing) log(`history: not recorded, to be read again: ${message}`);
        failing = true;
        // What the failed read took, and what was held, is pending: read it again before anything new.
        held = undefined;
        from = "0";
        // Redis lost the stream (restarted empty, the key deleted): the group again, on what is there.
        if (message.includes("NOGROUP")) await createGroup().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  return {
    stats: () => ({ ...stats }),
    async close() {
      stopping = true;
      clearInterval(pruning);
      connection.disconnect(); // ends a blocked read
      await loop;
    },
  };
}
