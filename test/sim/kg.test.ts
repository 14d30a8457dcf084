import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { lanplus } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { SIM_PASSWORD } from "../support/sim.js";

const run = promisify(execFile);
const KG = "0123456789abcdef0123456789abcdef01234567";
let fleet: SimulatorFleet;
let port: number;

beforeAll(async () => {
  port = await freeUdpPort();
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `127.0.0.1:${port}`,
      kg: KG,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    }),
  );
});
afterAll(() => fleet.stop());

const client = (kg?: Buffer) =>
  new IpmiClient({
    host: "127.0.0.1",
    port,
    username: "admin",
    password: SIM_PASSWORD,
    cipherSuite: 17,
    keepAliveMs: 0,
    ...(kg && { kg }),
  });

it("two-key login: the BMC key K_g keys the SIK for petgate and for ipmitool -y (IPMI 2.0 §13.31)", async () => {
  await using right = client(Buffer.from(KG, "hex"));
  expect((await right.execute(getDeviceId, undefined)).deviceId).toBe(32);
  const { stdout } = await run("ipmitool", [
    ...lanplus({ port, password: SIM_PASSWORD, suite: "17", kg: KG }),
    "mc",
    "info",
  ]);
  expect(stdout).toMatch(/Device ID\s+: 32/);
});

it("without the BMC key the session fails at RAKP 4 and says why", async () => {
  await using wrong = client();
  await expect(wrong.execute(getDeviceId, undefined)).rejects.toMatchObject({
    step: "rakp4",
    message: expect.stringMatching(/wrong K_g/),
  });
});
