import { afterEach, describe, expect, it } from "vitest";
import { backoffMs, deliverWithRetries } from "../../src/pipeline/notify/retry.js";
import type { DeliveryResult, Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import {
  type HttpReceiver,
  type HttpReceiverOptions,
  petgateBodyOf,
  sampleGroup,
  sampleNotification,
  startHttpReceiver,
} from "../support/http-receiver.js";

const SECRET = "hmac-key-for-tests";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(options: HttpReceiverOptions): Promise<HttpReceiver> {
  const r = await startHttpReceiver({ secret: SECRET, ...options });
  cleanups.push(() => r.close());
  return r;
}

/** Records every wait instead of waiting. */
function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

/** A sink that answers from a script, for policy tests that need no network. */
function scriptedSink(results: DeliveryResult[]): Sink & { calls: number } {
  const s = {
    name: "scripted",
    calls: 0,
    async send(): Promise<DeliveryResult> {
      const r = results[Math.min(s.calls, results.length - 1)];
      s.calls++;
      if (!r) throw new Error("empty script");
      return r;
    },
  };
  return s;
}

const busy: DeliveryResult = { outcome: "retryable", reason: "HTTP 503" };

describe("deliverWithRetries with a real webhook receiver", () => {
  it("500, 500, 500 then 200 is delivered after 4 attempts, all with the same idempotency key", async () => {
    const r = await receiver({
      script: [{ status: 500 }, { status: 500 }, { status: 500 }],
      otherwise: { status: 200 },
    });
    const { waits, sleep } = recordingSleep();
    const group = sampleGroup([sampleNotification(), sampleNotification({ id: "n-2" })]);
    const out = await deliverWithRetries(
      new WebhookSink({ name: "hook", url: r.url, secret: SECRET }),
      group,
      {
        jitter: false,
        sleep,
      },
    );
    expect(out).toEqual({ result: { outcome: "delivered" }, attempts: 4 });
    expect(waits).toEqual([500, 1000, 2000]);
    expect(r.requests).toHaveLength(4);
    expect(r.requests.every((q) => q.signatureValid)).toBe(true);
    expect(r.idempotencyKeys()).toEqual([group.idempotencyKey]);
    // The whole group in every try.
    expect(r.requests.map((q) => petgateBodyOf(q)?.notifications.length)).toEqual([2, 2, 2, 2]);
  });

  it("honours Retry-After when it is longer than the backoff", async () => {
    const r = await receiver({
      script: [{ status: 429, headers: { "retry-after": "7" } }],
      otherwise: { status: 200 },
    });
    const { waits, sleep } = recordingSleep();
    const out = await deliverWithRetries(new WebhookSink({ name: "hook", url: r.url }), sampleGroup(), {
      sleep,
    });
    expect(out).toEqual({ result: { outcome: "delivered" }, attempts: 2 });
    expect(waits).toEqual([7000]);
  });

  it("caps Retry-After at maxMs", async () => {
    const r = await receiver({
      script: [{ status: 503, headers: { "retry-after": "3600" } }],
      otherwise: { status: 200 },
    });
    const { waits, sleep } = recordingSleep();
    await deliverWithRetries(new WebhookSink({ name: "hook", url: r.url }), sampleGroup(), {
      sleep,
      maxMs: 60_000,
    });
    expect(waits).toEqual([60_000]);
  });

  it("a permanent failure stops at once", async () => {
    const r = await receiver({ otherwise: { status: 400, body: "bad" } });
    const { waits, sleep } = recordingSleep();
    const out = await deliverWithRetries(new WebhookSink({ name: "hook", url: r.url }), sampleGroup(), {
      sleep,
    });
    expect(out).toEqual({ result: { outcome: "permanent", reason: "HTTP 400: bad" }, attempts: 1 });
    expect(waits).toEqual([]);
    expect(r.requests).toHaveLength(1);
  });

  it("exhausted attempts return the last retryable result", async () => {
    const r = await receiver({ otherwise: { status: 503, body: "down" } });
    const { waits, sleep } = recordingSleep();
    const out = await deliverWithRetries(new WebhookSink({ name: "hook", url: r.url }), sampleGroup(), {
      attempts: 3,
      jitter: false,
      sleep,
    });
    expect(out).toEqual({ result: { outcome: "retryable", reason: "HTTP 503: down" }, attempts: 3 });
    expect(waits).toEqual([500, 1000]);
    expect(r.requests).toHaveLength(3);
  });
});

describe("deliverWithRetries policy", () => {
  it("doubles from baseMs and caps at maxMs", async () => {
    const { waits, sleep } = recordingSleep();
    const s = scriptedSink([busy]);
    const out = await deliverWithRetries(s, sampleGroup(), {
      attempts: 8,
      baseMs: 1000,
      maxMs: 10_000,
      jitter: false,
      sleep,
    });
    expect(out.attempts).toBe(8);
    expect(s.calls).toBe(8);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it("full jitter waits a random fraction of the backoff", async () => {
    const { waits, sleep } = recordingSleep();
    const fractions = [0.5, 0, 0.999];
    await deliverWithRetries(scriptedSink([busy]), sampleGroup(), {
      attempts: 4,
      sleep,
      random: () => fractions.shift() ?? 0,
    });
    expect(waits).toEqual([250, 0, 1998]);
  });

  it("Retry-After shorter than the backoff does not shorten it", async () => {
    const { waits, sleep } = recordingSleep();
    await deliverWithRetries(
      scriptedSink([{ outcome: "retryable", reason: "x", retryAfterMs: 100 }, { outcome: "delivered" }]),
      sampleGroup(),
      { jitter: false, baseMs: 2000, sleep },
    );
    expect(waits).toEqual([2000]);
  });

  it("delivered on the first try does not sleep", async () => {
    const { waits, sleep } = recordingSleep();
    const out = await deliverWithRetries(scriptedSink([{ outcome: "delivered" }]), sampleGroup(), {
      sleep,
    });
    expect(out).toEqual({ result: { outcome: "delivered" }, attempts: 1 });
    expect(waits).toEqual([]);
  });

  it("a sink that throws is treated as retryable", async () => {
    const { sleep } = recordingSleep();
    const throwing: Sink = {
      name: "broken",
      send: async () => {
        throw new Error("socket gone");
      },
    };
    const out = await deliverWithRetries(throwing, sampleGroup(), { attempts: 2, sleep });
    expect(out).toEqual({
      result: { outcome: "retryable", reason: "sink broken threw: socket gone" },
      attempts: 2,
    });
  });

  it("rejects fewer than one attempt", async () => {
    await expect(deliverWithRetries(scriptedSink([busy]), sampleGroup(), { attempts: 0 })).rejects.toThrow(
      RangeError,
    );
  });

  it("backoffMs never exceeds maxMs", () => {
    const o = { baseMs: 500, maxMs: 60_000, jitter: true, random: () => 0.9999 };
    for (let retry = 1; retry <= 40; retry++)
      expect(backoffMs(retry, 10 ** 9, o)).toBeLessThanOrEqual(60_000);
    expect(backoffMs(40, undefined, o)).toBeLessThan(60_000);
  });
});
