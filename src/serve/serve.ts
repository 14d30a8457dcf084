import { join } from "node:path";
import { readSecret } from "../config/load.js";
import { configuredRedis } from "../config/redis.js";
import type { Config } from "../config/schema.js";
import type { HistoryKeeper } from "../history/keeper.js";
import type { HistoryStore } from "../history/store.js";
import type { BmcInfo } from "../http/api.js";
import type { HttpServer } from "../http/server.js";
import { type HostPort, parseHostPort } from "../net/address.js";
import { parseDuration } from "../pipeline/alerting/route.js";
import { type Intake, startIntake } from "../pipeline/intake/intake.js";
import type { Workers } from "../pipeline/pipeline.js";
import { createRedis, DEFAULT_PREFIX, type RedisConnection, type RedisTarget } from "../pipeline/queues.js";
import type { Sink } from "../sinks/sink.js";
import { prepareDataDir, withPath } from "./data-dir.js";
import type { Demo } from "./demo.js";
import { listenerExposure } from "./exposure.js";
import { lockDataDir } from "./lock.js";
import { type RedisChild, startRedisChild } from "./redis-child.js";
import { StartAborted, untilAborted, waitForRedis } from "./start-up.js";

export type Role = "listener" | "worker" | "http";
export const ROLES: readonly Role[] = ["listener", "worker", "http"];

/** Start-up refused for a reason the operator fixes (never a secret in the message). */
export class ServeError extends Error {
  override name = "ServeError";
}

export interface ServeOptions {
  /** The configuration; absent with `demo` (the demo makes its own). */
  config?: Config;
  roles: ReadonlySet<Role>;
  /** Spool, embedded Redis and demo files. */
  dataDir: string;
  /** The operator chose the data dir: an embedded Redis is then allowed for a split role too. */
  dataDirExplicit: boolean;
  /** $PETGATE_REDIS: takes precedence over config.redis.url. */
  redisUrl?: string;
  /** Where the listener binds (default config.listener.bind). */
  listen?: HostPort;
  /** Where HTTP binds; the http role's default is config http.bind, other roles serve HTTP only when given. */
  http?: HostPort;
  /** Simulated BMCs, catchers and test events (all roles only). */
  demo?: boolean;
  /** The demo's first simulated BMC (the others on the next loopback addresses); default the demo's. */
  demoBmcs?: HostPort;
  log: (message: string) => void;
  /** Stops the start-up at any step (SIGTERM): what started is stopped and serve rejects with StartAborted. */
  signal?: AbortSignal;
}

export interface Service {
  roles: readonly Role[];
  /** Where the queues are, for the banner (a URL or socket path, never a password). */
  redis: string;
  /** This process started the Redis (under the data dir) and stops it on close. */
  embeddedRedis: boolean;
  listener?: HostPort;
  http?: HostPort;
  demo?: Demo;
  /** Intake first (listener closes, Ingest flushes), then workers, HTTP, demo, Redis last. */
  close(): Promise<void>;
}

/** Where the demo's BMCs send their PETs unless --listen says otherwise (unprivileged, loopback). */
const DEMO_LISTEN: HostPort = { host: "127.0.0.1", port: 1162 };

/**
 * Starts the roles asked for on one Redis: $PETGATE_REDIS, else config `redis.url`, else a private
 * redis-server under the data dir. Intake comes first: the listener spools while a configured Redis
 * does not answer, and the workers and HTTP start once it does. Every part started is stopped again
 * if a later one fails or the signal aborts.
 */
export async function serve(options: ServeOptions): Promise<Service> {
  const { roles, dataDir, log, signal } = options;
  const all = ROLES.every((r) => roles.has(r));
  if (options.demo && !all) throw new ServeError("--demo runs all roles in one process; drop --role");
  // The simulated BMCs are told where to send their PETs before the listener binds.
  if (options.demo && options.listen?.port === 0) throw new ServeError("--demo needs a fixed --listen port");
  const configured = configuredRedis(options.config?.redis, options.redisUrl);
  const embedded = configured === undefined;
  if (embedded && !all && !options.dataDirExplicit)
    throw new ServeError(
      `no Redis configured for --role ${[...roles].join(",")}: split roles share one Redis; set redis.url in ` +
        "petgate.yml (or sentinels or cluster) or PETGATE_REDIS (or give --data-dir to run an embedded Redis there)",
    );

  let release: (() => void) | undefined;
  let child: RedisChild | undefined;
  let demo: Demo | undefined;
  let sinks: Map<string, Sink> | undefined;
  let workers: Workers | undefined;
  let intake: Intake | undefined;
  let connection: RedisConnection | undefined;
  let http: HttpServer | undefined;
  let history: { store: HistoryStore; writer?: HistoryKeeper } | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= stopAll();
    return closing;
  };
  const stopAll = async () => {
    await intake?.close();
    await workers?.close();
    await Promise.all([...(sinks?.values() ?? [])].map((s) => s.close?.()));
    await http?.close();
    await history?.writer?.close();
    history?.store.close();
    await connection?.quit().catch(() => connection?.disconnect());
    await demo?.close();
    await child?.stop();
    release?.();
  };
  try {
    if (embedded || roles.has("listener") || options.demo) {
      prepareDataDir(dataDir, log);
      release = await lockDataDir(dataDir).catch(withPath("data dir"));
    }
    let target: RedisTarget;
    if (configured === undefined) {
      child = await startRedisChild({ dataDir, log, ...(signal && { signal }) });
      target = child.socket;
    } else target = configured.target;
    const endpoint = child?.socket ?? configured?.endpoint ?? "";
    const replicaAcks = configured?.replicaAcks ?? 0;

    const listen = options.listen ?? (options.demo ? DEMO_LISTEN : undefined);
    if (options.demo)
      demo = await untilAborted(
        (await import("./demo.js")).startDemo({
          dataDir,
          listenerAddress: listen ?? DEMO_LISTEN,
          log,
          ...(options.demoBmcs && { firstBmc: options.demoBmcs }),
        }),
        signal,
        (d) => d.close(),
      );
    const config = demo?.config ?? options.config;
    if (!config) throw new ServeError("no configuration");
    const prefix = config.redis?.prefix ?? DEFAULT_PREFIX;

    const httpBind =
      options.http ?? (roles.has("http") ? parseHostPort(config.http.bind, DEFAULT_HTTP) : undefined);
    // Events processed here are counted on this process's /metrics.
    // The other roles' modules load only where they run: a listener process stays small (RSS).
    const metrics = httpBind && new (await import("../http/metrics.js")).PipelineMetrics();
    if (roles.has("listener")) {
      const spoolFile = join(dataDir, "spool.ndjson");
      intake = await untilAborted(
        startIntake({
          config,
          redis: target,
          prefix,
          replicaAcks,
          spoolFile,
          ...(listen && { listen }),
          log,
        }).catch(withPath("spool")),
        signal,
        (i) => i.close(),
      );
      const { host, port } = intake.listener.address();
      log(`listening for SNMP traps on udp ${host}:${port}`);
      for (const warning of listenerExposure(intake.listener.address(), config.listener)) log(warning);
    }
    if (roles.has("worker") || httpBind) await waitForRedis(target, endpoint, signal, log);
    if (roles.has("worker")) {
      sinks = (await import("../sinks/build.js")).buildSinks(config);
      workers = await untilAborted(
        (await import("../pipeline/pipeline.js")).startWorkers({
          config,
          redis: target,
          prefix,
          replicaAcks,
          sinks,
          mibCacheDir: join(dataDir, "mibs"),
          selArchiveDir: join(dataDir, "sel-archive"),
          ...(metrics && { onProcessed: metrics.onProcessed }),
          log,
        }),
        signal,
        (w) => w.close(),
      );
    }
    if (httpBind) {
      connection = createRedis(target, "worker");
      connection.on("error", () => undefined); // /readyz reports it
      const token = config.http.token && readSecret(config.http.token, "http.token");
      const catchers = demo?.catchers;
      const catcherRoutes = catchers && (await import("./demo.js")).catcherRoutes;
      // The HTTP role keeps the history; a listener or worker serving only /metrics does not.
      if (config.history.enabled && roles.has("http")) {
        const { HistoryStore } = await import("../history/store.js");
        const { startHistoryKeeper } = await import("../history/keeper.js");
        const file = config.history.path ?? join(dataDir, "history.sqlite");
        const store = new HistoryStore(file);
        history = { store };
        // Written on a thread of its own (keeper.ts); this handle, opened first, serves the API.
        history.writer = await startHistoryKeeper({
          redis: target,
          prefix,
          path: file,
          retentionMs: parseDuration(config.history.retention),
          log,
        });
        log(`alert history kept in ${file} (${config.history.retention})`);
      }
      const { startHttp } = await import("../http/server.js");
      const started = startHttp({
        bind: httpBind,
        redis: connection,
        prefix,
        ...(intake && { intake }),
        ...(workers && { workers }),
        ...(token && { token }),
        allowedHosts: config.http.allowedHosts,
        ...(metrics && { metrics }),
        bmcs: inventoryInfo(config),
        ...(history && { history: history.store }),
        ...(workers && { sensors: await sensorsReader(workers, config) }),
        ...(catchers && catcherRoutes && { extraRoutes: (app) => catcherRoutes(app, catchers) }),
        log,
      });
      http = await untilAborted(started, signal, (h) => h.close());
    }
    return {
      roles: ROLES.filter((r) => roles.has(r)),
      redis: endpoint,
      embeddedRedis: child !== undefined,
      ...(intake && { listener: intake.listener.address() }),
      ...(http && { http: http.address() }),
      ...(demo && { demo }),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw signal?.aborted ? new StartAborted() : err;
  }
}

const DEFAULT_HTTP: HostPort = { host: "127.0.0.1", port: 8162 };

/** GET /api/bmcs/:name/sensors where the workers run: their pool, SDR cache and circuit breaker. */
async function sensorsReader(workers: Workers, config: Config) {
  const { sensorsNow } = await import("../pipeline/bmc/sensors-now.js");
  const { resolveBmcs } = await import("../config/inventory.js");
  const inventory = resolveBmcs(config);
  return (name: string) => sensorsNow(workers.events, inventory, name);
}

/** The inventory as the API shows it, without credentials: the http role needs no BMC secrets. */
function inventoryInfo(config: Config): BmcInfo[] {
  return config.bmcs.map((b) => ({
    name: b.name,
    ...parseHostPort(b.host, { host: "", port: 623 }),
    labels: { ...config.defaults.labels, ...b.labels },
  }));
}
