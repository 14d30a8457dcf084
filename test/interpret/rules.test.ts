import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import type { MibStore } from "../../src/mib/store.js";
import { TrapRuleError } from "../../src/pipeline/interpret/rules.js";
import { assertedPetFrom, petTrap } from "../support/redis.js";
import {
  ACME_PDU,
  alertKeyOf,
  exampleStore,
  IF_ADMIN_STATUS,
  IF_DESCR,
  IF_INDEX,
  IF_NAME,
  LINK_DOWN,
  LINK_UP,
  OUTLET_INDEX,
  OUTLET_NAME,
  OUTLET_STATE,
  queuedEvent,
  rulesFrom,
  v1Trap,
  v2cTrap,
  vb,
} from "./traps.js";

let store: MibStore;
beforeAll(async () => {
  store = await exampleStore();
});

const linkDown = (ifIndex: number, address?: string) =>
  v2cTrap(
    LINK_DOWN,
    [vb(`${IF_INDEX}.${ifIndex}`, "Integer", ifIndex), vb(`${IF_ADMIN_STATUS}.${ifIndex}`, "Integer", 1)],
    address,
  );
const linkUp = (ifIndex: number, address?: string) =>
  v2cTrap(
    LINK_UP,
    [vb(`${IF_INDEX}.${ifIndex}`, "Integer", ifIndex), vb(`${IF_ADMIN_STATUS}.${ifIndex}`, "Integer", 1)],
    address,
  );
const coldStart = () => v2cTrap("1.3.6.1.6.3.1.1.5.1", []);
const outletFault = (outlet: number, name: string) =>
  v1Trap(ACME_PDU, 1, [
    vb(`${OUTLET_INDEX}.${outlet}`, "Integer", outlet),
    vb(`${OUTLET_NAME}.${outlet}`, "OctetString", name),
    vb(`${OUTLET_STATE}.${outlet}`, "Integer", 3),
  ]);

describe("trap rules", () => {
  it("the first rule that matches wins, in the order written, whether or not it names the trap", () => {
    const yaml = (first: string, second: string) => `traps:\n${first}\n${second}\n`;
    const byTrap = `  - { name: by-trap, match: ['trap="IF-MIB::linkDown"'] }`;
    const bySource = `  - { name: by-source, match: ['source="192.0.2.7"'] }`;
    expect(rulesFrom(yaml(byTrap, bySource), store).interpret(linkDown(3)).rule).toBe("by-trap");
    expect(rulesFrom(yaml(bySource, byTrap), store).interpret(linkDown(3)).rule).toBe("by-source");
    // A trap the first rule does not name goes on to the next that matches.
    expect(rulesFrom(yaml(byTrap, bySource), store).interpret(coldStart()).rule).toBe("by-source");
  });

  it("linkDown fires and linkUp of the same ifIndex resolves the same alert; another ifIndex is another alert", () => {
    const rules = rulesFrom(
      `traps:
  - name: link
    match: ['trap="IF-MIB::linkDown"']
    resolved_by: ['trap="IF-MIB::linkUp"']
    key: [ifIndex]
    summary: 'port {{ifIndex}} is {{ifAdminStatus}}'
`,
      store,
    );
    const down = rules.interpret(linkDown(3));
    const up = rules.interpret(linkUp(3));
    expect(down).toMatchObject({
      rule: "link",
      action: "notify",
      alert: { key: alertKeyOf("link", "192.0.2.7", "3"), direction: "assertion" },
    });
    expect(down.summary).toBe("port 3 is up");
    expect(up.alert).toEqual({ key: alertKeyOf("link", "192.0.2.7", "3"), direction: "deassertion" });
    expect(rules.interpret(linkUp(4)).alert?.key).toBe(alertKeyOf("link", "192.0.2.7", "4"));
    expect(rules.interpret(linkDown(3, "192.0.2.8")).alert?.key).toBe(alertKeyOf("link", "192.0.2.8", "3"));
    // From an inventory BMC, its name is in the key.
    const bmc = { name: "sw-01", address: "192.0.2.7", labels: { rack: "r1" } };
    expect(rules.interpret(linkDown(3), bmc).alert?.key).toBe(alertKeyOf("link", "sw-01", "3"));
    // resolved_by naming its trap by regex: the rule is tried for every trap, linkUp too.
    const byRegex = rulesFrom(
      `traps:\n  - { name: link, match: ['trap="IF-MIB::linkDown"'], resolved_by: ['trap=~".*::linkUp"'], key: [ifIndex] }\n`,
      store,
    );
    expect(byRegex.interpret(linkUp(3)).alert).toEqual({
      key: alertKeyOf("link", "192.0.2.7", "3"),
      direction: "deassertion",
    });
  });

  it("alert keys tell key values apart whatever they contain, and are 37 characters however long the values", () => {
    const rules = rulesFrom(
      `traps:\n  - { name: link, match: ['trap="IF-MIB::linkDown"'], resolved_by: ['trap="IF-MIB::linkUp"'], key: [ifDescr, ifName] }\n`,
      store,
    );
    const keyOf = (ifDescr: string, ifName: string) =>
      rules.interpret(
        v2cTrap(LINK_DOWN, [
          vb(`${IF_DESCR}.3`, "OctetString", ifDescr),
          vb(`${IF_NAME}.3`, "OctetString", ifName),
        ]),
      ).alert?.key;
    expect(keyOf("a|b", "c")).toBe(alertKeyOf("link", "192.0.2.7", "a|b", "c"));
    expect(keyOf("a|b", "c")).not.toBe(keyOf("a", "b|c"));
    expect(keyOf("x".repeat(512), "y".repeat(512))).toMatch(/^trap:[0-9a-f]{32}$/);
  });

  it("drop and log are the rule's action; a trap no rule matches is notified (the catch-all) with its MIB name", () => {
    const rules = rulesFrom(
      `traps:
  - { name: noise, match: ['trap="SNMPv2-MIB::coldStart"'], action: drop }
  - { name: audit, match: ['trap="IF-MIB::linkUp"'], action: log }
`,
      store,
    );
    expect(rules.interpret(coldStart())).toMatchObject({ rule: "noise", action: "drop" });
    expect(rules.interpret(linkUp(1))).toMatchObject({ rule: "audit", action: "log" });
    const other = rules.interpret(linkDown(2));
    expect(other.rule).toBeUndefined();
    expect(other.action).toBe("notify");
    expect(other.alert).toBeUndefined();
    expect(other.trap?.name).toBe("IF-MIB::linkDown");
    expect(other.trap?.varbinds.map((v) => `${v.name}${v.index}=${v.value}`)).toEqual([
      "ifIndex.2=2",
      "ifAdminStatus.2=up",
    ]);
    expect(other.detail).toMatch(/^A linkDown trap signifies/);
  });

  it("trap= takes the MIB name, the bare name or the numeric OID; trap!= the opposite", () => {
    for (const name of ["IF-MIB::linkDown", "linkDown", LINK_DOWN, `.${LINK_DOWN}`]) {
      const rules = rulesFrom(`traps:\n  - { name: r, match: ['trap="${name}"'] }\n`, store);
      expect(rules.interpret(linkDown(1)).rule, name).toBe("r");
      expect(rules.interpret(linkUp(1)).rule, name).toBeUndefined();
    }
    const not = rulesFrom(`traps:\n  - { name: r, match: ['trap!="IF-MIB::linkDown"'] }\n`, store);
    expect(not.interpret(linkDown(1)).rule).toBeUndefined();
    expect(not.interpret(linkUp(1)).rule).toBe("r");
  });

  it("trap=~ matches a subtree by numeric OID or by MIB name; trap!~ holds when neither matches", () => {
    const rules = rulesFrom(
      `traps:
  - { name: acme-numeric, match: ['trap=~"1\\\\.3\\\\.6\\\\.1\\\\.4\\\\.1\\\\.32473\\\\.1\\\\..*"', 'trap_oid!="x"'] }
  - { name: if-mib, match: ['trap=~"IF-MIB::.*"'] }
  - { name: not-snmpv2, match: ['trap!~"SNMPv2-MIB::.*"'] }
`,
      store,
    );
    expect(rules.interpret(outletFault(4, "web-01")).rule).toBe("acme-numeric");
    expect(rules.interpret(linkUp(1)).rule).toBe("if-mib");
    expect(rules.interpret(coldStart()).rule).toBeUndefined();
    expect(rules.interpret(v2cTrap("1.3.6.1.4.1.99999.0.1", [])).rule).toBe("not-snmpv2");
  });

  it("an SNMPv1 enterprise trap matches its NOTIFICATION-TYPE (RFC 3584) and templates see enum labels and text", () => {
    const rules = rulesFrom(
      `traps:
  - name: outlet-fault
    match: ['trap="ACME-PDU-MIB::outletFault"', 'outletState="fault"']
    severity: critical
    summary: 'Outlet {{outletName}} ({{outletIndex}}) is {{outletState}}'
    labels: { team: power, outlet: 'o{{outletIndex_index}}' }
    key: [outletIndex]
    resolved_by: ['trap="ACME-PDU-MIB::outletRecovered"']
`,
      store,
    );
    const v = rules.interpret(outletFault(4, "web-01"));
    expect(v).toMatchObject({
      rule: "outlet-fault",
      severity: "critical",
      summary: "Outlet web-01 (4) is fault",
      labels: { team: "power", outlet: "o4" },
      alert: { key: alertKeyOf("outlet-fault", "192.0.2.7", "4"), direction: "assertion" },
      trap: { name: "ACME-PDU-MIB::outletFault", oid: `${ACME_PDU}.0.1` },
    });
    // detail: the MIB's DESCRIPTION when the rule gives none.
    expect(v.detail).toMatch(/^An outlet went to fault/);
  });

  it("a PET with only generic trap rules gets the catch-all, its OID looked up in the MIBs once, not per PET", () => {
    const lookups: string[] = [];
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          lookups.push(String(prop));
          return value.apply(target, args);
        };
      },
    });
    const generic = Array.from(
      { length: 200 },
      (_, i) => `  - { name: r${i}, match: ['trap=~"VENDOR${i}-MIB::.*"', 'source="192.0.2.10"'] }`,
    );
    const rules = rulesFrom(`traps:\n${generic.join("\n")}\n`, counted);
    const pet = () => queuedEvent(assertedPetFrom("192.0.2.10", "44454c4c-3000-1010-8030-b4c04f4d5a31"));
    lookups.length = 0;
    expect(rules.interpret(pet())).toEqual({ action: "notify", labels: {} });
    expect(lookups.length).toBeGreaterThan(0);
    lookups.length = 0;
    expect(rules.interpret(pet())).toEqual({ action: "notify", labels: {} });
    expect(lookups).toEqual([]);
    // A generic trap no rule can match keeps its translation.
    expect(rules.interpret(coldStart()).trap?.name).toBe("SNMPv2-MIB::coldStart");
  });

  it("a rule on PET fields overrides severity and summary; a PET keeps its IPMI identity (no alert key)", () => {
    const pet = queuedEvent(assertedPetFrom("192.0.2.10", "44454c4c-3000-1010-8030-b4c04f4d5a31"));
    const rules = rulesFrom(
      `traps:
  - name: intrusion-is-minor
    match: ['sensor_type="Physical Security"', 'direction="assertion"']
    resolved_by: ['sensor_type="Physical Security"']
    key: [sensor_number]
    severity: non-critical
    summary: '{{bmc}}: {{event}} on sensor {{sensor_number}} ({{sensor}})'
`,
      store,
    );
    const bmc = { name: "r740-01", address: "192.0.2.10", labels: {} };
    const v = rules.interpret(pet, bmc, "Intrusion");
    expect(pet.trap.kind === "pet" && pet.trap.pet.sensorTypeName).toBe("Physical Security");
    expect(v).toMatchObject({
      rule: "intrusion-is-minor",
      action: "notify",
      severity: "non-critical",
      summary: "r740-01: General Chassis Intrusion on sensor 115 (Intrusion)",
    });
    expect(v.alert).toBeUndefined();
    expect(v.trap).toBeUndefined();
    // resolved_by is for generic traps: the PET's deassertion is not taken by the rule.
    const deasserted = queuedEvent(petTrap(2));
    expect(deasserted.trap.kind === "pet" && deasserted.trap.pet.eventDirection).toBe("deassertion");
    expect(rules.interpret(deasserted, bmc)).toEqual({ action: "notify", labels: {} });
  });

  it("templates and labels are cut to their bounds", () => {
    const long = "x".repeat(600);
    const rules = rulesFrom(
      `traps:\n  - { name: r, match: ['trap="IF-MIB::linkDown"'], summary: '{{ifDescr}}{{ifDescr}}', labels: { port: '{{ifDescr}}' } }\n`,
      store,
    );
    const v = rules.interpret(v2cTrap(LINK_DOWN, [vb(`${IF_DESCR}.1`, "OctetString", long.slice(0, 500))]));
    expect(v.summary).toHaveLength(512);
    expect(v.labels.port).toHaveLength(128);
  });
});

describe("rules that cannot be used", () => {
  const compileError = (yaml: string) => {
    try {
      rulesFrom(yaml, store);
    } catch (err) {
      if (err instanceof TrapRuleError) return { path: err.path, message: err.message };
      throw err;
    }
    throw new Error("compiled");
  };

  it("a template naming nothing a trap has fails with its path", () => {
    expect(
      compileError(
        `traps:\n  - { name: a, match: ['bmc="x"'] }\n  - { name: b, match: ['bmc="x"'], summary: 'port {{ifIndx}}' }\n`,
      ),
    ).toEqual({ path: ["traps", 1, "summary"], message: "traps[1].summary: unknown name {{ifIndx}}" });
    expect(
      compileError(`traps:\n  - { name: a, match: ['bmc="x"'], detail: '{{ no name }}' }\n`).path,
    ).toEqual(["traps", 0, "detail"]);
    expect(
      compileError(`traps:\n  - { name: a, match: ['bmc="x"'], labels: { port: '{{nope}}' } }\n`).path,
    ).toEqual(["traps", 0, "labels", "port"]);
  });

  it("a label every notification already has is refused with its path", () => {
    for (const name of ["severity", "bmc", "trap", "rule", "label_rack", "instance"])
      expect(
        compileError(`traps:\n  - { name: a, match: ['bmc="x"'], labels: { ${name}: v } }\n`),
      ).toMatchObject({
        path: ["traps", 0, "labels", name],
        message: expect.stringContaining(`"${name}" is a label every notification has`),
      });
  });

  it("a trap name no loaded MIB defines, and a matcher or key on an unknown name, fail with their paths", () => {
    expect(
      compileError(`traps:\n  - { name: a, match: ['source="x"', 'trap="ACME-PDU-MIB::outletFire"'] }\n`),
    ).toEqual({
      path: ["traps", 0, "match", 1],
      message: 'traps[0].match[1]: no loaded MIB defines the trap "ACME-PDU-MIB::outletFire"',
    });
    expect(
      compileError(`traps:\n  - { name: a, match: ['bmc="x"'], resolved_by: ['outletStat="on"'] }\n`).path,
    ).toEqual(["traps", 0, "resolved_by", 0]);
    expect(
      compileError(
        `traps:\n  - { name: a, match: ['bmc="x"'], resolved_by: ['bmc="y"'], key: [ifIndex, nothing] }\n`,
      ).path,
    ).toEqual(["traps", 0, "key", 1]);
  });

  /** The config loader's problems with `yaml`, each file:line: path: message. */
  const load = (yaml: string) => {
    try {
      parseConfig(yaml, "petgate.yml");
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error("loaded");
  };

  it("the config loader refuses a bad matcher and a duplicate rule name, naming line and path", () => {
    expect(load(`traps:\n  - name: a\n    match: ['trap=~"("']\n`)).toEqual([
      expect.stringMatching(/^petgate\.yml:3: traps\[0\]\.match\[0\]: invalid matcher/),
    ]);
    expect(
      load(`traps:\n  - { name: a, match: ['bmc="x"'] }\n  - { name: a, match: ['bmc="y"'] }\n`),
    ).toEqual(['petgate.yml:3: traps[1].name: duplicate trap rule name "a"']);
    expect(load(`traps:\n  - { name: a, match: [] }\n`)).toEqual([
      expect.stringMatching(/^petgate\.yml:2: traps\[0\]\.match: /),
    ]);
  });

  it("the config loader refuses a key without resolved_by (its alert could never resolve), naming line and path", () => {
    expect(load(`traps:\n  - name: a\n    match: ['trap="IF-MIB::linkDown"']\n    key: [ifIndex]\n`)).toEqual(
      [
        "petgate.yml:4: traps[0].key: a key needs resolved_by: without it the alert fires once and, never resolved, keeps every later trap of its key quiet",
      ],
    );
  });
});
