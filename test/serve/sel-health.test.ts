import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { type Service, serve } from "../../src/serve/serve.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { freeTcpPort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { keyValues, SIM_PASSWORD, startSims, tableRows } from "../support/sim.js";

/*
 * SEL health through `petgate serve` (worker and HTTP roles) on a real Redis: one simulated BMC whose
 * 8-record SEL is full (and dropped an event) before petgate starts, sel.archive_and_clear on, the
 * archive in the data dir's sel-archive, notifications at a real webhook receiver.
 */

const CAPACITY = 8;
let redis: TestRedis;
let hook: HttpReceiver;
let sims: Awaited<ReturnType<typeof startSims>>;
let dataDir: string;
let service: Service;
let url: string;
const logs: string[] = [];
const ipmitool = (...args: string[]) => sims.ipmitool("17", ...args);
/** What ipmitool listed before petgate started: record IDs, in order. */
let listed: number[];

beforeAll(async () => {
  [redis, hook, sims] = await Promise.all([
    startRedis(),
    startHttpReceiver(),
    startSims({ selCapacity: CAPACITY }),
  ]);
  dataDir = mkdtempSync(join(tmpdir(), "petgate-sel-health-"));
  for (let i = 0; i <= CAPACITY; i++) await ipmitool("event", String((i % 3) + 1));
  listed = tableRows(await ipmitool("sel", "list")).map((r) => Number.parseInt(r[0] ?? "", 16));
  const port = await freeTcpPort();
  service = await serve({
    config: configSchema.parse({
      bmcs: [
        {
          name: "bmc-1",
          host: `${sims.host}:${sims.port}`,
          username: "admin",
          password: SIM_PASSWORD,
          insecureInlinePassword: true,
        },
      ],
      routes: { receiver: "hook", group_wait: "0s", group_interval: "1s" },
      receivers: [{ name: "hook", webhook: { url: hook.url } }],
      sel: { interval: "1s", full_percent: 80, archive_and_clear: true },
    }),
    roles: new Set(["worker", "http"]),
    dataDir,
    dataDirExplicit: true,
    redisUrl: redis.socket,
    http: { host: "127.0.0.1", port },
    log: (line) => logs.push(line),
  });
  url = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await service?.close();
  await sims?.fleet.stop();
  await hook?.close();
  await redis?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("SEL health through petgate serve", () => {
  it("a full SEL: 'events are being lost' fires and resolves, the SEL archived to the data dir and cleared, /api/bmcs and /metrics say so", async () => {
    const lost = () =>
      hook.notifications().filter((n) => n.summary === "bmc-1: SEL full: events are being lost");
    await waitFor("the SEL full alert and its resolution", () => lost().length === 2, 15_000);
    expect(lost().map((n) => [n.status, n.severity, n.origin])).toEqual([
      ["firing", "critical", "health"],
      ["resolved", "critical", "health"],
    ]);
    // Archived and cleared at once: the percent alert never fired.
    expect(hook.notifications().filter((n) => n.summary.includes("% full"))).toEqual([]);

    expect(keyValues(await ipmitool("sel", "info")).get("Entries")).toBe("0");
    const dir = join(dataDir, "sel-archive", "bmc-1");
    const [file, ...more] = readdirSync(dir);
    expect(more).toEqual([]);
    const archived = readFileSync(join(dir, file ?? ""), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).recordId);
    expect(archived).toEqual(listed);

    const sel = await waitFor("the SEL state published", async () => {
      const { bmcs } = (await (await fetch(`${url}/api/bmcs`)).json()) as {
        bmcs: { sel: Record<string, unknown> | null }[];
      };
      return bmcs[0]?.sel?.lastArchive ? bmcs[0].sel : undefined;
    });
    expect(sel).toMatchObject({
      entries: 0,
      freeBytes: CAPACITY * 16,
      percent: 0,
      overflow: false,
      archives: { cleared: 1, reservation_lost: 0, failed: 0 },
      lastArchive: { result: "cleared", records: CAPACITY, file: join(dir, file ?? "") },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('petgate_sel_archives_total{result="cleared"} 1');
    expect(metrics).toContain('petgate_sel_archives_total{result="failed"} 0');
    expect(logs).toContain(
      `sel: bmc-1: ${CAPACITY} record(s) archived to ${join(dir, file ?? "")}, SEL cleared`,
    );
  });
});
