import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeSpecificTrap } from "../../src/pet/specific-trap.js";
import { decodePetVarbind, encodePetVarbind } from "../../src/pet/varbind.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import type { QueuedEvent } from "../../src/pipeline/intake/event.js";
import type { RecentEvent } from "../../src/pipeline/recent/recent.js";
import { type RedisChild, startRedisChild } from "../../src/serve/redis-child.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../pet/vectors.js";
import { PETGATE, petgate, petgateDaemon } from "../support/cli.js";
import { type HttpReceiver, petgateBodyOf, startHttpReceiver } from "../support/http-receiver.js";
import { netSnmp, petArgs, waitFor } from "../support/listener.js";
import { freeTcpPort, freeUdpPort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/*
 * `petgate serve` as an operator runs it (dist/, a config file, signals), on real parts: net-snmp's
 * snmptrap sends the PETs, a test redis-server (PETGATE_REDIS) or serve's own holds the queues, and
 * a node:http webhook receiver gets the notifications.
 */

/** General Chassis Intrusion asserted (sensor type 05h, sensor-specific 6Fh, offset 0). */
const INTRUSION = encodeSpecificTrap({
  sensorType: 5,
  eventReadingType: 0x6f,
  deassertion: false,
  offset: 0,
});

/** A PET from sensor `n` (sequence n): each n is its own event and its own alert. */
function petHex(n: number): string {
  const varbind = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
  return encodePetVarbind({ ...varbind, sensorNumber: n, sequence: n }).toString("hex");
}

async function sendPets(port: number, sensors: number[]): Promise<void> {
  const target = `udp:127.0.0.1:${port}`;
  await Promise.all(
    sensors.map((n) =>
      netSnmp("snmptrap", petArgs({ version: "1", community: "public" }, target, INTRUSION, petHex(n))),
    ),
  );
}

let redis: TestRedis;
const hooks: HttpReceiver[] = [];
const startHook = async (options?: Parameters<typeof startHttpReceiver>[0]) => {
  const hook = await startHttpReceiver(options);
  hooks.push(hook);
  return hook;
};
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "petgate-serve-"));
  dirs.push(dir);
  return dir;
};

/** A config whose one route sends every notification at once to `hook`. */
function configFile(url: string): string {
  const file = join(tempDir(), "petgate.yml");
  writeFileSync(
    file,
    [
      "listener:",
      "  communities: [public]",
      "routes:",
      "  receiver: hook",
      "  group_wait: 0s",
      // One group for everything: later alerts wait group_interval (Alertmanager's rule), so short.
      "  group_interval: 1s",
      "receivers:",
      "  - name: hook",
      "    webhook:",
      `      url: ${url}`,
      "      timeoutMs: 1000",
    ].join("\n"),
  );
  return file;
}

type Daemon = Awaited<ReturnType<typeof petgateDaemon>>;
const daemons: Daemon[] = [];

/** `petgate serve ARGS` until its "ready" line; its trap port and HTTP URL from the banner. */
async function serve(
  args: string[],
  env: NodeJS.ProcessEnv = { PETGATE_REDIS: redis.socket },
  options: { detached?: boolean } = {},
) {
  const d = await petgateDaemon(["serve", ...args], /petgate: ready\n/, env, options);
  daemons.push(d);
  const trapPort = Number(d.stderr().match(/udp 127\.0\.0\.1:(\d+)/)?.[1]);
  const http = d.stderr().match(/web page on (http:\/\/\S+?)\/\n/)?.[1];
  return { ...d, trapPort, http };
}

async function withRedis<T>(use: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ path: redis.socket });
  try {
    return await use(r);
  } finally {
    r.disconnect();
  }
}

/** The notifications of the requests from the `from`th on (petgate/2 bodies carry a group of them). */
const bodies = (hook: HttpReceiver, from = 0): Notification[] =>
  hook.requests.slice(from).flatMap((r) => petgateBodyOf(r)?.notifications ?? []);

/** Jobs of the pipeline's queues that are waiting, active or delayed (BullMQ's keys under "petgate:"). */
const unfinishedJobs = () =>
  withRedis(async (r) => {
    let n = 0;
    for (const queue of ["ingest", "events", "deliver"])
      n +=
        (await r.llen(`petgate:${queue}:wait`)) +
        (await r.llen(`petgate:${queue}:active`)) +
        (await r.zcard(`petgate:${queue}:delayed`));
    return n;
  });

/** Waits until nothing is left to do, so that a duplicate would have been sent by now. */
async function drained(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await unfinishedJobs()) > 0) {
    if (Date.now() > deadline) throw new Error("the queues did not drain");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const signalled = async (d: Daemon, signal: NodeJS.Signals = "SIGTERM") => {
  d.child.kill(signal);
  return d.exited;
};

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const d of daemons.splice(0)) if (d.child.exitCode === null) d.child.kill("SIGKILL");
  await Promise.all(hooks.splice(0).map((h) => h.close()));
  await withRedis((r) => r.flushall());
});
afterAll(async () => {
  await redis?.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("petgate serve", () => {
  it("runs listener, workers and HTTP in one process: a PET reaches the webhook; SIGTERM exits 0", async () => {
    const hook = await startHook();
    const s = await serve([
      ...["--config", configFile(hook.url), "--listen", "127.0.0.1:0"],
      ...["--http", "127.0.0.1:0", "--data-dir", tempDir()],
    ]);
    expect(s.stderr()).toContain("roles listener, worker, http");
    await sendPets(s.trapPort, [7]);
    await waitFor("the webhook", () => hook.requests.length >= 1 || undefined, 15_000);
    expect(bodies(hook)[0]).toMatchObject({ status: "firing", event: { sensorNumber: 7 } });
    expect((await fetch(`${s.http}/readyz`)).status).toBe(200);
    expect(await signalled(s)).toBe(0);
    expect(s.stderr()).toContain("petgate: stopped");
  });

  it("splits into listener, worker and http processes on one Redis: a PET is delivered; each is ready; the http process keeps the history across a restart", async () => {
    const hook = await startHook();
    const config = ["--config", configFile(hook.url), "--http", "127.0.0.1:0"];
    const httpArgs = [...config, "--role", "http", "--data-dir", tempDir()];
    const [listener, worker, http] = await Promise.all([
      serve([...config, "--role", "listener", "--listen", "127.0.0.1:0", "--data-dir", tempDir()]),
      serve([...config, "--role", "worker"]),
      serve(httpArgs),
    ]);
    expect([listener, worker, http].map((d) => d.stderr().match(/roles ([a-z, ]+);/)?.[1])).toEqual([
      "listener",
      "worker",
      "http",
    ]);
    await sendPets(listener.trapPort, [11]);
    await waitFor("the webhook", () => hook.requests.length >= 1 || undefined, 15_000);
    expect(bodies(hook)[0]).toMatchObject({ status: "firing", event: { sensorNumber: 11 } });
    for (const d of [listener, worker, http]) expect((await fetch(`${d.http}/readyz`)).status).toBe(200);
    // The http process shows what the worker process recorded, and its delivery.
    const recent = await waitFor(
      "the event delivered on /api/events",
      async () => {
        const r = await fetch(`${http.http}/api/events`);
        const { events } = (await r.json()) as { events: RecentEvent[] };
        return events.find((e) => e.deliveries.hook?.status === "delivered");
      },
      10_000,
    );
    expect(recent.sensor).toMatch(/#11\b/);
    // The history the http process keeps from the worker's feed: the event and its delivery.
    type History = { events: (RecentEvent & { labels: Record<string, string> })[] };
    const kept = (url: string | undefined) =>
      waitFor(
        "the event delivered in /api/history",
        async () => {
          const { events } = (await (
            await fetch(`${url}/api/history?q=${encodeURIComponent(recent.sensor ?? "")}`)
          ).json()) as History;
          return events.find((e) => e.id === recent.id && e.deliveries.hook?.status === "delivered");
        },
        10_000,
      );
    expect((await kept(http.http)).labels).toMatchObject({ status: "firing", sensor_number: "11" });
    expect(await signalled(http)).toBe(0);
    const again = await serve(httpArgs);
    expect((await kept(again.http)).notification).toBe(recent.notification);
    expect(await Promise.all([listener, worker, again].map((d) => signalled(d)))).toEqual([0, 0, 0]);
  });

  it("on SIGTERM with PETs in flight finishes or hands back every job; the next serve delivers the rest, each once", async () => {
    // The first delivery hangs until the sink's 1 s timeout: a job in flight when the signal comes.
    const hook = await startHook({ script: ["hang"] });
    const args = [
      ...["--config", configFile(hook.url), "--listen", "127.0.0.1:0"],
      ...["--http", "127.0.0.1:0", "--data-dir", tempDir()],
    ];
    const first = await serve(args);
    const sensors = Array.from({ length: 20 }, (_, i) => 20 + i);
    await sendPets(first.trapPort, sensors);
    await waitFor("a delivery in flight", () => hook.requests.length >= 1 || undefined, 15_000);
    expect(await signalled(first)).toBe(0);
    // Nothing left active (a killed worker's jobs would stay active until BullMQ's stalled check).
    const active = await withRedis((r) =>
      Promise.all(["ingest", "events", "deliver"].map((q) => r.llen(`petgate:${q}:active`))),
    );
    expect(active).toEqual([0, 0, 0]);

    const second = await serve(args);
    await waitFor("every PET delivered", () => bodies(hook, 1).length >= sensors.length || undefined, 20_000);
    await drained();
    // The hung request's notification was sent again; nothing else was sent twice.
    const answered = bodies(hook, 1).map((n) => n.event.sensorNumber);
    expect(answered.sort((a, b) => a - b)).toEqual(sensors);
    expect(await signalled(second)).toBe(0);
  });

  it("--demo: the simulated BMCs' events reach the page's API and the mail catcher within a minute", async () => {
    const dataDir = tempDir();
    // Not the demo's default addresses (127.77.0.x), which a running `npm start` may hold.
    const bmcs = `127.79.0.1:${await freeUdpPort("127.79.0.1")}`;
    const listen = `127.0.0.1:${await freeUdpPort()}`;
    const s = await serve(
      ["--demo", "--data-dir", dataDir, "--listen", listen, "--http", "127.0.0.1:0", "--demo-bmcs", bmcs],
      { PETGATE_REDIS: undefined, PETGATE_CONFIG: undefined },
    );
    expect(s.stderr()).toContain(`web page         ${s.http}/\n`);
    expect(s.stderr()).toContain(`mail catcher     ${s.http}/demo/mail`);
    expect(s.stderr()).toContain(`config           ${join(dataDir, "petgate.demo.yml")}\n`);
    expect((await fetch(`${s.http}/`)).headers.get("content-type")).toContain("text/html");
    const getJson = async <T>(path: string) => (await (await fetch(`${s.http}${path}`)).json()) as T;
    const event = await waitFor(
      "a demo event on /api/events",
      async () => (await getJson<{ events: RecentEvent[] }>("/api/events")).events[0],
      60_000,
    );
    expect(event.bmc).toMatch(/^demo-bmc-\d\d$/);
    const mail = await waitFor(
      "a mail in the catcher",
      async () => (await getJson<{ messages: { subject: string }[] }>("/demo/mail")).messages[0],
      60_000,
    );
    expect(mail.subject).toContain("demo-bmc-");
    expect(await signalled(s)).toBe(0);
  }, 120_000);

  it("with no Redis configured runs its own under the data dir (AOF on); Ctrl-C stops it last", async () => {
    // The first delivery hangs until the sink's 1 s timeout: the worker still needs Redis after the signal.
    const hook = await startHook({ script: ["hang"] });
    const dataDir = tempDir();
    const s = await serve(
      [
        ...["--config", configFile(hook.url), "--listen", "127.0.0.1:0"],
        ...["--http", "127.0.0.1:0", "--data-dir", dataDir],
      ],
      { PETGATE_REDIS: undefined },
      { detached: true },
    );
    const socket = join(dataDir, "redis", "redis.sock");
    expect(s.stderr()).toContain(`Redis: embedded redis-server, socket ${socket}`);
    await sendPets(s.trapPort, [3]);
    await waitFor("the webhook", () => hook.requests.length >= 1 || undefined, 15_000);
    expect(readdirSync(join(dataDir, "redis", "appendonlydir")).some((f) => f.endsWith(".incr.aof"))).toBe(
      true,
    );
    // As a terminal's Ctrl-C: SIGINT to the whole process group. Redis must not stop before petgate is done with it.
    process.kill(-(s.child.pid as number), "SIGINT");
    expect(await s.exited).toBe(0);
    // The retry was delivered and recorded before Redis went.
    expect(hook.requests).toHaveLength(2);
    const stopping = s.stderr().slice(s.stderr().indexOf("stopping"));
    expect(stopping).not.toMatch(/Redis unreachable|could not|lost|not enqueued|redis-server exited/);
    // redis-server removes its socket when it shuts down.
    expect(existsSync(socket)).toBe(false);
  });

  it("a second signal during the shutdown forces exit 1", async () => {
    // The delivery hangs until the sink's 1 s timeout, so the graceful stop takes that long at least.
    const hook = await startHook({ script: ["hang"] });
    const s = await serve([
      ...["--config", configFile(hook.url), "--listen", "127.0.0.1:0"],
      ...["--http", "127.0.0.1:0", "--data-dir", tempDir()],
    ]);
    await sendPets(s.trapPort, [9]);
    await waitFor("a delivery in flight", () => hook.requests.length >= 1 || undefined, 15_000);
    s.child.kill("SIGTERM");
    await waitFor("the shutdown", () => s.stderr().includes("stopping") || undefined);
    expect(await signalled(s)).toBe(1);
    expect(s.stderr()).toContain("SIGTERM again: exiting without finishing the shutdown");
    expect(s.stderr()).not.toContain("petgate: stopped");
  });

  it("refuses a second listener on a data dir in use, naming the process that holds it", async () => {
    const args = ["serve", "--config", configFile("http://127.0.0.1:9/hook"), "--role", "listener"];
    const dataDir = tempDir();
    const first = await serve([...args.slice(1), "--listen", "127.0.0.1:0", "--data-dir", dataDir]);
    const second = await petgate([...args, "--listen", "127.0.0.1:0", "--data-dir", dataDir], "", {
      PETGATE_REDIS: redis.socket,
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`data dir ${dataDir} is in use by petgate process ${first.child.pid}`);
  });

  it("refuses a split role with no Redis configured, saying how to give one", async () => {
    const r = await petgate(
      ["serve", "--config", configFile("http://127.0.0.1:9/hook"), "--role", "worker"],
      "",
      { PETGATE_REDIS: undefined },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no Redis configured for --role worker");
    expect(r.stderr).toContain("PETGATE_REDIS");
  });

  it("without a config file names the file it looked for and suggests --demo", async () => {
    const cwd = tempDir();
    const r = spawnSync(process.execPath, [PETGATE, "serve"], {
      cwd,
      env: { ...process.env, PETGATE_CONFIG: undefined },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(cwd, "petgate.yml"));
    expect(r.stderr).toContain("petgate serve --demo");
  });
});

/** The sensor numbers of the PETs in a data dir's spool, in spool order. */
function spooledSensors(dataDir: string): number[] {
  const file = join(dataDir, "spool.ndjson");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const { trap } = JSON.parse(line) as QueuedEvent;
      return trap.kind === "pet" ? trap.pet.sensorNumber : -1;
    });
}

/** The pids of the processes whose command line names `socket` (an embedded redis-server's). */
function redisServersOn(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    let command = "";
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue; // it exited meanwhile
    }
    // Its arguments until redis-server sets its process title, "redis-server unixsocket:PATH", after.
    if (command.split("\0").some((arg) => arg === socket || arg.endsWith(`unixsocket:${socket}`)))
      pids.push(Number(entry));
  }
  return pids;
}

/** `petgate serve ARGS` until it says it waits for Redis; its trap port from the log. */
async function serveWaiting(args: string[], env: NodeJS.ProcessEnv) {
  const d = await petgateDaemon(["serve", ...args], /petgate: waiting for Redis at .*\n/, env);
  daemons.push(d);
  const trapPort = Number(d.stderr().match(/listening for SNMP traps on udp 127\.0\.0\.1:(\d+)/)?.[1]);
  return { ...d, trapPort };
}

describe("petgate serve start-up without Redis", () => {
  it("binds the listener, spools PETs, says which Redis it waits for, and stops at SIGTERM with exit 0", async () => {
    const dataDir = tempDir();
    const missing = join(tempDir(), "redis.sock"); // nothing listens there
    const s = await serveWaiting(
      [
        ...["--config", configFile("http://127.0.0.1:9/hook"), "--listen", "127.0.0.1:0"],
        ...["--http", "127.0.0.1:0", "--data-dir", dataDir],
      ],
      { PETGATE_REDIS: missing },
    );
    expect(s.match[0]).toContain(`waiting for Redis at ${missing} (`);
    await sendPets(s.trapPort, [1, 2, 3]);
    await waitFor("three PETs spooled", () => spooledSensors(dataDir).length >= 3 || undefined, 15_000);
    expect(await signalled(s)).toBe(0);
    expect(s.stderr()).toContain("petgate: stopped during start-up");
    expect(spooledSensors(dataDir).sort()).toEqual([1, 2, 3]);
    expect(existsSync(join(dataDir, "petgate.lock"))).toBe(false);
  });

  it("SIGTERM while its embedded redis-server starts: exit 0, that Redis stopped, the data dir released", async () => {
    const dataDir = tempDir();
    const socket = join(dataDir, "redis", "redis.sock");
    const child = spawn(
      process.execPath,
      [
        PETGATE,
        "serve",
        ...["--config", configFile("http://127.0.0.1:9/hook"), "--listen", "127.0.0.1:0"],
        ...["--http", "127.0.0.1:0", "--data-dir", dataDir],
      ],
      { env: { ...process.env, PETGATE_REDIS: undefined }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once("close", r));
    try {
      // Start-up (modules, MIBs, the data dir) before redis-server is spawned takes seconds on a loaded machine.
      await waitFor("its redis-server", () => redisServersOn(socket).length > 0 || undefined, 60_000);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    // A signal that came once start-up was done stops it as well: either way the same end.
    expect(stderr).toMatch(/petgate: stopped( during start-up)?\n$/);
    expect(redisServersOn(socket)).toEqual([]);
    expect(existsSync(join(dataDir, "petgate.lock"))).toBe(false);
  }, 120_000);

  it("a worker waiting for a Redis URL shows it without its password, and SIGTERM stops it", async () => {
    const url = `redis://:hunter2@127.0.0.1:${await freeTcpPort()}`;
    const s = await serveWaiting(["--config", configFile("http://127.0.0.1:9/hook"), "--role", "worker"], {
      PETGATE_REDIS: url,
    });
    expect(s.match[0]).toContain(`waiting for Redis at ${url.replace("hunter2", "***")} (`);
    expect(await signalled(s)).toBe(0);
    expect(s.stderr()).not.toContain("hunter2");
  });

  it("when Redis comes up later, starts the workers and HTTP and delivers what it spooled", async () => {
    const hook = await startHook();
    const redisDir = tempDir();
    const dataDir = tempDir();
    // Where startRedisChild will put its socket once started.
    const s = await serveWaiting(
      [
        ...["--config", configFile(hook.url), "--listen", "127.0.0.1:0"],
        ...["--http", "127.0.0.1:0", "--data-dir", dataDir],
      ],
      { PETGATE_REDIS: join(redisDir, "redis", "redis.sock") },
    );
    await sendPets(s.trapPort, [4, 5]);
    await waitFor("two PETs spooled", () => spooledSensors(dataDir).length >= 2 || undefined, 15_000);
    let later: RedisChild | undefined = await startRedisChild({ dataDir: redisDir, log: () => undefined });
    try {
      await waitFor("ready", () => s.stderr().includes("petgate: ready\n") || undefined, 15_000);
      await waitFor("both PETs delivered", () => hook.notifications().length >= 2 || undefined, 15_000);
      expect(
        bodies(hook)
          .map((n) => n.event.sensorNumber)
          .sort(),
      ).toEqual([4, 5]);
      expect(await signalled(s)).toBe(0);
      expect(s.stderr()).toContain("petgate: stopped\n");
    } finally {
      await later?.stop();
      later = undefined;
    }
  });
});

/** `unshare`, which gives a test a network namespace of its own (root only). */
const UNSHARE = ["/usr/bin/unshare", "/bin/unshare"].find((f) => existsSync(f));
const NO_NETNS =
  UNSHARE === undefined
    ? "no unshare(1)"
    : process.geteuid?.() !== 0
      ? "unshare --net needs root"
      : undefined;

describe.skipIf(NO_NETNS !== undefined)(
  `petgate serve exposure warning${NO_NETNS ? ` (skipped: ${NO_NETNS})` : ""}`,
  () => {
    /**
     * `petgate serve --role listener` bound to 0.0.0.0 inside a network namespace of its own, whose
     * only interface is a loopback that is down: a wildcard listener reachable from no host address.
     * Its log once ready, after SIGTERM.
     */
    async function listenerInNetns(config: string): Promise<string> {
      const command = ["serve", "--config", config, "--role", "listener", "--listen", "0.0.0.0:1162"];
      const child = spawn(
        UNSHARE as string,
        // Its Redis is a unix socket, which a network namespace does not separate.
        ["--net", process.execPath, PETGATE, ...command, "--data-dir", tempDir()],
        { env: { ...process.env, PETGATE_REDIS: redis.socket }, stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.once("close", r));
      try {
        await waitFor("ready", () => stderr.includes("petgate: ready\n") || undefined, 30_000);
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      } finally {
        child.kill("SIGKILL");
      }
      return stderr;
    }

    const warning =
      'petgate: warning: the trap listener on 0.0.0.0:1162 accepts any source with community "public": ' +
      "set listener.allowSources to the BMCs' network (and a community of your own)\n";

    it("a listener on every address that takes community public from anyone: a warning at start-up", async () => {
      const stderr = await listenerInNetns(configFile("http://127.0.0.1:9/hook"));
      expect(stderr).toContain("petgate: listening for SNMP traps on udp 0.0.0.0:1162\n");
      expect(stderr).toContain(warning);
    });

    it("the same listener with listener.allowSources set: no warning", async () => {
      const config = configFile("http://127.0.0.1:9/hook");
      writeFileSync(
        config,
        readFileSync(config, "utf8").replace(
          "  communities: [public]",
          "  communities: [public]\n  allowSources: [192.0.2.0/24]",
        ),
      );
      const stderr = await listenerInNetns(config);
      expect(stderr).toContain("petgate: listening for SNMP traps on udp 0.0.0.0:1162\n");
      expect(stderr).not.toContain("warning");
    });
  },
);

describe("petgate serve data dir", () => {
  /** Every path under `dir` (itself included) whose mode lets group or other users in, with that mode. */
  function readableByOthers(dir: string): string[] {
    const found: string[] = [];
    const walk = (path: string) => {
      const { mode } = lstatSync(path);
      if ((mode & 0o077) !== 0) found.push(`${path} ${(mode & 0o777).toString(8)}`);
      if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
    };
    walk(dir);
    return found;
  }

  it("makes its data dir, spool, lock and embedded Redis files private whatever the umask", async () => {
    const dataDir = join(tempDir(), "data");
    const umask = process.umask(0);
    let s: Awaited<ReturnType<typeof serve>>;
    try {
      s = await serve(
        [
          ...["--config", configFile("http://127.0.0.1:9/hook"), "--listen", "127.0.0.1:0"],
          ...["--http", "127.0.0.1:0", "--data-dir", dataDir],
        ],
        { PETGATE_REDIS: undefined },
      );
    } finally {
      process.umask(umask);
    }
    for (const f of ["spool.ndjson", "petgate.lock", "redis/redis.sock", "redis/appendonlydir"])
      expect(existsSync(join(dataDir, f)), f).toBe(true);
    expect(lstatSync(join(dataDir, "spool.ndjson")).mode & 0o777).toBe(0o600);
    expect(readableByOthers(dataDir)).toEqual([]);
    expect(await signalled(s)).toBe(0);
  });

  it("makes an earlier petgate's data dir that others can read private, and says so", async () => {
    const dataDir = tempDir();
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "spool.ndjson"), "", { mode: 0o644 });
    chmodSync(join(dataDir, "spool.ndjson"), 0o644);
    const s = await serve([
      ...["--config", configFile("http://127.0.0.1:9/hook"), "--role", "listener"],
      ...["--listen", "127.0.0.1:0", "--data-dir", dataDir],
    ]);
    expect(s.stderr()).toContain(`data dir ${dataDir} was readable by other users (mode 0755)`);
    expect(readableByOthers(dataDir)).toEqual([]);
    expect(await signalled(s)).toBe(0);
  });

  it("refuses a directory other users can read that is not a petgate data dir, in one line", async () => {
    const dataDir = tempDir();
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "notes.txt"), "");
    const r = await startFails(dataDir);
    expect(r.stderr).toBe(
      `petgate: data dir ${dataDir}: other users can read it (mode 0755): chmod 700 it, or give another --data-dir\n`,
    );
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o755);
  });

  /** `petgate serve --role listener` on `dataDir`: exits 1. */
  async function startFails(dataDir: string) {
    const r = await petgate(
      [
        "serve",
        ...["--config", configFile("http://127.0.0.1:9/hook"), "--role", "listener"],
        ...["--listen", "127.0.0.1:0", "--data-dir", dataDir],
      ],
      "",
      { PETGATE_REDIS: redis.socket },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return r;
  }

  it("a data dir that is a file, or below a file: one line naming it and the cause, exit 1", async () => {
    const file = join(tempDir(), "data");
    writeFileSync(file, "");
    expect((await startFails(file)).stderr).toBe(`petgate: data dir ${file}: not a directory\n`);
    const below = join(file, "sub");
    expect((await startFails(below)).stderr).toBe(
      `petgate: data dir ${below}: a part of the path is not a directory\n`,
    );
  });

  it("any other file it cannot use (the embedded Redis's dir is a file): one line, exit 1", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "redis"), "");
    const r = await petgate(
      ["serve", "--config", configFile("http://127.0.0.1:9/hook"), "--data-dir", dataDir],
      "",
      { PETGATE_REDIS: undefined },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`petgate serve: EEXIST: file already exists, mkdir '${join(dataDir, "redis")}'\n`);
  });

  // The tests run as root, whom file modes do not stop: sysfs refuses new entries to everyone
  // (EACCES or EPERM; EROFS in a container, where /sys is mounted read-only).
  it("a data dir or spool where nothing may be written: one line naming it and the cause, exit 1", async () => {
    const refused = "(permission denied|operation not permitted|read-only file system)";
    const dir = `/sys/petgate-test-${process.pid}`;
    expect((await startFails(dir)).stderr).toMatch(new RegExp(`^petgate: data dir ${dir}: ${refused}\n$`));
    const dataDir = tempDir();
    const spool = join(dataDir, "spool.ndjson");
    symlinkSync(`/sys/petgate-spool-${process.pid}`, spool);
    expect((await startFails(dataDir)).stderr).toMatch(new RegExp(`^petgate: spool ${spool}: ${refused}\n$`));
    // A spool that is a directory.
    const other = tempDir();
    mkdirSync(join(other, "spool.ndjson"));
    expect((await startFails(other)).stderr).toBe(
      `petgate: spool ${join(other, "spool.ndjson")}: is a directory\n`,
    );
  });
});
