import { describe, expect, it } from "vitest";
import { STORM_EVENT, StormControl, stormSchema } from "../../src/pipeline/storm.js";
import type { Notification } from "../../src/sinks/sink.js";
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
    expect(stormSchema.parse({})).toEqual({ limit: 20, per: "1m" });
    expect(stormSchema.safeParse({ per: "0s" }).success).toBe(false);
    expect(stormSchema.safeParse({ limit: 0 }).success).toBe(false);
  });
});
