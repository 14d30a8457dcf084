import { parentPort, workerData } from "node:worker_threads";
import type { KeeperData, KeeperMessage } from "./keeper.js";
import { HistoryStore } from "./store.js";
import { startHistoryWriter } from "./writer.js";

/** The history keeper's thread (keeper.ts): the writer and its own handle on the file. */
const port = parentPort;
if (!port) throw new Error("keeper-thread.js runs as a worker thread (src/history/keeper.ts)");
const data = workerData as KeeperData;
const say = (m: KeeperMessage) => port.postMessage(m);

const store = new HistoryStore(data.path);
try {
  const writer = await startHistoryWriter({
    redis: data.redis,
    prefix: data.prefix,
    store,
    retentionMs: data.retentionMs,
    log: (line) => say({ log: line }),
  });
  port.once("message", async () => {
    await writer.close();
    store.close();
    process.exit(0); // in a worker thread: ends the thread, whatever handle a library left open
  });
  say({ started: true });
} catch (err) {
  store.close();
  say({ failed: (err as Error).message });
}
