import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { petgate } from "../support/cli.js";
import { freeipmiLan20, lanplus } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { SIM_PASSWORD } from "../support/sim.js";

const run = promisify(execFile);
/** Three BMCs on addresses of their own (a PET is told apart by its source address). */
const HOSTS = ["127.31.0.1", "127.31.0.2", "127.31.0.3"];
let fleet: SimulatorFleet;
let config: string;
let trapPort: number;
const env = { PETGATE_TEST_BMC_PASSWORD: SIM_PASSWORD };

beforeAll(async () => {
  trapPort = await freeUdpPort();
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `${HOSTS[0]}:623`,
      count: 3,
      trapPort,
      rebootMs: 300,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    }),
  );
  config = join(mkdtempSync(join(tmpdir(), "petgate-pef-")), "petgate.yml");
  writeFileSync(
    config,
    [
      "listener:",
      `  bind: 127.0.0.1:${trapPort}`,
      "defaults:",
      "  passwordEnv: PETGATE_TEST_BMC_PASSWORD",
      "bmcs:",
      ...HOSTS.map((h, i) => `  - { name: bmc-${i + 1}, host: ${h} }`),
      "pef:",
      "  filters: default",
      "  destinations:",
      "    - { selector: 1, ip: 127.0.0.1 }",
    ].join("\n"),
  );
});
afterAll(() => fleet.stop());

const pef = (...args: string[]) => petgate(["pef", ...args, "--config", config], "", env);
const ipmitool = (host: string, ...args: string[]) =>
  run("ipmitool", [...lanplus({ host, password: SIM_PASSWORD, suite: "17" }), ...args]).then((r) => r.stdout);

describe("petgate pef and event test, on a fleet of simulated BMCs", () => {
  it("plans the full change set on factory BMCs (exit 2), applies it, then plans nothing (exit 0)", async () => {
    const plan = await pef("plan");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/^bmc-1: 19 change\(s\)$/m);
    expect(plan.stdout).toMatch(
      /filter 1: disabled → Temperature, any sensor, .*Upper Critical - going high.* \(critical\) → alert, policy 1/,
    );
    expect(plan.stdout).toMatch(/destination 1 address: 0\.0\.0\.0 .* → 127\.0\.0\.1/);

    const apply = await pef("apply");
    expect(apply.code).toBe(0);
    // Not a terminal: one JSON line per BMC, then the summary on standard error.
    const lines = apply.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.bmc, l.status]).sort()).toEqual([
      ["bmc-1", "changed"],
      ["bmc-2", "changed"],
      ["bmc-3", "changed"],
    ]);
    expect(apply.stderr).toMatch(/3 BMCs: 3 changed, 0 unchanged, 0 failed/);

    const again = await pef("plan", "--json");
    expect(again.code).toBe(0);
    expect(
      again.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).writes),
    ).toEqual([0, 0, 0]);
    const reapply = await pef("apply");
    expect(reapply.stderr).toMatch(/3 BMCs: 0 changed, 3 unchanged, 0 failed/);
  });

  it("wrote what ipmitool and FreeIPMI read back", async () => {
    const filters = await ipmitool(HOSTS[1] as string, "pef", "filter", "list");
    expect(filters).toMatch(/^ 1 \| enabled, configurable \| Temperature \| Any \| Critical \| Threshold/m);
    expect(filters).toMatch(/^ 15 \| enabled, configurable \| Watchdog 2 \| Any \| Warning \| Discrete/m);
    expect(await ipmitool(HOSTS[1] as string, "lan", "alert", "print", "1", "1")).toMatch(
      /Alert IP Address\s+: 127\.0\.0\.1/,
    );
    const { stdout } = await run("ipmi-pef-config", [
      ...freeipmiLan20({ host: HOSTS[1], password: SIM_PASSWORD }),
      "--checkout",
      "--section",
      "Event_Filter_1",
    ]);
    expect(stdout).toMatch(/Enable_Filter\s+Yes/);
    expect(stdout).toMatch(/Sensor_Type\s+Temperature/);
    expect(stdout).toMatch(/Alert_Policy_Number\s+1/);
  });

  it("shows one BMC's configuration in words", async () => {
    const show = await pef("show", "bmc-2");
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^bmc-2: PEF enabled, alert action on$/m);
    expect(show.stdout).toMatch(/entry {2}1: policy 1 \(enabled\): channel 1, destination 1/);
    expect(show.stdout).toMatch(/destination 1: pet → 127\.0\.0\.1/);
  });

  it("sees drift made with ipmitool and repairs it", async () => {
    // Someone disables filter 3 (fan) by hand.
    await ipmitool(HOSTS[2] as string, "raw", "0x04", "0x12", "0x06", "0x03", ...Array(20).fill("0x00"));
    const plan = await pef("plan", "bmc-3");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/^bmc-3: 1 change\(s\)\n {2}filter 3: disabled → Fan/m);
    expect((await pef("apply", "bmc-3")).code).toBe(0);
    expect((await pef("plan", "bmc-3")).code).toBe(0);
  });

  it("event test --all gets each BMC's PET back", async () => {
    const r = await petgate(["event", "test", "--all", "1", "--config", config], "", env);
    expect(r.code).toBe(0);
    for (const name of ["bmc-1", "bmc-2", "bmc-3"]) {
      expect(r.stdout).toMatch(
        new RegExp(
          `^${name}: PET received in \\d+ ms: Temperature: Upper Critical - going high \\(critical\\), sequence \\d+$`,
          "m",
        ),
      );
    }
  });

  it("event test names the reason: PEF disabled on one BMC, no answer from a hung one", async () => {
    await ipmitool(HOSTS[0] as string, "raw", "0x04", "0x12", "0x01", "0x00");
    fleet.simulators[2]?.setFaults({ hang: true });
    try {
      const r = await petgate(
        ["event", "test", "--all", "3", "--timeout", "1500", "--config", config],
        "",
        env,
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^bmc-1: no PET: PEF is disabled \(PEF parameter 1\)$/m);
      expect(r.stdout).toMatch(
        /^bmc-2: PET received in \d+ ms: Memory: Correctable memory error \(non-critical\)/m,
      );
      expect(r.stdout).toMatch(/^bmc-3: no PET: bmc-3: no answer to .* within \d+ ms$/m);
      // One hung BMC never stops the others: apply repairs bmc-1 and reports bmc-3 as failed.
      const apply = await pef("apply", "--deadline", "3000");
      expect(apply.code).toBe(1);
      expect(apply.stderr).toMatch(/3 BMCs: 1 changed, 1 unchanged, 1 failed/);
    } finally {
      fleet.simulators[2]?.setFaults({ hang: false });
    }
  });

  it("fails on a bad inventory with each problem's path, and never prints a password", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "petgate-pef-")), "petgate.yml");
    writeFileSync(
      bad,
      [
        "bmcs:",
        "  - { name: a, host: 127.0.0.1, password: hunter2-xyz }",
        "  - { name: a, host: 127.0.0.2, passwordEnv: X }",
      ].join("\n"),
    );
    const r = await petgate(["pef", "plan", "--config", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${bad}:2: bmcs[0].password: a password in the file needs insecureInlinePassword: true`,
    );
    expect(r.stderr).toContain(`${bad}:3: bmcs[1].name: duplicate BMC name "a"`);
    expect(r.stderr).not.toContain("hunter2-xyz");
  });
});
