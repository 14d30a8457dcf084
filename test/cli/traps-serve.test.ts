import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { petgateDaemon } from "../support/cli.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { netSnmp, securityArgs, type V3Sender, waitFor } from "../support/listener.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/*
 * Issue 15 with real senders: net-snmp's snmptrap (v1, v2c, v3 authPriv, numeric OIDs only, no MIB
 * of its own) sends to `petgate serve`, which translates through the bundled MIBs and
 * examples/mibs, applies `traps:` rules and delivers to a node:http webhook receiver.
 */

const EXAMPLE_MIBS = fileURLToPath(new URL("../../examples/mibs", import.meta.url));

// IF-MIB ifEntry columns (RFC 2863) and SNMPv2-MIB notifications (RFC 3418), numeric.
const IF_INDEX = "1.3.6.1.2.1.2.2.1.1";
const IF_DESCR = "1.3.6.1.2.1.2.2.1.2";
const IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7";
const IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8";
const LINK_DOWN = "1.3.6.1.6.3.1.1.5.3";
const LINK_UP = "1.3.6.1.6.3.1.1.5.4";
// examples/mibs, under the documentation enterprise 32473 (RFC 5612).
const ACME_PDU = "1.3.6.1.4.1.32473.1";
const OUTLET = `${ACME_PDU}.1.2.1`; // outletEntry
const EXAMPLE_BMC = "1.3.6.1.4.1.32473.2";
const BMC_ALERT = `${EXAMPLE_BMC}.1`; // exampleBmcAlertObjects

const V3: V3Sender = {
  user: "petgate-traps",
  engineId: "0x80001f8880c0ffee0015",
  authKey: "auth-Secret-15-value",
  privKey: "priv-Secret-15-value",
};

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "petgate-traps-"));
  dirs.push(dir);
  return dir;
};

type Daemon = Awaited<ReturnType<typeof petgateDaemon>>;

/** `petgate serve` from `config` on `redis` until ready; its trap port and HTTP URL from the banner. */
async function serve(config: string, redis: TestRedis) {
  const d = await petgateDaemon(
    [
      ...["serve", "--config", config, "--listen", "127.0.0.1:0"],
      ...["--http", "127.0.0.1:0", "--data-dir", tempDir()],
    ],
    /petgate: ready\n/,
    { PETGATE_REDIS: redis.socket },
  );
  const trapPort = Number(d.stderr().match(/udp 127\.0\.0\.1:(\d+)/)?.[1]);
  const http = d.stderr().match(/web page on (http:\/\/\S+?)\/\n/)?.[1];
  return { ...d, target: `udp:127.0.0.1:${trapPort}`, http };
}

async function stop(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null) return;
  d.child.kill("SIGTERM");
  await d.exited;
}

/** A petgate.yml: every notification to `url`, one group per alert, sent at once. */
function configFile(url: string, mibDirs: string[], more: string[]): string {
  const file = join(tempDir(), "petgate.yml");
  const lines = [
    "listener:",
    "  communities: [public]",
    ...more,
    "mibs:",
    `  dirs: [${mibDirs.map((d) => JSON.stringify(d)).join(", ")}]`,
    // Only the bundled MIBs and these dirs, whatever the host has in /usr/share/snmp/mibs.
    "  system: false",
    "routes:",
    "  receiver: hook",
    "  group_by: ['...']",
    "  group_wait: 0s",
    "  group_interval: 1s",
    "receivers:",
    "  - name: hook",
    "    webhook:",
    `      url: ${url}`,
    "      timeoutMs: 2000",
  ];
  writeFileSync(file, lines.join("\n"));
  return file;
}

/** Jobs of the pipeline's queues still waiting, active or delayed (BullMQ's keys under "petgate:"). */
async function unfinishedJobs(redis: TestRedis): Promise<number> {
  const r = new Redis({ path: redis.socket });
  try {
    let n = 0;
    for (const queue of ["ingest", "events", "deliver"])
      n +=
        (await r.llen(`petgate:${queue}:wait`)) +
        (await r.llen(`petgate:${queue}:active`)) +
        (await r.zcard(`petgate:${queue}:delayed`));
    return n;
  } finally {
    r.disconnect();
  }
}

const snmptrap = (args: string[]) => netSnmp("snmptrap", args);
const v2c = (target: string, trapOid: string, varbinds: string[]) =>
  snmptrap([...securityArgs({ version: "2c", community: "public" }), target, "", trapOid, ...varbinds]);

/** A notification's varbind value by the object's name, with or without its module and index. */
function varbind(n: Notification | undefined, object: string): string | undefined {
  return n?.trap?.varbinds.find((v) => v.name.replace(/^[\w-]+::/, "").split(".")[0] === object)?.value;
}

describe("petgate serve translates traps through MIBs and applies trap rules", () => {
  let redis: TestRedis;
  let hook: HttpReceiver;
  let s: Awaited<ReturnType<typeof serve>>;

  const delivered = (what: string, pick: (n: Notification) => boolean) =>
    waitFor(what, () => hook.notifications().find(pick), 20_000);
  const trapNamed = (name: string) => (n: Notification) => n.trap?.name === name;

  beforeAll(async () => {
    redis = await startRedis();
    hook = await startHttpReceiver();
    const secrets = tempDir();
    writeFileSync(join(secrets, "auth"), `${V3.authKey}\n`, { mode: 0o600 });
    writeFileSync(join(secrets, "priv"), `${V3.privKey}\n`, { mode: 0o600 });
    const config = configFile(
      hook.url,
      [EXAMPLE_MIBS],
      [
        "  users:",
        `    - name: ${V3.user}`,
        "      authProtocol: sha256",
        `      authKey: { file: ${join(secrets, "auth")} }`,
        "      privProtocol: aes",
        `      privKey: { file: ${join(secrets, "priv")} }`,
        "traps:",
        "  - name: link-down",
        `    match: ['trap="IF-MIB::linkDown"']`,
        "    severity: critical",
        "    summary: 'Link {{ifDescr}} (ifIndex {{ifIndex}}) is {{ifOperStatus}}'",
        "    labels: { team: network }",
        "    key: [ifIndex]",
        `    resolved_by: ['trap="IF-MIB::linkUp"']`,
        "  - name: cold-start",
        `    match: ['trap="SNMPv2-MIB::coldStart"']`,
        "    action: drop",
        "  - name: bmc-fan",
        `    match: ['trap="EXAMPLE-BMC-MIB::bmcFanFailure"']`,
        "    severity: critical",
        "    summary: '{{bmcAlertSystemFQDN}} {{bmcAlertDeviceID}}: {{bmcAlertMessageID}} {{bmcAlertMessage}}'",
        "    labels: { team: servers }",
        "    key: [bmcAlertDeviceID]",
        `    resolved_by: ['trap="EXAMPLE-BMC-MIB::bmcFanNormal"']`,
        "  - name: outlet-fault",
        `    match: ['trap="ACME-PDU-MIB::outletFault"', 'source=~"127\\\\.0\\\\..*"']`,
        "    severity: critical",
        "    summary: 'Outlet {{outletName}} ({{outletIndex}}) is {{outletState}}'",
        "    labels: { team: power }",
        "    key: [outletIndex]",
        `    resolved_by: ['trap="ACME-PDU-MIB::outletRecovered"']`,
      ],
    );
    s = await serve(config, redis);
  });
  afterAll(async () => {
    await stop(s);
    await hook?.close();
    await redis?.dispose();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("IF-MIB linkDown (v2c) fires with its summary templated; linkUp of another ifIndex resolves nothing, of the same ifIndex resolves it", async () => {
    const ifVarbinds = (i: number, oper: number) => [
      ...[`${IF_INDEX}.${i}`, "i", String(i)],
      ...[`${IF_DESCR}.${i}`, "s", `eth${i}`],
      ...[`${IF_ADMIN_STATUS}.${i}`, "i", "1"],
      ...[`${IF_OPER_STATUS}.${i}`, "i", String(oper)],
    ];
    await v2c(s.target, LINK_DOWN, ifVarbinds(3, 2));
    const firing = await delivered("linkDown delivered", trapNamed("IF-MIB::linkDown"));
    expect(firing).toMatchObject({
      status: "firing",
      severity: "critical",
      summary: "Link eth3 (ifIndex 3) is down",
      rule: "link-down",
      labels: { team: "network" },
      trap: { name: "IF-MIB::linkDown", oid: LINK_DOWN, rule: "link-down" },
      bmc: { name: "127.0.0.1", address: "127.0.0.1" },
    });
    expect(varbind(firing, "ifOperStatus")).toBe("down");
    expect(varbind(firing, "ifDescr")).toBe("eth3");

    // ifIndex 4 never went down: its linkUp is a deassertion of no alert. The linkUp of ifIndex 3,
    // sent after it, is the event to wait on.
    await v2c(s.target, LINK_UP, ifVarbinds(4, 1));
    await v2c(s.target, LINK_UP, ifVarbinds(3, 1));
    const resolved = await delivered("linkDown resolved", (n) => n.status === "resolved");
    await waitFor("the queues drained", async () => (await unfinishedJobs(redis)) === 0 || undefined, 15_000);
    const links = hook.notifications().filter((n) => n.rule === "link-down");
    expect(links.map((n) => n.status)).toEqual(["firing", "resolved"]);
    // The same alert: Alertmanager's identity is the label set; it started when the linkDown came.
    expect(resolved).toMatchObject({
      severity: "critical",
      labels: firing.labels,
      startsAt: firing.startsAt,
      bmc: firing.bmc,
    });
    expect(resolved.endsAt).toBeDefined();
    // Resolved by the linkUp of ifIndex 3 (its varbinds are that trap's), not by that of ifIndex 4.
    expect(varbind(resolved, "ifIndex")).toBe("3");
    expect(resolved.trap).toMatchObject({ name: "IF-MIB::linkDown", key: firing.trap?.key });
    expect(firing.trap?.key).toBeDefined();
  });

  it("a v1 coldStart (generic-trap 0) dropped by its rule: nothing delivered, counted in /metrics", async () => {
    await snmptrap([
      "-v",
      "1",
      "-c",
      "public",
      s.target,
      "1.3.6.1.4.1.8072.3.2.10",
      "127.0.0.1",
      "0",
      "0",
      "0",
    ]);
    const counted = await waitFor(
      "the drop counted",
      async () => {
        const text = await (await fetch(`${s.http}/metrics`)).text();

        return text
          .split("\n")
          .find(
            (l) =>
              l.startsWith("petgate_trap_rules_total{") &&
              l.includes('rule="cold-start"') &&
              l.includes('action="drop"'),
          );
      },
      15_000,
    );
    expect(counted).toMatch(/ 1$/);
    await waitFor("the queues drained", async () => (await unfinishedJobs(redis)) === 0 || undefined, 15_000);
    expect(hook.notifications().filter(trapNamed("SNMPv2-MIB::coldStart"))).toEqual([]);
  });

  it("a v1 enterprise-specific trap maps per RFC 3584 to its NOTIFICATION-TYPE and matches its rule by MIB name", async () => {
    // ENTERPRISE exampleBmc, specific-trap 1 → { exampleBmc 0 1 } = EXAMPLE-BMC-MIB::bmcFanFailure.
    await snmptrap([
      ...["-v", "1", "-c", "public", s.target, EXAMPLE_BMC, "127.0.0.1", "6", "1", "0"],
      ...[`${BMC_ALERT}.1.0`, "s", "FAN0001"],
      ...[`${BMC_ALERT}.2.0`, "s", "Fan 3 RPM is less than the lower critical threshold."],
      ...[`${BMC_ALERT}.3.0`, "i", "5"],
      ...[`${BMC_ALERT}.4.0`, "s", "Fan.Embedded.3"],
      ...[`${BMC_ALERT}.5.0`, "s", "7XQ2K93"],
      ...[`${BMC_ALERT}.6.0`, "s", "db-14.example.net"],
      ...[`${BMC_ALERT}.7.0`, "a", "192.0.2.14"],
      // DateAndTime (RFC 2579): 2025-01-15 10:30:05.0, no zone.
      ...[`${BMC_ALERT}.8.0`, "x", "07E9010F0A1E0500"],
    ]);
    const n = await delivered("bmcFanFailure delivered", trapNamed("EXAMPLE-BMC-MIB::bmcFanFailure"));
    expect(n).toMatchObject({
      status: "firing",
      severity: "critical",
      rule: "bmc-fan",
      labels: { team: "servers" },
      summary:
        "db-14.example.net Fan.Embedded.3: FAN0001 Fan 3 RPM is less than the lower critical threshold.",
      trap: { name: "EXAMPLE-BMC-MIB::bmcFanFailure", oid: `${EXAMPLE_BMC}.0.1`, rule: "bmc-fan" },
    });
    expect(varbind(n, "bmcAlertStatus")).toBe("critical");
    expect(varbind(n, "bmcAlertBmcAddress")).toBe("192.0.2.14");
    expect(varbind(n, "bmcAlertTime")).toBe("2025-1-15,10:30:5.0");
  });

  it("a v3 authPriv ACME-PDU-MIB::outletFault: enum label, DisplayString, display hint, the templated summary", async () => {
    await snmptrap([
      ...securityArgs({ version: "3", ...V3 }),
      ...[s.target, "", `${ACME_PDU}.0.1`],
      ...[`${OUTLET}.1.5`, "i", "5"],
      ...[`${OUTLET}.2.5`, "s", "Rack 12 PSU-A"],
      ...[`${OUTLET}.3.5`, "i", "3"],
      ...[`${OUTLET}.4.5`, "u", "12"],
    ]);
    const n = await delivered("outletFault delivered", trapNamed("ACME-PDU-MIB::outletFault"));
    expect(n).toMatchObject({
      status: "firing",
      severity: "critical",
      summary: "Outlet Rack 12 PSU-A (5) is fault",
      rule: "outlet-fault",
      labels: { team: "power" },
      trap: { name: "ACME-PDU-MIB::outletFault", oid: `${ACME_PDU}.0.1`, rule: "outlet-fault" },
    });
    // The MIB's DESCRIPTION is the detail when the rule gives none.
    expect(n.detail).toContain("An outlet went to fault");
    expect(varbind(n, "outletName")).toBe("Rack 12 PSU-A");
    expect(varbind(n, "outletState")).toBe("fault");
    // AcmeDeciAmperes: DISPLAY-HINT "d-1" (RFC 2579 §3.1), 12 tenths of an ampere.
    expect(varbind(n, "outletCurrent")).toBe("1.2");
    expect(s.stderr()).not.toContain("Secret-15");
  });

  it("a trap no rule matches arrives as the catch-all notification, with its MIB name and varbind names", async () => {
    await v2c(s.target, `${EXAMPLE_BMC}.0.5`, [
      ...[`${BMC_ALERT}.1.0`, "s", "TMP0120"],
      ...[`${BMC_ALERT}.3.0`, "i", "4"],
      ...[`${BMC_ALERT}.4.0`, "s", "Temperature.Inlet.1"],
    ]);
    const n = await delivered("the catch-all", trapNamed("EXAMPLE-BMC-MIB::bmcTemperatureWarning"));
    expect(n.rule).toBeUndefined();
    expect(n.trap?.rule).toBeUndefined();
    expect(n).toMatchObject({
      status: "firing",
      severity: "information",
      trap: { oid: `${EXAMPLE_BMC}.0.5` },
    });
    expect(n.trap?.varbinds.map((v) => v.name.replace(/^[\w-]+::/, "").split(".")[0])).toEqual([
      "bmcAlertMessageID",
      "bmcAlertStatus",
      "bmcAlertDeviceID",
    ]);
    expect(varbind(n, "bmcAlertStatus")).toBe("nonCritical");
    expect(n.summary).toContain("EXAMPLE-BMC-MIB::bmcTemperatureWarning");
  });
});

describe("petgate serve with a MIB that does not parse and one importing a missing module", () => {
  let redis: TestRedis;
  let hook: HttpReceiver;
  let s: Awaited<ReturnType<typeof serve>> | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    hook = await startHttpReceiver();
  });
  afterAll(async () => {
    await stop(s);
    await hook?.close();
    await redis?.dispose();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("starts, names both with file and line, and the others still translate", async () => {
    const mibs = tempDir();
    copyFileSync(join(EXAMPLE_MIBS, "ACME-PDU-MIB.mib"), join(mibs, "ACME-PDU-MIB.mib"));
    const broken = join(mibs, "BROKEN-MIB.mib");
    writeFileSync(
      broken,
      [
        "BROKEN-MIB DEFINITIONS ::= BEGIN",
        "IMPORTS OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;",
        "brokenRoot OBJECT IDENTIFIER ::= { enterprises 32473 99 }",
        "brokenValue OBJECT-TYPE",
        "    SYNTAX      Integer32",
        "    MAX-ACCESS  read-only",
        "    STATUS      current",
        '    DESCRIPTION "A value."',
        "    ::= { brokenRoot 1 ) ",
        "END",
      ].join("\n"),
    );
    const orphan = join(mibs, "ORPHAN-MIB.mib");
    writeFileSync(
      orphan,
      [
        "ORPHAN-MIB DEFINITIONS ::= BEGIN",
        "IMPORTS",
        "    OBJECT-TYPE, Integer32 FROM SNMPv2-SMI",
        "    acmeWidgets FROM ACME-WIDGET-MIB;",
        "orphanValue OBJECT-TYPE",
        "    SYNTAX      Integer32",
        "    MAX-ACCESS  read-only",
        "    STATUS      current",
        '    DESCRIPTION "A value under a module nobody has."',
        "    ::= { acmeWidgets 1 }",
        "END",
      ].join("\n"),
    );
    s = await serve(configFile(hook.url, [mibs], []), redis);
    const problems = s
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("petgate: MIB "));
    expect(problems).toHaveLength(2);
    expect(problems).toContainEqual(
      expect.stringMatching(new RegExp(`^petgate: MIB ${broken}:9: .+ \\(skipped\\)$`)),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(new RegExp(`^petgate: MIB ${orphan}:4: .*ACME-WIDGET-MIB.* \\(skipped\\)$`)),
    );

    await v2c(s.target, `${ACME_PDU}.0.2`, [
      ...[`${OUTLET}.1.7`, "i", "7"],
      ...[`${OUTLET}.2.7`, "s", "core switch B"],
      ...[`${OUTLET}.3.7`, "i", "1"],
    ]);
    const n = await waitFor(
      "outletRecovered delivered",
      () => hook.notifications().find((x) => x.trap?.name === "ACME-PDU-MIB::outletRecovered"),
      20_000,
    );
    expect(varbind(n, "outletState")).toBe("on");
    expect(varbind(n, "outletName")).toBe("core switch B");
  });
});
