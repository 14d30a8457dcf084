import { resolve } from "node:path";
import { ConfigError, loadConfig, SecretError } from "../config/load.js";
import { DEFAULT_CONFIG_FILE, findConfigFile } from "../config/path.js";
import type { HostPort } from "../net/address.js";
import { parseHostPort } from "../net/address.js";
import { trapRuleProblem } from "../pipeline/interpret/load.js";
import { TrapRuleError } from "../pipeline/interpret/rules.js";
import { DataDirError } from "../serve/data-dir.js";
import { DemoError } from "../serve/demo.js";
import { DataDirInUseError } from "../serve/lock.js";
import { RedisChildError } from "../serve/redis-child.js";
import { ROLES, type Role, ServeError, type Service, serve } from "../serve/serve.js";
import { StartAborted } from "../serve/start-up.js";
import { ReceiverError } from "../sinks/build.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate serve [--config FILE] [--role listener|worker|http]... [--http HOST:PORT]
                     [--listen HOST:PORT] [--data-dir DIR] [--demo | --demo-if-no-config]
                     [--demo-bmcs HOST:PORT]

Runs the gateway: the trap listener, the pipeline's workers and the HTTP API, all in one process
unless --role picks some (repeatable; any number of listener and worker processes may share a Redis).

  --config     petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml)
  --role       listener | worker | http (default: all three)
  --http       HTTP address; default config http.bind for the http role. Any role serves
               /healthz, /readyz and /metrics there when given
  --listen     UDP address of the trap listener; default config listener.bind
  --data-dir   spool, embedded Redis and demo files (default ./.petgate); one process per data dir
  --demo       10 simulated BMCs, mail and webhook catchers and a test event every few seconds,
               with a generated configuration (no petgate.yml needed)
  --demo-if-no-config  --demo when no configuration file is found (what \`npm start\` uses)
  --demo-bmcs  the first simulated BMC's address, the others on the next loopback addresses
               (default 127.77.0.1:1623, :623 as root)

Redis: $PETGATE_REDIS, else config redis.url, else an embedded redis-server under the data dir
(all roles in one process, or an explicit --data-dir). SIGTERM/SIGINT stop gracefully; a second one
forces exit 1.`;

export const DEFAULT_DATA_DIR = ".petgate";

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: "string" },
      role: { type: "string", multiple: true },
      http: { type: "string" },
      listen: { type: "string" },
      "data-dir": { type: "string" },
      demo: { type: "boolean" },
      "demo-if-no-config": { type: "boolean" },
      "demo-bmcs": { type: "string" },
    },
    HELP,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"\n${HELP}`);
  const roles = new Set<Role>(values.role?.map(role) ?? ROLES);
  const file = findConfigFile(values.config);
  const demo = values.demo === true || (values["demo-if-no-config"] === true && file === undefined);
  if (demo && values.config !== undefined)
    throw new UsageError("--demo generates its own configuration; drop --config");

  const dataDir = resolve(values["data-dir"] ?? DEFAULT_DATA_DIR);
  const stopping = stopSignal();
  let service: Service;
  try {
    if (!demo && file === undefined)
      throw new ConfigError(resolve(DEFAULT_CONFIG_FILE), [
        "no such file: give --config FILE or set PETGATE_CONFIG, or try `petgate serve --demo` (simulated BMCs)",
      ]);
    service = await serve({
      ...(!demo && file !== undefined && { config: loadConfig(file) }),
      roles,
      dataDir,
      dataDirExplicit: values["data-dir"] !== undefined,
      ...(process.env.PETGATE_REDIS && { redisUrl: process.env.PETGATE_REDIS }),
      ...(values.listen !== undefined && { listen: hostPort("--listen", values.listen, TRAP_DEFAULT) }),
      ...(values.http !== undefined && { http: hostPort("--http", values.http, HTTP_DEFAULT) }),
      demo,
      ...(values["demo-bmcs"] !== undefined && {
        demoBmcs: hostPort("--demo-bmcs", values["demo-bmcs"], { host: "127.77.0.1", port: 1623 }),
      }),
      log,
      signal: stopping.signal,
    });
  } catch (err) {
    if (err instanceof StartAborted) {
      log("stopped during start-up");
      // A step that did not settle within its grace (untilAborted) would keep the process alive.
      process.exit(0);
    }
    if (err instanceof TrapRuleError && file !== undefined) {
      log(trapRuleProblem(file, err));
      return 1;
    }
    if (!STARTUP_ERRORS.some((E) => err instanceof E) && !isBindError(err)) throw err;
    log((err as Error).message);
    return 1;
  }
  banner(service, dataDir);
  await stopping.stopped;
  log("stopping: intake, then workers, HTTP and Redis (signal again to force)");
  await service.close();
  log("stopped");
  return 0;
}

/** Start-up failures the operator fixes: their message says how; no stack trace. */
const STARTUP_ERRORS = [
  ConfigError,
  SecretError,
  ReceiverError,
  ServeError,
  DataDirError,
  DataDirInUseError,
  RedisChildError,
  DemoError,
];

/** A port in use or not allowed ("bind EADDRINUSE 127.0.0.1:1162"). */
function isBindError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return (
    (e?.syscall === "bind" || e?.syscall === "listen") && (e.code === "EADDRINUSE" || e.code === "EACCES")
  );
}

const TRAP_DEFAULT: HostPort = { host: "0.0.0.0", port: 162 };
const HTTP_DEFAULT: HostPort = { host: "127.0.0.1", port: 8162 };

function log(message: string): void {
  process.stderr.write(`petgate: ${message}\n`);
}

function role(text: string): Role {
  if (!(ROLES as readonly string[]).includes(text))
    throw new UsageError(`--role ${text}: expected one of ${ROLES.join(", ")}`);
  return text as Role;
}

function hostPort(flag: string, text: string, defaults: HostPort): HostPort {
  try {
    return parseHostPort(text, defaults);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

/**
 * The first SIGTERM or SIGINT aborts `signal` (a start-up under way stops) and resolves `stopped`;
 * a second one exits 1 at once.
 */
function stopSignal(): { signal: AbortSignal; stopped: Promise<void> } {
  const controller = new AbortController();
  const stopped = new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        log(`${signal} again: exiting without finishing the shutdown`);
        process.exit(1);
      }
      controller.abort();
      done();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  return { signal: controller.signal, stopped };
}

function banner(service: Service, dataDir: string): void {
  const redis = service.embeddedRedis ? `embedded redis-server, socket ${service.redis}` : service.redis;
  log(`roles ${service.roles.join(", ")}; Redis: ${redis}`);
  const { http, demo } = service;
  const url = http && `http://${http.host.includes(":") ? `[${http.host}]` : http.host}:${http.port}`;
  if (url) log(`HTTP API, /metrics and the web page on ${url}/`);
  if (demo && url)
    log(
      [
        "demo running:",
        `  web page         ${url}/`,
        `  mail catcher     ${url}/demo/mail  (both catchers: ${url}/demo)`,
        `  webhook catcher  ${url}/demo/webhook`,
        `  data             ${dataDir}`,
        `  config           ${demo.configFile}`,
      ].join("\n"),
    );
  log("ready");
}
