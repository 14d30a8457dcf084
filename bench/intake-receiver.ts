// The ingest bench's "petgate-durable" receiver: `petgate serve --role listener` (listener → Ingest →
// INGEST queue, src/pipeline/intake/intake.ts startIntake) on its own embedded redis-server (AOF,
// appendfsync everysec, the product's defaults), in a scratch data dir. Kept = the distinct events
// found in the INGEST queue after the listener and its Redis have stopped and Redis has been started
// again from the AOF alone, plus those in the listener's spool (fsync'd there when a Redis add took
// longer than Ingest's 1 s timeout, and replayed later): what was made durable, not what was read.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { DEFAULT_PREFIX, INGEST_QUEUE, type IngestJobData } from "../src/pipeline/queues.js";
import { startRedisChild } from "../src/serve/redis-child.js";
import { loopbackSocket, receiveBufferOf } from "./kernel.js";
import { fileSize, type Receiver, stopChild, track, until } from "./receivers.js";

/** Bytes appended to the AOF so far: grows while the listener is still queueing. */
function aofBytes(dataDir: string): number {
  const dir = join(dataDir, "redis", "appendonlydir");
  try {
    return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

/** Bytes in the spool (one QueuedEvent per line, src/pipeline/intake/spool.ts). */
const spoolFile = (dataDir: string) => join(dataDir, "spool.ndjson");

/** Event ids in the spool. */
function spooledEvents(dataDir: string): string[] {
  const file = spoolFile(dataDir);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id: string }).id);
}

/** Distinct event ids in the INGEST queue's waiting jobs (no worker runs, so every batch waits). */
export async function queuedEvents(socket: string, prefix = DEFAULT_PREFIX): Promise<Set<string>> {
  const redis = new Redis({ path: socket, maxRetriesPerRequest: 1 });
  try {
    const key = `${prefix}:${INGEST_QUEUE}`;
    const ids = await redis.lrange(`${key}:wait`, 0, -1);
    const events = new Set<string>();
    for (let i = 0; i < ids.length; i += 200) {
      const pipe = redis.pipeline();
      for (const id of ids.slice(i, i + 200)) pipe.hget(`${key}:${id}`, "data");
      for (const [err, data] of (await pipe.exec()) ?? []) {
        if (err || typeof data !== "string") continue;
        for (const e of (JSON.parse(data) as IngestJobData).events) events.add(e.id);
      }
    }
    return events;
  } finally {
    redis.disconnect();
  }
}

export function petgateDurableReceiver(repoRoot: string, receiveBufferBytes: number): Receiver {
  return {
    name: "petgate-durable",
    async start(port, dir) {
      const dataDir = join(dir, `serve-${port}`);
      const config = join(dir, `petgate-${port}.yml`);
      writeFileSync(
        config,
        `listener:\n  bind: 127.0.0.1:${port}\n  communities: [public]\n  receiveBufferBytes: ${receiveBufferBytes}\n`,
      );
      const env = { ...process.env };
      delete env.PETGATE_CONFIG;
      delete env.PETGATE_REDIS; // the embedded Redis under the data dir
      const child = track(
        spawn(
          process.execPath,
          [
            ...(process.env.BENCH_PETGATE_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
            join(repoRoot, "bin/petgate.js"),
            "serve",
            "--role",
            "listener",
            "--config",
            config,
            "--data-dir",
            dataDir,
          ],
          { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] },
        ),
      );
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (s: string) => {
        stderr += s;
      });
      await until("petgate serve --role listener", 30_000, () => stderr.includes("petgate: ready"), child);
      const note = /receive buffer (.*)$/m.exec(stderr)?.[1]?.trim() ?? `asked ${receiveBufferBytes}`;
      return {
        pid: child.pid,
        receiveBuffer: receiveBufferOf(port),
        note,
        progress: () => aofBytes(dataDir) + fileSize(spoolFile(dataDir)),
        async stop() {
          const socket = loopbackSocket(port);
          // SIGTERM: the listener closes, Ingest flushes, the embedded Redis shuts down (AOF fsync'd).
          const exit = await stopChild(child, "SIGTERM", 30_000);
          const redis = await startRedisChild({ dataDir, log: () => undefined });
          try {
            const queued = await queuedEvents(redis.socket);
            const spooled = spooledEvents(dataDir);
            const kept = new Set([...queued, ...spooled]).size;
            return { kept, socket, counters: { queued: queued.size, spooled: spooled.length }, ...exit };
          } finally {
            await redis.stop();
          }
        },
      };
    },
  };
}
