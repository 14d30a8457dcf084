import { describe, expect, it } from "vitest";
import { Inhibitor, inhibitRulesSchema } from "../../src/pipeline/alerting/inhibit.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { notification as baseNotification } from "../support/notifications.js";

function notification(
  bmc: string,
  text: string,
  over: { status?: Notification["status"]; severity?: Notification["severity"]; rack?: string } = {},
): Notification {
  const status = over.status ?? "firing";
  return baseNotification({
    id: `${bmc}|${text}|${status}`,
    status,
    severity: over.severity ?? "critical",
    summary: `${bmc}: ${text}`,
    bmc: { name: bmc, address: "192.0.2.7", labels: { rack: over.rack ?? "r1" } },
    event: { text, direction: status === "firing" ? "assertion" : "deassertion" },
  });
}

const UNRESPONSIVE = "BMC unresponsive";

function inhibitor(rules: unknown) {
  return new Inhibitor(inhibitRulesSchema.parse(rules));
}

describe("inhibition", () => {
  const bmcDown = [
    {
      source_matchers: [`event="${UNRESPONSIVE}"`],
      target_matchers: [`event!="${UNRESPONSIVE}"`],
      equal: ["bmc"],
    },
  ];

  it("mutes a BMC's other alerts while it is unresponsive, not other BMCs' alerts", () => {
    const inh = inhibitor(bmcDown);
    const source = notification("bmc-07", UNRESPONSIVE);
    inh.observe(source);
    expect(inh.inhibitedBy(notification("bmc-07", "Fan failure"))).toBe(source);
    expect(inh.isInhibited(notification("bmc-08", "Fan failure"))).toBe(false);
    expect(inh.isInhibited(source)).toBe(false);
  });

  it("stops muting once the source resolves", () => {
    const inh = inhibitor(bmcDown);
    inh.observe(notification("bmc-07", UNRESPONSIVE));
    expect(inh.isInhibited(notification("bmc-07", "Fan failure"))).toBe(true);
    inh.observe(notification("bmc-07", UNRESPONSIVE, { status: "resolved" }));
    expect(inh.isInhibited(notification("bmc-07", "Fan failure"))).toBe(false);
    expect(inh.sources).toBe(0);
  });

  it("mutes nothing before a source is seen; a resolved source never inhibits", () => {
    const inh = inhibitor(bmcDown);
    expect(inh.isInhibited(notification("bmc-07", "Fan failure"))).toBe(false);
    inh.observe(notification("bmc-07", UNRESPONSIVE, { status: "resolved" }));
    expect(inh.isInhibited(notification("bmc-07", "Fan failure"))).toBe(false);
  });

  it("needs every equal label to have the same value (a label both lack counts as equal)", () => {
    const inh = inhibitor([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="non-critical"'],
        equal: ["label_rack", "label_row"],
      },
    ]);
    inh.observe(notification("bmc-01", "PSU lost", { rack: "r1" }));
    expect(
      inh.isInhibited(notification("bmc-02", "Fan slow", { severity: "non-critical", rack: "r1" })),
    ).toBe(true);
    expect(
      inh.isInhibited(notification("bmc-03", "Fan slow", { severity: "non-critical", rack: "r2" })),
    ).toBe(false);
  });

  it("without equal, any firing source mutes every target", () => {
    const inh = inhibitor([{ source_matchers: ['event="Maintenance"'] }]);
    inh.observe(notification("bmc-01", "Maintenance"));
    expect(inh.isInhibited(notification("bmc-99", "Fan failure"))).toBe(true);
  });

  it("does not let an alert matching both sides inhibit itself, but another such alert does", () => {
    const inh = inhibitor([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="critical"'], equal: ["bmc"] },
    ]);
    const a = notification("bmc-07", "A");
    inh.observe(a);
    expect(inh.isInhibited(a)).toBe(false);
    expect(inh.isInhibited(notification("bmc-07", "B"))).toBe(true);
  });

  it("does not hold a keyless generic trap as a source: nothing would ever resolve it", () => {
    const inh = inhibitor([{ source_matchers: ['trap="IF-MIB::linkDown"'], equal: ["bmc"] }]);
    for (const ifIndex of [3, 4, 5])
      inh.observe(
        baseNotification({
          id: `linkDown-${ifIndex}`,
          bmc: { name: "sw-1", address: "192.0.2.9", labels: {} },
          trap: { name: "IF-MIB::linkDown", oid: "1.3.6.1.6.3.1.1.5.3", varbinds: [] },
        }),
      );
    expect(inh.sources).toBe(0);
    expect(inh.isInhibited(notification("sw-1", "Fan failure"))).toBe(false);
  });

  it("checks every rule", () => {
    const inh = inhibitor([
      ...bmcDown,
      {
        source_matchers: ['event="Rack power lost"'],
        target_matchers: ['severity!="critical"'],
        equal: ["label_rack"],
      },
    ]);
    inh.observe(notification("pdu-1", "Rack power lost", { rack: "r3" }));
    expect(
      inh.isInhibited(notification("bmc-31", "Fan slow", { severity: "non-critical", rack: "r3" })),
    ).toBe(true);
    expect(inh.isInhibited(notification("bmc-31", "Fan failure", { rack: "r3" }))).toBe(false);
  });

  it("refuses a rule without source matchers or with a bad matcher", () => {
    expect(inhibitRulesSchema.safeParse([{ source_matchers: [] }]).success).toBe(false);
    expect(inhibitRulesSchema.safeParse([{ source_matchers: ['bmc=~"("'] }]).success).toBe(false);
    expect(inhibitRulesSchema.parse(undefined)).toEqual([]);
  });
});
