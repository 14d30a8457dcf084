import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePet } from "../../src/pet/event.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { decodePetVarbind, encodePetVarbind, PET_ENTERPRISE_OID } from "../../src/pet/varbind.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../pet/vectors.js";

/**
 * A real redis-server for tests: its own temp dir, listening only on a unix socket in it (port 0: no
 * TCP at all, so never the system's 6379), no persistence configured (--save "" --appendonly no).
 */
export interface TestRedis {
  /** The unix socket path: what Ingest and the queues take as `connection`. */
  readonly socket: string;
  readonly dir: string;
  /** Graceful stop that keeps the data: SHUTDOWN SAVE writes dump.rdb, which restart() loads. */
  stop(): Promise<void>;
  /** Starts it again on the same socket (and data, after stop()). */
  restart(): Promise<void>;
  /** SIGKILL: a crash; with no persistence the data is gone. */
  kill(): Promise<void>;
  /** Stops it (if running) and removes its dir. */
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "petgate-redis-"));
  const socket = join(dir, "redis.sock");
  let child: ChildProcess | undefined;

  const launch = async () => {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        "0",
        "--unixsocket",
        socket,
        "--unixsocketperm",
        "700",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await ping(socket))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const exited = async (proc: ChildProcess) => {
    if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
  };

  await launch();
  return {
    socket,
    dir,
    async stop() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      await command(socket, "SHUTDOWN SAVE").catch(() => undefined);
      await exited(proc);
    },
    restart: launch,
    async kill() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      proc.kill("SIGKILL");
      await exited(proc);
    },
    async dispose() {
      const proc = child;
      child = undefined;
      if (proc) {
        proc.kill("SIGKILL");
        await exited(proc);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one inline command; resolves with the first reply (or "" if the server closed the socket). */
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

/**
 * A PET TrapEvent as the listener would hand it over: the Dell chassis-intrusion vector with the given
 * sequence number (and, for variety, local timestamp), from `source`. Copies with the same sequence are
 * retransmissions of one event whatever their source or reception time.
 */
export function petTrap(sequence: number, source = { address: "192.0.2.10", port: 623 }): TrapEvent {
  const varbind = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
  const octets = encodePetVarbind({
    ...varbind,
    sequence: sequence & 0xffff,
    localTimestamp: varbind.localTimestamp + sequence,
  });
  const decoded = decodePet(DELL_CHASSIS_INTRUSION.specificTrap, octets);
  if (!decoded.ok) throw decoded.error;
  return {
    receivedAt: new Date().toISOString(),
    source,
    snmp: {
      version: "v1",
      pdu: "trap",
      community: "public",
      agentAddress: source.address,
      trapOid: `${PET_ENTERPRISE_OID}.0.${DELL_CHASSIS_INTRUSION.specificTrap}`,
    },
    kind: "pet",
    pet: decoded.event,
    varbind: octets.toString("hex"),
  };
}
