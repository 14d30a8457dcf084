import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RedisChild, RedisChildError, startRedisChild } from "../../src/serve/redis-child.js";
import { waitFor } from "../support/listener.js";

let dataDir: string;
let logs: string[];
const children: RedisChild[] = [];
const start = async (options: { binary?: string } = {}) => {
  const child = await startRedisChild({ dataDir, log: (l) => logs.push(l), ...options });
  children.push(child);
  return child;
};

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "petgate-data-"));
  logs = [];
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function withClient<T>(socket: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ path: socket, lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on("error", () => undefined); // a refused connect rejects connect() below
  await redis.connect();
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

describe("the embedded redis-server", () => {
  it("keeps what was written across a stop and a restart on the same data dir (AOF)", async () => {
    const first = await start();
    expect(first.socket).toBe(join(dataDir, "redis", "redis.sock"));
    await withClient(first.socket, async (r) => {
      expect(await r.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
      expect(await r.config("GET", "port")).toEqual(["port", "0"]);
      await r.set("petgate:kept", "across restarts");
      await r.rpush("petgate:list", "a", "b", "c");
    });
    await first.stop();
    expect(readdirSync(join(dataDir, "redis", "appendonlydir")).some((f) => f.endsWith(".incr.aof"))).toBe(
      true,
    );

    const second = await start();
    await withClient(second.socket, async (r) => {
      expect(await r.get("petgate:kept")).toBe("across restarts");
      expect(await r.lrange("petgate:list", 0, -1)).toEqual(["a", "b", "c"]);
    });
  });

  it("refuses a second redis-server on a data dir in use, naming the dir", async () => {
    await start();
    const refused = await start().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RedisChildError);
    expect((refused as RedisChildError).code).toBe("in-use");
    expect((refused as Error).message).toContain(join(dataDir, "redis"));
  });

  it("says redis-server is not installed, and how to get it", async () => {
    const err = await start({ binary: "petgate-no-such-redis-server" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisChildError);
    expect((err as RedisChildError).code).toBe("not-installed");
    expect((err as Error).message).toMatch(
      /petgate-no-such-redis-server is not installed.*apt-get install redis-server/,
    );
    // Nothing is left holding the data dir.
    await start();
  });

  it("reports a redis-server that exits at start with its last log lines", async () => {
    const aofDir = join(dataDir, "redis", "appendonlydir");
    mkdirSync(aofDir, { recursive: true });
    writeFileSync(join(aofDir, "appendonly.aof.manifest"), "this is not a manifest\n");
    const err = await start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisChildError);
    expect((err as RedisChildError).code).toBe("exited");
    expect((err as Error).message).toMatch(
      /redis-server exited \(code 1\)[\s\S]*last log lines:[\s\S]*manifest/i,
    );
  });

  it("dies with petgate, even when petgate is killed with SIGKILL", async () => {
    const module = fileURLToPath(new URL("../../dist/src/serve/redis-child.js", import.meta.url));
    const script = `const { startRedisChild } = await import(${JSON.stringify(module)});
const r = await startRedisChild({ dataDir: ${JSON.stringify(dataDir)}, log: () => {} });
console.log(r.socket);`;
    const petgate = spawn(
      process.execPath,
      ["--input-type=module", "-e", `${script}\nsetInterval(() => {}, 1000);`],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    petgate.stdout.on("data", (d) => (out += d));
    const socket = await waitFor("the child's socket", () => out.trim() || undefined, 15_000);
    expect(await withClient(socket, (r) => r.ping())).toBe("PONG");

    petgate.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (await withClient(socket, (r) => r.ping()).catch(() => undefined)) {
      if (Date.now() > deadline) throw new Error("Redis outlived the petgate that started it");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
