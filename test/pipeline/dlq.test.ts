import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DELIVER_JOB_OPTIONS, type DeliverQueue, sendId } from "../../src/pipeline/notify/deliver.js";
import { type DeadLetterQueue, type NewDeadLetter, replayJobId } from "../../src/pipeline/notify/dlq.js";
import { startDeliverQueues } from "../support/deliver.js";
import { sampleNotification } from "../support/http-receiver.js";
import type { TestRedis } from "../support/redis.js";

const PREFIX = "petgate-test";

let redis: TestRedis;
let client: Redis;
let queue: DeliverQueue;
let dlq: DeadLetterQueue;

beforeEach(async () => {
  ({ redis, client, queue, dlq } = await startDeliverQueues(PREFIX));
});

afterEach(async () => {
  await queue.close();
  client.disconnect();
  await redis.dispose();
});

/** The dead letter of group send `n`: two notifications. */
function entry(n: number, receiver = "ops-webhook", reason = "HTTP 400"): NewDeadLetter {
  const notifications = [1, 2].map((i) => sampleNotification({ id: `${n}${i}`.padStart(32, "a") }));
  return {
    id: sendId(
      receiver,
      notifications.map((x) => x.id),
    ),
    receiver,
    groupKey: `{}:{rack="r${n}"}`,
    groupLabels: { rack: `r${n}` },
    notifications,
    outcome: "permanent",
    reason,
    attempts: 1,
  };
}

describe("DeadLetterQueue", () => {
  it("lists entries oldest first, up to a limit", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2, "ops-mail"));
    const c = await dlq.add({ ...entry(3), deadLetteredAt: "2025-03-04T10:11:12.000Z" });
    expect(a.seq < b.seq && b.seq < c.seq).toBe(true);
    expect(await dlq.size()).toBe(3);
    expect((await dlq.list()).map((e) => e.id)).toEqual([a.id, b.id, c.id]);
    expect((await dlq.list(2)).map((e) => e.id)).toEqual([a.id, b.id]);
    expect(await dlq.get(c.id)).toEqual({
      ...entry(3),
      deadLetteredAt: "2025-03-04T10:11:12.000Z",
      seq: c.seq,
    });
    expect(await dlq.get("nope")).toBeUndefined();
    await expect(dlq.list(0)).rejects.toThrow(RangeError);
  });

  it("dead-lettering the same send again replaces its entry (newest reason, moved to the end)", async () => {
    const first = await dlq.add(entry(1, "ops-webhook", "HTTP 503"));
    await dlq.add(entry(2));
    const again = await dlq.add(entry(1, "ops-webhook", "HTTP 400"));
    expect(again.id).toBe(first.id);
    expect(await dlq.size()).toBe(2);
    const listed = await dlq.list();
    expect(listed.map((e) => e.id)).toEqual([entry(2).id, first.id]);
    expect(listed[1]).toMatchObject({ reason: "HTTP 400", seq: again.seq });
  });

  it("purges given ids (reporting unknown ones) or all", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2));
    const c = await dlq.add(entry(3));
    expect(await dlq.purge([a.id, "nope", a.id])).toEqual({ purged: [a.id], missing: ["nope"] });
    expect((await dlq.list()).map((e) => e.id)).toEqual([b.id, c.id]);
    expect(await dlq.purge("all")).toEqual({ purged: [b.id, c.id], missing: [] });
    expect(await dlq.size()).toBe(0);
    expect(await client.hlen(dlq.keys.entries)).toBe(0);
  });

  it("replays entries into DELIVER as fresh jobs with the queue's job options, and removes them", async () => {
    const a = await dlq.add(entry(1));
    const b = await dlq.add(entry(2, "ops-mail"));
    expect(await dlq.replay([b.id, "nope"], queue)).toEqual({ replayed: [b.id], missing: ["nope"] });
    const job = await queue.getJob(replayJobId(b));
    const { groupKey, groupLabels, notifications } = entry(2, "ops-mail");
    // The group as one job of one group; the worker sends it what the receiver has not got.
    expect(job?.data).toEqual({ receiver: "ops-mail", groups: [{ groupKey, groupLabels, notifications }] });
    expect(job?.opts.attempts).toBe(DELIVER_JOB_OPTIONS.attempts);
    expect(job?.attemptsMade).toBe(0);
    expect((await dlq.list()).map((e) => e.id)).toEqual([a.id]);

    expect(await dlq.replay("all", queue)).toEqual({ replayed: [a.id], missing: [] });
    expect(await dlq.size()).toBe(0);
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 2 });
  });

  it("replaying one entry twice (e.g. again after a crash between enqueue and removal) is one job", async () => {
    const a = await dlq.add(entry(1));
    // The first replay's job, as if that replay died before removing the entry.
    await queue.add(
      "deliver",
      {
        receiver: a.receiver,
        groups: [{ groupKey: a.groupKey, groupLabels: a.groupLabels, notifications: a.notifications }],
      },
      { jobId: replayJobId(a) },
    );
    expect(await dlq.replay([a.id], queue)).toEqual({ replayed: [a.id], missing: [] });
    expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });
    expect(await dlq.size()).toBe(0);
  });

  it("an entry an older petgate wrote (one notification) is listed and replayed as a group of one", async () => {
    const notification = sampleNotification();
    const id = `${notification.id}@ops-webhook`;
    const rest = { id, receiver: "ops-webhook", outcome: "permanent", reason: "HTTP 400", attempts: 1 };
    const at = { deadLetteredAt: "2025-03-04T10:11:12.000Z", seq: 1 };
    await client
      .multi()
      .hset(dlq.keys.entries, id, JSON.stringify({ ...rest, notification, ...at }))
      .zadd(dlq.keys.index, 1, id)
      .exec();
    expect(await dlq.list()).toEqual([
      { ...rest, groupKey: "", groupLabels: {}, notifications: [notification], ...at },
    ]);
    expect(await dlq.replay([id], queue)).toEqual({ replayed: [id], missing: [] });
    expect((await queue.getJob(replayJobId({ id, seq: 1 })))?.data.groups).toEqual([
      { groupKey: "", groupLabels: {}, notifications: [notification] },
    ]);
  });

  it("keeps an entry re-dead-lettered while its replay was being enqueued", async () => {
    const a = await dlq.add(entry(1, "ops-webhook", "HTTP 400"));
    // The replayed job fails at once and is dead-lettered again before replay removes the old entry.
    const racing = {
      addBulk: async (jobs: Parameters<DeliverQueue["addBulk"]>[0]) => {
        const added = await queue.addBulk(jobs);
        await dlq.add(entry(1, "ops-webhook", "HTTP 401"));
        return added;
      },
    } as unknown as DeliverQueue;
    await dlq.replay([a.id], racing);
    const left = await dlq.list();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ id: a.id, reason: "HTTP 401" });
  });
});
