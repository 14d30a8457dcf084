import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freeipmiLan20 } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { keyValues, SIM_PASSWORD, startSims, tableRows } from "../support/sim.js";

const run = promisify(execFile);

/**
 * The whole alerting path with other people's tools: ipmiutil provisions LAN alerting and PEF on the
 * simulator, ipmitool raises an event, the simulator's PEF sends a PET to a real snmptrapd, and
 * FreeIPMI's ipmi-pet decodes the varbind snmptrapd logged.
 */
let sims: Awaited<ReturnType<typeof startSims>>;
let trapd: ChildProcess;
let dir: string;
let trapLog: string;
let trapPort: number;

/** ipmiutil only talks to UDP port 623, so the BMC gets a loopback address of its own. */
async function startOnPort623() {
  for (let attempt = 0; ; attempt++) {
    const listen = `127.9.${randomInt(1, 255)}.${randomInt(1, 255)}:623`;
    try {
      return await startSims({ listen, trapPort });
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
/** Waits for a line of the trap log that matches. */
async function trapLine(match: RegExp): Promise<RegExpExecArray> {
  for (let i = 0; i < 200; i++) {
    const m = match.exec(readFileSync(trapLog, "utf8"));
    if (m) return m;
    await sleep(50);
  }
  throw new Error(`no trap matching ${match} in:\n${readFileSync(trapLog, "utf8")}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "petgate-ipmiutil-"));
  chmodSync(dir, 0o700);
  trapLog = join(dir, "traps.log");
  const conf = join(dir, "snmptrapd.conf");
  writeFileSync(
    conf,
    [
      "authCommunity log public",
      "format1 TRAP %a %w %q %v\\n",
      "format2 TRAP2 %a %w %q %v\\n",
      "[snmp] hexOutputLength 0",
      "[snmp] noPersistentLoad yes",
      "[snmp] noPersistentSave yes",
      "",
    ].join("\n"),
  );
  writeFileSync(trapLog, "");
  trapPort = await freeUdpPort();
  trapd = spawn(
    "snmptrapd",
    ["-f", "-n", "-C", "-c", conf, "-M", "/dev/null", "-m", "", "-Lf", trapLog, `udp:127.0.0.1:${trapPort}`],
    { stdio: "ignore" },
  );
  await trapLine(/NET-SNMP version/);
  sims = await startOnPort623();
});
afterAll(async () => {
  trapd?.kill();
  await sims?.fleet.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("ipmiutil lan -e, ipmitool event, snmptrapd, ipmi-pet", () => {
  it("ipmiutil lan -e sets the alert destination, community, PEF and SOL with no error", async () => {
    const { host } = sims;
    // Exit status 0 is asserted by execFile: ipmiutil exits non-zero when it counted an error.
    const { stdout: out } = await run(
      "ipmiutil",
      [
        "lan",
        "-e",
        ...["-I", host, "-S", "255.0.0.0", "-G", "127.0.0.1", "-H", "00:11:22:33:44:55"],
        ...["-A", "127.0.0.1", "-X", "00:11:22:33:44:66", "-C", "public"],
        ...["-N", host, "-U", "admin", "-P", SIM_PASSWORD, "-F", "lan2", "-J", "3", "-V", "4"],
      ],
      { timeout: 30_000 },
    );
    expect(out).toContain("-- BMC version 1.00, IPMI version 2.0");
    expect(out).toContain("ipmiutil lan, completed successfully");
    expect(out).not.toMatch(/error|ccode|failed|ret = [1-9]/i);
    // Intel's OEM parameter 194 (DHCP enable): ipmiutil sets it to 00h (static) on an Intel BMC.
    expect(out).toMatch(/^Lan Param\(194\) DHCP Enable: 00 $/m);
    expect(out).toContain("SetLanEntry(194), ret = 0");
    expect(out).toContain("SOL Enable: 01 : enabled");
    expect(out).toContain("SetupSerialOverLan: ret = 0");
    for (const line of [
      "SetLanEntry(3), ret = 0",
      "SetLanEntry(16), ret = 0",
      "SetLanEntry(18), ret = 0",
      "SetLanEntry(19), ret = 0",
      "SetChanAcc(lan), ret = 0",
      "EnablePef, ret = 0",
    ])
      expect(out).toContain(line);
    expect(out).toMatch(/^alert dest 1\s+ip=127\.0\.0\.1 mac=00:11:22:33:44:66$/m);

    const dest = keyValues(await sims.ipmitool("17", "lan", "alert", "print", "1", "1"));
    expect(dest.get("Alert IP Address")).toBe("127.0.0.1");
    expect(dest.get("Alert MAC Address")).toBe("00:11:22:33:44:66");
    expect(dest.get("Destination Type")).toBe("PET Trap");
    const lan = keyValues(await sims.ipmitool("17", "lan", "print", "1"));
    expect(lan.get("IP Address")).toBe(host);
    expect(lan.get("Subnet Mask")).toBe("255.0.0.0");
    expect(lan.get("Default Gateway IP")).toBe("127.0.0.1");
    expect(lan.get("SNMP Community String")).toBe("public");
    const pef = keyValues(await sims.ipmitool("17", "-v", "pef", "status"));
    expect(pef.get("PEF")).toBe("enabled");
    expect(pef.get("Alert")).toBe("active");
    const filters = tableRows(await sims.ipmitool("17", "pef", "filter", "list"));
    expect(filters[0]?.slice(1, 3)).toEqual(["enabled, pre-configured", "Temperature"]);

    // What ipmiutil wrote to the SOL parameters (IPMI 2.0 §26.3), as ipmitool reads them back.
    const sol = keyValues(await sims.ipmitool("17", "sol", "info", "1"));
    expect(sol.get("Enabled")).toBe("true");
    expect(sol.get("Privilege Level")).toBe("USER");
    expect(sol.get("Character Accumulate Level (ms)")).toBe("20");
    expect(sol.get("Character Send Threshold")).toBe("50");
    expect(sol.get("Retry Count")).toBe("6");
    expect(sol.get("Retry Interval (ms)")).toBe("200");
    expect(sol.get("Non-Volatile Bit Rate (kbps)")).toBe("115.2");
    expect(sol.get("Payload Channel")).toBe("1 (0x01)");
    expect(sol.get("Payload Port")).toBe("623");
  });

  it("ipmitool sol set changes what sol info and ipmiutil then read", async () => {
    await sims.ipmitool("17", "sol", "set", "volatile-bit-rate", "9.6", "1");
    await sims.ipmitool("17", "sol", "set", "enabled", "false", "1");
    const sol = keyValues(await sims.ipmitool("17", "sol", "info", "1"));
    expect(sol.get("Set in progress")).toBe("set-complete");
    expect(sol.get("Enabled")).toBe("false");
    expect(sol.get("Volatile Bit Rate (kbps)")).toBe("9.6");
    const { stdout } = await run(
      "ipmiutil",
      ["lan", "-N", sims.host, "-U", "admin", "-P", SIM_PASSWORD, "-F", "lan2", "-J", "3", "-V", "4"],
      { timeout: 30_000 },
    );
    expect(stdout).toMatch(/^SOL Enable: 00 : disabled$/m);
    expect(stdout).toMatch(/^SOL vol Baud Rate: 06 : 9600\s*$/m);
    // lan -e gave its user (1) the SOL payload (Set User Payload Access, IPMI 2.0 §24.6).
    expect(stdout).toMatch(/^SOL Payload Access\(1,1\): 02 00 00 00 : enabled$/m);
  });

  it("ipmitool event 1 makes a PET from the BMC's address that ipmi-pet decodes", async () => {
    const { host } = sims;
    const petsSent = sims.fleet.counters().petsSent;
    await sims.ipmitool("17", "event", "1");
    const trap = await trapLine(/^TRAP (\S+) 6 \.?(\d+) \S+ = Hex-STRING: ([0-9A-F ]+)$/m);
    const [, source, specific, hex] = trap;
    expect(source).toBe(host);
    // Specific trap 0x0101 09: sensor type 01h (temperature), event type 01h (threshold), offset 09h.
    expect(specific).toBe("65801");
    expect(sims.fleet.counters().petsSent).toBe(petsSent + 1);
    const bytes = (hex ?? "")
      .trim()
      .split(/\s+/)
      .map((b) => `0x${b}`);
    expect(bytes).toHaveLength(47);

    const { stdout } = await run(
      "ipmi-pet",
      [
        ...freeipmiLan20({ host, password: SIM_PASSWORD }),
        `--sdr-cache-directory=${dir}`,
        "--quiet-cache",
        "-v",
        "--output-event-severity",
        specific ?? "",
        ...bytes,
      ],
      { timeout: 30_000, env: { ...process.env, TZ: "UTC" } },
    );
    const [header, row] = tableRows(stdout);
    expect(header).toEqual(["Date", "Time", "Name", "Type", "Severity", "Event Direction", "Event"]);
    expect(row?.slice(3)).toEqual([
      "Temperature",
      "Critical condition",
      "Assertion Event",
      "Upper Critical - going high",
    ]);
    expect(row?.[0]).toMatch(/^[A-Z][a-z]{2}-\d\d-\d{4}$/);
  });
});
