import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { readFrus } from "../../src/pipeline/fru/store.js";
import { DEFAULT_PREFIX } from "../../src/pipeline/queues.js";
import { type Service, serve } from "../../src/serve/serve.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { lanplus } from "../support/login.js";
import { freeTcpPort, freeUdpPort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { provisionPefWithIpmitool } from "../support/sim.js";
import { parseMessage, startSmtp, type TestSmtp } from "../support/smtp.js";

/*
 * FRU identity through `petgate serve` (listener, worker, HTTP) on a real Redis: a simulated BMC
 * whose FRU names its product in markup; the first health probe reads the FRU, and a PET that ipmitool
 * injects reaches the webhook and the mail with bmc.fru, /api/bmcs shows it, escaped where shown.
 */

const run = promisify(execFile);
const PASSWORD = "fru-Serve-1";
const PRODUCT = `R740 <img src=x onerror=alert(1)> & "co"`;

let redis: TestRedis;
let hook: HttpReceiver;
let smtp: TestSmtp;
let fleet: SimulatorFleet;
let simPort: number;
let dataDir: string;
let service: Service;
let url: string;
let client: Redis;

const ipmitool = async (...args: string[]) =>
  (await run("ipmitool", [...lanplus({ port: simPort, password: PASSWORD, suite: "17" }), ...args])).stdout;

beforeAll(async () => {
  const trapPort = await freeUdpPort();
  simPort = await freeUdpPort();
  [redis, hook, smtp] = await Promise.all([startRedis(), startHttpReceiver(), startSmtp()]);
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `127.0.0.1:${simPort}`,
      trapPort,
      users: [{ name: "admin", password: PASSWORD }],
      fru: { productName: PRODUCT, productSerial: "SN-7734", assetTag: "IT-0042" },
    }),
  );
  await provisionPefWithIpmitool(ipmitool);
  client = new Redis({ path: redis.socket });
  dataDir = mkdtempSync(join(tmpdir(), "petgate-fru-"));
  const port = await freeTcpPort();
  service = await serve({
    config: configSchema.parse({
      listener: { bind: `127.0.0.1:${trapPort}` },
      bmcs: [
        {
          name: "bmc-1",
          host: `127.0.0.1:${simPort}`,
          username: "admin",
          password: PASSWORD,
          insecureInlinePassword: true,
        },
      ],
      pef: {
        filters: [{ sensorType: "any", trigger: 1, offsets: [0, 2, 4, 7, 9, 11], severity: "critical" }],
        destinations: [{ ip: "127.0.0.1" }],
      },
      routes: {
        receiver: "hook",
        group_wait: "0s",
        group_interval: "1s",
        routes: [{ receiver: "mail", continue: true }, { receiver: "hook" }],
      },
      receivers: [
        { name: "hook", webhook: { url: hook.url } },
        {
          name: "mail",
          email: { host: "127.0.0.1", port: smtp.port, from: "p@example.test", to: ["o@example.test"] },
        },
      ],
    }),
    roles: new Set(["listener", "worker", "http"]),
    dataDir,
    dataDirExplicit: true,
    redisUrl: redis.socket,
    http: { host: "127.0.0.1", port },
    log: () => undefined,
  });
  url = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await service?.close();
  client?.disconnect();
  await fleet?.stop();
  await Promise.all([hook?.close(), smtp?.close()]);
  await redis?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("FRU identity through petgate serve", () => {
  it("reads the FRU at first contact and puts it on every notification, the mail and /api/bmcs", async () => {
    const cached = await waitFor(
      "the FRU read at first contact",
      async () => (await readFrus(client, DEFAULT_PREFIX)).get("bmc-1"),
      20_000,
    );
    expect(cached.fru).toMatchObject({ productName: PRODUCT, productSerial: "SN-7734", assetTag: "IT-0042" });

    await ipmitool("event", "1");
    const n = await waitFor("the PET's notification", () => hook.notifications()[0], 20_000);
    expect(n.bmc).toMatchObject({ name: "bmc-1", fru: cached.fru });

    const mail = await waitFor("the mail", () => smtp.messages[0], 20_000);
    const { parts } = await parseMessage(mail.raw);
    const text = parts.find((p) => p.contentType === "text/plain")?.body ?? "";
    const html = parts.find((p) => p.contentType === "text/html")?.body ?? "";
    expect(text).toMatch(
      /^Identity\n {2}Serial: +SN-7734\n {2}Product: +petgate R740 <img src=x onerror=alert\(1\)> & "co"\n/m,
    );
    expect(text).toMatch(/ {2}Asset tag: +IT-0042\n/);
    expect(html).toContain("petgate R740 &#60;img src=x onerror=alert(1)&#62; &#38; &#34;co&#34;");
    expect(html).not.toContain("<img");

    const { bmcs } = (await (await fetch(`${url}/api/bmcs`)).json()) as {
      bmcs: { name: string; fru: Record<string, string> | null }[];
    };
    expect(bmcs[0]?.fru).toEqual({ ...cached.fru, readAt: cached.readAt });
  });
});
