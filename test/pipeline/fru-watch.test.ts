import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import { readFrus } from "../../src/pipeline/fru/store.js";
import { FruWatcher } from "../../src/pipeline/fru/watch.js";
import { simFruBytes, simFruSchema } from "../../src/sim/fru.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { startSims } from "../support/sim.js";

let sims: Awaited<ReturnType<typeof startSims>>;
let redis: TestRedis;
let client: Redis;
let pool: BmcPool;
let target: BmcTarget;

beforeAll(async () => {
  [sims, redis] = await Promise.all([startSims(), startRedis()]);
  client = new Redis({ path: redis.socket });
  target = sims.target;
  pool = new BmcPool({ attemptTimeoutMs: 200, deadlineMs: 2000, keepAliveMs: 0 });
});
afterAll(async () => {
  await pool.closeAll();
  client?.disconnect();
  await sims.fleet.stop();
  await redis?.dispose();
});

const DAY_MS = 86_400_000;

describe("FruWatcher", () => {
  it("reads at first contact, checks the layout on recovery, re-reads when it changed or is a day old", async () => {
    const sim = sims.sim as BmcSimulator;
    let later = 0;
    const logs: string[] = [];
    const watcher = new FruWatcher({
      pool,
      redis: client,
      prefix: "fru-test",
      deadlineMs: 2000,
      log: (l) => logs.push(l),
      now: () => Date.now() + later,
    });
    const requests = () => sim.counters().requests;
    const cached = async () => (await readFrus(client, "fru-test", ["bmc-1"])).get("bmc-1");

    // A session first, so that what is counted below is FRU requests only.
    await pool.get(target).execute(getDeviceId, undefined);
    let before = requests();
    await watcher.observe(target, false);
    expect((await cached())?.fru).toMatchObject({ productSerial: "SIMP1", assetTag: "ASSET1" });
    // Info, header, chassis (24 bytes: one read), board and product (56 bytes: 24 + 24 + 8 each).
    expect(requests() - before).toBe(9);
    const firstRead = (await cached())?.readAt;

    before = requests();
    await watcher.observe(target, false);
    expect(requests() - before).toBe(0);

    // A recovery with the same FRU: two requests, nothing rewritten.
    before = requests();
    await watcher.observe(target, true);
    expect(requests() - before).toBe(2);
    expect((await cached())?.readAt).toBe(firstRead);

    // A replaced board with a longer product area: the header differs, so it is read again.
    sim.state.fru = simFruBytes(
      simFruSchema.parse({ productName: "a much longer product name than before" }),
      1,
    );
    await watcher.observe(target, true);
    expect((await cached())?.fru.productName).toBe("a much longer product name than before");

    // The same layout, another asset tag: found by the daily read.
    sim.state.fru = simFruBytes(
      simFruSchema.parse({ productName: "a much longer product name than before", assetTag: "ASSET9" }),
      1,
    );
    later = DAY_MS;
    await watcher.observe(target, false);
    expect((await cached())?.fru.assetTag).toBe("ASSET9");
    expect(logs).toEqual([
      "fru: bmc-1: identity changed (serial SIMP1)",
      "fru: bmc-1: identity changed (serial SIMP1)",
    ]);
  });
});
