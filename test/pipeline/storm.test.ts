import { describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { FLEET, STORM_EVENT, StormControl, stormSchema } from "../../src/pipeline/alerting/storm.js";
import { notification as baseNotification } from "../support/notifications.js";

const S = 1_000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

let seq = 0;
function notification(bmc: string, severity: Notification["severity"] = "non-critical"): Notification {
  seq++;
  return baseNotification({
    id: `${bmc}-${seq}`,
    severity,
    summary: `${bmc}: event ${seq}`,
    bmc: { name: bmc, address: "192.0.2.7", labels: { rack: "r1" } },
    event: { sensorNumber: seq },
  });
}

describe("storm control", () => {
  it("lets a BMC's first `limit` notifications through, holds the rest, and sums them up once", () => {
    const storm = new StormControl(stormSchema.parse({}));
    const passed: boolean[] = [];
    // 157 events in 10 s: 20 pass, 137 are held, 12 of them critical.
    for (let i = 0; i < 157; i++) {
      const severity = i >= 20 && i < 32 ? "critical" : "non-critical";
      passed.push(storm.admit(notification("bmc-07", severity), T0 + Math.floor((i * 10 * S) / 157)));
    }
    expect(passed.filter(Boolean)).toHaveLength(20);
    expect(passed.slice(0, 20).every(Boolean)).toBe(true);
    expect(storm.storming("bmc-07")).toBe(true);

    // The window opened with the first held notification (at 1.27 s) and lasts a minute.
    const opened = T0 + Math.floor((20 * 10 * S) / 157);
    expect(storm.nextDue()).toBe(opened + 60 * S);
    expect(storm.due(opened + 60 * S - 1)).toEqual([]);
    const [summary, ...more] = storm.due(opened + 60 * S);
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      version: 1,
      status: "firing",
      severity: "critical",
      summary: "bmc-07: 137 events suppressed in the last minute, 12 critical",
      bmc: { name: "bmc-07", labels: { rack: "r1" } },
      event: { text: STORM_EVENT, sensorType: null },
      startsAt: new Date(opened).toISOString(),
      receivedAt: new Date(opened + 60 * S).toISOString(),
    });
    expect(summary?.id).toMatch(/^[0-9a-f]{32}$/);
    expect(storm.due(opened + 120 * S)).toEqual([]);
    expect(storm.storming("bmc-07")).toBe(false);
  });

  it("holds everything from a storming BMC until its window ends, even as tokens come back", () => {
    const storm = new StormControl({ limit: 2, perMs: 10 * S });
    expect(storm.admit(notification("bmc-07"), T0)).toBe(true);
    expect(storm.admit(notification("bmc-07"), T0)).toBe(true);
    expect(storm.admit(notification("bmc-07"), T0)).toBe(false);
    expect(storm.admit(notification("bmc-07"), T0 + 9 * S)).toBe(false);
    const [summary] = storm.due(T0 + 10 * S);
    expect(summary?.summary).toBe("bmc-07: 2 events suppressed in the last 10s");
    // After the window the bucket (refilled) decides again.
    expect(storm.admit(notification("bmc-07"), T0 + 10 * S)).toBe(true);
  });

  it("keeps BMCs apart", () => {
    const storm = new StormControl({ limit: 1, perMs: 60 * S });
    expect(storm.admit(notification("bmc-07"), T0)).toBe(true);
    expect(storm.admit(notification("bmc-07"), T0)).toBe(false);
    expect(storm.admit(notification("bmc-08"), T0)).toBe(true);
    expect(storm.due(T0 + 60 * S).map((n) => n.summary)).toEqual([
      "bmc-07: 1 event suppressed in the last minute",
    ]);
  });

  it("refills at limit per period: a steady rate under the limit is never held", () => {
    const storm = new StormControl({ limit: 20, perMs: 60 * S });
    // 1 every 3 s is exactly 20/min, for 10 minutes.
    for (let t = 0; t < 600 * S; t += 3 * S) expect(storm.admit(notification("bmc-07"), T0 + t)).toBe(true);
    expect(storm.nextDue()).toBeUndefined();
  });

  it("takes the config from petgate.yml", () => {
    expect(stormSchema.parse({})).toEqual({ limit: 20, per: "1m", fleet: { limit: 100, per: "1m" } });
    expect(stormSchema.safeParse({ per: "0s" }).success).toBe(false);
    expect(stormSchema.safeParse({ limit: 0 }).success).toBe(false);
    expect(stormSchema.safeParse({ fleet: { per: "0s" } }).success).toBe(false);
    expect(stormSchema.safeParse({ fleet: { rate: 5 } }).success).toBe(false);
  });
});

describe("fleet-wide storm control", () => {
  /** `count` notifications from `sources` distinct (spoofed) sources, round robin, all at `at`. */
  const flood = (storm: StormControl, sources: number, count: number, at: number) =>
    Array.from({ length: count }, (_, i) =>
      storm.admit(notification(`127.0.${i % sources}.1`, i % 10 === 0 ? "critical" : "non-critical"), at),
    );

  it("holds a flood from many sources, each under its own limit, past the fleet limit, and sums it up once", () => {
    // The flood: 1,250 traps from 50 sources, 25 each, under a per-source limit of 25.
    const storm = new StormControl({ limit: 25, perMs: 60 * S, fleet: { limit: 100, perMs: 60 * S } });
    const passed = flood(storm, 50, 1250, T0);
    expect(passed.filter(Boolean)).toHaveLength(100);
    expect(passed.slice(0, 100).every(Boolean)).toBe(true);
    expect([...Array(50).keys()].some((i) => storm.storming(`127.0.${i}.1`))).toBe(false);

    expect(storm.nextDue()).toBe(T0 + 60 * S);
    expect(storm.due(T0 + 60 * S - 1)).toEqual([]);
    const [summary, ...more] = storm.due(T0 + 60 * S);
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      status: "firing",
      severity: "critical",
      summary: "fleet: 1150 events suppressed in the last minute from 50 sources, 115 critical",
      bmc: { name: FLEET },
      event: { text: STORM_EVENT },
      startsAt: new Date(T0).toISOString(),
      receivedAt: new Date(T0 + 60 * S).toISOString(),
    });
    // Sources by how many were held (23 each), alerts by name: the top five of each.
    expect(summary?.detail).toBe(
      "Top sources: 127.0.0.1 (23), 127.0.1.1 (23), 127.0.2.1 (23), 127.0.3.1 (23), 127.0.4.1 (23). " +
        "Top alerts: Temperature: Upper Critical - going high (1150).",
    );
    expect(storm.due(T0 + 120 * S)).toEqual([]);
    expect(storm.nextDue()).toBeUndefined();
  });

  it("lets the fleet limit through again once the window has closed", () => {
    const storm = new StormControl({ limit: 100, perMs: 60 * S, fleet: { limit: 10, perMs: 60 * S } });
    expect(flood(storm, 20, 40, T0).filter(Boolean)).toHaveLength(10);
    expect(storm.due(T0 + 60 * S).map((n) => n.summary)).toEqual([
      "fleet: 30 events suppressed in the last minute from 20 sources, 3 critical",
    ]);
    expect(flood(storm, 20, 40, T0 + 60 * S).filter(Boolean)).toHaveLength(10);
  });

  it("passes a BMC's storm summary through the fleet bucket: held, it is counted in the fleet's", () => {
    const storm = new StormControl({ limit: 1, perMs: 10 * S, fleet: { limit: 2, perMs: 20 * S } });
    // Three BMCs, two notifications each: each BMC's second is held by its own bucket; of the three
    // firsts the fleet takes two.
    const passed = ["bmc-1", "bmc-2", "bmc-3"].flatMap((b) => [
      storm.admit(notification(b), T0),
      storm.admit(notification(b), T0),
    ]);
    expect(passed).toEqual([true, false, true, false, false, false]);
    // bmc-3's first opened the fleet window; the BMC windows end first, the fleet's still holds.
    expect(storm.due(T0 + 10 * S)).toEqual([]);
    const [fleet, ...more] = storm.due(T0 + 20 * S);
    expect(more).toEqual([]);
    expect(fleet?.summary).toBe("fleet: 4 events suppressed in the last 20s from 3 sources");
    expect(fleet?.detail).toBe(
      "Top sources: bmc-3 (2), bmc-1 (1), bmc-2 (1). Top alerts: Event storm (3), Temperature: Upper Critical - going high (1).",
    );
  });

  it("counts a BMC's storm summary it holds as the events the summary stands for, criticals too", () => {
    const storm = new StormControl({ limit: 1, perMs: 10 * S, fleet: { limit: 2, perMs: 20 * S } });
    // Three BMCs, six notifications each: the first passes its BMC (the fleet takes two of the three),
    // the five after it, two of them critical, are held and summed up by the BMC's window.
    for (const b of ["bmc-1", "bmc-2", "bmc-3"]) {
      storm.admit(notification(b), T0);
      for (const severity of ["critical", "non-critical", "critical", "non-critical", "ok"] as const)
        storm.admit(notification(b, severity), T0);
    }
    // The three BMC summaries ("5 events …, 2 critical") meet the fleet window bmc-3's first opened.
    expect(storm.due(T0 + 10 * S)).toEqual([]);
    const [fleet] = storm.due(T0 + 20 * S);
    expect(fleet?.summary).toBe("fleet: 16 events suppressed in the last 20s from 3 sources, 6 critical");
    expect(fleet?.detail).toBe(
      "Top sources: bmc-3 (6), bmc-1 (5), bmc-2 (5). Top alerts: Event storm (15), Temperature: Upper Critical - going high (1).",
    );
  });

  it("says from how many sources, naming at most 1000 of them", () => {
    const one = new StormControl({ limit: 5, perMs: 60 * S, fleet: { limit: 1, perMs: 60 * S } });
    flood(one, 1, 2, T0);
    expect(one.due(T0 + 60 * S)[0]?.summary).toBe(
      "fleet: 1 event suppressed in the last minute from 1 source",
    );

    const storm = new StormControl({ limit: 1, perMs: 60 * S, fleet: { limit: 1, perMs: 60 * S } });
    flood(storm, 1201, 1201, T0);
    const [summary] = storm.due(T0 + 60 * S);
    expect(summary?.summary).toMatch(
      /^fleet: 1200 events suppressed in the last minute from more than 1000 sources/,
    );
  });
});
