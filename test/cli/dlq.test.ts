import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dlqCommand } from "../../src/cli/dlq.js";
import { UsageError } from "../../src/cli/usage.js";
import {
  type DeliverJobResult,
  type DeliverQueue,
  enqueueFlush,
  idempotencyKey,
  sendId,
  startDeliveryWorker,
} from "../../src/pipeline/notify/deliver.js";
import {
  type DeadLetter,
  type DeadLetterQueue,
  type NewDeadLetter,
  replayJobId,
} from "../../src/pipeline/notify/dlq.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { startDeliverQueues } from "../support/deliver.js";
import { sampleNotification, startHttpReceiver } from "../support/http-receiver.js";
import type { TestRedis } from "../support/redis.js";

const PREFIX = "petgate-cli-test";

let redis: TestRedis;
let client: Redis;
let queue: DeliverQueue;
let dlq: DeadLetterQueue;
const cleanup: (() => Promise<void>)[] = [];

beforeEach(async () => {
  ({ redis, client, queue, dlq } = await startDeliverQueues(PREFIX));
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  vi.unstubAllEnvs();
  await queue.close();
  client.disconnect();
  await redis.dispose();
});

/** Runs `petgate dlq …` in-process, capturing standard output and error. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await dlqCommand(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const target = () => ["--redis", redis.socket, "--prefix", PREFIX];

/** The dead letter of group send `n`, carrying `count` notifications. */
function entry(n: number, receiver = "ops-webhook", count = 1): NewDeadLetter {
  const notifications = Array.from({ length: count }, (_, i) =>
    sampleNotification({ id: `${n}${i}`.padStart(32, "b"), summary: `bmc-${n}-${i}: Temperature CPU1 Temp` }),
  );
  return {
    id: sendId(
      receiver,
      notifications.map((x) => x.id),
    ),
    receiver,
    groupKey: "{}:{}",
    groupLabels: {},
    notifications,
    outcome: "exhausted",
    reason: "HTTP 503:\n  try later",
    attempts: 5,
  };
}

describe("petgate dlq", () => {
  it("list: says when the queue is empty", async () => {
    expect(await run("list", ...target())).toEqual({
      code: 0,
      stdout: "dead-letter queue is empty\n",
      stderr: "",
    });
  });

  it("list: a line per entry and one per notification it carried, oldest first, a note when --limit cuts it", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2, "ops-mail", 2));
    const { code, stdout } = await run("list", ...target());
    expect(code).toBe(0);
    expect(stdout.split("\n")).toEqual([
      `${a.id}  ${a.deadLetteredAt}  exhausted after 5 attempt(s): HTTP 503: try later`,
      "    bmc-1-0: Temperature CPU1 Temp",
      `${b.id}  ${b.deadLetteredAt}  exhausted after 5 attempt(s): HTTP 503: try later`,
      "    bmc-2-0: Temperature CPU1 Temp",
      "    bmc-2-1: Temperature CPU1 Temp",
      "",
    ]);
    const limited = await run("list", "--limit", "1", ...target());
    expect(limited.stdout).toContain(a.id);
    expect(limited.stdout).not.toContain(b.id);
    expect(limited.stdout).toContain("(1 of 2 shown; --limit for more)");
  });

  it("list: controls in a summary or reason are shown escaped, never sent to the terminal", async () => {
    const bad = entry(3);
    (bad.notifications[0] as { summary: string }).summary =
      "bmc-07: Temperature CPU1\u001b]0;owned\u0007 Temp\u202e: going high";
    bad.reason = "HTTP 500: \u001b[2Jcleared";
    const added = await dlq.add(bad);
    const { code, stdout } = await run("list", ...target());
    expect(code).toBe(0);
    expect(stdout.split("\n")).toEqual([
      `${added.id}  ${added.deadLetteredAt}  exhausted after 5 attempt(s): HTTP 500: \\x1b[2Jcleared`,
      "    bmc-07: Temperature CPU1\\x1b]0;owned\\x07 Temp\\u202e: going high",
      "",
    ]);
  });

  it("list --json: the entries as a JSON array", async () => {
    const a = await dlq.add(entry(1));
    const { code, stdout } = await run("list", "--json", ...target());
    expect(code).toBe(0);
    expect(JSON.parse(stdout) as DeadLetter[]).toEqual([a]);
  });

  it("takes the Redis address from PETGATE_REDIS", async () => {
    await dlq.add(entry(1));
    vi.stubEnv("PETGATE_REDIS", redis.socket);
    const { code, stdout } = await run("list", "--json", "--prefix", PREFIX);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveLength(1);
  });

  it("replay ID: a DELIVER job per entry, the entry gone; unknown ids exit 1", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2));
    expect(await run("replay", a.id, ...target())).toEqual({
      code: 0,
      stdout: "replayed 1 entry\n",
      stderr: "",
    });
    expect((await queue.getJob(replayJobId(a)))?.data.receiver).toBe("ops-webhook");
    expect((await dlq.list()).map((e) => e.id)).toEqual([b.id]);

    expect(await run("replay", a.id, b.id, ...target())).toEqual({
      code: 1,
      stdout: "replayed 1 entry\n",
      stderr: `petgate dlq: no entry ${a.id}\n`,
    });
    expect(await dlq.size()).toBe(0);
  });

  it("replay --all and purge --all", async () => {
    await dlq.add(entry(1));
    await dlq.add(entry(2));
    expect((await run("replay", "--all", ...target())).stdout).toBe("replayed 2 entries\n");
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 2 });
    await dlq.add(entry(3));
    await dlq.add(entry(4));
    expect((await run("purge", "--all", ...target())).stdout).toBe("purged 2 entries\n");
    expect(await dlq.size()).toBe(0);
  });

  it("purge ID", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2));
    expect(await run("purge", a.id, ...target())).toEqual({
      code: 0,
      stdout: "purged 1 entry\n",
      stderr: "",
    });
    expect((await dlq.list()).map((e) => e.id)).toEqual([b.id]);
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 0 });
  });

  it("rejects wrong arguments", async () => {
    for (const args of [
      [],
      ["show"],
      ["replay"],
      ["purge"],
      ["replay", "x", "--all"],
      ["list", "x"],
      ["list", "--limit", "0"],
      ["purge", "--all", "--json"],
      ["list", "--bogus"],
    ]) {
      await expect(dlqCommand([...args, ...target()]), args.join(" ")).rejects.toThrow(UsageError);
    }
  });

  it("exits 1 when Redis cannot be reached", async () => {
    const { code, stderr } = await run("list", "--redis", `${redis.dir}/absent.sock`);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^petgate dlq: cannot reach Redis at .*absent\.sock/);
  });

  it("replay after the receiver is fixed: the notification is delivered once", async () => {
    const receiver = await startHttpReceiver({
      script: [{ status: 410, body: "endpoint retired" }],
      otherwise: { status: 204 },
    });
    cleanup.push(() => receiver.close());
    const sink = new WebhookSink({ name: "ops-webhook", url: receiver.url });
    const worker = await startDeliveryWorker({
      connection: redis.socket,
      prefix: PREFIX,
      sinks: new Map([["ops-webhook", sink]]),
      retry: { attempts: 3, baseMs: 1, jitter: false },
    });
    cleanup.push(() => worker.close());
    const n = sampleNotification({ id: "c".repeat(32) });
    await enqueueFlush(queue, [
      { receiver: "ops-webhook", groupKey: "{}:{}", groupLabels: {}, notifications: [n] },
    ]);
    const id = sendId("ops-webhook", [n.id]);
    await until(async () => (await dlq.size()) === 1);

    const listed = await run("list", "--json", ...target());
    const [dead] = JSON.parse(listed.stdout) as DeadLetter[];
    expect(dead).toMatchObject({
      id,
      outcome: "permanent",
      reason: "HTTP 410: endpoint retired",
      attempts: 1,
    });

    expect((await run("replay", id, ...target())).code).toBe(0);
    const jobId = replayJobId(dead as DeadLetter);
    let result: DeliverJobResult | undefined;
    await until(async () => {
      // State first: a job read before it completed has no return value yet.
      if ((await queue.getJobState(jobId)) !== "completed") return false;
      result = (await queue.getJob(jobId))?.returnvalue;
      return result !== undefined;
    });
    expect(result).toEqual({ outcomes: { [n.id]: "delivered" }, sends: 1 });
    expect(receiver.requests).toHaveLength(2); // the 410, then the delivery
    expect(receiver.idempotencyKeys()).toEqual([idempotencyKey("ops-webhook", [n.id])]);
    expect(receiver.notifications()).toEqual([n, n]);
    expect((await run("list", ...target())).stdout).toBe("dead-letter queue is empty\n");
  });
});

async function until(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
