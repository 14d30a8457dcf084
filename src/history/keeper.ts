import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { RedisTarget } from "../pipeline/queues.js";

/*
 * The history writer (writer.ts) on a thread of its own. SQLite is synchronous: recording a quarter
 * second of a storm (FTS5 and label entries, the commit) holds its thread for tens of milliseconds,
 * and on the HTTP role's thread — which in `petgate serve` is also the listener's and the events
 * worker's — every trap, batch and delivery waited behind it. The thread has its own Redis connection
 * and its own handle on the file; the HTTP API keeps reading through the caller's (WAL: readers and
 * the writer go at once).
 */

export interface HistoryKeeperOptions {
  redis: RedisTarget;
  prefix: string;
  /** The history file; the caller opened it first (created, brought up to date). */
  path: string;
  retentionMs: number;
  log: (message: string) => void;
}

/** What the thread is given (structured clone: plain data only). */
export type KeeperData = Omit<HistoryKeeperOptions, "log">;

/** What the thread says: a log line, that it started, or why it could not. */
export type KeeperMessage = { log: string } | { started: true } | { failed: string };

export interface HistoryKeeper {
  close(): Promise<void>;
}

/**
 * The thread's entry: its sibling .js. Run from source (the tests), that is the build's copy, which
 * `npm test` makes first (scripts/bootstrap.mjs).
 */
function threadEntry(): URL {
  const own = new URL("./keeper-thread.js", import.meta.url);
  if (!import.meta.url.endsWith(".ts")) return own;
  const built = new URL("../../dist/src/history/keeper-thread.js", import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error(`${fileURLToPath(built)} is missing: npm run build`);
  return built;
}

export async function startHistoryKeeper(options: HistoryKeeperOptions): Promise<HistoryKeeper> {
  const { log, ...data } = options;
  const worker = new Worker(threadEntry(), { workerData: data satisfies KeeperData });
  const started = new Promise<void>((resolve, reject) => {
    worker.on("message", (m: KeeperMessage) => {
      if ("log" in m) log(m.log);
      else if ("started" in m) resolve();
      else reject(new Error(m.failed));
    });
    worker.once("error", reject);
    worker.once("exit", (code) =>
      reject(new Error(`history keeper thread exited (${code}) before it started`)),
    );
  });
  try {
    await started;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  // From now on a thread that fails is logged (a failed start is the caller's error, not a log
  // line too): the history stops, the gateway goes on.
  worker.on("error", (err) => log(`history: keeper thread failed: ${err.message}`));
  return {
    async close() {
      if (worker.threadId < 0) return; // already gone
      const exited = once(worker, "exit");
      worker.postMessage("close");
      await exited;
    },
  };
}
