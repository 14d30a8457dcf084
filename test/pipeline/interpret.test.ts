import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { PipelineMetrics } from "../../src/http/metrics.js";
import type { MibStore } from "../../src/mib/store.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { compileRoutes, matchRoutes, routesSchema } from "../../src/pipeline/alerting/route.js";
import { eventsPath, type ProcessedEvent, pathParts } from "../../src/pipeline/events-worker.js";
import type { QueuedEvent } from "../../src/pipeline/intake/event.js";
import type { TrapRules } from "../../src/pipeline/interpret/rules.js";
import { deliverQueue } from "../../src/pipeline/notify/deliver.js";
import { recordRecent } from "../../src/pipeline/recent/recent.js";
import { type Item, runStages } from "../../src/pipeline/stage.js";
import { toPostableAlert } from "../../src/sinks/alert.js";
import {
  alertKeyOf,
  exampleStore,
  IF_DESCR,
  IF_INDEX,
  IF_OPER_STATUS,
  LINK_DOWN,
  LINK_UP,
  rulesFrom,
  v2cTrap,
  vb,
} from "../interpret/traps.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/*
 * Generic traps through the events path (claim → enrich → interpret → alert state → … → route/group),
 * on a real Redis, with net-snmp's bundled MIBs and the trap rules compiled by the config's own code.
 */

let redis: TestRedis;
let client: Redis;
let worker: Redis;
let store: MibStore;
beforeAll(async () => {
  [redis, store] = await Promise.all([startRedis(), exampleStore()]);
  client = new Redis(redis.socket);
  worker = new Redis(redis.socket, { maxRetriesPerRequest: null });
  await Promise.all([client.ping(), worker.ping()]);
});
afterAll(async () => {
  client?.disconnect();
  worker?.disconnect();
  await redis?.dispose();
});

const PORT_RULES = `
traps:
  - name: port-down
    match: ['trap="IF-MIB::linkDown"']
    resolved_by: ['trap="IF-MIB::linkUp"']
    key: [ifIndex]
    severity: critical
    summary: '{{bmc}}: port {{ifDescr}} ({{ifIndex}}) is {{ifOperStatus}}'
    labels: { team: network, port: '{{ifIndex}}' }
  - name: noise
    match: ['trap="SNMPv2-MIB::coldStart"']
    action: drop
  - name: audit
    match: ['trap="SNMPv2-MIB::warmStart"']
    action: log
`;

/** The alert of port-down on ifIndex 3 of 192.0.2.7. */
const PORT_3 = alertKeyOf("port-down", "192.0.2.7", "3");

/** The events path with `rules`, grouping everything per alert at once (group_wait 0). */
function startPath(prefix: string, rules: TrapRules) {
  const config = configSchema.parse({
    routes: { receiver: "ops", group_by: ["..."], group_wait: "0s" },
    receivers: [{ name: "ops", webhook: { url: "http://127.0.0.1:9/unused" } }],
    storm: { fleet: { limit: 1_000 } },
  });
  const deliver = deliverQueue(worker, prefix);
  const parts = pathParts({ config, prefix, inventory: [], rules, log: () => undefined }, worker, deliver);
  const path = eventsPath(parts);
  let batches = 0;
  let hours = 0;
  return {
    parts,
    async run(events: QueuedEvent[]): Promise<Item[]> {
      const items: Item[] = events.map((event) => ({ event }));
      await runStages([...path.overlapping, ...path.inOrder], items, { batchId: `${prefix}-${++batches}` });
      return items;
    },
    /** What the groups send at their next look, an hour (past any group_interval) after the last. */
    grouped(): Notification[] {
      const at = Date.now() + ++hours * 3_600_000;
      return parts.dispatcher.grouper.due(at).flatMap((b) => [...b.notifications]);
    },
    async close() {
      await deliver.close();
      await parts.pool.closeAll();
    },
  };
}

const linkDown = (ifIndex: number, at = "2026-12-07T10:00:00.000Z") =>
  withTime(
    v2cTrap(LINK_DOWN, [
      vb(`${IF_INDEX}.${ifIndex}`, "Integer", ifIndex),
      vb(`${IF_DESCR}.${ifIndex}`, "OctetString", `eth${ifIndex}`),
      vb(`${IF_OPER_STATUS}.${ifIndex}`, "Integer", 2),
    ]),
    at,
  );
const linkUp = (ifIndex: number, at = "2026-12-07T10:05:00.000Z") =>
  withTime(
    v2cTrap(LINK_UP, [
      vb(`${IF_INDEX}.${ifIndex}`, "Integer", ifIndex),
      vb(`${IF_DESCR}.${ifIndex}`, "OctetString", `eth${ifIndex}`),
      vb(`${IF_OPER_STATUS}.${ifIndex}`, "Integer", 1),
    ]),
    at,
  );

/** Another receive time makes another event id (a later trap of the same content). */
function withTime(event: QueuedEvent, receivedAt: string): QueuedEvent {
  const trap = { ...event.trap, receivedAt };
  return { id: `${event.id}-${receivedAt}`, trap };
}

describe("generic traps through the events path", () => {
  it("a trap no rule matches becomes the catch-all notification, named and rendered through the MIBs", async () => {
    const path = startPath("interpret-catch-all", rulesFrom("traps: []", store));
    try {
      const [item] = await path.run([linkDown(3)]);
      expect(item?.outcome).toBe("sent");
      expect(item?.verdict).toMatchObject({ action: "notify", labels: {} });
      expect(item?.verdict?.rule).toBeUndefined();
      const n = item?.notification;
      expect(n).toMatchObject({
        status: "firing",
        severity: "information",
        summary: "192.0.2.7: trap IF-MIB::linkDown",
        trap: {
          name: "IF-MIB::linkDown",
          oid: LINK_DOWN,
          varbinds: [
            { name: "ifIndex.3", value: "3" },
            { name: "ifDescr.3", value: "eth3" },
            { name: "ifOperStatus.3", value: "down" },
          ],
        },
      });
      expect(n?.rule).toBeUndefined();
      expect(n?.trap?.key).toBeUndefined();
      // The MIB's DESCRIPTION is the detail.
      expect(n?.detail).toContain("linkDown trap signifies");
      expect(path.grouped().map((g) => g.id)).toEqual([n?.id]);
    } finally {
      await path.close();
    }
  });

  it("catch-all linkDowns of three ports are three notifications, each sent once and never repeated", async () => {
    const path = startPath("interpret-one-shot", rulesFrom("traps: []", store));
    try {
      const items = await path.run([linkDown(3), linkDown(4), linkDown(5)]);
      expect(items.map((i) => i.outcome)).toEqual(["sent", "sent", "sent"]);
      const ids = items.map((i) => i.notification?.id);
      expect(new Set(ids).size).toBe(3);
      expect(
        path
          .grouped()
          .map((n) => n.id)
          .sort(),
      ).toEqual(ids.sort());
      // Nothing resolves them: none is held for a repeat.
      expect(path.parts.dispatcher.grouper.size).toBe(0);
      for (let hours = 0; hours < 5; hours++) expect(path.grouped()).toEqual([]);
    } finally {
      await path.close();
    }
  });

  it("a rule with key and resolved_by: linkUp resolves the linkDown of its ifIndex only, through the alert book and grouping", async () => {
    const path = startPath("interpret-pairs", rulesFrom(PORT_RULES, store));
    try {
      const fired = await path.run([linkDown(3), linkDown(5)]);
      expect(fired.map((i) => i.outcome)).toEqual(["sent", "sent"]);
      const [down3, down5] = fired.map((i) => i.notification as Notification) as [Notification, Notification];
      expect(down3).toMatchObject({
        status: "firing",
        severity: "critical",
        summary: "192.0.2.7: port eth3 (3) is down",
        rule: "port-down",
        labels: { team: "network", port: "3" },
        trap: { name: "IF-MIB::linkDown", rule: "port-down", key: PORT_3 },
      });
      // One group per alert (group_by ['...']), due at once.
      expect(
        path
          .grouped()
          .map((n) => n.id)
          .sort(),
      ).toEqual([down3.id, down5.id].sort());

      // Again: already firing, nothing new.
      const [again] = await path.run([linkDown(3, "2026-12-07T10:01:00.000Z")]);
      expect(again?.outcome).toBe("unchanged");

      const [up3] = await path.run([linkUp(3)]);
      const resolved = up3?.notification as Notification;
      expect(up3?.outcome).toBe("sent");
      expect(resolved).toMatchObject({
        status: "resolved",
        severity: "critical",
        summary: "192.0.2.7: port eth3 (3) is up",
        startsAt: down3?.startsAt,
        endsAt: "2026-12-07T10:05:00.000Z",
        // The alert's identity is the firing trap's: the same labels, the same alert.
        rule: "port-down",
        labels: { team: "network", port: "3" },
        trap: { name: "IF-MIB::linkDown", oid: LINK_DOWN, key: PORT_3 },
      });
      expect(resolved.trap?.varbinds[2]).toEqual({ name: "ifOperStatus.3", value: "up" });
      expect(toPostableAlert(resolved).labels).toEqual(toPostableAlert(down3).labels);
      expect(toPostableAlert(resolved).labels).not.toEqual(toPostableAlert(down5).labels);
      // The group had sent the firing one: the resolved one replaces it and goes out.
      expect(path.grouped().map((n) => [n.id, n.status])).toEqual([[resolved.id, "resolved"]]);

      // A linkUp of a port that is not down resolves nothing.
      const [up7] = await path.run([linkUp(7)]);
      expect(up7?.outcome).toBe("unchanged");
      const alerts = await client.hkeys("interpret-pairs:alerts");
      expect(alerts.sort()).toEqual([PORT_3, alertKeyOf("port-down", "192.0.2.7", "5")].sort());
    } finally {
      await path.close();
    }
  });

  it("a silence on a rule's label mutes that port's alert and not the other's", async () => {
    const path = startPath("interpret-silence", rulesFrom(PORT_RULES, store));
    try {
      const now = Date.now();
      await path.parts.silences.add(
        {
          matchers: ['rule="port-down"', 'port="5"'],
          endsAt: now + 3_600_000,
          createdBy: "test",
          comment: "cabling",
        },
        now,
      );
      const items = await path.run([linkDown(3), linkDown(5)]);
      expect(items.map((i) => i.outcome)).toEqual(["sent", "silenced"]);
    } finally {
      await path.close();
    }
  });

  it("drop stops a trap as dropped and log as logged: neither is grouped nor enters the alert book; log is recorded in recent events, drop is not", async () => {
    const prefix = "interpret-actions";
    const path = startPath(prefix, rulesFrom(PORT_RULES, store));
    const recent = recordRecent(redis.socket, { prefix, log: () => undefined });
    try {
      const coldStart = v2cTrap("1.3.6.1.6.3.1.1.5.1", []);
      const warmStart = v2cTrap("1.3.6.1.6.3.1.1.5.2", []);
      const items = await path.run([coldStart, warmStart]);
      expect(items.map((i) => [i.outcome, i.verdict?.rule])).toEqual([
        ["dropped", "noise"],
        ["logged", "audit"],
      ]);
      expect(items[0]?.notification).toBeUndefined();
      expect(items[1]?.notification).toMatchObject({
        rule: "audit",
        trap: { name: "SNMPv2-MIB::warmStart" },
      });
      expect(path.parts.dispatcher.grouper.size).toBe(0);
      expect(await client.exists(`${prefix}:alerts`, `${prefix}:outbox`)).toBe(0);

      for (const item of items)
        recent.onProcessed({
          event: item.event as QueuedEvent,
          enrichment: "none",
          enrichMs: 0,
          outcome: item.outcome as ProcessedEvent["outcome"],
          ...(item.verdict && { verdict: item.verdict }),
          ...(item.notification && { notification: item.notification }),
        });
      await recent.flush();
      const ids = await client.zrange(`${prefix}:recent`, 0, -1);
      expect(ids).toEqual([warmStart.id]);
      const entry = JSON.parse((await client.hget(`${prefix}:recent:events`, warmStart.id)) ?? "{}");
      expect(entry).toMatchObject({ outcome: "logged", trap: "SNMPv2-MIB::warmStart", rule: "audit" });
    } finally {
      await recent.close();
      await path.close();
    }
  });
});

describe("labels of a generic trap's notification", () => {
  it("routes match on trap, trap_oid, rule and the rule's labels", async () => {
    const path = startPath("interpret-routes", rulesFrom(PORT_RULES, store));
    try {
      const [down, catchAll] = await path.run([linkDown(3), v2cTrap("1.3.6.1.6.3.1.1.5.5", [])]);
      const tree = compileRoutes(
        routesSchema.parse({
          receiver: "default",
          routes: [
            { receiver: "network", matchers: ['team="network"', 'port=~"[0-9]+"'] },
            { receiver: "auth", matchers: ['trap="SNMPv2-MIB::authenticationFailure"', 'rule=""'] },
            {
              receiver: "by-oid",
              matchers: ['trap_oid=~"1\\\\.3\\\\.6\\\\.1\\\\.6\\\\.3\\\\.1\\\\.1\\\\.5\\\\..*"'],
            },
          ],
        }),
      );
      const receivers = (n: Notification | undefined) =>
        matchRoutes(tree, n as Notification).map((r) => r.receiver);
      expect(receivers(down?.notification)).toEqual(["network"]);
      expect(receivers(catchAll?.notification)).toEqual(["auth"]);
      const other = { ...(catchAll?.notification as Notification) };
      other.trap = { ...(other.trap as NonNullable<Notification["trap"]>), name: "X-MIB::x" };
      expect(receivers(other)).toEqual(["by-oid"]);
    } finally {
      await path.close();
    }
  });

  it("the Alertmanager alert carries alertname, trap, trap_oid, rule, alert_key and the rule's labels", async () => {
    const path = startPath("interpret-am", rulesFrom(PORT_RULES, store));
    try {
      const [down, catchAll] = await path.run([linkDown(3), v2cTrap("1.3.6.1.4.1.32473.9.9", [])]);
      const { labels } = toPostableAlert(down?.notification as Notification);
      expect(labels).toEqual({
        alertname: "linkDown",
        bmc: "192.0.2.7",
        instance: "192.0.2.7",
        severity: "critical",
        sensor_number: "0",
        rule: "port-down",
        trap: "IF-MIB::linkDown",
        trap_oid: LINK_DOWN,
        alert_key: PORT_3,
        team: "network",
        port: "3",
      });
      // No MIB defines it (only a node above it): alertname SnmpTrap, no rule.
      expect(toPostableAlert(catchAll?.notification as Notification).labels).toMatchObject({
        alertname: "SnmpTrap",
        trap: "SNMPv2-SMI::enterprises.32473.9.9",
        trap_oid: "1.3.6.1.4.1.32473.9.9",
      });
      expect(toPostableAlert(catchAll?.notification as Notification).labels).not.toHaveProperty("rule");
    } finally {
      await path.close();
    }
  });
});

describe("petgate_trap_rules_total", () => {
  it('counts events by the rule that applied and its action, the catch-all as rule=""', async () => {
    const path = startPath("interpret-metrics", rulesFrom(PORT_RULES, store));
    const metrics = new PipelineMetrics();
    try {
      const items = await path.run([
        linkDown(3),
        linkDown(4),
        v2cTrap("1.3.6.1.6.3.1.1.5.1", []),
        v2cTrap("1.3.6.1.6.3.1.1.5.5", []),
      ]);
      for (const item of items)
        metrics.onProcessed({
          event: item.event as QueuedEvent,
          enrichment: "none",
          enrichMs: 0,
          outcome: item.outcome as ProcessedEvent["outcome"],
          ...(item.verdict && { verdict: item.verdict }),
        });
      const text = await metrics.registry.metrics();
      expect(text).toContain('petgate_trap_rules_total{rule="port-down",action="notify"} 2');
      expect(text).toContain('petgate_trap_rules_total{rule="noise",action="drop"} 1');
      expect(text).toContain('petgate_trap_rules_total{rule="",action="notify"} 1');
      expect(text).toContain('petgate_events_processed_total{enrichment="none",outcome="dropped"} 1');
    } finally {
      await path.close();
    }
  });
});
