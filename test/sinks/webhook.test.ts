import { afterEach, describe, expect, it } from "vitest";
import { parseRetryAfter } from "../../src/sinks/http-post.js";
import {
  type AlertmanagerWebhookBody,
  PETGATE_BODY_VERSION,
  signBody,
  USER_AGENT,
  verifySignature,
  WebhookSink,
  type WebhookSinkOptions,
} from "../../src/sinks/webhook.js";
import {
  type HttpReceiver,
  type HttpReceiverOptions,
  sampleGroup,
  sampleNotification,
  startHttpReceiver,
} from "../support/http-receiver.js";
import { freeTcpPort } from "../support/ports.js";
import { startSilentServer } from "../support/smtp.js";

const SECRET = "hmac-key-for-tests";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const r = await startHttpReceiver({ secret: SECRET, ...options });
  cleanups.push(() => r.close());
  return r;
}

function sink(url: string, overrides: Partial<WebhookSinkOptions> = {}): WebhookSink {
  return new WebhookSink({ name: "ops-hook", url, secret: SECRET, ...overrides });
}

describe("signatures", () => {
  it("verifies what signBody produced, over the exact bytes", () => {
    const body = Buffer.from('{"a":1}');
    const header = signBody(body, SECRET);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(body, header, SECRET)).toBe(true);
    expect(verifySignature('{"a":1}', header, SECRET)).toBe(true);
    expect(verifySignature('{"a": 1}', header, SECRET)).toBe(false);
    expect(verifySignature(body, header, "other-key")).toBe(false);
  });

  it("rejects malformed headers without throwing", () => {
    const body = "x";
    const hex = signBody(body, SECRET).slice("sha256=".length);
    expect(verifySignature(body, hex, SECRET)).toBe(false);
    expect(verifySignature(body, `sha1=${hex}`, SECRET)).toBe(false);
    expect(verifySignature(body, `sha256=${hex.slice(2)}`, SECRET)).toBe(false);
    expect(verifySignature(body, `sha256=${"zz".repeat(32)}`, SECRET)).toBe(false);
    expect(verifySignature(body, "", SECRET)).toBe(false);
  });
});

describe("parseRetryAfter", () => {
  it("reads delay-seconds and HTTP dates", () => {
    const now = Date.parse("2025-03-04T10:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Tue, 04 Mar 2025 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Tue, 04 Mar 2025 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("WebhookSink against a real HTTP receiver", () => {
  it("POSTs the group as petgate's body, signed, with the group's idempotency key and user agent", async () => {
    const r = await receiver();
    const group = sampleGroup();
    expect(await sink(r.url, { headers: { authorization: "Bearer t0ken" } }).send(group)).toEqual({
      outcome: "delivered",
    });
    expect(r.requests).toHaveLength(1);
    const req = r.requests[0];
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/hook");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["user-agent"]).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^petgate\/\d+\.\d+\.\d+/);
    expect(req?.headers.authorization).toBe("Bearer t0ken");
    expect(req?.idempotencyKey).toBe(group.idempotencyKey);
    expect(req?.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
    expect(req?.signatureValid).toBe(true);
    expect(JSON.parse(req?.body.toString("utf8") ?? "")).toEqual({
      version: "petgate/2",
      receiver: "ops-webhook",
      groupKey: group.groupKey,
      groupLabels: { bmc: "bmc-07" },
      status: "firing",
      notifications: [sampleNotification()],
    });
  });

  it("one POST per group carries all its notifications with their ids; resolved only when none fires", async () => {
    const r = await receiver();
    const s = sink(r.url);
    const fired = sampleNotification({ id: "n-1-firing" });
    const ended = sampleNotification({
      id: "n-2-resolved",
      status: "resolved",
      endsAt: "2025-03-04T10:20:00.000Z",
    });
    expect(await s.send(sampleGroup([fired, ended]))).toEqual({ outcome: "delivered" });
    expect(await s.send(sampleGroup([ended]))).toEqual({ outcome: "delivered" });
    expect(r.requests).toHaveLength(2);
    const bodies = r.requests.map((q) => JSON.parse(q.body.toString("utf8")));
    expect(
      bodies.map((b) => [b.version, b.status, b.notifications.map((n: { id: string }) => n.id)]),
    ).toEqual([
      [PETGATE_BODY_VERSION, "firing", ["n-1-firing", "n-2-resolved"]],
      [PETGATE_BODY_VERSION, "resolved", ["n-2-resolved"]],
    ]);
    expect(r.notificationIds()).toEqual(["n-1-firing", "n-2-resolved"]);
    expect(r.idempotencyKeys()).toHaveLength(2);
  });

  it("format alertmanager: Alertmanager's webhook payload, version 4, one alert per notification", async () => {
    const r = await receiver();
    const fired = sampleNotification({ id: "n-1-firing" });
    const other = sampleNotification({
      id: "n-3-firing",
      bmc: { ...fired.bmc, name: "bmc-08" },
    });
    const ended = sampleNotification({
      id: "n-2-resolved",
      status: "resolved",
      endsAt: "2025-03-04T10:20:00.000Z",
    });
    const group = sampleGroup([fired, other, ended], {
      groupLabels: { site: "fra1" },
      groupKey: '{}:{site="fra1"}',
    });
    expect(await sink(r.url, { format: "alertmanager" }).send(group)).toEqual({ outcome: "delivered" });
    const req = r.requests[0];
    expect(req?.signatureValid).toBe(true);
    expect(req?.idempotencyKey).toBe(group.idempotencyKey);
    const body = JSON.parse(req?.body.toString("utf8") ?? "") as AlertmanagerWebhookBody;
    expect(body).toMatchObject({
      version: "4",
      groupKey: '{}:{site="fra1"}',
      truncatedAlerts: 0,
      status: "firing",
      receiver: "ops-webhook",
      groupLabels: { site: "fra1" },
      externalURL: "",
    });
    expect(body.alerts.map((a) => [a.status, a.labels.bmc, a.annotations.notification_id, a.endsAt])).toEqual(
      [
        ["firing", "bmc-07", "n-1-firing", "0001-01-01T00:00:00Z"],
        ["firing", "bmc-08", "n-3-firing", "0001-01-01T00:00:00Z"],
        ["resolved", "bmc-07", "n-2-resolved", "2025-03-04T10:20:00.000Z"],
      ],
    );
    // The firing and the resolved notification of one event are one alert: the same labels, the same fingerprint.
    expect(body.alerts[0]?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(body.alerts[2]?.fingerprint).toBe(body.alerts[0]?.fingerprint);
    expect(body.alerts[1]?.fingerprint).not.toBe(body.alerts[0]?.fingerprint);
    // Common: what all three share (site and rack, not bmc); the annotations differ in every one but these.
    expect(body.commonLabels).toMatchObject({ site: "fra1", rack: "r12", alertname: "IpmiTemperature" });
    expect(body.commonLabels.bmc).toBeUndefined();
    expect(body.commonAnnotations.notification_id).toBeUndefined();
    expect(body.commonAnnotations.enrichment).toBe("ok");
  });

  it("sends no signature without a secret", async () => {
    const r = await receiver();
    expect(await sink(r.url, { secret: undefined }).send(sampleGroup())).toEqual({
      outcome: "delivered",
    });
    expect(r.requests[0]?.headers["x-petgate-signature"]).toBeUndefined();
    expect(r.requests[0]?.signatureValid).toBe(false);
  });

  it("its own headers win over configured ones", async () => {
    const r = await receiver();
    await sink(r.url, {
      headers: { "X-Petgate-Idempotency-Key": "forged", "content-type": "text/plain" },
    }).send(sampleGroup());
    expect(r.requests[0]?.idempotencyKey).toBe(sampleGroup().idempotencyKey);
    expect(r.requests[0]?.headers["content-type"]).toBe("application/json");
  });

  it.each([200, 201, 202, 204])("%i is delivered", async (status) => {
    const r = await receiver({ otherwise: { status } });
    expect(await sink(r.url).send(sampleGroup())).toEqual({ outcome: "delivered" });
  });

  it.each([408, 425, 429, 500, 502, 503, 504])("%i is retryable", async (status) => {
    const r = await receiver({ otherwise: { status, body: "busy" } });
    const result = await sink(r.url).send(sampleGroup());
    expect(result).toEqual({ outcome: "retryable", reason: `HTTP ${status}: busy` });
  });

  it.each([400, 401, 403, 404, 410, 413, 422])("%i is permanent", async (status) => {
    const r = await receiver({ otherwise: { status, body: '{"error":"nope"}' } });
    expect(await sink(r.url).send(sampleGroup())).toEqual({
      outcome: "permanent",
      reason: `HTTP ${status}: {"error":"nope"}`,
    });
  });

  it("a redirect is not followed and is permanent", async () => {
    const r = await receiver({
      otherwise: { status: 307, headers: { location: "http://127.0.0.1:1/elsewhere" } },
    });
    const result = await sink(r.url).send(sampleGroup());
    expect(result.outcome).toBe("permanent");
    expect(r.requests).toHaveLength(1);
  });

  it("429 with Retry-After seconds gives retryAfterMs", async () => {
    const r = await receiver({ otherwise: { status: 429, headers: { "retry-after": "7" } } });
    expect(await sink(r.url).send(sampleGroup())).toEqual({
      outcome: "retryable",
      reason: "HTTP 429",
      retryAfterMs: 7000,
    });
  });

  it("503 with a Retry-After HTTP date gives retryAfterMs until then", async () => {
    const at = new Date(Date.now() + 30_000);
    const r = await receiver({ otherwise: { status: 503, headers: { "retry-after": at.toUTCString() } } });
    const result = await sink(r.url).send(sampleGroup());
    expect(result.outcome).toBe("retryable");
    const ms = result.outcome === "retryable" ? result.retryAfterMs : undefined;
    // toUTCString drops the milliseconds, so the date is up to a second earlier than `at`.
    expect(ms).toBeGreaterThan(25_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it("long error bodies are shortened in the reason", async () => {
    const r = await receiver({ otherwise: { status: 500, body: "x".repeat(5000) } });
    const result = await sink(r.url).send(sampleGroup());
    expect(result.outcome === "retryable" && result.reason.length).toBeLessThan(250);
  });

  it("a receiver that is down is retryable", async () => {
    const url = `http://127.0.0.1:${await freeTcpPort()}/hook`;
    expect(await sink(url).send(sampleGroup())).toEqual({
      outcome: "retryable",
      reason: "network error: ECONNREFUSED",
    });
  });

  it("a receiver that never answers is retryable after timeoutMs", async () => {
    const r = await receiver({ otherwise: "hang" });
    const result = await sink(r.url, { timeoutMs: 200 }).send(sampleGroup());
    expect(result).toEqual({ outcome: "retryable", reason: "no answer within 200 ms" });
    expect(r.requests).toHaveLength(1);
  });

  it("a server that accepts the connection and never speaks HTTP is retryable after timeoutMs", async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const result = await sink(`http://127.0.0.1:${silent.port}/hook`, { timeoutMs: 200 }).send(sampleGroup());
    expect(result).toEqual({ outcome: "retryable", reason: "no answer within 200 ms" });
  });

  it("rejects non-HTTP URLs and URLs with credentials", () => {
    expect(() => sink("ftp://example.net/hook")).toThrow(/http or https/);
    expect(() => sink("https://user:pw@example.net/hook")).toThrow(/credentials/);
  });
});
