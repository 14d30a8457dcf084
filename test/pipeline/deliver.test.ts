import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import {
  type DeliverJobResult,
  type DeliverQueue,
  type DeliveryWorker,
  type DeliveryWorkerOptions,
  deliveredMarkerKey,
  deliveryId,
  enqueueDeliveries,
  startDeliveryWorker,
} from "../../src/pipeline/notify/deliver.js";
import { type DeadLetterQueue, replayJobId } from "../../src/pipeline/notify/dlq.js";
import { EmailSink } from "../../src/sinks/email.js";
import type { Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { startDeliverQueues } from "../support/deliver.js";
import {
  type HttpReceiver,
  type HttpReceiverOptions,
  sampleNotification,
  startHttpReceiver,
} from "../support/http-receiver.js";
import { freeTcpPort } from "../support/ports.js";
import type { TestRedis } from "../support/redis.js";
import { parseMessage, startSmtp } from "../support/smtp.js";

const PREFIX = "petgate-test";
const SECRET = "s3cret";
/** Short, deterministic backoff: the retry policy is exercised, not waited for. */
const FAST_RETRY = { attempts: 5, baseMs: 1, maxMs: 5, jitter: false } as const;

let redis: TestRedis;
let client: Redis;
let queue: DeliverQueue;
let dlq: DeadLetterQueue;
const cleanup: (() => Promise<void>)[] = [];
const logs: string[] = [];

beforeEach(async () => {
  ({ redis, client, queue, dlq } = await startDeliverQueues(PREFIX));
  logs.length = 0;
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await queue.close();
  client.disconnect();
  await redis.dispose();
});

async function receiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const r = await startHttpReceiver({ secret: SECRET, ...options });
  cleanup.push(() => r.close());
  return r;
}

function webhook(r: HttpReceiver, name = "ops-webhook"): WebhookSink {
  return new WebhookSink({ name, url: r.url, secret: SECRET, timeoutMs: 5_000 });
}

async function worker(
  sinks: Record<string, Sink>,
  options: Partial<DeliveryWorkerOptions> = {},
): Promise<DeliveryWorker> {
  const w = await startDeliveryWorker({
    connection: redis.socket,
    prefix: PREFIX,
    sinks: new Map(Object.entries(sinks)),
    retry: FAST_RETRY,
    log: (m) => logs.push(m),
    ...options,
  });
  cleanup.push(() => w.close());
  return w;
}

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${logs.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for a DELIVER job to complete and returns what the worker returned. */
async function finished(jobId: string): Promise<DeliverJobResult> {
  let result: DeliverJobResult | undefined;
  await until(`job ${jobId}`, async () => {
    // State first: a job read before it completed has no return value yet.
    if ((await queue.getJobState(jobId)) !== "completed") return false;
    result = (await queue.getJob(jobId))?.returnvalue;
    return result !== undefined;
  });
  return result as DeliverJobResult;
}

const note = (overrides: Partial<Notification> = {}) =>
  sampleNotification({ id: "4f2a9c1e00112233445566778899aabb", ...overrides });

describe("DELIVER: retries and the dead-letter queue", () => {
  it("webhook 500 ×3 then 200: delivered exactly once, every try with the same idempotency key", async () => {
    const r = await receiver({ script: [{ status: 500 }, { status: 500 }, { status: 500 }] });
    const w = await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect(id).toBe(`${n.id}@ops-webhook`);

    expect(await finished(id as string)).toEqual({ outcome: "delivered", attempts: 4 });
    expect(r.requests).toHaveLength(4); // 3 × 500, then the one that succeeded
    expect(r.requests.every((q) => q.signatureValid === true)).toBe(true);
    expect(r.requests.map((q) => q.idempotencyKey)).toEqual([n.id, n.id, n.id, n.id]);
    expect(r.idempotencyKeys()).toEqual([n.id]);
    expect(JSON.parse(r.requests[3]?.body.toString() ?? "")).toEqual(n);
    expect(await client.exists(deliveredMarkerKey(PREFIX, id as string))).toBe(1);
    expect(await client.ttl(deliveredMarkerKey(PREFIX, id as string))).toBeGreaterThan(6 * 24 * 3600);
    expect(await dlq.size()).toBe(0);
    expect(w.stats()).toEqual({ outcomes: { "ops-webhook": { delivered: 1 } }, sends: { "ops-webhook": 4 } });
  });

  it("SMTP down then up: delivered once after a retry", async () => {
    const smtp = await startSmtp();
    cleanup.push(() => smtp.close());
    // The sink's relay port refuses connections ("down") until the first backoff, when a forwarder to
    // the real SMTP server starts listening on it ("up").
    const port = await freeTcpPort();
    let forwarder: Server | undefined;
    const sockets = new Set<Socket>();
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      if (forwarder) await new Promise<void>((resolve) => forwarder?.close(() => resolve()));
    });
    const bringUp = async () => {
      const server = createServer((down) => {
        const up = tcpConnect(smtp.port, "127.0.0.1");
        for (const s of [down, up]) {
          sockets.add(s);
          s.on("error", () => undefined);
          s.on("close", () => sockets.delete(s));
        }
        down.pipe(up).pipe(down);
      });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      forwarder = server;
    };
    const sleeps: number[] = [];
    const email = new EmailSink({
      name: "ops-mail",
      transport: { host: "127.0.0.1", port, timeoutMs: 5_000 },
      from: "petgate@example.net",
      to: ["oncall@example.net"],
    });
    cleanup.push(() => email.close());
    const w = await worker(
      { "ops-mail": email },
      {
        retry: {
          ...FAST_RETRY,
          sleep: async (ms) => {
            sleeps.push(ms);
            if (!forwarder) await bringUp();
          },
        },
      },
    );
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-mail"]);

    expect(await finished(id as string)).toEqual({ outcome: "delivered", attempts: 2 });
    expect(sleeps).toEqual([1]);
    expect(smtp.messages).toHaveLength(1);
    expect(parseMessage(smtp.messages[0]?.raw ?? "").headers.get("x-petgate-notification-id")).toBe(n.id);
    expect(w.stats().outcomes).toEqual({ "ops-mail": { delivered: 1 } });
    expect(await dlq.size()).toBe(0);
  });

  it("a permanent failure (webhook 400) goes to the DLQ with its reason, after one try", async () => {
    const r = await receiver({ otherwise: { status: 400, body: "unknown field 'severity'" } });
    const w = await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);

    expect(await finished(id as string)).toEqual({ outcome: "permanent", attempts: 1 });
    expect(r.requests).toHaveLength(1);
    const entries = await dlq.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      id,
      receiver: "ops-webhook",
      notification: n,
      outcome: "permanent",
      reason: "HTTP 400: unknown field 'severity'",
      attempts: 1,
    });
    expect(await client.exists(deliveredMarkerKey(PREFIX, id as string))).toBe(0);
    expect(w.stats()).toEqual({ outcomes: { "ops-webhook": { permanent: 1 } }, sends: { "ops-webhook": 1 } });
    expect(logs.some((l) => l.startsWith(`dead-lettered ${id} (permanent)`))).toBe(true);
  });

  it("retries exhausted (webhook 503 every time) go to the DLQ as exhausted, with the attempts", async () => {
    const r = await receiver({ otherwise: { status: 503 } });
    await worker({ "ops-webhook": webhook(r) }, { retry: { ...FAST_RETRY, attempts: 3 } });
    const [id] = await enqueueDeliveries(queue, note(), ["ops-webhook"]);

    expect(await finished(id as string)).toEqual({ outcome: "exhausted", attempts: 3 });
    expect(r.requests).toHaveLength(3);
    expect(await dlq.get(id as string)).toMatchObject({
      outcome: "exhausted",
      reason: "HTTP 503",
      attempts: 3,
    });
  });

  it("a receiver with no sink goes to the DLQ with the reason", async () => {
    const w = await worker({});
    const [id] = await enqueueDeliveries(queue, note(), ["pager"]);

    expect(await finished(id as string)).toEqual({ outcome: "unknown-receiver", attempts: 0 });
    expect(await dlq.get(id as string)).toMatchObject({
      receiver: "pager",
      outcome: "unknown-receiver",
      reason: 'no sink named "pager"',
      attempts: 0,
    });
    expect(w.stats().outcomes).toEqual({ pager: { "unknown-receiver": 1 } });
  });

  it("replay after the receiver is fixed: delivered once; a second replay finds nothing", async () => {
    const r = await receiver({ script: [{ status: 400, body: "bad token" }] }); // then 200
    const w = await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect((await finished(id as string)).outcome).toBe("permanent");
    const entry = await dlq.get(id as string);
    expect(entry?.reason).toBe("HTTP 400: bad token");

    expect(await dlq.replay([id as string], queue)).toEqual({ replayed: [id], missing: [] });
    expect(await finished(replayJobId(entry as { id: string; seq: number }))).toEqual({
      outcome: "delivered",
      attempts: 1,
    });
    expect(r.requests).toHaveLength(2); // the 400, then the one delivery
    expect(r.idempotencyKeys()).toEqual([n.id]);
    expect(await dlq.size()).toBe(0);
    expect(await dlq.replay([id as string], queue)).toEqual({ replayed: [], missing: [id] });
    expect(w.stats().outcomes).toEqual({ "ops-webhook": { permanent: 1, delivered: 1 } });
  });

  it("replaying an entry whose receiver already got the notification sends nothing (delivered marker)", async () => {
    const r = await receiver();
    await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect((await finished(id as string)).outcome).toBe("delivered");
    // A stale entry for the same delivery (as a run that crashed after dead-lettering would leave).
    const stale = await dlq.add({
      id: id as string,
      receiver: "ops-webhook",
      notification: n,
      outcome: "exhausted",
      reason: "HTTP 503",
      attempts: 5,
    });

    await dlq.replay("all", queue);
    expect(await finished(replayJobId(stale))).toEqual({ outcome: "already-delivered", attempts: 0 });
    expect(r.requests).toHaveLength(1);
  });

  it("the same notification enqueued twice is one delivery, also after its job is gone", async () => {
    const r = await receiver();
    const n = note();
    // Before any worker runs: copies collapse into one job.
    await enqueueDeliveries(queue, n, ["ops-webhook", "ops-webhook"]);
    await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });

    const w = await worker({ "ops-webhook": webhook(r) });
    const id = deliveryId(n.id, "ops-webhook");
    expect((await finished(id)).outcome).toBe("delivered");

    // A late copy while the finished job is kept: collapses into it.
    await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect(await queue.getJobCounts("waiting", "completed")).toEqual({ waiting: 0, completed: 1 });

    // A copy after the job was removed (retention over): a new job, which the marker stops.
    expect(await queue.remove(id)).toBe(1);
    await enqueueDeliveries(queue, n, ["ops-webhook"]);
    expect(await finished(id)).toEqual({ outcome: "already-delivered", attempts: 0 });

    expect(r.requests).toHaveLength(1);
    expect(w.stats().outcomes).toEqual({ "ops-webhook": { delivered: 1, "already-delivered": 1 } });
  });

  it("one notification to two receivers (webhook and email): each gets it once", async () => {
    const r = await receiver();
    const smtp = await startSmtp();
    cleanup.push(() => smtp.close());
    const email = new EmailSink({
      name: "ops-mail",
      transport: { host: "127.0.0.1", port: smtp.port, timeoutMs: 5_000 },
      from: "petgate@example.net",
      to: ["oncall@example.net"],
    });
    cleanup.push(() => email.close());
    await worker({ "ops-webhook": webhook(r), "ops-mail": email });
    const n = note();
    const ids = await enqueueDeliveries(queue, n, ["ops-webhook", "ops-mail"]);
    expect(ids).toEqual([`${n.id}@ops-webhook`, `${n.id}@ops-mail`]);
    for (const id of ids) expect((await finished(id)).outcome).toBe("delivered");
    expect(r.requests).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it("delivery ids carry any receiver name BullMQ accepts as a job id", async () => {
    expect(deliveryId("abc", "ops:pager team")).toBe("abc@ops%3Apager%20team");
    const [id] = await enqueueDeliveries(queue, note(), ["ops:pager"]);
    expect(await queue.getJob(id as string)).toBeDefined();
  });
});

/**
 * A worker dying mid-job, simulated in-process: the sink or the post-delivery hook never returns (the
 * process "stops" there), and the worker is closed with force, which abandons the job and stops
 * renewing its lock, as a SIGKILLed process would. The job stays active until its lock expires
 * (lockDurationMs 1 s here); a second worker's stalled-job check (every 300 ms) moves it back to wait
 * and runs it again.
 */
describe("DELIVER: a worker that dies mid-job", () => {
  const crashy = { lockDurationMs: 1_000, stalledIntervalMs: 300 };
  const hang = () => new Promise<never>(() => undefined);

  it("after the delivery was recorded, before the job completed: the re-run sends nothing", async () => {
    const r = await receiver();
    const sinks = { "ops-webhook": webhook(r) };
    let reachedCrashPoint = false;
    const w1 = await worker(sinks, {
      ...crashy,
      afterDelivered: () => {
        reachedCrashPoint = true;
        return hang();
      },
    });
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    await until("the crash point", () => reachedCrashPoint);
    await w1.worker.close(true);
    expect(await (await queue.getJob(id as string))?.getState()).toBe("active");

    const w2 = await worker(sinks, crashy);
    expect(await finished(id as string)).toEqual({ outcome: "already-delivered", attempts: 0 });
    expect(r.requests).toHaveLength(1);
    expect(w2.stats().outcomes).toEqual({ "ops-webhook": { "already-delivered": 1 } });
  });

  it("after the receiver accepted, before petgate recorded it: resent with the same idempotency key", async () => {
    const r = await receiver();
    const real = webhook(r);
    let calls = 0;
    // The first send reaches the receiver, which answers 200; the process dies before it returns.
    const dying: Sink = {
      name: real.name,
      send: async (n) => {
        calls++;
        const result = await real.send(n);
        return calls === 1 ? hang() : result;
      },
    };
    const w1 = await worker({ "ops-webhook": dying }, crashy);
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    await until("the first request", () => r.requests.length === 1);
    await w1.worker.close(true);

    await worker({ "ops-webhook": dying }, crashy);
    expect(await finished(id as string)).toEqual({ outcome: "delivered", attempts: 1 });
    // Two requests, one idempotency key: a receiver that deduplicates on it acts once.
    expect(r.requests).toHaveLength(2);
    expect(r.idempotencyKeys()).toEqual([n.id]);
    expect(r.requests.every((q) => q.signatureValid === true)).toBe(true);
    expect(await dlq.size()).toBe(0);
  });
});

/**
 * The same two crash points with a real process: the delivery worker runs in a child node process
 * (this module and its imports compiled with tsc into a temp dir at test time) and is SIGKILLed when
 * it reports reaching the crash point; an in-process worker's stalled-job check recovers the job.
 */
describe("DELIVER: a worker process SIGKILLed mid-job", () => {
  const ROOT = fileURLToPath(new URL("../../", import.meta.url));
  let build: string;

  const CHILD = `
import { startDeliveryWorker } from "./src/pipeline/notify/deliver.js";
import { WebhookSink } from "./src/sinks/webhook.js";
const [socket, prefix, url, secret, crashPoint] = process.argv.slice(2);
const real = new WebhookSink({ name: "ops-webhook", url, secret });
const hang = () => new Promise(() => {});
const report = () => process.stdout.write("crash point\\n");
const sink = crashPoint === "before-marker"
  ? { name: real.name, send: async (n) => { await real.send(n); report(); return hang(); } }
  : real;
await startDeliveryWorker({
  connection: socket, prefix, sinks: new Map([["ops-webhook", sink]]),
  lockDurationMs: 1000, stalledIntervalMs: 300,
  afterDelivered: async () => { report(); return hang(); },
});
process.stdout.write("ready\\n");
`;

  beforeAll(() => {
    build = mkdtempSync(join(tmpdir(), "petgate-deliver-child-"));
    execFileSync(
      process.execPath,
      [
        join(ROOT, "node_modules/typescript/bin/tsc"),
        ...["--outDir", build, "--rootDir", ROOT, "--module", "nodenext", "--moduleResolution", "nodenext"],
        ...["--target", "es2022", "--skipLibCheck", "--noCheck", "--types", "node"],
        join(ROOT, "src/pipeline/notify/deliver.ts"),
        join(ROOT, "src/sinks/webhook.ts"),
      ],
      { stdio: "pipe" },
    );
    symlinkSync(join(ROOT, "node_modules"), join(build, "node_modules"), "dir");
    writeFileSync(join(build, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(build, "child.js"), CHILD);
  });

  afterAll(() => rmSync(build, { recursive: true, force: true }));

  async function child(
    r: HttpReceiver,
    crashPoint: string,
  ): Promise<{ proc: ChildProcess; crashed: Promise<void> }> {
    const proc = spawn(
      process.execPath,
      [join(build, "child.js"), redis.socket, PREFIX, r.url, SECRET, crashPoint],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    proc.stderr?.on("data", (d) => (err += d));
    const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
    cleanup.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    });
    let reached: () => void = () => undefined;
    const crashed = new Promise<void>((resolve) => (reached = resolve));
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on("data", (d) => {
        out += d;
        if (out.includes("ready")) resolve();
        if (out.includes("crash point")) reached();
      });
      void exited.then(() => reject(new Error(`child exited: ${err}`)));
    });
    return { proc, crashed };
  }

  it("killed after the delivery was recorded: the recovered job sends nothing", async () => {
    const r = await receiver();
    const { proc, crashed } = await child(r, "after-marker");
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    await crashed;
    proc.kill("SIGKILL");

    await worker({ "ops-webhook": webhook(r) }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    expect(await finished(id as string)).toEqual({ outcome: "already-delivered", attempts: 0 });
    expect(r.requests).toHaveLength(1);
  });

  it("killed after the receiver accepted, before the marker: resent once, same idempotency key", async () => {
    const r = await receiver();
    const { proc, crashed } = await child(r, "before-marker");
    const n = note();
    const [id] = await enqueueDeliveries(queue, n, ["ops-webhook"]);
    await crashed;
    proc.kill("SIGKILL");

    await worker({ "ops-webhook": webhook(r) }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    expect(await finished(id as string)).toEqual({ outcome: "delivered", attempts: 1 });
    expect(r.requests).toHaveLength(2);
    expect(r.idempotencyKeys()).toEqual([n.id]);
  });
});
