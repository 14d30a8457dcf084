import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { alertName, toPostableAlert } from "../../src/sinks/alert.js";
import { AlertmanagerSink, AlertmanagerSinkConfigError } from "../../src/sinks/alertmanager.js";
import type { NotificationGroup } from "../../src/sinks/sink.js";
import { type Alertmanager, startAlertmanager } from "../support/alertmanager.js";
import { sampleGroup } from "../support/http-receiver.js";

const group = (...notifications: Notification[]): NotificationGroup =>
  sampleGroup(notifications, { receiver: "am" });

function firing(bmc: string, overrides: Partial<Notification> = {}): Notification {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  return {
    version: 1,
    id: `${bmc}-evt-1-firing`,
    status: "firing",
    severity: "critical",
    summary: `${bmc}: Temperature CPU1 Temp: Upper Critical - going high`,
    bmc: { name: bmc, address: "10.0.0.7", labels: { rack: "r12", "data-center": "fra1" } },
    event: {
      time: startsAt,
      sensorType: "Temperature",
      sensorNumber: 48,
      text: "Upper Critical - going high",
      direction: "assertion",
      eventData: "5201ffffffffffff",
    },
    sensor: { name: "CPU1 Temp", reading: 92, unit: "degrees C", thresholds: { "upper critical": 90 } },
    enrichment: "ok",
    receivedAt: startsAt,
    startsAt,
    ...overrides,
  };
}

/** The resolved notification of the same event, as the pipeline sends it (its own id, endsAt now). */
function resolved(f: Notification, overrides: Partial<Notification> = {}): Notification {
  return {
    ...f,
    id: f.id.replace(/firing$/, "resolved"),
    status: "resolved",
    event: { ...f.event, direction: "deassertion" },
    endsAt: new Date().toISOString(),
    ...overrides,
  };
}

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

describe("AlertmanagerSink against a real Alertmanager", () => {
  let am: Alertmanager;
  let sink: AlertmanagerSink;

  beforeAll(async () => {
    am = await startAlertmanager();
    sink = new AlertmanagerSink({ name: "am", url: am.url, extraLabels: { source: "petgate" } });
  });
  afterAll(async () => {
    await am?.stop();
  });

  async function activeAlerts(bmc: string): Promise<ApiAlert[]> {
    const filter = encodeURIComponent(`bmc="${bmc}"`);
    const r = await fetch(`${am.url}/api/v2/alerts?active=true&filter=${filter}`);
    expect(r.status).toBe(200);
    return (await r.json()) as ApiAlert[];
  }

  it("a firing notification is delivered and listed as an active alert with its labels and annotations", async () => {
    const n = firing("bmc-fire");
    expect(await sink.send(group(n))).toEqual({ outcome: "delivered" });

    const alerts = await activeAlerts("bmc-fire");
    expect(alerts).toHaveLength(1);
    const [a] = alerts;
    expect(a?.status.state).toBe("active");
    expect(a?.labels).toEqual({
      alertname: "IpmiTemperature",
      bmc: "bmc-fire",
      instance: "10.0.0.7",
      severity: "critical",
      sensor_type: "Temperature",
      sensor_number: "48",
      event: "Upper Critical - going high",
      rack: "r12",
      data_center: "fra1",
      source: "petgate",
    });
    expect(a?.annotations.summary).toBe(n.summary);
    expect(a?.annotations.notification_id).toBe(n.id);
    expect(a?.annotations.sensor).toBe("CPU1 Temp");
    expect(a?.annotations.description).toContain(
      "reading 92 degrees C; thresholds: upper critical 90 degrees C",
    );
    expect(a?.annotations.description).toContain("Event data 5201ffffffffffff");
    expect(Date.parse(a?.startsAt ?? "")).toBe(Date.parse(n.startsAt));
    // No endsAt sent: Alertmanager holds a firing alert for resolve_timeout (5 m by default).
    expect(Date.parse(a?.endsAt ?? "")).toBeGreaterThan(Date.now());
  });

  it("the resolved notification ends the alert its firing notification started, even without enrichment", async () => {
    const f = firing("bmc-resolve");
    expect(await sink.send(group(f))).toEqual({ outcome: "delivered" });
    expect(await activeAlerts("bmc-resolve")).toHaveLength(1);

    // The SDR lookup timed out this time: no sensor name, yet the same alert must end.
    const r = resolved(f, { sensor: undefined, enrichment: "timeout" });
    expect(await sink.send(group(r))).toEqual({ outcome: "delivered" });
    expect(await activeAlerts("bmc-resolve")).toEqual([]);
  });

  it("a notification Alertmanager rejects (endsAt before startsAt) is permanent and quotes Alertmanager", async () => {
    const f = firing("bmc-invalid");
    const bad = resolved(f, { endsAt: new Date(Date.parse(f.startsAt) - 3_600_000).toISOString() });
    const result = await sink.send(group(bad));
    expect(result).toEqual({
      outcome: "permanent",
      reason: `POST ${am.url}/api/v2/alerts: HTTP 400: start time must be before end time`,
    });
    expect(await activeAlerts("bmc-invalid")).toEqual([]);
  });

  it("a group's notifications go in one request, one alert each", async () => {
    const labels = { rack: "r-group" };
    const notifications = ["bmc-g1", "bmc-g2", "bmc-g3"].map((bmc) =>
      firing(bmc, { bmc: { name: bmc, address: "10.0.0.9", labels } }),
    );
    expect(await sink.send(group(...notifications))).toEqual({ outcome: "delivered" });
    const filter = encodeURIComponent('rack="r-group"');
    const alerts = (await (
      await fetch(`${am.url}/api/v2/alerts?active=true&filter=${filter}`)
    ).json()) as ApiAlert[];
    expect(alerts.map((x) => x.labels.bmc).sort()).toEqual(["bmc-g1", "bmc-g2", "bmc-g3"]);
  });

  it("keyless generic traps of one source and trap stay apart (notification_id); a keyed trap's alert does not get one", async () => {
    const trap = (id: string, ifIndex: number, key?: string) =>
      firing("sw-keyless", {
        id,
        severity: "information",
        summary: "10.0.0.7: trap IF-MIB::linkDown",
        bmc: { name: "sw-keyless", address: "10.0.0.7", labels: {} },
        event: { ...firing("x").event, sensorType: null, sensorNumber: 0, text: null, eventData: "" },
        sensor: undefined,
        enrichment: "none",
        trap: {
          name: "IF-MIB::linkDown",
          oid: "1.3.6.1.6.3.1.1.5.3",
          ...(key !== undefined && { key }),
          varbinds: [{ name: `ifIndex.${ifIndex}`, value: String(ifIndex) }],
        },
      });
    const keyless = [trap("trap-a", 3), trap("trap-b", 4), trap("trap-c", 5)];
    expect(await sink.send(group(...keyless))).toEqual({ outcome: "delivered" });
    const alerts = await activeAlerts("sw-keyless");
    expect(alerts.map((a) => a.labels.notification_id).sort()).toEqual(["trap-a", "trap-b", "trap-c"]);
    expect(toPostableAlert(trap("trap-d", 3, "port-down|10.0.0.7|3")).labels).not.toHaveProperty(
      "notification_id",
    );
  });

  it("a base URL that is not Alertmanager's (404) is permanent", async () => {
    const wrong = new AlertmanagerSink({ name: "am", url: `${am.url}/not-here/` });
    const result = await wrong.send(group(firing("bmc-404")));
    expect(result.outcome).toBe("permanent");
    expect(result.outcome === "permanent" && result.reason).toMatch(/not-here\/api\/v2\/alerts: HTTP 404/);
  });

  // Last in this block: it stops the shared Alertmanager.
  it("an Alertmanager that is down is retryable", async () => {
    await am.stop();
    const result = await sink.send(group(firing("bmc-down")));
    expect(result.outcome).toBe("retryable");
    expect(result.outcome === "retryable" && result.reason).toContain("ECONNREFUSED");
  });
});

describe("AlertmanagerSink against a stub HTTP server", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    server = http.createServer(handler);
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("503 with Retry-After seconds is retryable after that delay", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(503, { "retry-after": "7" }).end("overloaded");
    });
    const result = await new AlertmanagerSink({ name: "am", url }).send(group(firing("b")));
    expect(result).toEqual({
      outcome: "retryable",
      reason: `POST ${url}/api/v2/alerts: HTTP 503: overloaded`,
      retryAfterMs: 7000,
    });
  });

  it("429 without Retry-After is retryable with no delay hint", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429).end();
    });
    expect(await new AlertmanagerSink({ name: "am", url }).send(group(firing("b")))).toEqual({
      outcome: "retryable",
      reason: `POST ${url}/api/v2/alerts: HTTP 429`,
    });
  });

  it("a server that never answers is retryable after timeoutMs", async () => {
    const url = await serve(() => {
      // hold the request open
    });
    const started = Date.now();
    const result = await new AlertmanagerSink({ name: "am", url, timeoutMs: 200 }).send(group(firing("b")));
    expect(result).toEqual({
      outcome: "retryable",
      reason: `POST ${url}/api/v2/alerts: no answer within 200 ms`,
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("credentials in the URL become Basic auth and never appear in a reason", async () => {
    let authorization: string | undefined;
    let body = "";
    const url = await serve((req, res) => {
      authorization = req.headers.authorization;
      req.setEncoding("utf8").on("data", (c: string) => {
        body += c;
      });
      req.on("end", () => res.writeHead(401).end("unauthorized"));
    });
    const withCredentials = url.replace("http://", "http://petgate:s3cr%40t@");
    const result = await new AlertmanagerSink({ name: "am", url: withCredentials }).send(group(firing("b")));
    expect(authorization).toBe(`Basic ${Buffer.from("petgate:s3cr@t").toString("base64")}`);
    expect(result).toEqual({
      outcome: "permanent",
      reason: `POST ${url}/api/v2/alerts: HTTP 401: unauthorized`,
    });
    expect(JSON.parse(body)).toHaveLength(1);
  });

  it("posts a group of two as one request of two alerts", async () => {
    const bodies: string[] = [];
    const url = await serve((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (c: string) => {
        body += c;
      });
      req.on("end", () => {
        bodies.push(body);
        res.writeHead(200).end();
      });
    });
    const sent = await new AlertmanagerSink({ name: "am", url }).send(group(firing("b1"), firing("b2")));
    expect(sent).toEqual({ outcome: "delivered" });
    expect(bodies).toHaveLength(1);
    expect((JSON.parse(bodies[0] ?? "") as { labels: { bmc: string } }[]).map((x) => x.labels.bmc)).toEqual([
      "b1",
      "b2",
    ]);
  });
});

describe("the alert a notification becomes", () => {
  it("firing and resolved carry the same labels, whatever changed in between", () => {
    const f = firing("bmc-07");
    const r = resolved(f, { sensor: undefined, enrichment: "circuit-open", summary: "other words" });
    expect(toPostableAlert(r).labels).toEqual(toPostableAlert(f).labels);
    expect(toPostableAlert(f).endsAt).toBeUndefined();
    expect(toPostableAlert(r).endsAt).toBe(r.endsAt);
  });

  it("inventory labels are renamed to valid label names and cannot override the event's labels", () => {
    const f = firing("bmc-07", {
      bmc: { name: "bmc-07", address: "10.0.0.7", labels: { "9rack": "x", severity: "low", "a.b": "y" } },
    });
    const { labels } = toPostableAlert(f, { alertname: "Mine", team: "infra" });
    expect(labels).toMatchObject({
      _9rack: "x",
      a_b: "y",
      severity: "critical",
      alertname: "IpmiTemperature",
    });
    expect(labels.team).toBe("infra");
    for (const name of Object.keys(labels)) expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });

  it("null sensor type and event text leave their labels out rather than empty", () => {
    const f = firing("bmc-07");
    const { labels } = toPostableAlert({ ...f, event: { ...f.event, sensorType: null, text: null } });
    expect(labels.alertname).toBe("IpmiEvent");
    expect(labels).not.toHaveProperty("sensor_type");
    expect(labels).not.toHaveProperty("event");
  });

  it("alertname is the sensor type in PascalCase after Ipmi", () => {
    expect(alertName("Temperature")).toBe("IpmiTemperature");
    expect(alertName("Button/Switch")).toBe("IpmiButtonSwitch");
    expect(alertName("Watchdog 2")).toBe("IpmiWatchdog2");
    expect(alertName("OEM Reserved")).toBe("IpmiOEMReserved");
    expect(alertName("")).toBe("IpmiEvent");
  });

  it("an extra label name Prometheus would reject is refused when the sink is built", () => {
    expect(
      () => new AlertmanagerSink({ name: "am", url: "http://127.0.0.1:9093", extraLabels: { "a-b": "x" } }),
    ).toThrow(AlertmanagerSinkConfigError);
    expect(() => new AlertmanagerSink({ name: "am", url: "ftp://127.0.0.1" })).toThrow(/http or https/);
  });
});
