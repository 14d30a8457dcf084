import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { petgate } from "../support/cli.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { freeUdpPort } from "../support/ports.js";
import { tempDir } from "../support/temp.js";

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

describe("petgate bmc against petgate sim", () => {
  /** K_g as text and as hex: the BMC's key for two-key login (IPMI 2.0 §13.31). */
  const KG_TEXT = "kg-Secret-42";
  const KG_HEX = Buffer.from(KG_TEXT).toString("hex");
  let fleet: SimulatorFleet;
  let host: string;
  beforeAll(async () => {
    const listen = `127.0.0.1:${await freeUdpPort()}`;
    fleet = await SimulatorFleet.start(
      simConfigSchema.parse({
        listen,
        kg: KG_HEX,
        users: [
          { name: "admin", password: "adm-Pw-1" },
          { name: "viewer", password: "view-Pw-1", privilege: "user" },
        ],
      }),
    );
    host = listen;
  });
  afterAll(() => fleet.stop());

  const bmc = (user: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    petgate(["bmc", "guid", "-H", host, "-U", user, "--password-env", "PW", ...args], "", {
      PW: user === "admin" ? "adm-Pw-1" : "view-Pw-1",
      ...env,
    });

  it("takes K_g from --kg-env or --kg-file; -k and --kg-hex still work, with a warning that never shows it", async () => {
    const file = join(tempDir("petgate-bmc-kg-"), "kg");
    writeFileSync(file, `${KG_HEX}\n`, { mode: 0o600 });
    const [fromEnv, fromFile, hex, text, wrong] = await Promise.all([
      bmc("admin", ["--kg-env", "KG"], { KG: KG_HEX }),
      bmc("admin", ["--kg-file", file]),
      bmc("admin", ["--kg-hex", KG_HEX]),
      bmc("admin", ["-k", KG_TEXT]),
      bmc("admin", ["--kg-env", "KG"], { KG: "00112233" }),
    ]);
    for (const r of [fromEnv, fromFile, hex, text]) expect(r.stdout).toMatch(/^System GUID : /);
    expect(fromEnv.stderr + fromFile.stderr).toBe("");
    expect(hex.stderr).toBe(
      "petgate bmc: warning: --kg-hex puts a secret on the command line, where ps shows it; use --kg-env VAR or --kg-file FILE\n",
    );
    expect(text.stderr).toMatch(/^petgate bmc: warning: -k puts a secret on the command line/);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/rakp4: the BMC's integrity check value does not match: wrong K_g/);
    for (const r of [fromEnv, fromFile, hex, text, wrong]) {
      expect(r.stdout + r.stderr).not.toContain(KG_HEX);
      expect(r.stdout + r.stderr).not.toContain(KG_TEXT);
      expect(r.stdout + r.stderr).not.toContain("adm-Pw-1");
    }
    const both = await bmc("admin", ["--kg-env", "KG", "--kg-file", file], { KG: KG_HEX });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("petgate bmc: give only one of --kg-env, --kg-file\n");
  });

  it("tells a USER-level account that ADMINISTRATOR is above its privilege limit, and serves it at -L USER", async () => {
    const admin = await bmc("viewer", ["--kg-env", "KG"], { KG: KG_HEX });
    expect(admin.code).toBe(1);
    expect(admin.stderr).toContain(
      "session set-up failed at set-session-privilege: Set Session Privilege Level: completion code 81h " +
        "(Requested level exceeds Channel and/or User Privilege Limit); the requested role ADMINISTRATOR is " +
        "above this user's privilege limit: ask for a lower one",
    );
    expect(admin.stderr).not.toMatch(/user name/);
    const user = await bmc("viewer", ["--kg-env", "KG", "-L", "USER"], { KG: KG_HEX });
    expect(user.code).toBe(0);
    expect(user.stdout).toMatch(/^System GUID : /);
  });
});
