import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { claimKey } from "../../src/pipeline/notify/claims.js";
import {
  DELIVER_JOB,
  type DeliverJobData,
  type DeliverJobResult,
  type DeliverQueue,
  type DeliveryWorker,
  type DeliveryWorkerOptions,
  deliveredMarkerKey,
  deliveryId,
  enqueueFlush,
  InFlightElsewhereError,
  idempotencyKey,
  sendId,
  startDeliveryWorker,
} from "../../src/pipeline/notify/deliver.js";
import { type DeadLetterQueue, replayJobId } from "../../src/pipeline/notify/dlq.js";
import { AlertmanagerSink } from "../../src/sinks/alertmanager.js";
import { EmailSink } from "../../src/sinks/email.js";
import type { Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { startDeliverQueues } from "../support/deliver.js";
import {
  type HttpReceiver,
  type HttpReceiverOptions,
  petgateBodyOf,
  type ReceivedRequest,
  sampleNotification,
  startHttpReceiver,
} from "../support/http-receiver.js";
import { freeTcpPort } from "../support/ports.js";
import type { TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";
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
const notes = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    note({ id: `4f2a9c1e0011223344556677889900${i.toString(16).padStart(2, "0")}` }),
  );

/**
 * One flush to one receiver, as the events worker enqueues it: group i has groupKey `g<i>`. Returns
 * the DELIVER job's id.
 */
async function flush(receiver: string, ...groups: Notification[][]): Promise<string> {
  await enqueueFlush(
    queue,
    groups.map((notifications, i) => ({
      receiver,
      groupKey: `g${i}`,
      groupLabels: { g: String(i) },
      notifications,
    })),
  );
  return sendId(
    receiver,
    groups.flat().map((n) => n.id),
  );
}

/** What a job run returns when every notification of it ended the same way. */
const all = (outcome: string, ns: Notification[], sends: number) => ({
  outcomes: Object.fromEntries(ns.map((n) => [n.id, outcome])),
  sends,
});

describe("DELIVER: retries and the dead-letter queue", () => {
  it("webhook 500 ×3 then 200: delivered exactly once, every try with the same idempotency key", async () => {
    const r = await receiver({ script: [{ status: 500 }, { status: 500 }, { status: 500 }] });
    const w = await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const id = await flush("ops-webhook", [n]);

    expect(await finished(id)).toEqual(all("delivered", [n], 4));
    expect(r.requests).toHaveLength(4); // 3 × 500, then the one that succeeded
    expect(r.requests.every((q) => q.signatureValid === true)).toBe(true);
    const key = idempotencyKey("ops-webhook", [n.id]);
    expect(r.requests.map((q) => q.idempotencyKey)).toEqual([key, key, key, key]);
    expect(r.idempotencyKeys()).toEqual([key]);
    expect(petgateBodyOf(r.requests[3] as ReceivedRequest)?.notifications).toEqual([n]);
    const marker = deliveredMarkerKey(PREFIX, deliveryId(n.id, "ops-webhook"));
    expect(await client.exists(marker)).toBe(1);
    expect(await client.ttl(marker)).toBeGreaterThan(6 * 24 * 3600);
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
    const id = await flush("ops-mail", [n]);

    expect(await finished(id)).toEqual(all("delivered", [n], 2));
    expect(sleeps).toEqual([1]);
    expect(smtp.messages).toHaveLength(1);
    expect((await parseMessage(smtp.messages[0]?.raw ?? "")).headers.get("x-petgate-notification-ids")).toBe(
      n.id,
    );
    expect(w.stats().outcomes).toEqual({ "ops-mail": { delivered: 1 } });
    expect(await dlq.size()).toBe(0);
  });

  it("a permanent failure (webhook 400) goes to the DLQ with its reason, after one try", async () => {
    const r = await receiver({ otherwise: { status: 400, body: "unknown field 'severity'" } });
    const w = await worker({ "ops-webhook": webhook(r) });
    const ns = notes(2);
    const id = await flush("ops-webhook", ns);

    expect(await finished(id)).toEqual(all("permanent", ns, 1));
    expect(r.requests).toHaveLength(1);
    const entries = await dlq.list();
    expect(entries).toHaveLength(1);
    // The group as one entry, under the id of its send (here the job's: one group).
    expect(entries[0]).toMatchObject({
      id: sendId("ops-webhook", [ns[0]?.id as string, ns[1]?.id as string]),
      receiver: "ops-webhook",
      groupKey: "g0",
      groupLabels: { g: "0" },
      notifications: ns,
      outcome: "permanent",
      reason: "HTTP 400: unknown field 'severity'",
      attempts: 1,
    });
    for (const n of ns)
      expect(await client.exists(deliveredMarkerKey(PREFIX, deliveryId(n.id, "ops-webhook")))).toBe(0);
    expect(w.stats()).toEqual({ outcomes: { "ops-webhook": { permanent: 2 } }, sends: { "ops-webhook": 1 } });
    expect(
      logs.some((l) => l.startsWith(`dead-lettered ${entries[0]?.id} (2 notification(s), permanent)`)),
    ).toBe(true);
  });

  it("retries exhausted (webhook 503 every time) go to the DLQ as exhausted, with the attempts", async () => {
    const r = await receiver({ otherwise: { status: 503 } });
    await worker({ "ops-webhook": webhook(r) }, { retry: { ...FAST_RETRY, attempts: 3 } });
    const id = await flush("ops-webhook", [note()]);

    expect(await finished(id)).toEqual(all("exhausted", [note()], 3));
    expect(r.requests).toHaveLength(3);
    expect(await dlq.get(id)).toMatchObject({
      outcome: "exhausted",
      reason: "HTTP 503",
      attempts: 3,
    });
  });

  it("a receiver with no sink goes to the DLQ with the reason", async () => {
    const w = await worker({});
    const id = await flush("pager", [note()]);

    expect(await finished(id)).toEqual(all("unknown-receiver", [note()], 0));
    expect(await dlq.get(id)).toMatchObject({
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
    const id = await flush("ops-webhook", [n]);
    expect((await finished(id)).outcomes[n.id]).toBe("permanent");
    const entry = await dlq.get(id);
    expect(entry?.reason).toBe("HTTP 400: bad token");

    expect(await dlq.replay([id], queue)).toEqual({ replayed: [id], missing: [] });
    expect(await finished(replayJobId(entry as { id: string; seq: number }))).toEqual(
      all("delivered", [n], 1),
    );
    expect(r.requests).toHaveLength(2); // the 400, then the one delivery
    expect(r.idempotencyKeys()).toEqual([idempotencyKey("ops-webhook", [n.id])]);
    expect(await dlq.size()).toBe(0);
    expect(await dlq.replay([id], queue)).toEqual({ replayed: [], missing: [id] });
    expect(w.stats().outcomes).toEqual({ "ops-webhook": { permanent: 1, delivered: 1 } });
  });

  it("replaying an entry whose receiver already got the notification sends nothing (delivered marker)", async () => {
    const r = await receiver();
    await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const id = await flush("ops-webhook", [n]);
    expect((await finished(id)).outcomes[n.id]).toBe("delivered");
    // A stale entry for the same send (as a run that crashed after dead-lettering would leave).
    const stale = await dlq.add({
      id,
      receiver: "ops-webhook",
      groupKey: "g0",
      groupLabels: {},
      notifications: [n],
      outcome: "exhausted",
      reason: "HTTP 503",
      attempts: 5,
    });

    await dlq.replay("all", queue);
    expect(await finished(replayJobId(stale))).toEqual(all("already-delivered", [n], 0));
    expect(r.requests).toHaveLength(1);
  });

  it("the same flush enqueued twice is one job, and one delivery also after its job is gone", async () => {
    const r = await receiver();
    const n = note();
    // Before any worker runs: copies collapse into one job.
    const id = await flush("ops-webhook", [n]);
    expect(await flush("ops-webhook", [n])).toBe(id);
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });

    const w = await worker({ "ops-webhook": webhook(r) });
    expect((await finished(id)).outcomes[n.id]).toBe("delivered");

    // A late copy while the finished job is kept: collapses into it.
    await flush("ops-webhook", [n]);
    expect(await queue.getJobCounts("waiting", "completed")).toEqual({ waiting: 0, completed: 1 });

    // A copy after the job was removed (retention over): a new job, which the marker stops.
    expect(await queue.remove(id)).toBe(1);
    await flush("ops-webhook", [n]);
    expect(await finished(id)).toEqual(all("already-delivered", [n], 0));

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
    const ids = await enqueueFlush(queue, [
      { receiver: "ops-webhook", groupKey: "g", groupLabels: {}, notifications: [n] },
      { receiver: "ops-mail", groupKey: "g", groupLabels: {}, notifications: [n] },
    ]);
    expect(ids).toEqual([`${n.id}@ops-webhook`, `${n.id}@ops-mail`]);
    for (const receiver of ["ops-webhook", "ops-mail"])
      expect((await finished(sendId(receiver, [n.id]))).outcomes[n.id]).toBe("delivered");
    expect(r.requests).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it("one POST per group with all its notifications, one job for the flush", async () => {
    const r = await receiver();
    const ns = notes(3);
    const id = await flush("ops-webhook", ns.slice(0, 2), ns.slice(2));
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });
    const w = await worker({ "ops-webhook": webhook(r) });

    expect(await finished(id)).toEqual(all("delivered", ns, 2));
    const bodies = r.requests
      .map((q) => petgateBodyOf(q))
      .sort((a, b) => (a?.groupKey ?? "").localeCompare(b?.groupKey ?? ""));
    expect(bodies.map((b) => [b?.groupKey, b?.groupLabels, b?.notifications.map((n) => n.id)])).toEqual([
      ["g0", { g: "0" }, [ns[0]?.id, ns[1]?.id]],
      ["g1", { g: "1" }, [ns[2]?.id]],
    ]);
    expect(r.idempotencyKeys().sort()).toEqual(
      [
        idempotencyKey("ops-webhook", [ns[0]?.id as string, ns[1]?.id as string]),
        idempotencyKey("ops-webhook", [ns[2]?.id as string]),
      ].sort(),
    );
    expect(w.stats()).toEqual({ outcomes: { "ops-webhook": { delivered: 3 } }, sends: { "ops-webhook": 2 } });
  });

  it("to Alertmanager (a sink that groups by itself) the groups of a flush go in one POST of all their alerts", async () => {
    const r = await receiver();
    const refusing = await receiver({
      otherwise: { status: 400, body: '"start time must be before end time"' },
    });
    const ns = notes(3);
    const id = await flush("am", ns.slice(0, 2), ns.slice(2));
    const w = await worker({
      am: new AlertmanagerSink({ name: "am", url: r.url, timeoutMs: 5_000 }),
      "am-refusing": new AlertmanagerSink({ name: "am-refusing", url: refusing.url, timeoutMs: 5_000 }),
    });

    expect(await finished(id)).toEqual(all("delivered", ns, 1));
    expect(r.requests.map((q) => q.url)).toEqual(["/hook/api/v2/alerts"]);
    const alerts = JSON.parse((r.requests[0] as ReceivedRequest).body.toString("utf8")) as {
      annotations: Record<string, string>;
    }[];
    expect(alerts.map((a) => a.annotations.notification_id)).toEqual(ns.map((n) => n.id));
    expect(w.stats()).toEqual({ outcomes: { am: { delivered: 3 } }, sends: { am: 1 } });
    for (const n of ns)
      expect(await client.exists(deliveredMarkerKey(PREFIX, deliveryId(n.id, "am")))).toBe(1);

    // Refused for good: the one send is one dead letter, naming the groups it merged.
    await finished(await flush("am-refusing", [ns[0] as Notification], [ns[1] as Notification]));
    expect(refusing.requests).toHaveLength(1);
    const [dead] = await dlq.list();
    expect(dead).toMatchObject({ receiver: "am-refusing", groupKey: "g0 + g1", outcome: "permanent" });
    expect(dead?.notifications.map((n) => n.id)).toEqual([ns[0]?.id, ns[1]?.id]);
  });

  it("a group with some notifications delivered already is sent only the rest; a group left empty is skipped", async () => {
    const r = await receiver();
    const w = await worker({ "ops-webhook": webhook(r) });
    const ns = notes(4);
    await finished(await flush("ops-webhook", [ns[0] as Notification, ns[1] as Notification]));
    // A later flush carries them again (a group's next batch, an outbox sweep), with ones not sent yet.
    const id = await flush("ops-webhook", ns.slice(0, 3), [ns[1] as Notification], [ns[3] as Notification]);

    expect(await finished(id)).toEqual({
      outcomes: {
        [ns[0]?.id as string]: "already-delivered",
        [ns[1]?.id as string]: "already-delivered",
        [ns[2]?.id as string]: "delivered",
        [ns[3]?.id as string]: "delivered",
      },
      sends: 2,
    });
    expect(r.requests).toHaveLength(3); // the first flush, then g0 with ns[2] only and g2; g1 was left empty
    expect(
      r
        .notifications()
        .map((n) => n.id)
        .sort(),
    ).toEqual(ns.map((n) => n.id).sort());
    const rest = r.requests.slice(1).find((q) => petgateBodyOf(q)?.groupKey === "g0");
    expect(rest?.idempotencyKey).toBe(idempotencyKey("ops-webhook", [ns[2]?.id as string]));
    expect(w.stats().outcomes).toEqual({ "ops-webhook": { delivered: 4, "already-delivered": 2 } });
  });

  it("a notification in two groups of one flush (two routes to one receiver) is sent once", async () => {
    const r = await receiver();
    await worker({ "ops-webhook": webhook(r) });
    const [a, b] = notes(2) as [Notification, Notification];
    const id = await flush("ops-webhook", [a, b], [b]);
    expect(await finished(id)).toEqual(all("delivered", [a, b], 1));
    expect(r.notifications().map((n) => n.id)).toEqual([a.id, b.id]);
  });

  it("a group that fails for good is dead-lettered whole while another group of its flush is delivered", async () => {
    const ns = notes(3);
    const r = await receiver({
      replyTo: (q) => (petgateBodyOf(q)?.groupKey === "g0" ? { status: 422, body: "no" } : undefined),
    });
    await worker({ "ops-webhook": webhook(r) });
    const id = await flush("ops-webhook", ns.slice(0, 2), ns.slice(2));

    expect(await finished(id)).toEqual({
      outcomes: {
        [ns[0]?.id as string]: "permanent",
        [ns[1]?.id as string]: "permanent",
        [ns[2]?.id as string]: "delivered",
      },
      sends: 2,
    });
    const entries = await dlq.list();
    expect(entries.map((e) => [e.groupKey, e.notifications.map((n) => n.id)])).toEqual([
      ["g0", [ns[0]?.id, ns[1]?.id]],
    ]);
    expect(r.notifications().map((n) => n.id)).toEqual(ns.map((n) => n.id)); // g0 refused, g1 taken
    for (const n of ns)
      expect(await client.exists(deliveredMarkerKey(PREFIX, deliveryId(n.id, "ops-webhook")))).toBe(
        n === ns[2] ? 1 : 0,
      );
  });

  it("a job an older petgate enqueued (one notification) is delivered as a group of one", async () => {
    const r = await receiver();
    await worker({ "ops-webhook": webhook(r) });
    const n = note();
    const old = { receiver: "ops-webhook", notification: n } as unknown as DeliverJobData;
    await queue.add("deliver", old, { jobId: deliveryId(n.id, "ops-webhook") });
    expect(await finished(deliveryId(n.id, "ops-webhook"))).toEqual(all("delivered", [n], 1));
    expect(r.notifications()).toEqual([n]);
  });

  it("delivery ids carry any receiver name BullMQ accepts as a job id", async () => {
    expect(deliveryId("abc", "ops:pager team")).toBe("abc@ops%3Apager%20team");
    const id = await flush("ops:pager", [note()]);
    expect(id).toMatch(/^[0-9a-f]{32}@ops%3Apager$/);
    expect(await queue.getJob(id)).toBeDefined();
  });
});

/**
 * Two different jobs carrying one notification (two flushes of it, an outbox sweep, a DLQ replay),
 * run at once: the one that claimed it sends it; the other sends the rest, is retried by BullMQ with
 * backoff and meets it delivered or released.
 */
describe("DELIVER: two jobs carrying one notification at once", () => {
  /** The sink, holding every send that carries `id` until `until` resolves. */
  const holding = (real: Sink, id: string, until: Promise<void>): Sink => ({
    name: real.name,
    send: async (group) => {
      if (group.notifications.some((n) => n.id === id)) await until;
      return real.send(group);
    },
  });

  /** Ids of the jobs that met a notification in flight elsewhere, and when the first did. */
  function deferrals(w: DeliveryWorker): { jobs: string[]; first: Promise<void> } {
    const jobs: string[] = [];
    let seen: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (seen = resolve));
    w.worker.on("failed", (job, err) => {
      if (!(err instanceof InFlightElsewhereError) || !job?.id) return;
      jobs.push(job.id);
      seen();
    });
    return { jobs, first };
  }

  it("the receiver gets it once and both jobs complete", async () => {
    const r = await receiver();
    const [n, a, b] = notes(3) as [Notification, Notification, Notification];
    let looked: () => void = () => undefined;
    const otherLooked = new Promise<void>((resolve) => (looked = resolve));
    const w = await worker({ "ops-webhook": holding(webhook(r), n.id, otherLooked) });
    const deferred = deferrals(w);
    void deferred.first.then(looked);
    const one = await flush("ops-webhook", [n], [a]);
    const two = await flush("ops-webhook", [n], [b]);

    const results = { [one]: await finished(one), [two]: await finished(two) };
    expect(
      r
        .notifications()
        .map((x) => x.id)
        .sort(),
    ).toEqual([n.id, a.id, b.id].sort());
    // The job that met n in flight sent its other group at once, and n not at all.
    expect(new Set(deferred.jobs).size).toBe(1);
    const [later, sender] = deferred.jobs[0] === one ? [one, two] : [two, one];
    expect(results[sender]?.outcomes[n.id]).toBe("delivered");
    expect(results[later]).toMatchObject({ outcomes: { [n.id]: "already-delivered" }, sends: 0 });
    expect(await client.keys(claimKey(PREFIX, "*"))).toEqual([]);
  });

  it("a job that fails for good dead-letters only what it did not deliver", async () => {
    const r = await receiver();
    const [n, a] = notes(2) as [Notification, Notification];
    const w = await worker({ "ops-webhook": webhook(r) });
    // n is held by a job that never lets go: this job delivers a, is deferred on n, and fails for good.
    await client.set(claimKey(PREFIX, deliveryId(n.id, "ops-webhook")), "another-job", "EX", 600);
    await queue.add(
      DELIVER_JOB,
      {
        receiver: "ops-webhook",
        groups: [
          { groupKey: "g0", groupLabels: {}, notifications: [a] },
          { groupKey: "g1", groupLabels: {}, notifications: [n] },
        ],
      },
      { jobId: "fails-for-good", attempts: 1 },
    );
    await until("a dead letter", async () => (await w.dlq.size()) > 0);
    expect(r.notifications().map((x) => x.id)).toEqual([a.id]);
    const dead = await w.dlq.list();
    expect(dead.map((d) => [d.outcome, d.notifications.map((x) => x.id)])).toEqual([["error", [n.id]]]);
  });

  it("a claim whose job fails for good is released: the other job sends it then", async () => {
    let nRequests = 0;
    const [n, b] = notes(2) as [Notification, Notification];
    // The first request carrying n is refused for good; any later one is taken.
    const r = await receiver({
      replyTo: (q) =>
        petgateBodyOf(q)?.notifications.some((x) => x.id === n.id) && nRequests++ === 0
          ? { status: 400, body: "no" }
          : undefined,
    });
    let looked: () => void = () => undefined;
    const otherLooked = new Promise<void>((resolve) => (looked = resolve));
    // A lock (so a claim's TTL) longer than the test's wait: only the release can free n in time.
    const w = await worker(
      { "ops-webhook": holding(webhook(r), n.id, otherLooked) },
      { lockDurationMs: 120_000 },
    );
    const deferred = deferrals(w);
    void deferred.first.then(looked);
    const one = await flush("ops-webhook", [n]);
    const two = await flush("ops-webhook", [n], [b]);

    const results = { [one]: await finished(one), [two]: await finished(two) };
    const [later, sender] = deferred.jobs[0] === one ? [one, two] : [two, one];
    expect(results[sender]?.outcomes[n.id]).toBe("permanent");
    expect(results[later]?.outcomes[n.id]).toBe("delivered");
    expect(nRequests).toBe(2); // refused once, then taken once
    expect(await client.exists(deliveredMarkerKey(PREFIX, deliveryId(n.id, "ops-webhook")))).toBe(1);
    expect(await client.keys(claimKey(PREFIX, "*"))).toEqual([]);
  });

  it("a job's markers and claims cost one script call; recording a delivered group another", async () => {
    const r = await receiver();
    await worker({ "ops-webhook": webhook(r) });
    const ns = notes(2);
    const state = (arg: string) => arg.includes(":delivered:") || arg.includes(":delivering:");
    const commands = await commandsDuring(client, () => flush("ops-webhook", ns).then(finished), {
      scripts: false,
    });
    // The claim: one script call (EVAL the first time on this server, EVALSHA after) with each
    // notification's marker and claim; once delivered, one more with the markers to set and the
    // claims to delete (claims.ts recordDelivered).
    const name = (c: string[]) => (/^eval(sha)?$/i.test(c[0] ?? "") ? "script" : c[0]?.toLowerCase());
    expect(commands.filter((c) => c.some(state)).map((c) => [name(c), c.filter(state).length])).toEqual([
      ["script", 4],
      ["script", 4],
    ]);
    // The markers are set, with their TTL, and the claims gone.
    const ids = ns.map((n) => deliveryId(n.id, "ops-webhook"));
    for (const id of ids) {
      expect(await client.ttl(deliveredMarkerKey(PREFIX, id))).toBeGreaterThan(0);
      expect(await client.exists(claimKey(PREFIX, id))).toBe(0);
    }
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
    const ns = notes(3);
    const id = await flush("ops-webhook", ns.slice(0, 2), ns.slice(2));
    await until("the crash point", () => reachedCrashPoint);
    await w1.worker.close(true);
    expect(await (await queue.getJob(id))?.getState()).toBe("active");

    // The re-run sends neither the group recorded before the crash nor, once sent, the other again.
    await worker(sinks, crashy);
    const rerun = await finished(id);
    expect(r.notificationIds().sort()).toEqual(ns.map((n) => n.id).sort());
    expect(r.notifications()).toHaveLength(3);
    expect(Object.keys(rerun.outcomes).sort()).toEqual(ns.map((n) => n.id).sort());
    expect(Object.values(rerun.outcomes)).toContain("already-delivered");
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
    const ns = notes(2);
    const id = await flush("ops-webhook", ns);
    await until("the first request", () => r.requests.length === 1);
    await w1.worker.close(true);

    await worker({ "ops-webhook": dying }, crashy);
    expect(await finished(id)).toEqual(all("delivered", ns, 1));
    // Two requests, one idempotency key: a receiver that deduplicates on it acts once.
    expect(r.requests).toHaveLength(2);
    expect(r.idempotencyKeys()).toEqual([
      idempotencyKey(
        "ops-webhook",
        ns.map((n) => n.id),
      ),
    ]);
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
const [socket, prefix, url, secret, crashPoint, lockMs] = process.argv.slice(2);
const real = new WebhookSink({ name: "ops-webhook", url, secret });
const hang = () => new Promise(() => {});
const report = () => process.stdout.write("crash point\\n");
const sink = crashPoint === "before-marker"
  ? { name: real.name, send: async (n) => { await real.send(n); report(); return hang(); } }
  : real;
await startDeliveryWorker({
  connection: socket, prefix, sinks: new Map([["ops-webhook", sink]]),
  lockDurationMs: Number(lockMs), stalledIntervalMs: 300,
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
    lockMs = 1_000,
  ): Promise<{ proc: ChildProcess; crashed: Promise<void> }> {
    const proc = spawn(
      process.execPath,
      [join(build, "child.js"), redis.socket, PREFIX, r.url, SECRET, crashPoint, String(lockMs)],
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
    const ns = notes(2);
    const id = await flush("ops-webhook", ns);
    await crashed;
    proc.kill("SIGKILL");

    await worker({ "ops-webhook": webhook(r) }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    expect(await finished(id)).toEqual(all("already-delivered", ns, 0));
    expect(r.requests).toHaveLength(1);
  });

  it("killed after the receiver accepted, before the marker: resent once, same idempotency key", async () => {
    const r = await receiver();
    const { proc, crashed } = await child(r, "before-marker");
    const n = note();
    const id = await flush("ops-webhook", [n]);
    await crashed;
    proc.kill("SIGKILL");

    await worker({ "ops-webhook": webhook(r) }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    expect(await finished(id)).toEqual(all("delivered", [n], 1));
    expect(r.requests).toHaveLength(2);
    expect(r.idempotencyKeys()).toEqual([idempotencyKey("ops-webhook", [n.id])]);
  });

  it("killed mid-send: the recovered job takes back its own claim instead of waiting for it to expire", async () => {
    const r = await receiver();
    // A lock of 3 s (claims renewed every 1.5 s): time to make the claim outlive the kill below.
    const { proc, crashed } = await child(r, "before-marker", 3_000);
    const n = note();
    const id = await flush("ops-webhook", [n]);
    await crashed;
    proc.kill("SIGKILL");
    const claim = claimKey(PREFIX, deliveryId(n.id, "ops-webhook"));
    expect(await client.get(claim)).toBe(id);
    // As if its TTL were longer than the stall: only being this job's can give it back.
    expect(await client.persist(claim)).toBe(1);

    const w = await worker({ "ops-webhook": webhook(r) }, { lockDurationMs: 1_000, stalledIntervalMs: 300 });
    const failed: string[] = [];
    w.worker.on("failed", (_, err) => failed.push(err.message));
    expect(await finished(id)).toEqual(all("delivered", [n], 1));
    expect(failed).toEqual([]);
    expect(r.idempotencyKeys()).toEqual([idempotencyKey("ops-webhook", [n.id])]);
    expect(await client.exists(claim)).toBe(0);
  });
});
