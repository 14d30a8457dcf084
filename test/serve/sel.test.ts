import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../src/config/schema.js";
import { DEFAULT_PREFIX } from "../../src/pipeline/queues.js";
import { readProgress } from "../../src/pipeline/sel/store.js";
import { type Service, serve } from "../../src/serve/serve.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { freeUdpPort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { provisionPefWithIpmitool, SIM_PASSWORD, startSims } from "../support/sim.js";

/*
 * SEL reconciliation end to end: `petgate serve` (listener and workers) on a real Redis, one
 * simulated BMC driven by ipmitool, notifications at a real webhook receiver. The BMC's alert
 * destination is pointed at 127.0.0.2 (nobody listens there) for the PETs that are to be lost.
 */

let redis: TestRedis;
let hook: HttpReceiver;
let sims: Awaited<ReturnType<typeof startSims>>;
let client: Redis;
let dataDir: string;
let config: Config;
let service: Service | undefined;
const logs: string[] = [];

const ipmitool = (...args: string[]) => sims.ipmitool("17", ...args);
const alertTo = (ip: string) => ipmitool("lan", "alert", "set", "1", "1", "ipaddr", ip);
const start = async () => {
  service = await serve({
    config,
    roles: new Set(["listener", "worker"]),
    dataDir,
    dataDirExplicit: true,
    redisUrl: redis.socket,
    log: (line) => logs.push(line),
  });
};
const stop = async () => {
  await service?.close();
  service = undefined;
};
const progress = () => readProgress(client, DEFAULT_PREFIX, "bmc-1");
/** The sweeps have read the newest record and decided every record read (none waits for its PET). */
const settled = async () => {
  const newest = Number.parseInt(
    (await ipmitool("sel", "list", "last", "1")).split("|")[0]?.trim() ?? "",
    16,
  );
  return waitFor(
    `SEL record ${newest} read and decided`,
    async () => {
      const { progress: p, state } = await progress();
      return p?.cursor.recordId === newest && p.pending.length === 0 ? state : undefined;
    },
    15_000,
  );
};
const bySensorType = (type: string) => hook.notifications().filter((n) => n.event.sensorType === type);

beforeAll(async () => {
  const trapPort = await freeUdpPort();
  [redis, hook, sims] = await Promise.all([startRedis(), startHttpReceiver(), startSims({ trapPort })]);
  client = new Redis({ path: redis.socket });
  dataDir = mkdtempSync(join(tmpdir(), "petgate-sel-"));
  await provisionPefWithIpmitool(ipmitool);
  // Filter 2: memory, correctable ECC (sensor-specific, offset 0), as the config below provisions it.
  await ipmitool(
    ..."raw 0x04 0x12 0x06 0x02 0x80 0x01 0x01 0x08 0xff 0xff 0x0c 0xff 0x6f 0x01 0x00".split(" "),
    ...Array(9).fill("0x00"),
  );
  config = configSchema.parse({
    listener: { bind: `127.0.0.1:${trapPort}` },
    bmcs: [
      {
        name: "bmc-1",
        host: `${sims.host}:${sims.port}`,
        username: "admin",
        password: SIM_PASSWORD,
        insecureInlinePassword: true,
      },
    ],
    pef: {
      filters: [
        { sensorType: "any", trigger: 1, offsets: [0, 2, 4, 7, 9, 11], severity: "critical" },
        { sensorType: 0x0c, trigger: 0x6f, offsets: [0], severity: "non-critical" },
      ],
      destinations: [{ ip: "127.0.0.1" }],
    },
    routes: { receiver: "hook", group_wait: "0s", group_interval: "1s" },
    receivers: [{ name: "hook", webhook: { url: hook.url } }],
    sel: { interval: "1s", pet_grace: "1s" },
  });
  await start();
  // First contact: the SEL's newest record is remembered, nothing before it alerted.
  await waitFor("the first SEL read", async () => (await progress()).progress, 15_000);
}, 60_000);

afterAll(async () => {
  await stop();
  client?.disconnect();
  await sims?.fleet.stop();
  await hook?.close();
  await redis?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("SEL reconciliation through petgate serve", () => {
  it("alerts a record whose PET went elsewhere from the SEL, marked origin sel", async () => {
    await alertTo("127.0.0.2");
    await ipmitool("event", "1");
    const n = await waitFor("the SEL notification", () => bySensorType("Temperature")[0], 15_000);
    expect(n).toMatchObject({
      status: "firing",
      severity: "critical",
      origin: "sel",
      bmc: { name: "bmc-1" },
      event: { direction: "assertion", text: "Upper Critical - going high" },
    });
    expect(n.summary).toMatch(/^bmc-1: Temperature .*: Upper Critical - going high \(PET not received\)$/);
    expect(n.detail).toMatch(/PET not received: read from the SEL, record [0-9A-F]{4}h/);
    const state = await settled();
    expect(state.petsMissed).toBe(1);
    expect(bySensorType("Temperature")).toHaveLength(1);
  });

  it("does not alert again from the SEL a record whose PET arrived", async () => {
    await alertTo("127.0.0.1");
    await ipmitool("event", "2");
    const n = await waitFor("the PET's notification", () => bySensorType("Voltage")[0], 15_000);
    expect(n.origin).toBeUndefined();
    expect(n.summary).not.toContain("PET not received");
    const state = await settled();
    expect(state.petsMissed).toBe(1);
    expect(bySensorType("Voltage")).toHaveLength(1);
  });

  it("a record logged while petgate was stopped is alerted once after it starts again", async () => {
    await alertTo("127.0.0.2");
    await stop();
    await ipmitool("event", "3");
    await start();
    const n = await waitFor("the SEL notification", () => bySensorType("Memory")[0], 15_000);
    expect(n).toMatchObject({
      origin: "sel",
      severity: "non-critical",
      event: { text: "Correctable memory error" },
    });
    const state = await settled();
    expect(state.petsMissed).toBe(2);
    expect(bySensorType("Memory")).toHaveLength(1);
  });

  it("a PET that arrived before a restart is not alerted from the SEL after it", async () => {
    await alertTo("127.0.0.1");
    // Temperature sensor 31h, Upper Non-critical going high (Platform Event Message, IPMI 2.0 §29.3).
    await ipmitool(..."raw 0x04 0x02 0x04 0x01 0x31 0x01 0x07 0xff 0xff".split(" "));
    const n = await waitFor(
      "the PET's notification",
      () => bySensorType("Temperature").find((t) => t.event.text === "Upper Non-critical - going high"),
      15_000,
    );
    expect(n.origin).toBeUndefined();
    await stop();
    await start();
    const state = await settled();
    expect(state.petsMissed).toBe(2);
    expect(bySensorType("Temperature")).toHaveLength(2);
  });
});
