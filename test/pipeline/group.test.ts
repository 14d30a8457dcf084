import { describe, expect, it } from "vitest";
import { type Batch, Grouper, placements } from "../../src/pipeline/alerting/group.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { compileRoutes, routesSchema } from "../../src/pipeline/alerting/route.js";
import { compileTimeIntervals, timeIntervalsSchema } from "../../src/pipeline/alerting/time-intervals.js";
import { notification as baseNotification } from "../support/notifications.js";

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function notification(
  bmc: string,
  text: string,
  status: Notification["status"] = "firing",
  startsAt = "2026-01-01T00:00:00.000Z",
): Notification {
  return baseNotification({
    id: `${bmc}|${text}|${status}|${startsAt}`,
    status,
    summary: `${bmc}: ${text}`,
    bmc: { name: bmc, address: "192.0.2.7", labels: {} },
    event: { text, direction: status === "firing" ? "assertion" : "deassertion" },
    receivedAt: startsAt,
    startsAt,
  });
}

/** A fake now: the time the grouper is told notifications arrive. */
function setup(config: unknown, timeIntervals: unknown = []) {
  let now = T0;
  const tree = compileRoutes(
    routesSchema.parse(config),
    compileTimeIntervals(timeIntervalsSchema.parse(timeIntervals)),
  );
  const grouper = new Grouper();
  return {
    tree,
    grouper,
    at(ms: number) {
      now = T0 + ms;
    },
    add(n: Notification, groups = placements(tree, n)) {
      for (const g of groups) grouper.add(n, g, now);
    },
    due: (ms: number) => grouper.due(T0 + ms),
  };
}

const shown = (batches: Batch[]) =>
  batches.map((b) => `${b.receiver} ${b.notifications.map((n) => `${n.event.text}:${n.status}`).join(",")}`);

const discarded = (grouper: Grouper) =>
  grouper.takeDiscarded().map((d) => `${d.receiver} ${d.notification.event.text}:${d.notification.status}`);

const config = {
  receiver: "ops",
  group_by: ["bmc"],
  group_wait: "30s",
  group_interval: "5m",
  repeat_interval: "1h",
};

describe("grouping timeline", () => {
  it("waits group_wait, then batches changes every group_interval, repeats after repeat_interval", () => {
    const g = setup(config);
    g.at(0);
    g.add(notification("bmc-07", "A"));
    expect(g.grouper.nextDue()).toBe(T0 + 30 * S);
    g.at(10 * S);
    g.add(notification("bmc-07", "B"));
    expect(shown(g.due(29 * S))).toEqual([]);
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing,B:firing"]);

    // A notification after the first batch waits for the next group_interval tick (5m30s).
    g.at(40 * S);
    g.add(notification("bmc-07", "C"));
    expect(shown(g.due(1 * M))).toEqual([]);
    expect(g.grouper.nextDue()).toBe(T0 + 5 * M + 30 * S);
    // Only what changed goes out: A and B were sent already.
    expect(shown(g.due(5 * M + 30 * S))).toEqual(["ops C:firing"]);

    // Nothing changed: nothing sent at the next tick.
    expect(shown(g.due(10 * M + 30 * S))).toEqual([]);

    // A resolves: A's resolution goes out, and A leaves the group.
    g.at(11 * M);
    g.add(notification("bmc-07", "A", "resolved"));
    expect(shown(g.due(15 * M + 30 * S))).toEqual(["ops A:resolved"]);

    // Unchanged: resent at the first tick at least repeat_interval (1h) after the last batch.
    for (let t = 20 * M + 30 * S; t < 75 * M + 30 * S; t += 5 * M) expect(g.due(t)).toEqual([]);
    expect(shown(g.due(75 * M + 30 * S))).toEqual(["ops B:firing,C:firing"]);
  });

  it("drops a group once its last alert resolved and was sent; the next alert starts over with group_wait", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing"]);
    g.at(1 * M);
    g.add(notification("bmc-07", "A", "resolved"));
    expect(shown(g.due(5 * M + 30 * S))).toEqual(["ops A:resolved"]);
    expect(g.grouper.size).toBe(0);
    expect(g.grouper.nextDue()).toBeUndefined();
    // Both went out: nothing held was dropped.
    expect(g.grouper.takeDiscarded()).toEqual([]);

    g.at(6 * M);
    g.add(notification("bmc-07", "D", "firing", "2026-01-01T00:06:00.000Z"));
    expect(shown(g.due(6 * M + 29 * S))).toEqual([]);
    expect(shown(g.due(6 * M + 30 * S))).toEqual(["ops D:firing"]);
  });

  it("does not send a resolved notification for an alert the receiver never saw firing", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A"));
    g.at(5 * S);
    g.add(notification("bmc-07", "A", "resolved"));
    expect(shown(g.due(30 * S))).toEqual([]);
    expect(g.grouper.size).toBe(0);
    // Neither will ever go out: the caller releases what it held for them (src/pipeline/notify/outbox.ts).
    expect(discarded(g.grouper)).toEqual(["ops A:firing", "ops A:resolved"]);
    expect(g.grouper.takeDiscarded()).toEqual([]);
  });

  it("sends a resolved notification whose firing one it never held (another worker process sent it)", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A", "resolved"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:resolved"]);
    expect(g.grouper.size).toBe(0);
    expect(discarded(g.grouper)).toEqual([]);
  });

  it("ignores a redelivered notification and a late copy of a resolved alert's firing", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing"]);
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(5 * M + 30 * S))).toEqual([]);
    g.add(notification("bmc-07", "A", "resolved"));
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(10 * M + 30 * S))).toEqual(["ops A:resolved"]);
    expect(discarded(g.grouper)).toEqual(["ops A:firing"]);
  });

  it("sends each keyless generic trap once, apart from others of the same summary, and never repeats it", () => {
    const g = setup(config);
    // Three catch-all linkDowns of one switch: no rule gives them a key, and their summaries agree.
    const linkDown = (ifIndex: number) =>
      baseNotification({
        id: `linkDown-${ifIndex}`,
        severity: "information",
        summary: "192.0.2.7: trap IF-MIB::linkDown",
        bmc: { name: "192.0.2.7", address: "192.0.2.7", labels: {} },
        event: { sensorType: null, sensorNumber: 0, text: null },
        trap: {
          name: "IF-MIB::linkDown",
          oid: "1.3.6.1.6.3.1.1.5.3",
          varbinds: [{ name: `ifIndex.${ifIndex}`, value: String(ifIndex) }],
        },
      });
    for (const ifIndex of [3, 4, 5]) g.add(linkDown(ifIndex));
    const ids = (batches: Batch[]) => batches.flatMap((b) => b.notifications.map((n) => n.id));
    expect(ids(g.due(30 * S))).toEqual(["linkDown-3", "linkDown-4", "linkDown-5"]);
    // Nothing resolves them: sent once, they leave the group (no repeat at repeat_interval).
    expect(g.grouper.size).toBe(0);
    expect(ids(g.due(2 * 60 * M))).toEqual([]);
    expect(discarded(g.grouper)).toEqual([]);
    // A keyed alert beside them is held, and repeated.
    g.at(3 * 60 * M);
    const keyed = notification("192.0.2.7", "A");
    g.add(keyed);
    g.add(linkDown(6));
    expect(ids(g.due(3 * 60 * M + 30 * S))).toEqual([keyed.id, "linkDown-6"]);
    expect(ids(g.due(4 * 60 * M + 30 * S))).toEqual([keyed.id]);
  });

  it("splits groups by the group_by labels, each on its own timeline", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A"));
    g.at(20 * S);
    g.add(notification("bmc-08", "A"));
    g.add(notification("bmc-07", "B"));
    const first = g.due(30 * S);
    expect(shown(first)).toEqual(["ops A:firing,B:firing"]);
    expect(first[0]?.groupLabels).toEqual({ bmc: "bmc-07" });
    const second = g.due(50 * S);
    expect(shown(second)).toEqual(["ops A:firing"]);
    expect(second[0]?.groupLabels).toEqual({ bmc: "bmc-08" });
    expect(second[0]?.groupKey).not.toBe(first[0]?.groupKey);
  });

  it('puts everything in one group without group_by, and every alert apart with ["..."]', () => {
    const one = setup({ ...config, group_by: [] });
    one.add(notification("bmc-07", "A"));
    one.add(notification("bmc-08", "B"));
    expect(shown(one.due(30 * S))).toEqual(["ops A:firing,B:firing"]);

    const apart = setup({ ...config, group_by: ["..."] });
    apart.add(notification("bmc-07", "A"));
    apart.add(notification("bmc-07", "B"));
    expect(shown(apart.due(30 * S))).toHaveLength(2);
    // status and direction are not group labels: the resolved notification joins its alert's group.
    apart.add(notification("bmc-07", "A", "resolved"));
    expect(apart.grouper.size).toBe(2);
  });

  it('with ["..."] holds each alert alone: repeats it, then replaces it by its resolution', () => {
    const g = setup({ ...config, group_by: ["..."], group_wait: "0s" });
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(0))).toEqual(["ops A:firing"]);
    expect(shown(g.due(1 * H))).toEqual(["ops A:firing"]);
    g.at(1 * H + 1 * S);
    g.add(notification("bmc-07", "A", "resolved"));
    expect(shown(g.due(1 * H + 5 * M))).toEqual(["ops A:resolved"]);
    expect(g.grouper.size).toBe(0);
  });

  it("rests a group with nothing to send until its repeat; a new alert brings it back at its next tick", () => {
    const g = setup(config);
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing"]);
    // Not looked at every group_interval: next at the first tick (30s + k × 5m) after the repeat.
    expect(g.grouper.nextDue()).toBe(T0 + 60 * M + 30 * S);

    const b = notification("bmc-07", "B", "firing", "2026-01-01T00:07:00.000Z");
    const [at] = placements(g.tree, b);
    if (!at) throw new Error("no route");
    // Told to wait for the tick it will go out at (the caller holds it in the outbox meanwhile).
    expect(g.grouper.flushAt(at, T0 + 7 * M)).toBe(T0 + 10 * M + 30 * S);
    g.at(7 * M);
    g.add(b);
    expect(g.grouper.nextDue()).toBe(T0 + 10 * M + 30 * S);
    expect(shown(g.due(10 * M + 30 * S))).toEqual(["ops B:firing"]);

    // Resting again; its earlier entry (the first repeat time) is skipped, not sent.
    expect(g.grouper.nextDue()).toBe(T0 + 70 * M + 30 * S);
    expect(g.due(60 * M + 30 * S)).toEqual([]);
    expect(shown(g.due(70 * M + 30 * S))).toEqual(["ops A:firing,B:firing"]);
    expect(g.grouper.nextDue()).toBe(T0 + 130 * M + 30 * S);
  });

  it("with 100,000 resting groups, a tick finds nothing due and the next wake-up is the first repeat", () => {
    const g = setup({ ...config, group_by: ["..."], group_wait: "0s", group_interval: "1s" });
    for (let i = 0; i < 100_000; i++) g.add(notification(`bmc-${i}`, "A"));
    expect(g.due(0)).toHaveLength(100_000);
    expect(g.grouper.size).toBe(100_000);
    expect(g.grouper.nextDue()).toBe(T0 + 1 * H);
    expect(g.due(1 * S)).toEqual([]);
    expect(g.due(59 * M)).toEqual([]);
    expect(g.due(1 * H)).toHaveLength(100_000);
  });

  it("gives each route of a continue chain its own groups and receiver", () => {
    const g = setup({
      ...config,
      routes: [
        { receiver: "audit", matchers: ['severity="critical"'], continue: true, group_wait: "0s" },
        { receiver: "pager", matchers: ['bmc="bmc-07"'] },
      ],
    });
    g.add(notification("bmc-07", "A"));
    expect(shown(g.due(0))).toEqual(["audit A:firing"]);
    expect(shown(g.due(30 * S))).toEqual(["pager A:firing"]);
  });

  it("tells a new group_wait 0 group due at the caller's now, whatever time passed meanwhile", () => {
    const fan = notification("bmc-01", "FAN1 low");
    const grouper = new Grouper();
    const [at] = placements(compileRoutes(routesSchema.parse({ ...config, group_wait: "0s" })), fan);
    if (!at) throw new Error("no route");
    expect(grouper.flushAt(at, T0)).toBe(T0);
    grouper.add(fan, at, T0);
    // Later reads find the group due when it was added: at the caller's now, not a clock of its own.
    expect(grouper.flushAt(at, T0 + 10 * S)).toBe(T0);
    expect(grouper.due(T0).map((b) => b.receiver)).toEqual(["ops"]);
  });

  it("uses each route's own timings", () => {
    const g = setup({
      ...config,
      routes: [{ receiver: "fast", matchers: ['bmc="bmc-09"'], group_wait: "1s", group_interval: "10s" }],
    });
    g.add(notification("bmc-09", "A"));
    expect(shown(g.due(1 * S))).toEqual(["fast A:firing"]);
    g.at(2 * S);
    g.add(notification("bmc-09", "B"));
    expect(shown(g.due(11 * S))).toEqual(["fast B:firing"]);
  });

  it("with thousands of groups, due() returns exactly the groups due, in the order they fell due", () => {
    const g = setup({ ...config, group_by: ["..."], group_wait: "1s", group_interval: "1h" });
    // 3,000 alerts, each its own group, arriving in a scrambled order over 3 s.
    const arrivals = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3000);
    for (const ms of arrivals) {
      g.at(ms);
      g.add(notification(`bmc-${ms}`, "A"));
    }
    expect(g.grouper.size).toBe(3000);
    expect(g.grouper.nextDue()).toBe(T0 + 1 * S);
    const names = (batches: Batch[]) => batches.map((b) => b.notifications[0]?.bmc.name);
    // Due at 1.5 s: those that arrived by 0.5 s, oldest first.
    expect(names(g.due(1500))).toEqual(Array.from({ length: 501 }, (_, ms) => `bmc-${ms}`));
    expect(g.grouper.nextDue()).toBe(T0 + 1501);
    expect(g.due(1500)).toEqual([]);
    expect(names(g.due(4 * S - 1))).toEqual(Array.from({ length: 2499 }, (_, i) => `bmc-${i + 501}`));
    // All flushed: each is next due a group_interval after its flush.
    expect(g.grouper.nextDue()).toBe(T0 + 1500 + 60 * M);
    expect(g.grouper.size).toBe(3000);
  });
});

describe("drain: what a closing worker hands over", () => {
  it("sends what changed in every group whenever it would fall due, and never repeats what was sent", () => {
    const g = setup(config);
    g.add(notification("bmc-1", "Fan"));
    expect(shown(g.due(30 * S))).toEqual(["ops Fan:firing"]);
    g.at(40 * S);
    g.add(notification("bmc-1", "Temp")); // waits for group_interval (5m)
    g.add(notification("bmc-2", "PSU")); // a new group: waits group_wait (30s)
    // Long past repeat_interval: due() would resend Fan; drain() sends only what is unsent.
    expect(shown(g.grouper.drain(T0 + 10 * 3_600 * S)).sort()).toEqual(["ops PSU:firing", "ops Temp:firing"]);
    expect(g.grouper.drain(T0 + 10 * 3_600 * S)).toEqual([]);
  });
});

describe("a muted route (time intervals, as Alertmanager's time mute stages)", () => {
  // T0 is 00:00 UTC: the route is muted from 00:10 to 00:30 each day.
  const maintenance = [
    { name: "maint", time_intervals: [{ times: [{ start_time: "00:10", end_time: "00:30" }] }] },
  ];
  const muted = { ...config, routes: [{ mute_time_intervals: ["maint"] }] };
  const heldBack = (grouper: Grouper) =>
    grouper.takeMuted().map((d) => `${d.receiver} ${d.notification.event.text}:${d.notification.status}`);

  it("holds a firing alert while muted and sends it at the first flush after the mute", () => {
    const g = setup(muted, maintenance);
    g.at(12 * M);
    g.add(notification("bmc-1", "A"));
    expect(shown(g.due(12 * M + 30 * S))).toEqual([]);
    expect(heldBack(g.grouper)).toEqual(["ops A:firing"]);
    // Each muted flush names it again (the dispatcher refreshes it in the outbox).
    for (const m of [17, 22, 27]) {
      expect(shown(g.due(m * M + 30 * S))).toEqual([]);
      expect(heldBack(g.grouper)).toEqual(["ops A:firing"]);
    }
    expect(discarded(g.grouper)).toEqual([]);
    expect(shown(g.due(32 * M + 30 * S))).toEqual(["ops A:firing"]);
    expect(g.grouper.takeMuted()).toEqual([]);
  });

  it("never sends an alert that fired and resolved within the mute", () => {
    const g = setup(muted, maintenance);
    g.at(12 * M);
    g.add(notification("bmc-1", "A"));
    expect(shown(g.due(12 * M + 30 * S))).toEqual([]);
    g.at(14 * M);
    g.add(notification("bmc-1", "A", "resolved"));
    expect(shown(g.due(17 * M + 30 * S))).toEqual([]);
    expect(discarded(g.grouper)).toEqual(["ops A:firing", "ops A:resolved"]);
    expect(g.grouper.size).toBe(0);
  });

  it("sends after the mute the resolution of an alert whose firing went out before it", () => {
    const g = setup(muted, maintenance);
    g.add(notification("bmc-1", "A"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing"]);
    expect(shown(g.due(5 * M + 30 * S))).toEqual([]);
    g.at(15 * M);
    g.add(notification("bmc-1", "A", "resolved"));
    expect(shown(g.due(15 * M + 30 * S))).toEqual([]);
    expect(heldBack(g.grouper)).toEqual(["ops A:resolved"]);
    expect(shown(g.due(25 * M + 30 * S))).toEqual([]);
    expect(shown(g.due(30 * M + 30 * S))).toEqual(["ops A:resolved"]);
    expect(g.grouper.size).toBe(0);
  });

  it("repeats nothing while muted, and repeats after it", () => {
    const g = setup({ ...muted, repeat_interval: "10m" }, maintenance);
    g.add(notification("bmc-1", "A"));
    expect(shown(g.due(30 * S))).toEqual(["ops A:firing"]);
    expect(shown(g.due(10 * M + 30 * S))).toEqual([]);
    expect(shown(g.due(25 * M + 30 * S))).toEqual([]);
    expect(shown(g.due(30 * M + 30 * S))).toEqual(["ops A:firing"]);
  });

  it("drops a keyless generic trap that comes while muted", () => {
    const g = setup(muted, maintenance);
    g.at(12 * M);
    g.add(
      baseNotification({
        id: "linkDown-3",
        summary: "192.0.2.7: trap IF-MIB::linkDown",
        bmc: { name: "192.0.2.7", address: "192.0.2.7", labels: {} },
        event: { sensorType: null, sensorNumber: 0, text: "linkDown" },
        trap: { name: "IF-MIB::linkDown", oid: "1.3.6.1.6.3.1.1.5.3", varbinds: [] },
      }),
    );
    expect(shown(g.due(12 * M + 30 * S))).toEqual([]);
    expect(discarded(g.grouper)).toEqual(["ops linkDown:firing"]);
    expect(shown(g.due(32 * M + 30 * S))).toEqual([]);
  });

  it("active_time_intervals: sends only while one holds", () => {
    const g = setup({ ...config, routes: [{ active_time_intervals: ["maint"] }] }, maintenance);
    g.add(notification("bmc-1", "A"));
    expect(shown(g.due(30 * S))).toEqual([]);
    expect(shown(g.due(10 * M + 30 * S))).toEqual(["ops A:firing"]);
  });

  it("drain hands over no muted group: its deliveries stay held", () => {
    const g = setup(muted, maintenance);
    g.at(12 * M);
    g.add(notification("bmc-1", "A"));
    expect(g.grouper.drain(T0 + 13 * M)).toEqual([]);
    expect(heldBack(g.grouper)).toEqual(["ops A:firing"]);
  });
});
