import { afterAll, beforeAll, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { SIM_PASSWORD } from "../support/sim.js";

let fleet: SimulatorFleet;
beforeAll(async () => {
  // 1,000 BMCs on consecutive loopback addresses 127.20.0.1 … 127.20.3.232, each on port 623.
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: "127.20.0.1:623",
      count: 1000,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    }),
  );
});
afterAll(() => fleet.stop());

it("holds 1,000 simulated BMCs in one process, each answering on its own address", async () => {
  expect(fleet.simulators).toHaveLength(1000);
  expect(fleet.simulators.at(-1)?.address).toEqual({ host: "127.20.3.232", port: 623 });
  for (const host of ["127.20.0.1", "127.20.1.244", "127.20.3.232"]) {
    await using c = new IpmiClient({
      host,
      username: "admin",
      password: SIM_PASSWORD,
      cipherSuite: 17,
      keepAliveMs: 0,
    });
    expect((await c.execute(getDeviceId, undefined)).productId).toBeGreaterThan(0);
  }
  expect(fleet.counters().sessionsOpened).toBe(3);
  // Each BMC has its own GUID, as real ones do.
  expect(new Set(fleet.simulators.map((s) => s.state.systemGuid.toString("hex"))).size).toBe(1000);
});
