import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { petgate } from "../support/cli.js";
import { netSnmp, type RunningListener, startListener, waitFor } from "../support/listener.js";
import { alertKeyOf, EXAMPLE_MIBS } from "./traps.js";

// Runs the built CLI (dist/): `npm run build` first.

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "petgate-traps-test-"));
  config = join(dir, "petgate.yml");
  writeFileSync(
    config,
    `mibs:
  dirs: [${JSON.stringify(EXAMPLE_MIBS)}]
  system: false
bmcs:
  - { name: sw-01, host: 192.0.2.7, passwordEnv: SW01_PASSWORD, labels: { rack: r1 } }
traps:
  - name: noise
    match: ['trap="SNMPv2-MIB::coldStart"']
    action: drop
  - name: link
    match: ['trap="IF-MIB::linkDown"']
    resolved_by: ['trap="IF-MIB::linkUp"']
    key: [ifIndex]
    summary: 'port {{ifIndex}} ({{ifDescr}}) is {{ifOperStatus}}'
  - name: outlet-fault
    match: ['trap="ACME-PDU-MIB::outletFault"', 'outletState="fault"']
    severity: critical
    summary: 'Outlet {{outletName}} ({{outletIndex}}) is {{outletState}}'
    labels: { team: power }
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The output's header lines by name, and the JSON that follows them. */
function parsed(stdout: string): { head: Record<string, string>; json: Record<string, unknown> } {
  const start = stdout.includes("{") ? stdout.indexOf("{") : stdout.length;
  const head = Object.fromEntries(
    stdout
      .slice(0, start)
      .split("\n")
      .map((l) => /^(\w+):? (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  return { head, json: start < stdout.length ? JSON.parse(stdout.slice(start)) : {} };
}

describe("petgate traps test", () => {
  it("takes a trap as snmptrap -v 2c does, names resolved through the MIBs, and shows the rule, action and alert", async () => {
    const r = await petgate([
      "traps",
      "test",
      "--config",
      config,
      "--from",
      "192.0.2.7",
      "-v",
      "2c",
      "-c",
      "public",
      "127.0.0.1",
      "",
      "IF-MIB::linkDown",
      "IF-MIB::ifIndex.3",
      "i",
      "3",
      "IF-MIB::ifOperStatus.3",
      "i",
      "down",
      "IF-MIB::ifDescr.3",
      "s",
      "uplink {{bmc}}",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { head, json } = parsed(r.stdout);
    expect(head).toMatchObject({
      trap: "IF-MIB::linkDown (1.3.6.1.6.3.1.1.5.3) from 192.0.2.7 (bmc sw-01)",
      rule: "link",
      action: "notify",
    });
    expect(head.alert).toBe(`${alertKeyOf("link", "sw-01", "3")} assertion`);
    expect(json).toMatchObject({
      status: "firing",
      severity: "information",
      summary: "port 3 (uplink {{bmc}}) is down",
      bmc: { name: "sw-01", labels: { rack: "r1" } },
      rule: "link",
      trap: { name: "IF-MIB::linkDown", key: alertKeyOf("link", "sw-01", "3") },
    });
  });

  it("takes an SNMPv1 enterprise trap as snmptrap -v 1 does (ENTERPRISE AGENT GENERIC SPECIFIC UPTIME)", async () => {
    const r = await petgate([
      "traps",
      "test",
      "--config",
      config,
      "-v",
      "1",
      "-c",
      "public",
      "127.0.0.1",
      "ACME-PDU-MIB::acmePdu",
      "192.0.2.7",
      "6",
      "1",
      "",
      "ACME-PDU-MIB::outletIndex.4",
      "i",
      "4",
      "ACME-PDU-MIB::outletName.4",
      "s",
      "web-01",
      "ACME-PDU-MIB::outletState.4",
      "i",
      "fault",
    ]);
    expect(r.stderr).toBe("");
    const { head, json } = parsed(r.stdout);
    // The agent address names the inventory BMC when the source does not.
    expect(head).toMatchObject({
      trap: "ACME-PDU-MIB::outletFault (1.3.6.1.4.1.32473.1.0.1) from 127.0.0.1 (bmc sw-01)",
      rule: "outlet-fault",
      action: "notify",
    });
    expect(json).toMatchObject({ severity: "critical", summary: "Outlet web-01 (4) is fault" });
    expect(json).toMatchObject({ labels: { team: "power" }, trap: { name: "ACME-PDU-MIB::outletFault" } });
  });

  describe("lines written by petgate listen", () => {
    let running: RunningListener;
    beforeAll(async () => {
      running = await startListener();
    });
    afterAll(() => running.close());

    it("--ndjson - reads them from standard input, one answer each; coldStart is dropped by its rule", async () => {
      await netSnmp("snmptrap", ["-v2c", "-c", "public", running.target, "", "1.3.6.1.6.3.1.1.5.1"]);
      await netSnmp("snmptrap", [
        ...["-v2c", "-c", "public", running.target, "", "1.3.6.1.6.3.1.1.5.4"],
        ...["1.3.6.1.2.1.2.2.1.1.3", "i", "3"],
      ]);
      const events = await waitFor("two traps", () =>
        running.events.length === 2 ? running.events : undefined,
      );
      const lines = `${events.map((e) => JSON.stringify(e)).join("\n")}\n`;
      const r = await petgate(["traps", "test", "--config", config, "--ndjson", "-"], lines);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const blocks = r.stdout.split(/^(?=trap )/m).map(parsed);
      expect(blocks.map((b) => [b.head.rule, b.head.action])).toEqual([
        ["noise", "drop"],
        ["link", "notify"],
      ]);
      // Dropped: no notification. linkUp resolves the linkDown alert of its ifIndex, sending none of its own.
      expect(blocks[0]?.head.notification).toBeUndefined();
      expect(blocks[1]?.head).toMatchObject({
        alert: `${alertKeyOf("link", "127.0.0.1", "3")} deassertion`,
        notification: "none of its own (resolves the alert's firing notification, if any)",
      });
    });
  });

  it("finds the inventory BMC as the gateway does: an IPv4-mapped source is its address, and a host two BMCs share names none", async () => {
    const shared = join(dir, "shared.yml");
    writeFileSync(
      shared,
      `mibs: { system: false }
bmcs:
  - { name: pdu-07, host: 192.0.2.30, passwordEnv: UNUSED }
  - { name: nat-a, host: "192.0.2.20:6230", passwordEnv: UNUSED }
  - { name: nat-b, host: "192.0.2.20:6231", passwordEnv: UNUSED }
`,
    );
    const from = async (address: string) => {
      const r = await petgate([
        "traps",
        "test",
        "--config",
        shared,
        "--from",
        address,
        "127.0.0.1",
        "",
        "1.3.6.1.6.3.1.1.5.1",
      ]);
      expect(r.stderr).toBe("");
      return parsed(r.stdout).head.trap;
    };
    expect(await from("::ffff:192.0.2.30")).toBe(
      "SNMPv2-MIB::coldStart (1.3.6.1.6.3.1.1.5.1) from ::ffff:192.0.2.30 (bmc pdu-07)",
    );
    expect(await from("192.0.2.20")).toBe("SNMPv2-MIB::coldStart (1.3.6.1.6.3.1.1.5.1) from 192.0.2.20");
  });

  it("a rule that names nothing a trap has fails with its config path; a bad line with its number", async () => {
    const bad = join(dir, "bad.yml");
    writeFileSync(
      bad,
      "mibs: { system: false }\ntraps:\n  - { name: a, match: ['source=\"x\"'], summary: '{{outletNmae}}' }\n",
    );
    const r = await petgate(["traps", "test", "--config", bad, "127.0.0.1", "", "1.3.6.1.6.3.1.1.5.1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`petgate traps: ${bad}:3: traps[0].summary: unknown name {{outletNmae}}\n`);
    const line = await petgate(
      ["traps", "test", "--config", config, "--ndjson", "-"],
      '{"kind":"trap","source":{"address":"192.0.2.7"},"snmp":{"trapOid":"1.3.6"}}\n',
    );
    expect(line.code).toBe(1);
    expect(line.stderr).toBe("petgate traps: -:1: not a trap event as petgate listen writes it\n");
  });
});
