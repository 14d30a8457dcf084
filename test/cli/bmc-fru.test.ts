import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFru, fruIdentity } from "../../src/ipmi/fru.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { petgate } from "../support/cli.js";
import { lanplus } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { tempDir } from "../support/temp.js";

const run = promisify(execFile);
const PASSWORD = "fru-Pass-1";

/*
 * FRU device 0 of `petgate sim`, configured, read by the real ipmitool (fru print, fru read) and by
 * `petgate bmc fru`: the same lines, and the bytes ipmitool saved decode to what was configured.
 */

let fleet: SimulatorFleet;
let port: number;

beforeAll(async () => {
  port = await freeUdpPort();
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `127.0.0.1:${port}`,
      count: 2,
      spread: "port",
      users: [{ name: "admin", password: PASSWORD }],
      fru: {
        chassisType: 17,
        chassisSerial: "CH-{n}-0042",
        boardMfgDate: "2023-11-05T21:07:00Z",
        boardManufacturer: "Contoso Systems",
        boardSerial: "BSN{n}X9",
        productName: "Contoso R740 <rack>",
        assetTag: "IT-000{n}",
      },
    }),
  );
});
afterAll(() => fleet.stop());

/** The real ipmitool against BMC `n` (1-based), dates in UTC. */
const ipmitool = async (n: number, ...args: string[]) =>
  (
    await run("ipmitool", [...lanplus({ port: port + n - 1, password: PASSWORD, suite: "17" }), ...args], {
      timeout: 60_000,
      env: { ...process.env, TZ: "UTC" },
    })
  ).stdout;

const bmcFru = (n: number, ...args: string[]) =>
  petgate(
    ["bmc", "fru", "-H", `127.0.0.1:${port + n - 1}`, "-U", "admin", "--password-env", "PW", ...args],
    "",
    {
      PW: PASSWORD,
    },
  );

/** Lines without the trailing blank ones ipmitool ends with. */
const lines = (text: string) => text.replace(/\s+$/, "").split("\n");

describe("petgate bmc fru against the simulator", () => {
  it("prints what ipmitool fru print prints, line for line", async () => {
    const theirs = lines(await ipmitool(2, "fru", "print"));
    const ours = await bmcFru(2);
    expect(ours.code).toBe(0);
    expect(lines(ours.stdout)).toEqual(theirs);
    expect(theirs).toContain(" Chassis Type          : Main Server Chassis");
    expect(theirs).toContain(" Chassis Serial        : CH-2-0042");
    expect(theirs).toContain(" Board Mfg Date        : Sun Nov  5 21:07:00 2023 UTC");
    expect(theirs).toContain(" Product Name          : Contoso R740 <rack>");
    expect(theirs).toContain(" Product Asset Tag     : IT-0002");
  });

  it("decodes the bytes ipmitool fru read saved to the identity configured", async () => {
    const file = join(tempDir("petgate-fru-"), "fru.bin");
    await ipmitool(1, "fru", "read", "0", file);
    const bytes = readFileSync(file);
    expect(bytes).toEqual(fleet.simulators[0]?.state.fru);
    const inventory = decodeFru(bytes);
    expect(inventory.warnings).toEqual([]);
    expect(fruIdentity(inventory)).toEqual({
      boardManufacturer: "Contoso Systems",
      boardProduct: "Simulated BMC board",
      boardSerial: "BSN1X9",
      boardPartNumber: "PG-MB-0001",
      productManufacturer: "petgate",
      productName: "Contoso R740 <rack>",
      productPartNumber: "PG-SIM-1",
      productVersion: "1.0",
      productSerial: "SIMP1",
      assetTag: "IT-0001",
      chassisSerial: "CH-1-0042",
      chassisPartNumber: "PG-CH-1U",
    });
    const json = JSON.parse((await bmcFru(1, "--json")).stdout) as { raw: string; identity: unknown };
    expect(json.raw).toBe(bytes.toString("hex"));
    expect(json.identity).toEqual(fruIdentity(inventory));
  });
});
