import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import { HealthMonitor } from "../../src/pipeline/health/health.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { startSims } from "../support/sim.js";

let sims: Awaited<ReturnType<typeof startSims>>;
let pool: BmcPool;
let target: BmcTarget;

beforeAll(async () => {
  sims = await startSims();
  target = sims.target;
  pool = new BmcPool({ attemptTimeoutMs: 200, deadlineMs: 2000, keepAliveMs: 0 });
});
afterAll(async () => {
  await pool.closeAll();
  await sims.fleet.stop();
});

const HOUR_MS = 3_600_000;

describe("HealthMonitor: the SEL clock's skew", () => {
  it("publishes clockSkewSeconds of a BMC set off by an hour, measured at most once an hour", async () => {
    const sim = sims.sim as BmcSimulator;
    const now = () => Math.round(Date.now() / 1000);
    let later = 0;
    const monitor = new HealthMonitor({
      inventory: [target],
      pool,
      onNotification: () => undefined,
      now: () => Date.now() + later,
    });
    try {
      sim.state.setSelTime(now() + 3600);
      const [first] = await monitor.probeAll();
      expect(first?.state).toBe("ok");
      expect(first?.clockSkewSeconds).toBeGreaterThanOrEqual(3598);
      expect(first?.clockSkewSeconds).toBeLessThanOrEqual(3602);
      expect(first?.clockSkewAt).toMatch(/^\d{4}-\d\d-\d\dT/);

      // Within the hour the skew is not read again, whatever the BMC's clock does.
      sim.state.setSelTime(now() - 3600);
      const [second] = await monitor.probeAll();
      expect(second?.clockSkewSeconds).toBe(first?.clockSkewSeconds);
      expect(second?.clockSkewAt).toBe(first?.clockSkewAt);

      // An hour later (on the monitor's clock) it is: BMC an hour behind real time, two behind the monitor's.
      later = HOUR_MS;
      const [third] = await monitor.probeAll();
      expect(third?.clockSkewSeconds).toBeGreaterThanOrEqual(-7202);
      expect(third?.clockSkewSeconds).toBeLessThanOrEqual(-7198);
    } finally {
      await monitor.stop();
    }
  });
});
