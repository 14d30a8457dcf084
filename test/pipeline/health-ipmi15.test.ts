import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import { HealthMonitor, remedyCommand } from "../../src/pipeline/health/health.js";
import { startSims } from "../support/sim.js";

let sims: Awaited<ReturnType<typeof startSims>>;
let pool: BmcPool;
const logged: string[] = [];

beforeAll(async () => {
  sims = await startSims();
  pool = new BmcPool({ attemptTimeoutMs: 200, deadlineMs: 2000, keepAliveMs: 0, log: (l) => logged.push(l) });
});
afterAll(async () => {
  await pool.closeAll();
  await sims.fleet.stop();
});

const target = (name: string, ipmi: BmcTarget["ipmi"]): BmcTarget => ({
  ...sims.target,
  name,
  ...(ipmi && { ipmi }),
});

describe("HealthMonitor over IPMI 1.5 sessions", () => {
  it("probes a BMC entry with ipmi 1.5 through a 1.5 session and publishes which version each speaks", async () => {
    const old = target("old-1", "1.5");
    const modern = target("new-1", undefined);
    const monitor = new HealthMonitor({ inventory: [old, modern], pool, onNotification: () => undefined });
    const opened = sims.fleet.counters().sessionsOpened;
    const states = await monitor.probeAll();
    expect(states.map((s) => [s.name, s.state, s.ipmi]).sort()).toEqual([
      ["new-1", "ok", "2.0"],
      ["old-1", "ok", "1.5"],
    ]);
    expect(sims.fleet.counters().sessionsOpened).toBe(opened + 2);
    // A second round reuses both sessions; the 1.5 warning was logged once, for old-1 only.
    await monitor.probeAll();
    expect(sims.fleet.counters().sessionsOpened).toBe(opened + 2);
    expect(logged.filter((l) => /IPMI 1\.5 session/.test(l))).toEqual([
      expect.stringMatching(/^old-1: IPMI 1\.5 session: MD5 and straight-password auth codes are weak/),
    ]);
    expect(remedyCommand(old)).toBe(`petgate bmc reset-cold -H ${sims.host}:${sims.port} -U admin -I lan`);
  });
});
