// Real Redis topologies on loopback for tests: redis-server processes on TCP ports, Sentinels
// (Debian redis-sentinel) watching a primary and its replica, and a Redis Cluster made by
// `redis-cli --cluster create`.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freeTcpPort } from "./ports.js";

const run = promisify(execFile);

export interface RedisProcess {
  port: number;
  /** `host:port`, as config `redis.sentinels` / `redis.cluster` take it. */
  address: string;
  /** SIGKILL: no shutdown, no last writes: the primary failing. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a replica that stays connected but answers nothing. */
  freeze(): void;
  thaw(): void;
}

/** A command to the Redis (or Sentinel) on `port`, by redis-cli: its output, trimmed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  return stdout.trim();
}

/** Polls `probe` until it returns a value (the state a test waits on), or fails naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Spawns `binary` with `args` and resolves once its log says `ready`. */
async function startProcess(
  binary: string,
  args: string[],
  ready: RegExp,
  port: number,
): Promise<RedisProcess> {
  const child: ChildProcess = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (ready.test(log)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) =>
      reject(new Error(`${binary} exited (${code}) before ready:\n${log.slice(-2000)}`)),
    );
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Drained: a full pipe would stall the process.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port,
    address: `127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      }
      await exited;
    },
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
  };
}

/** Processes and directories a topology made; stop() ends every process and removes them. */
class Processes {
  readonly dir = mkdtempSync(join(tmpdir(), "petgate-topology-"));
  readonly all: RedisProcess[] = [];

  async server(name: string, extra: string[]): Promise<RedisProcess> {
    const port = await freeTcpPort();
    const dir = join(this.dir, name);
    mkdirSync(dir);
    const p = await startProcess(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        ...extra,
      ],
      /Ready to accept connections/,
      port,
    );
    this.all.push(p);
    return p;
  }

  async sentinel(name: string, lines: string[]): Promise<RedisProcess> {
    const port = await freeTcpPort();
    const dir = join(this.dir, name);
    mkdirSync(dir);
    // Sentinel rewrites its file as it learns (replicas, other sentinels, the epoch).
    const conf = join(dir, "sentinel.conf");
    writeFileSync(conf, [`port ${port}`, "bind 127.0.0.1", `dir ${dir}`, ...lines, ""].join("\n"));
    const p = await startProcess("redis-sentinel", [conf], /Sentinel ID is|\+monitor master/, port);
    this.all.push(p);
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((p) => p.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ReplicatedRedis {
  primary: RedisProcess;
  replica: RedisProcess;
  stop(): Promise<void>;
}

/** A primary and a replica in sync with it. */
export async function startReplicated(): Promise<ReplicatedRedis> {
  const procs = new Processes();
  try {
    return { ...(await primaryAndReplica(procs)), stop: () => procs.stop() };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

async function primaryAndReplica(
  procs: Processes,
): Promise<{ primary: RedisProcess; replica: RedisProcess }> {
  // No 5 s wait for more replicas before a full sync (repl-diskless-sync-delay).
  const primary = await procs.server("primary", ["--repl-diskless-sync-delay", "0"]);
  const replica = await procs.server("replica", ["--replicaof", "127.0.0.1", String(primary.port)]);
  // In sync once it acknowledges a write: the primary streams to a new replica only after its
  // first REPLCONF ACK, a while after the sync.
  await until("the replica to acknowledge a write", async () => {
    await redisCli(primary.port, "SET", "topology:probe", "1");
    return (await redisCli(primary.port, "WAIT", "1", "100")) === "1" ? true : undefined;
  });
  await redisCli(primary.port, "DEL", "topology:probe");
  return { primary, replica };
}

export interface SentinelTopology extends ReplicatedRedis {
  master: string;
  sentinels: RedisProcess[];
  /** The master's address as the sentinels give it now. */
  masterAddress(): Promise<string>;
}

/**
 * A primary, its replica and three sentinels (quorum 2) that call a master down after 1 s without
 * an answer. Resolves once every sentinel knows the replica and the two other sentinels: only then
 * can they fail over.
 */
export async function startSentinelTopology(master = "petgate-master"): Promise<SentinelTopology> {
  const procs = new Processes();
  try {
    const { primary, replica } = await primaryAndReplica(procs);
    const sentinels: RedisProcess[] = [];
    for (const name of ["sentinel-1", "sentinel-2", "sentinel-3"])
      sentinels.push(
        await procs.sentinel(name, [
          `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${master} 1000`,
          `sentinel failover-timeout ${master} 10000`,
          `sentinel parallel-syncs ${master} 1`,
        ]),
      );
    // Sentinels learn of replicas from the master's INFO (every 10 s) and of each other by hello
    // messages (every 2 s).
    for (const s of sentinels)
      await until(`sentinel :${s.port} to know the replica and the other sentinels`, async () => {
        const fields = (await redisCli(s.port, "SENTINEL", "MASTER", master)).split("\n");
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        return field("num-slaves") === "1" && field("num-other-sentinels") === "2" ? true : undefined;
      });
    return {
      master,
      primary,
      replica,
      sentinels,
      masterAddress: async () =>
        (await redisCli(sentinels[0]?.port ?? 0, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", master))
          .split("\n")
          .join(":"),
      stop: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

export interface ClusterTopology {
  nodes: RedisProcess[];
  stop(): Promise<void>;
}

/** Three primaries, no replicas, the 16,384 slots split among them by `redis-cli --cluster create`. */
export async function startCluster(): Promise<ClusterTopology> {
  const procs = new Processes();
  try {
    const nodes: RedisProcess[] = [];
    for (const name of ["node-1", "node-2", "node-3"])
      nodes.push(
        await procs.server(name, [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(procs.dir, `${name}.nodes.conf`),
          "--cluster-node-timeout",
          "2000",
        ]),
      );
    await run("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((n) => n.address),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const n of nodes)
      await until(`node :${n.port} to see the cluster ok`, async () =>
        (await redisCli(n.port, "CLUSTER", "INFO")).includes("cluster_state:ok") ? true : undefined,
      );
    return { nodes, stop: () => procs.stop() };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
