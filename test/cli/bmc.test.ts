import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { petgate } from "../support/cli.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";

let sim: IpmiSim;
beforeAll(async () => {
  sim = await startIpmiSim();
});
afterAll(() => sim.stop());

const env = { PETGATE_TEST_BMC_PASSWORD: "secret" };
const bmc = (...args: string[]) =>
  petgate(
    [
      "bmc",
      ...args,
      "-H",
      `127.0.0.1:${sim.port}`,
      "-U",
      "admin",
      "--password-env",
      "PETGATE_TEST_BMC_PASSWORD",
      "-C",
      "3",
    ],
    "",
    env,
  );

describe("petgate bmc against ipmi_sim", () => {
  it("sensors --json gives ipmitool sensor list's numbers", async () => {
    const r = await bmc("sensors", "--json");
    expect(r.code).toBe(0);
    const ours = JSON.parse(r.stdout) as {
      name: string;
      value: number | null;
      thresholds: Record<string, number>;
    }[];
    const theirs = (await sim.ipmitool("sensor", "list"))
      .trim()
      .split("\n")
      .map((l) => l.split("|").map((c) => c.trim()));
    for (const [name, value, , , lnr, lcr, lnc, unc, ucr, unr] of theirs) {
      const s = ours.find((o) => o.name === name);
      const num = (c: string | undefined) => (c === "na" ? undefined : Number(c));
      if (value?.startsWith("0x")) continue; // discrete
      expect(s?.value ?? undefined, name).toBe(num(value));
      for (const [k, v] of Object.entries({ lnr, lcr, lnc, unc, ucr, unr }))
        expect(s?.thresholds[k], `${name} ${k}`).toBe(num(v));
    }
  });

  it("info prints the device and raw sends any command, its completion code named", async () => {
    expect((await bmc("info")).stdout).toMatch(/Manufacturer Name\s+: MontaVista Software, Inc\./);
    expect((await bmc("raw", "0x0a", "0x40")).stdout.trim()).toMatch(/^51 /);
    const bad = await bmc("raw", "06", "99");
    expect(bad.stdout.trim()).toBe("completion code c1h (Invalid command)");
  });

  it("takes no password on the command line and never prints one", async () => {
    const none = await petgate(["bmc", "info", "-H", `127.0.0.1:${sim.port}`, "-U", "admin", "-C", "3"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no password: give --password-env VAR or --password-file FILE/);
    const wrong = await petgate(
      ["bmc", "info", "-H", `127.0.0.1:${sim.port}`, "-U", "admin", "--password-env", "P", "-C", "3"],
      "",
      { P: "wrong-one-42" },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rakp2: the BMC's key exchange auth code does not match: wrong password/);
    expect(wrong.stderr + wrong.stdout).not.toContain("wrong-one-42");
  });
});
