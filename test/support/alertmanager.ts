import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./ports.js";

/** Debian's package `prometheus-alertmanager` installs the upstream binary under this name. */
export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

/** A running Prometheus Alertmanager on a free loopback port, clustering off, routing as its config says. */
export interface Alertmanager {
  /** Base URL, "http://127.0.0.1:PORT". */
  url: string;
  port: number;
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after 2 s; removes the storage directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Everything to a receiver with no integrations: for tests that look at Alertmanager's alert store only. */
export const NULL_RECEIVER_CONFIG = `route:
  receiver: "null"
receivers:
  - name: "null"
`;

export async function startAlertmanager(config = NULL_RECEIVER_CONFIG): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN)) {
    throw new Error(`${ALERTMANAGER_BIN} is missing: apt-get install prometheus-alertmanager`);
  }
  const dir = mkdtempSync(join(tmpdir(), "petgate-alertmanager-"));
  writeFileSync(join(dir, "alertmanager.yml"), config);
  // The port is free when asked but may be taken before Alertmanager binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freeTcpPort();
    const child = spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${join(dir, "alertmanager.yml")}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Empty disables the gossip cluster, which would otherwise bind 0.0.0.0:9094.
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    // If the test worker dies without afterAll, take Alertmanager with it.
    const orphanGuard = () => child.kill("SIGKILL");
    process.once("exit", orphanGuard);
    const url = `http://127.0.0.1:${port}`;
    const stop = once(async () => {
      process.off("exit", orphanGuard);
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    });
    try {
      await waitReady(url, child, 10_000);
      return { url, port, pid: child.pid, stop };
    } catch (err) {
      process.off("exit", orphanGuard);
      await terminate(child);
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`alertmanager did not become ready: ${(err as Error).message}\n${stderr}`);
      }
    }
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
    }
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no 200 from ${url}/-/ready within ${timeoutMs} ms`);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 2000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function once(f: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => {
    p ??= f();
    return p;
  };
}
