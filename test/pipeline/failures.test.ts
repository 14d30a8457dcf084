import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { type Config, configSchema } from "../../src/config/schema.js";
import { decodePetVarbind, encodePetVarbind } from "../../src/pet/varbind.js";
import { type Pipeline, startPipeline } from "../../src/pipeline/pipeline.js";
import { EmailSink } from "../../src/sinks/email.js";
import type { Notification, Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../pet/vectors.js";
import { type HttpReceiver, type HttpReceiverOptions, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { startSmtp } from "../support/smtp.js";

/*
 * Failure injection through the whole pipeline (listener → Ingest → Redis → events worker → DELIVER →
 * sinks), with PETs sent over UDP straight to the pipeline's listener (a real SNMPv1 datagram, the
 * Dell fixture with its PET varbind re-encoded). Every PET is a distinct event (GUID, sensor number
 * and event data vary), so each one fires its own alert: one notification per PET.
 *
 * Not covered here: a worker SIGKILLed mid-job (test/pipeline/deliver.test.ts covers the stalled
 * job at unit level), and the BMC-unresponsive alert (the health monitor is not wired into
 * startPipeline yet).
 */

const FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";
// The fixture is a deassertion (specific trap 056F80h: bit 7 of the offset byte); as an assertion
// (056F00h) each PET fires an alert.
const packetHex = readFileSync(FIXTURE, "utf8").replace(/\s+/g, "").replace("0203056f80", "0203056f00");
const baseVarbind = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
const baseVarbindHex = encodePetVarbind(baseVarbind).toString("hex");
const varbindAt = packetHex.lastIndexOf(baseVarbindHex);
if (varbindAt < 0) throw new Error(`${FIXTURE}: PET varbind not found`);

/**
 * The i-th distinct PET datagram: its own GUID, sensor number (so its own alert: the BMC is unknown
 * and named by the source address, the same for all), sequence and event data.
 */
function petDatagram(i: number, run: number): Buffer {
  const guid = Buffer.from(baseVarbind.guid);
  guid.writeUInt16BE(run & 0xffff, 12);
  guid.writeUInt16BE(i & 0xffff, 14);
  const eventData = Buffer.from(baseVarbind.eventData);
  eventData.writeUInt32BE(i >>> 0, 4);
  const octets = encodePetVarbind({
    ...baseVarbind,
    guid,
    sequence: i & 0xffff,
    sensorNumber: i & 0xff,
    eventData,
  });
  const hex = octets.toString("hex");
  if (hex.length !== baseVarbindHex.length) throw new Error("varbind length changed");
  return Buffer.from(
    packetHex.slice(0, varbindAt) + hex + packetHex.slice(varbindAt + baseVarbindHex.length),
    "hex",
  );
}

let runs = 0;
let redis: TestRedis;
let spoolDir: string;
let sender: dgram.Socket;

function makeConfig(receivers: string[]): Config {
  return configSchema.parse({
    listener: { bind: "127.0.0.1:0", communities: ["public"] },
    bmcs: [],
    // All PETs come from one address (one BMC): no storm control at these counts.
    storm: { limit: 1000, per: "1m" },
    routes: {
      receiver: receivers[0],
      group_wait: "0s",
      // One group (same BMC labels): what arrives after its first batch goes out a second later.
      group_interval: "1s",
      routes: receivers.map((receiver) => ({ receiver, continue: true })),
    },
  });
}

interface Harness {
  pipeline: Pipeline;
  run: number;
  send(from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

async function harness(
  sinks: Map<string, Sink>,
  extra: { inventory?: BmcTarget[]; enrichDeadlineMs?: number } = {},
): Promise<Harness> {
  const run = ++runs;
  const pipeline = await startPipeline({
    config: makeConfig([...sinks.keys()]),
    redis: redis.socket,
    prefix: `fail${run}`,
    spoolFile: join(spoolDir, `spool-${run}.ndjson`),
    sinks,
    inventory: extra.inventory ?? [],
    ...(extra.enrichDeadlineMs !== undefined && { enrichDeadlineMs: extra.enrichDeadlineMs }),
    log: () => undefined,
  });
  const port = pipeline.listener.address().port;
  return {
    pipeline,
    run,
    async send(from, to) {
      for (let i = from; i < to; i++) {
        await new Promise<void>((resolve, reject) =>
          sender.send(petDatagram(i, run), port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
        );
      }
    },
    async close() {
      await pipeline.close();
      await Promise.all([...sinks.values()].map((s) => s.close?.()));
    },
  };
}

async function withWebhook(options: HttpReceiverOptions = {}) {
  const webhook = await startHttpReceiver(options);
  const sinks = new Map<string, Sink>([
    ["webhook", new WebhookSink({ name: "webhook", url: webhook.url, timeoutMs: 5_000 })],
  ]);
  return { webhook, sinks };
}

const bodies = (w: HttpReceiver) =>
  w.requests.map((r) => JSON.parse(r.body.toString("utf8")) as Notification);
const delivered = (p: Pipeline, receiver: string) => p.delivery.stats().outcomes[receiver]?.delivered ?? 0;

beforeAll(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), "petgate-failures-"));
  redis = await startRedis();
  sender = dgram.createSocket("udp4");
  sender.bind(0, "127.0.0.1");
}, 20_000);

afterAll(async () => {
  sender?.close();
  await redis?.dispose();
  rmSync(spoolDir, { recursive: true, force: true });
}, 20_000);

describe("failures through the whole pipeline", () => {
  it("webhook answers 500 three times, then 200: delivered once, one idempotency key", async () => {
    const { webhook, sinks } = await withWebhook({
      script: [{ status: 500 }, { status: 500 }, { status: 500 }],
      otherwise: { status: 200 },
    });
    const h = await harness(sinks);
    try {
      await h.send(0, 1);
      await waitFor("the delivery", () => delivered(h.pipeline, "webhook") === 1 || undefined, 20_000);
      expect(webhook.requests).toHaveLength(4);
      expect(webhook.idempotencyKeys()).toHaveLength(1);
      expect(h.pipeline.delivery.stats().sends.webhook).toBe(4);
    } finally {
      await h.close();
      await webhook.close();
    }
  }, 30_000);

  it("Redis stopped while PETs arrive, then restarted: every event delivered exactly once", async () => {
    const N = 20;
    const { webhook, sinks } = await withWebhook();
    const h = await harness(sinks);
    try {
      await h.send(0, N / 2);
      await redis.stop();
      await h.send(N / 2, N);
      await waitFor(
        "the events taken in",
        () => {
          const s = h.pipeline.ingest.stats();
          return s.spooled > 0 || undefined;
        },
        10_000,
      );
      await redis.restart();
      await waitFor(
        "every event at the webhook",
        () => webhook.idempotencyKeys().length >= N || undefined,
        30_000,
      );
      await waitFor(
        "the delivery worker to settle",
        () => delivered(h.pipeline, "webhook") >= N || undefined,
        10_000,
      );
      // Nothing more arrives: one request per notification.
      await new Promise((r) => setTimeout(r, 500));
      const ids = new Set(bodies(webhook).map((n) => n.id));
      expect(ids.size).toBe(N);
      expect(webhook.requests.filter((r) => r.idempotencyKey !== undefined)).toHaveLength(N);
      expect(webhook.idempotencyKeys()).toHaveLength(N);
      expect(new Set(bodies(webhook).map((n) => n.event.eventData)).size).toBe(N);
    } finally {
      await h.close();
      await webhook.close();
    }
  }, 45_000);

  it("SMTP down, then up: each mail delivered once after retries", async () => {
    const smtp = await startSmtp();
    const proxy = await startProxy(smtp.port);
    const sinks = new Map<string, Sink>([
      [
        "email",
        new EmailSink({
          name: "email",
          transport: { host: "127.0.0.1", port: proxy.port, timeoutMs: 5_000 },
          from: "petgate@example.test",
          to: ["ops@example.test"],
        }),
      ],
    ]);
    const h = await harness(sinks);
    try {
      await h.send(0, 2);
      await waitFor("failed SMTP connections", () => proxy.refused >= 3 || undefined, 20_000);
      expect(smtp.messages).toHaveLength(0);
      proxy.up = true;
      await waitFor("both mails", () => delivered(h.pipeline, "email") >= 2 || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(smtp.messages).toHaveLength(2);
      const messageIds = smtp.messages.map((m) => /^message-id:\s*(\S+)/im.exec(m.raw)?.[1]);
      expect(new Set(messageIds).size).toBe(2);
      expect(h.pipeline.delivery.stats().sends.email).toBeGreaterThan(2);
    } finally {
      await h.close();
      await proxy.close();
      await smtp.close();
    }
  }, 45_000);

  it("a wedged BMC: its events are delivered un-enriched once the enrichment deadline passes", async () => {
    // Takes RMCP+ datagrams and never answers.
    const wedged = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => wedged.bind(0, "127.0.0.1", resolve));
    let asked = 0;
    wedged.on("message", () => {
      asked++;
    });
    const { webhook, sinks } = await withWebhook();
    const target: BmcTarget = {
      name: "wedged",
      host: "127.0.0.1",
      port: wedged.address().port,
      username: "admin",
      password: "password",
      cipherSuite: 3,
      allowCipherFallback: false,
      labels: { rack: "r9" },
    };
    const h = await harness(sinks, { inventory: [target], enrichDeadlineMs: 500 });
    try {
      const N = 3;
      await h.send(0, N);
      await waitFor(
        "every event at the webhook",
        () => webhook.idempotencyKeys().length >= N || undefined,
        30_000,
      );
      const got = bodies(webhook);
      expect(new Set(got.map((n) => n.id)).size).toBe(N);
      expect(got.every((n) => n.bmc.name === "wedged")).toBe(true);
      expect(got.every((n) => n.sensor === undefined)).toBe(true);
      // The first is a timeout; once the breaker opens, the rest are not asked at all.
      expect(got.map((n) => n.enrichment)).toContain("timeout");
      expect(got.every((n) => n.enrichment === "timeout" || n.enrichment === "circuit-open")).toBe(true);
      expect(asked).toBeGreaterThan(0);
    } finally {
      await h.close();
      await webhook.close();
      wedged.close();
    }
  }, 45_000);
});

/**
 * A TCP front for the SMTP server on a fixed port: while `up` is false it accepts and at once resets
 * every connection (counted in `refused`); then it forwards to the server.
 */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  const state = { up: false, refused: 0, port: 0 };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (!state.up) {
      state.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(targetPort, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}
