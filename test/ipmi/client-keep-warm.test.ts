import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { getDeviceId, getSystemGuid } from "../../src/ipmi/commands/app.js";
import { commandKey } from "../../src/sim/handler.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

let sims: Awaited<ReturnType<typeof startSims>>;
let sim: BmcSimulator;

beforeAll(async () => {
  sims = await startSims();
  sim = sims.sim as BmcSimulator;
});
afterAll(() => sims.fleet.stop());

const served = (c: { netFn: number; cmd: number }) =>
  sim.server.commandCounts.get(commandKey(c.netFn, c.cmd)) ?? 0;

it("keeps the session alive while warm, then closes it; the next call opens a new one at once", async () => {
  await using client = new IpmiClient({
    host: sims.host,
    port: sims.port,
    username: "admin",
    password: SIM_PASSWORD,
    keepAliveMs: 20,
    keepWarmMs: 1000,
  });
  await client.execute(getSystemGuid, undefined);
  const pings = served(getDeviceId);
  // Idle but warm: keep-alives (Get Device ID) on the one session.
  await vi.waitFor(() => expect(served(getDeviceId)).toBeGreaterThan(pings + 1), {
    timeout: 5000,
    interval: 5,
  });
  expect(sim.counters()).toMatchObject({ sessionsActive: 1 });
  // Cold: Close Session, so the BMC's slot is free and no call waits out a session it dropped.
  await vi.waitFor(() => expect(sim.counters().sessionsActive).toBe(0), { timeout: 5000, interval: 5 });
  const opened = sim.counters().sessionsOpened;
  await client.execute(getSystemGuid, undefined);
  expect(client.stats()).toMatchObject({ sessionsOpened: 2, failures: 0 });
  expect(sim.counters().sessionsOpened).toBe(opened + 1);
});
