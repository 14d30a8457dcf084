import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { petgate } from "../support/cli.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";

let sim: IpmiSim;
beforeAll(async () => {
  sim = await startIpmiSim();
});
afterAll(() => sim.stop());

function configFor(options: { fallback: boolean }): string {
  const file = join(mkdtempSync(join(tmpdir(), "petgate-pef-sim-")), "petgate.yml");
  writeFileSync(
    file,
    [
      "bmcs:",
      `  - { name: openipmi, host: "127.0.0.1:${sim.port}", passwordEnv: PW, allowCipherFallback: ${options.fallback} }`,
      "pef:",
      "  filters: default",
      "  destinations:",
      "    - { selector: 1, ip: 127.0.0.1 }",
    ].join("\n"),
  );
  return file;
}

it("refuses suite 17 on OpenIPMI ipmi_sim unless the fallback to suite 3 is allowed", async () => {
  const strict = await petgate(["pef", "plan", "--config", configFor({ fallback: false })], "", {
    PW: "secret",
  });
  expect(strict.code).toBe(1);
  expect(strict.stdout).toMatch(
    /^openipmi: error: .*open-session: BMC answered status 4 \(invalid authentication algorithm\)/m,
  );
});

it("reports ipmi_sim's missing LAN alert destinations as a clear per-BMC error, not a crash", async () => {
  const r = await petgate(["pef", "plan", "--config", configFor({ fallback: true })], "", { PW: "secret" });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^openipmi: error: .*no LAN alert destinations/m);
});
