import { describe, expect, it } from "vitest";
import { decodePet } from "../../src/pet/event.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import {
  AlertBook,
  buildNotification,
  type EnrichmentFacts,
} from "../../src/pipeline/alerting/notification.js";
import { compileRoutes, matchRoutes, routesSchema } from "../../src/pipeline/alerting/route.js";
import { StormControl } from "../../src/pipeline/alerting/storm.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { toPostableAlert } from "../../src/sinks/alert.js";
import { defaultSubject, defaultText } from "../../src/sinks/templates/email.js";

/** Temperature sensor 1, UCR going high at local 2012-05-07 19:11:50 UTC+60; `seq` varies the PET. */
function varbind(seq: number, severity = "10"): string {
  return `a123456789abcdefa123456789abcdef${seq.toString(16).padStart(4, "0")}1afd41f6003c2020${severity}2001070109ffff000000000019000012910f02c1`;
}

function pet(
  specificTrap: number,
  seq: number,
  receivedAt = "2026-11-21T10:00:00.000Z",
  severity = "10",
): QueuedEvent {
  const decoded = decodePet(specificTrap, Buffer.from(varbind(seq, severity), "hex"));
  if (!decoded.ok) throw decoded.error;
  const trap: TrapEvent = {
    kind: "pet",
    receivedAt,
    source: { address: "127.1.0.7", port: 40000 },
    snmp: {
      version: "v1",
      pdu: "trap",
      community: "public",
      trapOid: `1.3.6.1.4.1.3183.1.1.0.${specificTrap}`,
    },
    pet: decoded.event,
    varbind: varbind(seq, severity),
  };
  return { id: eventId(trap), trap };
}

const facts: EnrichmentFacts = {
  status: "ok",
  bmc: { name: "bmc-07", address: "127.1.0.7", labels: { rack: "r2" } },
  sensor: { name: "CPU1 Temp", reading: 92, unit: "degrees C", thresholds: { unc: 85, ucr: 90, unr: 95 } },
};

describe("notifications", () => {
  it("carry the BMC, the sensor context and a one-line summary", () => {
    const n = buildNotification(pet(65801, 1), facts);
    expect(n).toMatchObject({
      version: 1,
      status: "firing",
      severity: "critical",
      summary: "bmc-07: Temperature CPU1 Temp: Upper Critical - going high",
      bmc: { name: "bmc-07", labels: { rack: "r2" } },
      event: {
        sensorType: "Temperature",
        sensorNumber: 1,
        direction: "assertion",
        time: "2012-05-07T18:11:50Z",
      },
      sensor: { name: "CPU1 Temp", reading: 92, thresholds: { ucr: 90 } },
      enrichment: "ok",
      startsAt: "2026-11-21T10:00:00.000Z",
    });
    expect(n.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("have the same id for the same event (a retransmitted PET), another for another event", () => {
    expect(buildNotification(pet(65801, 1), facts).id).toBe(
      buildNotification(pet(65801, 1, "2026-11-21T10:00:03.000Z"), facts).id,
    );
    expect(buildNotification(pet(65801, 2), facts).id).not.toBe(buildNotification(pet(65801, 1), facts).id);
  });

  it("resolve an alert when its deassertion arrives, keeping its severity and start", () => {
    const book = new AlertBook();
    const firing = book.next(pet(65801, 1), facts);
    expect(firing?.status).toBe("firing");
    expect(book.next(pet(65801, 2), facts)).toBeUndefined(); // still firing: no second alert
    const resolved = book.next(pet(65929, 3, "2026-11-21T10:05:00.000Z"), facts);
    expect(resolved).toMatchObject({
      status: "resolved",
      severity: "critical",
      startsAt: "2026-11-21T10:00:00.000Z",
      endsAt: "2026-11-21T10:05:00.000Z",
      event: { direction: "deassertion" },
    });
    expect(resolved?.id).not.toBe(firing?.id);
    expect(book.size).toBe(0);
    expect(book.next(pet(65929, 4), facts)).toBeUndefined(); // nothing open to resolve
  });

  it("alert at listener.unknownSeverity for a PET severity byte outside PET 1.0 Table 3-2, with the byte", () => {
    const unknown = pet(65801, 1, undefined, "40");
    expect(unknown.trap.kind === "pet" && unknown.trap.pet).toMatchObject({
      severity: "unknown",
      severityRaw: 0x40,
    });
    expect(buildNotification(unknown, facts)).toMatchObject({
      severity: "critical",
      event: { severityRaw: 0x40 },
    });
    const n = buildNotification(unknown, facts, { unknownSeverity: "non-critical" });
    expect(n.severity).toBe("non-critical");
    expect(buildNotification(pet(65801, 1), facts).event.severityRaw).toBeUndefined();

    // Everything downstream that looks at the severity takes it.
    const tree = compileRoutes(
      routesSchema.parse({
        receiver: "default",
        routes: [{ receiver: "warn", matchers: ['severity="non-critical"'] }],
      }),
    );
    expect(matchRoutes(tree, n).map((r) => r.receiver)).toEqual(["warn"]);
    expect(new StormControl({ limit: 1, perMs: 60_000 }).admit(n, 0)).toBe(true);
    expect(toPostableAlert(n)).toMatchObject({
      labels: { severity: "non-critical", event: "Upper Critical - going high" },
      annotations: { pet_severity: "40h" },
    });
    expect(defaultSubject(n)).toMatch(/^\[NON-CRITICAL\] bmc-07 /);
    expect(defaultText(n)).toContain("non-critical (PET severity 40h, outside PET 1.0 Table 3-2)");
  });
});
