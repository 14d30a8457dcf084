import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { accessSync, chmodSync, constants, mkdirSync } from "node:fs";
import { createConnection } from "node:net";
import { delimiter, join, resolve } from "node:path";
import { lockDataDir } from "./lock.js";

export type RedisChildErrorCode =
  | "not-installed"
  | "in-use"
  | "socket-path"
  | "exited"
  | "timeout"
  | "aborted";

/** The embedded Redis could not be started; says why and what to do, with redis-server's last log lines. */
export class RedisChildError extends Error {
  override name = "RedisChildError";
  constructor(
    readonly code: RedisChildErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RedisChildOptions {
  /** petgate's data dir; Redis keeps its AOF and socket in `<dataDir>/redis/`. */
  dataDir: string;
  log: (line: string) => void;
  /** The redis-server executable: a path, or a name looked up on PATH (default "redis-server"). */
  binary?: string;
  /** How long to wait for the first PONG; a large AOF answers LOADING for a while (default 60 s). */
  startTimeoutMs?: number;
  /** Stops the wait for the first PONG (petgate was signalled): redis-server is stopped again. */
  signal?: AbortSignal;
}

export interface RedisChild {
  /** The unix socket path: what ioredis and BullMQ take as `path` (a RedisTarget). */
  readonly socket: string;
  /** Shuts Redis down (SHUTDOWN: the AOF is fsynced) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** sun_path holds 108 bytes with the terminating NUL (unix(7)). */
const MAX_SOCKET_PATH = 107;
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL = 20;

/** Data dirs with a Redis child in this process (the data-dir lock lets its own pid through). */
const inUse = new Set<string>();
/** Children to end if petgate exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts a private redis-server: AOF on (appendfsync everysec), no RDB snapshots, no TCP (port 0),
 * only a 0700 unix socket, logging to petgate's log. Resolves once it answers PING.
 *
 * The child must not outlive petgate. Node cannot call prctl(PR_SET_PDEATHSIG) itself, so Redis is
 * exec'd through util-linux `setpriv --pdeathsig TERM` when that is installed: the kernel then sends
 * it SIGTERM (a clean shutdown that fsyncs the AOF) however petgate dies, SIGKILL included. An
 * `exit` handler sends SIGTERM too, for systems without setpriv.
 */
export async function startRedisChild(options: RedisChildOptions): Promise<RedisChild> {
  const dir = join(resolve(options.dataDir), "redis");
  const socket = join(dir, "redis.sock");
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new RedisChildError(
      "socket-path",
      `the Redis socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes, the unix socket limit: use a shorter --data-dir`,
    );
  const binary = findExecutable(options.binary ?? "redis-server");
  if (!binary)
    throw new RedisChildError(
      "not-installed",
      `${options.binary ?? "redis-server"} is not installed (not found on PATH): install it (apt-get install redis-server), or configure redis.url`,
    );
  if (inUse.has(dir)) throw inUseError(dir, "this process already runs a redis-server on it");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode is masked by the umask
  const release = await lockDataDir(dir);
  inUse.add(dir);
  try {
    // A redis-server left behind by a petgate that could not stop it still owns the socket and the AOF.
    if (await ping(socket)) throw inUseError(dir, `a redis-server already answers on ${socket}`);
    return await launch(binary, dir, socket, options, () => {
      inUse.delete(dir);
      release();
    });
  } catch (err) {
    inUse.delete(dir);
    release();
    throw err;
  }
}

async function launch(
  binary: string,
  dir: string,
  socket: string,
  options: RedisChildOptions,
  release: () => void,
): Promise<RedisChild> {
  const args = [
    ...["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir],
    ...["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
    ...["--daemonize", "no", "--logfile", "", "--loglevel", "warning"],
  ];
  const setpriv = findExecutable("setpriv");
  // Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) must reach only
  // petgate, which stops Redis last, after the workers are done with it.
  const spawnOptions: SpawnOptions = { stdio: ["ignore", "pipe", "pipe"], detached: true };
  // redis-server creates its AOF and RDB files with the umask it inherits: owner only.
  const umask = process.umask(0o077);
  let proc: ChildProcess;
  try {
    proc = setpriv
      ? spawn(setpriv, ["--pdeathsig", "TERM", binary, ...args], spawnOptions)
      : spawn(binary, args, spawnOptions);
  } finally {
    process.umask(umask);
  }
  const tail: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.trim() === "") continue;
      tail.push(line);
      if (tail.length > LOG_TAIL) tail.shift();
      options.log(`redis: ${line}`);
    }
  };
  proc.stdout?.on("data", onOutput);
  proc.stderr?.on("data", onOutput);
  let stopping = false;
  let exit: string | undefined;
  const exited = new Promise<void>((done) => {
    const ended = (how: string) => {
      if (exit !== undefined) return;
      exit = how;
      live.delete(proc);
      if (!stopping) options.log(`redis: redis-server exited (${how})`);
      done();
    };
    proc.once("error", (err) => ended(err.message));
    proc.once("exit", (code, signal) => ended(signal ? `signal ${signal}` : `code ${code}`));
  });
  live.add(proc);
  installExitHook();

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const lastLines = () => (tail.length > 0 ? `; its last log lines:\n${tail.join("\n")}` : "");
  while (!(await ping(socket))) {
    if (options.signal?.aborted) {
      stopping = true;
      proc.kill("SIGTERM");
      await exited;
      throw new RedisChildError("aborted", "stopped before redis-server answered");
    }
    if (exit !== undefined)
      throw new RedisChildError(
        "exited",
        `redis-server exited (${exit}) before answering on ${socket}${lastLines()}`,
      );
    if (Date.now() > deadline) {
      stopping = true;
      proc.kill("SIGKILL");
      await exited;
      throw new RedisChildError("timeout", `redis-server did not answer on ${socket} in time${lastLines()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  let stopped: Promise<void> | undefined;
  return {
    socket,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        if (exit === undefined) {
          // SHUTDOWN fsyncs the AOF; the server closes the connection without a reply when it succeeds.
          const reply = await command(socket, "SHUTDOWN").catch(() => "");
          if (reply.startsWith("-")) proc.kill("SIGTERM");
          const timer = setTimeout(() => {
            options.log(`redis: redis-server did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
            proc.kill("SIGKILL");
          }, STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        release();
      })();
      return stopped;
    },
  };
}

function inUseError(dir: string, why: string): RedisChildError {
  return new RedisChildError("in-use", `the data dir ${dir} is in use: ${why}`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of live) p.kill("SIGTERM");
  });
}

/** A path as given (if it has a slash), else the first executable of that name on PATH. */
function findExecutable(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "").split(delimiter).map((d) => join(d, name));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Sends one inline command; resolves with the reply (or "" if the server closed the connection). */
function command(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let reply = "";
    conn.on("error", reject);
    conn.on("connect", () => conn.write(`${line}\r\n`));
    conn.on("data", (d) => {
      reply += d.toString();
      if (reply.endsWith("\r\n")) conn.end();
    });
    conn.on("close", () => resolve(reply));
  });
}

async function ping(socket: string): Promise<boolean> {
  try {
    return (await command(socket, "PING")).startsWith("+PONG");
  } catch {
    return false;
  }
}
