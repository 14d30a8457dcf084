import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { petgate, petgateDaemon, sigintOnLine } from "../support/cli.js";
import { PET_ENTERPRISE, startListener, waitFor } from "../support/listener.js";
import { lanplus } from "../support/login.js";
import { freeUdpPort } from "../support/ports.js";
import { provisionPefWithIpmitool } from "../support/sim.js";
import { tempDir } from "../support/temp.js";

const run = promisify(execFile);

describe("petgate sim", () => {
  it("starts from a YAML config, answers rmcpping and ipmitool, and prints its counters on SIGTERM", async () => {
    // rmcpping knows only port 623: this BMC gets a loopback address of its own.
    const host = "127.21.0.1";
    const port = 623;
    const dir = tempDir("petgate-sim-cli-");
    const config = join(dir, "sim.yml");
    writeFileSync(
      config,
      [
        `listen: ${host}:${port}`,
        "users:",
        "  - name: ops",
        "    passwordEnv: OPS_PW",
        "    privilege: operator",
      ].join("\n"),
    );
    const d = await petgateDaemon(
      ["sim", "--config", config, "--password-env", "ADMIN_PW"],
      /BMC\(s\) on udp/,
      { OPS_PW: "ops-Pw-1", ADMIN_PW: "adm-Pw-1" },
    );
    try {
      const ping = await run("rmcpping", ["-c", "1", host], { timeout: 10_000 }).catch(
        (e: { stdout: string }) => e,
      );
      expect(ping.stdout).toMatch(/pong received from 127\.21\.0\.1: message_tag=\d+/);
      const operator = lanplus({
        host,
        port,
        user: "ops",
        password: "ops-Pw-1",
        suite: "17",
        privilege: "OPERATOR",
      });
      const { stdout } = await run("ipmitool", [...operator, "chassis", "status"]);
      expect(stdout).toMatch(/System Power\s+: on/);
      // Operator may not change PEF (administrator only, IPMI 2.0 Appendix G).
      const denied = await run("ipmitool", [...operator, "raw", "0x04", "0x12", "0x01", "0x01"]).catch(
        (e: { stderr: string }) => e,
      );
      expect(denied.stderr).toMatch(/Insufficient privilege level/);
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
    }
    expect(d.stderr()).toMatch(/stopped; counters \{"datagrams":\d+,"requests":\d+,"sessionsOpened":2/);
  });

  it("restarted with a changed --user: the new password logs in, the old one and a removed user do not", async () => {
    const stateDir = join(tempDir("petgate-sim-cli-"), "state");
    const port = await freeUdpPort();
    // -v: ipmitool says why RAKP failed (RAKP 2's status or its HMAC), which a refusal must show.
    const chassisStatus = (user: string, password: string, privilege: string) =>
      run(
        "ipmitool",
        ["-v", ...lanplus({ port, user, password, suite: "17", privilege }), "chassis", "status"],
        { timeout: 30_000 },
      );
    const loggedIn = { stdout: expect.stringMatching(/System Power\s+: on/) };
    /** RAKP 2 whose key exchange code, made with the BMC's password, fails with the one given (IPMI 2.0 §13.31). */
    const wrongPassword = { stderr: expect.stringContaining("RAKP 2 HMAC is invalid") };
    /** RAKP 2 with status 0Dh, unauthorized name (IPMI 2.0 §13.31). */
    const unknownUser = {
      stderr: expect.stringContaining("RAKP 2 message indicates an error : unauthorized name"),
    };
    const start = (users: string[], env: NodeJS.ProcessEnv) =>
      petgateDaemon(
        [
          "sim",
          "--listen",
          `127.0.0.1:${port}`,
          "--password-env",
          "ADMIN_PW",
          ...users,
          "--state-dir",
          stateDir,
        ],
        /BMC\(s\) on udp/,
        { ADMIN_PW: "adm-Pw-1", ...env },
      );
    const stop = async (d: Awaited<ReturnType<typeof start>>) => {
      d.child.kill("SIGTERM");
      await d.exited;
      return d.stderr();
    };

    const first = await start(
      ["--user", "ops:operator", "--password-env", "OPS_PW", "--user", "gone:gone-Pw-1:user"],
      { OPS_PW: "ops-Old-1" },
    );
    let firstErr: string;
    try {
      await expect(chassisStatus("ops", "ops-Old-1", "OPERATOR")).resolves.toMatchObject(loggedIn);
      await expect(chassisStatus("gone", "gone-Pw-1", "USER")).resolves.toMatchObject(loggedIn);
      // The password from the environment is not in the process's command line; the literal one is.
      const cmdline = readFileSync(`/proc/${first.child.pid}/cmdline`, "utf8");
      expect(cmdline).not.toContain("ops-Old-1");
      expect(cmdline).toContain("gone-Pw-1");
    } finally {
      firstErr = await stop(first);
    }
    expect(firstErr).toContain(
      "petgate sim: warning: --user gone:PASSWORD puts a secret on the command line, where ps shows it; use --user gone --password-env VAR\n",
    );

    const passwordFile = join(stateDir, "..", "ops-password");
    writeFileSync(passwordFile, "ops-New-2\n", { mode: 0o600 });
    const second = await start(["--user", "ops:operator", "--password-file", passwordFile], {});
    let secondErr: string;
    try {
      await expect(chassisStatus("ops", "ops-New-2", "OPERATOR")).resolves.toMatchObject(loggedIn);
      await expect(chassisStatus("ops", "ops-Old-1", "OPERATOR")).rejects.toMatchObject(wrongPassword);
      await expect(chassisStatus("gone", "gone-Pw-1", "USER")).rejects.toMatchObject(unknownUser);
    } finally {
      secondErr = await stop(second);
    }
    const file = join(stateDir, `127.0.0.1_${port}.json`);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readFileSync(file, "utf8");
    for (const secret of ["adm-Pw-1", "ops-Old-1", "ops-New-2", "gone-Pw-1"]) {
      expect(stored).not.toContain(secret);
      expect(firstErr + secondErr).not.toContain(secret);
    }
  });

  it("wants a password for each --user NAME right after it, and says so", async () => {
    const r = await petgate(["sim", "--user", "ops:operator", "--user", "viewer", "--password-env", "PW"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "petgate sim: --user ops: no password; follow it with --password-env VAR or --password-file FILE\n",
    );
  });

  it("stops with its counters, exit 0, on a SIGINT sent the moment it says it is up", async () => {
    const port = await freeUdpPort();
    const r = await petgate(["sim", "--listen", `127.0.0.1:${port}`, "--password-env", "PW"], "", {
      PW: "adm-Pw-1",
      ...sigintOnLine(/BMC\(s\) on udp/),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/petgate sim: stopped; counters \{/);
  });

  it("refuses a bad config with the path of each problem", async () => {
    const dir = tempDir("petgate-sim-cli-");
    const config = join(dir, "sim.yml");
    writeFileSync(config, "count: many\ntrapPort: 70000\n");
    const r = await petgate(["sim", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${config}:1: count:`);
    expect(r.stderr).toContain(`${config}:2: trapPort:`);
  });

  it("sends a PET from its own address when an event matches an enabled filter (PEF via ipmitool raw)", async () => {
    const receiver = await startListener();
    const port = await freeUdpPort();
    const trapPort = receiver.listener.address().port;
    const d = await petgateDaemon(
      ["sim", "--listen", `127.0.0.1:${port}`, "--password-env", "PW", "--trap-port", String(trapPort)],
      /BMC\(s\) on udp/,
      { PW: "adm-Pw-1" },
    );
    const ipmitool = (...args: string[]) =>
      run("ipmitool", [...lanplus({ port, password: "adm-Pw-1", suite: "17" }), ...args]);
    try {
      await provisionPefWithIpmitool(ipmitool, { sensorType: 0x01 });
      await ipmitool("event", "1");
      const event = await waitFor("the PET", () => receiver.events[0], 10_000);
      expect(event.source.address).toBe("127.0.0.1");
      expect(event.snmp).toMatchObject({
        version: "v1",
        community: "public",
        agentAddress: "127.0.0.1",
        trapOid: `${PET_ENTERPRISE}.0.65801`,
      });
      expect(event.kind === "pet" && event.pet).toMatchObject({
        event: "Upper Critical - going high",
        severity: "critical",
        sensorNumber: 0x30,
        manufacturerId: 343,
      });
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
      await receiver.close();
    }
  });
});
