import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Daemon, petgate, petgateDaemon } from "../support/cli.js";
import { freeUdpPort } from "../support/ports.js";
import { tempDir } from "../support/temp.js";

/** petgate's commands over IPMI 1.5 sessions (ipmitool's -I lan), against `petgate sim`. */
let sim: Daemon;
let port: number;
let trapPort: number;
const env = { OPS_PW: "ops-Pw-1", ADMIN_PW: "adm-Pw-1" };
const WEAK = /IPMI 1\.5 session: MD5 and straight-password auth codes are weak/;

beforeAll(async () => {
  port = await freeUdpPort();
  trapPort = await freeUdpPort();
  // ops:PASSWORD:admin — "admin" as ipmitool's and FreeIPMI's users write administrator.
  sim = await petgateDaemon(
    [
      ...["sim", "--listen", `127.0.0.1:${port}`, "--trap-port", String(trapPort)],
      ...["--user", "ops:ops-Pw-1:admin", "--password-env", "ADMIN_PW"],
    ],
    /BMC\(s\) on udp/,
    env,
  );
});
afterAll(async () => {
  sim.child.kill("SIGTERM");
  await sim.exited;
});

const bmc = (...args: string[]) =>
  petgate(["bmc", ...args, "-H", `127.0.0.1:${port}`, "-U", "ops", "--password-env", "OPS_PW"], "", env);

describe('petgate over IPMI 1.5 (-I lan; ipmi: "1.5")', () => {
  it("bmc -I lan reads the BMC as an administrator, warning once that 1.5 is weak", async () => {
    const r = await bmc("info", "-I", "lan");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Manufacturer ID\s+: 343/);
    expect(r.stderr.match(new RegExp(WEAK, "g"))).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain("ops-Pw-1");
    // PEF control is administrator-only (IPMI 2.0 Appendix G): the alias gave that privilege.
    const raw = await bmc("raw", "-I", "lan", "-A", "PASSWORD", "0x04", "0x12", "0x01", "0x01");
    expect(raw.code).toBe(0);
  });

  it("bmc without -I opens RMCP+, which the simulator offers, and says nothing about 1.5", async () => {
    const r = await bmc("info");
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(WEAK);
  });

  it("refuses -I and -A values it does not speak", async () => {
    expect((await bmc("info", "-I", "open")).stderr).toMatch(/-I open: expected lanplus or lan/);
    expect((await bmc("info", "-I", "lan", "-A", "MD2")).stderr).toMatch(/MD2 is not supported/);
  });

  it('pef apply and event test work on a BMC entry with ipmi: "1.5"', async () => {
    const config = join(tempDir("petgate-ipmi15-"), "petgate.yml");
    writeFileSync(
      config,
      [
        "listener:",
        `  bind: 127.0.0.1:${trapPort}`,
        "defaults:",
        "  username: ops",
        "  passwordEnv: OPS_PW",
        "bmcs:",
        `  - { name: old-1, host: "127.0.0.1:${port}", ipmi: "1.5" }`,
        "pef:",
        "  filters: default",
        "  destinations:",
        "    - { selector: 1, ip: 127.0.0.1 }",
      ].join("\n"),
    );
    const apply = await petgate(["pef", "apply", "--config", config], "", env);
    expect(apply.code).toBe(0);
    expect(apply.stderr).toMatch(/1 BMCs?: 1 changed, 0 unchanged, 0 failed/);
    expect(apply.stderr).toMatch(WEAK);
    const plan = await petgate(["pef", "plan", "--config", config], "", env);
    expect(plan.code).toBe(0);
    const event = await petgate(["event", "test", "--all", "1", "--config", config], "", env);
    expect(event.code).toBe(0);
    expect(event.stdout).toMatch(/^old-1: PET received in \d+ ms: Temperature: Upper Critical - going high/m);
  });
});
