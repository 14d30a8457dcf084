import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttp } from "../../src/http/server.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { createRedis, DEFAULT_PREFIX } from "../../src/pipeline/queues.js";
import { RECENT_ENTRY_MAX_BYTES, type RecentEvent, RecentEvents } from "../../src/pipeline/recent/recent.js";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { waitFor } from "../support/listener.js";
import { genericTrap, startRedis } from "../support/redis.js";
import { commandsDuring, hashFieldsRead } from "../support/redis-monitor.js";
import { SIM_PASSWORD } from "../support/sim.js";
import { API_TOKEN, getJson, type Stack, startStack } from "./stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack("127.41.0.1");
}, 60_000);

afterAll(async () => {
  await stack?.close();
}, 30_000);

type Events = { events: RecentEvent[] };
type ErrorBody = { error: { code: string; message: string; field?: string } };

const api = <T = Record<string, unknown>>(path: string, init?: RequestInit) =>
  getJson<T>(`${stack.url}${path}`, init);
const events = async (query = "") => (await api<Events>(`/api/events${query}`)).body.events;
const bmc = (i: number) => {
  const sim = stack.fleet.simulators[i];
  if (!sim) throw new Error(`no BMC ${i + 1}`);
  return sim;
};

/** The newest event of the BMC with the status once every receiver's delivery has ended. */
function settled(bmcName: string, status: "firing" | "resolved") {
  return waitFor(
    `${bmcName}'s ${status} event with its deliveries`,
    async () =>
      (await events(`?bmc=${bmcName}&status=${status}`)).find((e) =>
        Object.values(e.deliveries).every((d) => d.status !== "pending"),
      ),
    20_000,
  );
}

const post = (body: unknown, token?: string) =>
  api<ErrorBody & { silence: { id: string; state: string } }>("/api/silences", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
const MAINTENANCE = { matchers: ['bmc="bmc-2"'], duration: "1h", createdBy: "ops", comment: "maintenance" };

describe("recent events", () => {
  it("lists a simulated BMC's PET with its reading, threshold and the delivery per receiver", async () => {
    // CPU1 Temp above its upper critical threshold (90 °C): the BMC's PEF sends a PET.
    setSensorValue(bmc(0).state, SensorNumber.Cpu1Temp, 92);
    const firing = await settled("bmc-1", "firing");

    expect(firing).toMatchObject({
      bmc: "bmc-1",
      source: bmc(0).address.host,
      sensor: "CPU1 Temp",
      sensorType: "Temperature",
      direction: "assertion",
      status: "firing",
      enrichment: "ok",
      reading: { value: 92, unit: "degrees C", thresholds: { ucr: 90 } },
      outcome: "sent",
      deliveries: {
        webhook: { status: "delivered", outcome: "delivered" },
        nowhere: { status: "dead-lettered", outcome: "unknown-receiver" },
      },
    });
    expect(firing.receivers.sort()).toEqual(["nowhere", "webhook"]);
    const delivered = stack.webhook.notifications().map((n) => n.id);
    expect(delivered).toEqual([firing.notification]);
  });

  it("narrows the list by BMC, severity, status, time and count", async () => {
    setSensorValue(bmc(0).state, SensorNumber.Cpu1Temp, 45);
    const resolved = await settled("bmc-1", "resolved");
    const [firing] = await events("?status=firing");
    if (!firing) throw new Error("no firing event");

    expect((await events()).map((e) => e.id)).toEqual([resolved.id, firing.id]);
    expect((await events("?limit=1")).map((e) => e.id)).toEqual([resolved.id]);
    expect((await events("?status=resolved")).map((e) => e.id)).toEqual([resolved.id]);
    expect(await events("?bmc=bmc-2")).toEqual([]);
    expect((await events(`?severity=${firing.severity}`)).map((e) => e.id)).toContain(firing.id);
    const other = firing.severity === "critical" ? "monitor" : "critical";
    expect(await events(`?severity=${other}`)).toEqual([]);
    const since = encodeURIComponent(resolved.processedAt);
    expect((await events(`?since=${since}`)).map((e) => e.id)).toEqual([resolved.id]);
    expect(resolved).toMatchObject({
      direction: "deassertion",
      deliveries: { webhook: { status: "delivered" } },
    });
  });

  it("refuses bad filters with a 400 that names the field", async () => {
    for (const [query, field] of [
      ["severity=loud", "severity"],
      ["limit=0", "limit"],
      ["limit=many", "limit"],
      ["since=yesterday", "since"],
      ["status=open", "status"],
      ["colour=red", "colour"],
    ]) {
      const r = await api<ErrorBody>(`/api/events?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error, query).toMatchObject({ code: "invalid-query", field });
      expect(r.body.error.message, query).toContain(field);
    }
  });
});

describe("alert history", () => {
  type Page = {
    events: (RecentEvent & { at: number; labels: Record<string, string> })[];
    next: string | null;
  };
  const history = async (query = "") => (await api<Page>(`/api/history${query}`)).body;

  it("keeps each event with its notification's labels and every receiver's delivery, newest first", async () => {
    // The recent-events tests above fired and resolved bmc-1's CPU1 Temp.
    const page = await waitFor(
      "bmc-1's firing and resolved events in the history, delivered",
      async () => {
        const p = await history("?bmc=bmc-1");
        const settledBoth =
          p.events.length === 2 && p.events.every((e) => e.deliveries.webhook?.status === "delivered");
        return settledBoth ? p : undefined;
      },
      20_000,
    );
    expect(page.events.map((e) => e.status)).toEqual(["resolved", "firing"]);
    expect(page.events[1]).toMatchObject({
      sensor: "CPU1 Temp",
      sensorType: "Temperature",
      reading: { value: 92, thresholds: { ucr: 90 } },
      labels: { bmc: "bmc-1", label_rack: "r1", sensor_type: "Temperature", status: "firing" },
      deliveries: {
        webhook: { status: "delivered", outcome: "delivered" },
        nowhere: { status: "dead-lettered", outcome: "unknown-receiver" },
      },
    });
    expect(page.events.map((e) => e.notification)).toEqual(
      (await events("?bmc=bmc-1")).map((e) => e.notification),
    );
  });

  it("filters by label, sensor type, status, time and words, and pages with the cursor", async () => {
    const ids = async (query: string) => (await history(query)).events.map((e) => e.status);
    expect(await ids("?label=label_rack%3Dr1&sensor_type=Temperature")).toEqual(["resolved", "firing"]);
    expect(await ids("?label=label_rack%3Dr9")).toEqual([]);
    expect(await ids("?status=firing&bmc=bmc-1")).toEqual(["firing"]);
    expect(await ids("?q=cpu1%20temp&bmc=bmc-1")).toEqual(["resolved", "firing"]);
    expect(await ids("?q=deassert&bmc=bmc-1")).toEqual(["resolved"]); // a prefix of its direction label
    expect(await ids("?q=cpu1%20nothing")).toEqual([]); // every word must appear
    expect(await ids(`?q=${encodeURIComponent('"AND (* NEAR OR')}`)).toEqual([]); // FTS5 syntax is only words
    expect(await ids(`?until=${encodeURIComponent("2000-01-01T00:00:00Z")}`)).toEqual([]);
    const first = await history("?bmc=bmc-1&limit=1");
    expect(first.events.map((e) => e.status)).toEqual(["resolved"]);
    const second = await history(`?bmc=bmc-1&limit=1&cursor=${first.next}`);
    expect(second.events.map((e) => e.status)).toEqual(["firing"]);
    expect(second.next).toBeNull();
  });

  it("counts the last hours' events by severity, each hour (the page's chart)", async () => {
    const { body } = await api<{ hours: { start: string; counts: Record<string, number> }[] }>(
      "/api/history/hours?hours=3",
    );
    expect(body.hours).toHaveLength(3);
    const last = body.hours.at(-1);
    expect(Date.parse(last?.start ?? "") + 3_600_000).toBeGreaterThan(Date.now());
    const total = body.hours.flatMap((h) => Object.values(h.counts)).reduce((a, b) => a + b, 0);
    expect(total).toBe(
      stack.history
        .hourly(Date.parse(body.hours[0]?.start ?? ""), Date.now() + 3_600_000)
        .reduce((a, r) => a + r.count, 0),
    );
    expect(total).toBeGreaterThanOrEqual(2);
    expect((await api<ErrorBody>("/api/history/hours?hours=200")).body.error.field).toBe("hours");
  });

  it("refuses bad filters with a 400 that names the field", async () => {
    for (const [query, field] of [
      ["label=rack", "label"],
      ["cursor=abc", "cursor"],
      ["limit=501", "limit"],
      [`q=${"x".repeat(201)}`, "q"],
      ["until=tomorrow", "until"],
      ["colour=red", "colour"],
    ]) {
      const r = await api<ErrorBody>(`/api/history?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.field, query).toBe(field);
    }
  });
});

describe("BMCs and queues", () => {
  it("lists the inventory with health and last event, and no credentials", async () => {
    const { body, text } = await waitFor("both BMCs probed ok, their clocks read", async () => {
      const r = await api<{
        bmcs: {
          name: string;
          health: { state: string; clockSkewSeconds?: number; clockSkewAt?: string } | null;
        }[];
      }>("/api/bmcs");
      return r.body.bmcs.every((b) => b.health?.state === "ok" && b.health.clockSkewAt) ? r : undefined;
    });
    expect(body.bmcs).toMatchObject([
      {
        name: "bmc-1",
        address: `${bmc(0).address.host}:${bmc(0).address.port}`,
        labels: { rack: "r1" },
        health: { state: "ok", alerting: false, clockSkewSeconds: expect.any(Number) },
        // auto: the simulator offers RMCP+, which the health probes' session negotiated.
        ipmi: "2.0",
        lastEvent: { bmc: "bmc-1", status: "resolved" },
      },
      { name: "bmc-2", lastEvent: null },
    ]);
    // The simulator keeps the machine's clock: what skew there is, is whole seconds and the round trip's
    // (within the probe deadline).
    expect(Math.abs(body.bmcs[0]?.health?.clockSkewSeconds ?? Number.NaN)).toBeLessThanOrEqual(5);
    expect(text).not.toContain(SIM_PASSWORD);
    expect(text).not.toContain("admin");
  });

  it("reads a BMC's sensors now over the pooled session; an unknown BMC is a 404", async () => {
    setSensorValue(bmc(1).state, SensorNumber.Cpu1Temp, 51);
    const { status, body } = await api<{
      sensors: { name: string; type: string; value: number | null; unit: string; status: string }[];
    }>("/api/bmcs/bmc-2/sensors");
    expect(status).toBe(200);
    expect(body.sensors.find((s) => s.name === "CPU1 Temp")).toEqual({
      name: "CPU1 Temp",
      type: "Temperature",
      value: 51,
      unit: "degrees C",
      status: "ok",
    });
    const unknown = await api<ErrorBody>("/api/bmcs/bmc-9/sensors");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown-bmc");
  });

  it("gives the job counts of the ingest and deliver queues", async () => {
    const { body } = await api<{ queues: Record<string, Record<string, number>> }>("/api/queues");
    expect(Object.keys(body.queues).sort()).toEqual(["deliver", "ingest"]);
    // The assertion and, seconds later, its deassertion: two INGEST batches.
    expect(body.queues.ingest?.completed).toBeGreaterThanOrEqual(2);
    expect(body.queues.deliver?.completed).toBeGreaterThanOrEqual(4);
  });
});

describe("silences", () => {
  it("needs the bearer token to add or expire one", async () => {
    for (const token of [undefined, "wrong-token"]) {
      const r = await post(MAINTENANCE, token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    }
    const expire = await api<ErrorBody>("/api/silences/some-id", { method: "DELETE" });
    expect(expire.status).toBe(401);
    expect((await api<{ silences: unknown[] }>("/api/silences")).body.silences).toEqual([]);
  });

  it("refuses a bad silence with a 400 that names the field", async () => {
    const { comment: _, ...noComment } = MAINTENANCE;
    for (const [body, field] of [
      [noComment, "comment"],
      [{ ...MAINTENANCE, matchers: ['bmc=~"("'] }, "matchers"],
      [{ ...MAINTENANCE, matchers: ['bmc=~".*"'] }, "matchers"],
      [{ ...MAINTENANCE, endsAt: "2030-01-01T00:00:00Z" }, "duration"],
      [{ ...MAINTENANCE, duration: "soon" }, "duration"],
      // Past the latest date there is (year 275760): a bad request, not a Redis outage.
      [{ ...MAINTENANCE, duration: "99999999999w" }, "endsAt"],
      [{ ...MAINTENANCE, colour: "red" }, "colour"],
    ] as const) {
      const r = await post(body, API_TOKEN);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
    }
    const notJson = await api<ErrorBody>("/api/silences", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${API_TOKEN}` },
      body: "{",
    });
    expect(notJson.status).toBe(400);
  });

  it("adds one that mutes the BMC's alerts, lists it, and expires it", async () => {
    const added = await post(MAINTENANCE, API_TOKEN);
    expect(added.status).toBe(201);
    expect(added.body.silence).toMatchObject({
      matchers: ['bmc="bmc-2"'],
      state: "active",
      createdBy: "ops",
    });
    const { id } = added.body.silence;
    const listed = await api<{ silences: { id: string }[] }>("/api/silences");
    expect(listed.body.silences.map((s) => s.id)).toEqual([id]);

    const before = stack.webhook.requests.length;
    setSensorValue(bmc(1).state, SensorNumber.Cpu1Temp, 92);
    const muted = await waitFor("bmc-2's event", async () => (await events("?bmc=bmc-2"))[0], 20_000);
    expect(muted).toMatchObject({ outcome: "silenced", status: "firing", receivers: [], deliveries: {} });
    expect(stack.webhook.requests.length).toBe(before);

    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const expired = await api<{ silence: { state: string } }>(`/api/silences/${id}`, {
      method: "DELETE",
      headers: auth,
    });
    expect(expired.status).toBe(200);
    expect(expired.body.silence.state).toBe("expired");
    const again = await api<ErrorBody>(`/api/silences/${id}`, { method: "DELETE", headers: auth });
    expect([again.status, again.body.error.code]).toEqual([409, "already-expired"]);
    const unknown = await api<ErrorBody>("/api/silences/no-such-id", { method: "DELETE", headers: auth });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "not-found"]);
    expect((await api<{ silences: unknown[] }>("/api/silences")).body.silences).toEqual([]);
    expect((await api<{ silences: unknown[] }>("/api/silences?all=true")).body.silences).toHaveLength(1);
  });

  it("refuses every mutating call with 403 when no token is configured", async () => {
    const http = await startHttp({
      bind: { host: "127.0.0.1", port: 0 },
      redis: stack.connection,
      log: () => undefined,
    });
    try {
      const url = `http://127.0.0.1:${http.address().port}`;
      const headers = { "content-type": "application/json", authorization: "Bearer anything" };
      const add = await getJson<ErrorBody>(`${url}/api/silences`, {
        method: "POST",
        headers,
        body: JSON.stringify(MAINTENANCE),
      });
      expect(add.status).toBe(403);
      expect(add.body.error).toMatchObject({ code: "mutations-disabled" });
      expect(add.body.error.message).toContain("no token is configured");
      const expire = await getJson<ErrorBody>(`${url}/api/silences/x`, { method: "DELETE", headers });
      expect(expire.status).toBe(403);
      expect((await getJson(`${url}/api/silences`)).status).toBe(200);
    } finally {
      await http.close();
    }
  });
});

describe("health, readiness and the OpenAPI document", () => {
  it("is ready when Redis answers, the listener is bound and the workers run", async () => {
    const r = await api<{ ok: boolean; checks: Record<string, unknown> }>("/readyz");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      ok: true,
      checks: {
        redis: true,
        listener: true,
        "events worker": true,
        "delivery worker": true,
      },
    });
  });

  it("answers /readyz 503 naming Redis once Redis is gone, while /healthz stays 200", async () => {
    const redis = await startRedis();
    const connection = createRedis(redis.socket, "worker");
    connection.on("error", () => undefined);
    const http = await startHttp({
      bind: { host: "127.0.0.1", port: 0 },
      redis: connection,
      log: () => undefined,
    });
    const url = `http://127.0.0.1:${http.address().port}`;
    try {
      expect((await getJson(`${url}/readyz`)).status).toBe(200);
      await redis.stop();
      const r = await getJson<{ ok: boolean; checks: { redis: unknown } }>(`${url}/readyz`);
      expect(r.status).toBe(503);
      expect(r.body.ok).toBe(false);
      expect(r.body.checks.redis).toMatch(/^Redis: /);
      expect((await getJson(`${url}/healthz`)).body).toEqual({ status: "ok" });
      expect((await getJson(`${url}/api/events`)).status).toBe(503);
    } finally {
      await http.close();
      connection.disconnect();
      await redis.dispose();
    }
  });

  it("documents every route it serves in OpenAPI 3.1", async () => {
    const { body: doc } = await api<{
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string; schema: { enum?: string[] } }[] }>>;
    }>("/openapi.json");
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/",
      "/api/bmcs",
      "/api/bmcs/{name}/sensors",
      "/api/events",
      "/api/history",
      "/api/history/hours",
      "/api/queues",
      "/api/silences",
      "/api/silences/{id}",
      "/healthz",
      "/metrics",
      "/openapi.json",
      "/readyz",
    ]);
    for (const [path, methods] of Object.entries(doc.paths))
      for (const method of Object.keys(methods)) {
        const r = await fetch(`${stack.url}${path.replace("{id}", "x").replace("{name}", "bmc-2")}`, {
          method: method.toUpperCase(),
        });
        await r.arrayBuffer();
        // GETs answer; mutating calls without the token are refused, not missing.
        expect(r.status, `${method} ${path}`).toBe(method === "get" ? 200 : 401);
      }
    const severity = doc.paths["/api/events"]?.get?.parameters?.find((p) => p.name === "severity");
    expect(severity?.schema.enum).toContain("critical");
  });

  it("never shows the BMC password or the API token", async () => {
    const texts = await Promise.all(
      [
        "/",
        "/app.js",
        "/api/events",
        "/api/history",
        "/api/bmcs",
        "/api/silences?all=true",
        "/openapi.json",
        "/metrics",
      ].map(async (p) => (await fetch(`${stack.url}${p}`)).text()),
    );
    for (const t of texts) {
      expect(t).not.toContain(SIM_PASSWORD);
      expect(t).not.toContain(API_TOKEN);
    }
  });
});

describe("a flood of large traps", () => {
  /*
   * Anyone who can send a trap writes recent events. 1,000 traps of ~60 KB each (30 varbinds of
   * 2,000 bytes, every one distinct) are recorded the way the events worker records them; what one
   * API request reads must not grow with them. Counted with Redis MONITOR, not timed.
   */
  const BMCS = Array.from({ length: 20 }, (_, k) => ({
    name: `bmc-${k}`,
    host: `127.46.0.${k + 1}`,
    port: 623,
    labels: {},
  }));

  it("leaves each API request reading a bounded number of entries, each entry cut to its limit, and /readyz ready", async () => {
    const redis = await startRedis();
    const connection = createRedis(redis.socket, "worker");
    const observer = createRedis(redis.socket, "worker");
    const http = await startHttp({
      bind: { host: "127.0.0.1", port: 0 },
      redis: connection,
      bmcs: BMCS,
      log: () => undefined,
    });
    const url = `http://127.0.0.1:${http.address().port}`;
    const store = new RecentEvents(observer, { inventory: BMCS });
    const entriesKey = `${DEFAULT_PREFIX}:recent:events`;
    const flood = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const values = Array.from({ length: 30 }, (_, v) => Buffer.alloc(2_000, `trap ${i} varbind ${v} `));
        const trap = genericTrap(BMCS[i % BMCS.length]?.host ?? "", `1.3.6.1.4.1.99999.0.${i}`, values);
        await store.record(
          { event: { id: eventId(trap), trap }, enrichment: "unknown-bmc", enrichMs: 0, outcome: "sent" },
          1_700_000_000_000 + i,
        );
      }
      await store.trim();
    };
    const cost = async (path: string) => {
      let status = 0;
      let bytes = 0;
      const commands = await commandsDuring(observer, async () => {
        const r = await fetch(`${url}${path}`);
        status = r.status;
        bytes = (await r.arrayBuffer()).byteLength;
      });
      return { status, bytes, entriesRead: hashFieldsRead(commands, entriesKey).length };
    };
    try {
      await flood(0, 100);
      const before = [await cost("/api/events?limit=10"), await cost("/api/bmcs")];
      await flood(100, 1_000);
      const after = [await cost("/api/events?limit=10"), await cost("/api/bmcs")];

      expect(await observer.zcard(`${DEFAULT_PREFIX}:recent`)).toBe(1_000);
      // 10 entries for ?limit=10, one per inventory BMC for /api/bmcs: with 100 stored as with 1,000.
      expect(before.map((c) => [c.status, c.entriesRead])).toEqual([
        [200, 10],
        [200, BMCS.length],
      ]);
      expect(after.map((c) => [c.status, c.entriesRead])).toEqual([
        [200, 10],
        [200, BMCS.length],
      ]);
      const [events, bmcs] = after;
      expect(events?.bytes).toBeLessThanOrEqual(10 * (RECENT_ENTRY_MAX_BYTES + 512));
      expect(bmcs?.bytes).toBeLessThanOrEqual(BMCS.length * (RECENT_ENTRY_MAX_BYTES + 1024));

      const stored = await observer.hvals(entriesKey);
      expect(stored).toHaveLength(1_000);
      for (const json of stored) {
        expect(Buffer.byteLength(json)).toBeLessThanOrEqual(RECENT_ENTRY_MAX_BYTES);
        expect(JSON.parse(json).truncated?.fields).toContain("varbinds");
      }

      // 16 requests at once, as 8 pages polling would make them, all answer; readiness still sees Redis.
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => fetch(`${url}${i % 2 ? "/api/bmcs" : "/api/events?limit=100"}`)),
      );
      await Promise.all(answers.map((r) => r.arrayBuffer()));
      expect(answers.map((r) => r.status)).toEqual(Array(16).fill(200));
      const ready = await getJson<{ ok: boolean }>(`${url}/readyz`);
      expect([ready.status, ready.body.ok]).toEqual([200, true]);
    } finally {
      await http.close();
      observer.disconnect();
      connection.disconnect();
      await redis.dispose();
    }
  }, 60_000);
});
