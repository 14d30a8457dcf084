import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { freeipmiLan15, freeipmiLan20, lan } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { keyValues, SIM_PASSWORD } from "../support/sim.js";

/** ipmitool -I lan and FreeIPMI -D LAN (IPMI 1.5 sessions) against petgate's simulator. */
const run = promisify(execFile);
let fleet: SimulatorFleet;
let port: number;

async function start(options: { authTypeNone?: boolean } = {}) {
  const listenPort = await freeUdpPort();
  const started = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `127.0.0.1:${listenPort}`,
      ...options,
      users: [
        { name: "admin", password: SIM_PASSWORD },
        // "admin" is the word ipmitool's and FreeIPMI's users type for administrator.
        { name: "ops", password: "ops-Pw-1", privilege: "admin" },
      ],
    }),
  );
  return { fleet: started, port: listenPort };
}

beforeAll(async () => {
  ({ fleet, port } = await start());
});
afterAll(() => fleet.stop());

const ipmitool = (authType: string, ...args: string[]) =>
  run("ipmitool", [...lan({ port, password: SIM_PASSWORD, authType }), ...args], { timeout: 20_000 }).then(
    (r) => r.stdout,
  );
const freeipmi = (tool: string, authType: string, ...args: string[]) =>
  run(tool, [...freeipmiLan15({ port, password: SIM_PASSWORD, authType }), ...args], {
    timeout: 30_000,
  }).then((r) => r.stdout);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => ({ stderr: "" }),
    (e: { stderr: string }) => e,
  );

describe("IPMI 1.5 sessions on petgate sim", () => {
  it.each(["MD5", "PASSWORD"])(
    "ipmitool -I lan -A %s: mc info, and the session is closed after",
    async (a) => {
      const opened = fleet.counters().sessionsOpened;
      const info = keyValues(await ipmitool(a, "mc", "info"));
      expect(info.get("Manufacturer ID")).toBe("343");
      expect(info.get("IPMI Version")).toBe("2.0");
      expect(fleet.counters().sessionsOpened).toBe(opened + 1);
      expect(fleet.counters().sessionsActive).toBe(0);
    },
  );

  it("ipmitool -I lan as administrator changes what only an administrator may (PEF control)", async () => {
    await ipmitool("MD5", "raw", "0x04", "0x12", "0x01", "0x01");
    expect(await ipmitool("MD5", "raw", "0x04", "0x13", "0x01", "0x00", "0x00")).toMatch(/^ 11 01\s*$/);
  });

  it.each(["md5", "straight_password_key"])(
    "FreeIPMI bmc-info -D LAN --authentication-type=%s",
    async (a) => {
      const info = keyValues(await freeipmi("bmc-info", a));
      expect(info.get("Manufacturer ID")).toBe("Intel Corporation (343)");
    },
  );

  it("FreeIPMI ipmi-sensors -D LAN lists what -D LAN_2_0 lists", async () => {
    const cache = mkdtempSync(join(tmpdir(), "petgate-sdr-"));
    const sensors = (login: string[]) =>
      run("ipmi-sensors", [...login, `--sdr-cache-directory=${cache}`, "--no-header-output"], {
        timeout: 30_000,
      }).then((r) => r.stdout);
    const over15 = await sensors(freeipmiLan15({ port, password: SIM_PASSWORD, authType: "md5" }));
    expect(over15).toMatch(/CPU1 Temp\s*\| Temperature/);
    expect(over15).toBe(await sensors(freeipmiLan20({ port, password: SIM_PASSWORD })));
  });

  it("refuses a wrong password: no session, nothing answered to Activate Session", async () => {
    const opened = fleet.counters().sessionsOpened;
    const wrong = ["-I", "lan", "-H", "127.0.0.1", "-p", String(port), "-U", "admin", "-P", "wrong-1"];
    const r = await failure(run("ipmitool", [...wrong, "-A", "MD5", "-R", "1", "mc", "info"]));
    expect(r.stderr).toMatch(/Unable to establish (LAN|IPMI v1.5 \/ RMCP) session/);
    expect(fleet.counters().sessionsOpened).toBe(opened);
  });

  it("an unknown user is told so by Get Session Challenge (81h)", async () => {
    const nobody = ["-I", "lan", "-H", "127.0.0.1", "-p", String(port), "-U", "nobody", "-P", "x"];
    const r = await failure(run("ipmitool", [...nobody, "-A", "MD5", "mc", "info"]));
    expect(r.stderr).toMatch(/Invalid user name/);
  });

  it("auth type none: refused unless the simulator is configured for it", async () => {
    const refused = await failure(ipmitool("NONE", "mc", "info"));
    expect(refused.stderr).toMatch(/Authentication type NONE not supported/);
    const open = await start({ authTypeNone: true });
    try {
      const none = lan({ port: open.port, password: SIM_PASSWORD, authType: "NONE" });
      const { stdout } = await run("ipmitool", [...none, "mc", "info"], { timeout: 20_000 });
      expect(keyValues(stdout).get("Manufacturer ID")).toBe("343");
    } finally {
      await open.fleet.stop();
    }
  });

  it("a user configured with privilege admin logs in as ADMINISTRATOR", async () => {
    const ops = [...lan({ port, user: "ops", password: "ops-Pw-1", authType: "MD5" }), "-L", "ADMINISTRATOR"];
    const { stdout } = await run("ipmitool", [...ops, "raw", "0x04", "0x12", "0x01", "0x01"]);
    expect(stdout.trim()).toBe("");
  });
});
