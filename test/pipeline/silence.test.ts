import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import {
  type Silence,
  SilenceError,
  SilenceStore,
  silencedBy,
  silenceState,
} from "../../src/pipeline/alerting/silence.js";
import { notification as baseNotification } from "../support/notifications.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";

const H = 3_600_000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function notification(bmc: string, severity: Notification["severity"] = "critical"): Notification {
  return baseNotification({
    id: `${bmc}-1`,
    severity,
    summary: `${bmc}: Fan FAN1: Lower Critical - going low`,
    bmc: { name: bmc, address: "192.0.2.7", labels: { rack: "r1" } },
    event: { sensorType: "Fan", sensorNumber: 4, text: "Lower Critical - going low" },
  });
}

const errorCode = async (p: Promise<unknown>) => {
  try {
    await p;
    return "none";
  } catch (err) {
    return err instanceof SilenceError ? err.code : String(err);
  }
};

describe("silences in Redis", () => {
  let server: TestRedis;
  let redis: Redis;
  let store: SilenceStore;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.socket);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });
  beforeEach(async () => {
    await redis.flushall();
    store = new SilenceStore(redis, { prefix: "test" });
  });

  const add = (matchers: string[], endsAt = T0 + 2 * H, startsAt?: number) =>
    store.add(
      { matchers, endsAt, createdBy: "alice", comment: "replacing fans", ...(startsAt && { startsAt }) },
      T0,
    );

  it("answers callers asking at once with one read of the silences, and the next caller with a new one", async () => {
    await add(["bmc=bmc-01"]);
    const at = T0 + H;
    const commands = await commandsDuring(redis, async () => {
      const answers = await Promise.all(
        ["bmc-01", "bmc-02", "bmc-01", "bmc-03"].map((b) => store.isSilenced(notification(b), at)),
      );
      expect(answers).toEqual([true, false, true, false]);
      await add(["bmc=bmc-02"]); // added after that read: the next caller sees it
      expect(await store.isSilenced(notification("bmc-02"), at)).toBe(true);
    });
    const reads = commands.filter(([c]) => c?.toLowerCase() === "hgetall").map(([, key]) => key);
    expect(reads).toEqual(["test:silences", "test:silences"]);
  });

  it("silences a matching notification once added, not once expired", async () => {
    const s = await add(['bmc="bmc-07"', 'sensor_type="Fan"']);
    expect(s).toMatchObject({
      matchers: ['bmc="bmc-07"', 'sensor_type="Fan"'],
      startsAt: "2026-01-01T00:00:00.000Z",
      endsAt: "2026-01-01T02:00:00.000Z",
      createdBy: "alice",
      comment: "replacing fans",
    });
    expect(s.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await store.isSilenced(notification("bmc-07"), T0 + 1)).toBe(true);
    expect(await store.isSilenced(notification("bmc-08"), T0 + 1)).toBe(false);

    const expired = await store.expire(s.id, T0 + H);
    expect(expired.endsAt).toBe("2026-01-01T01:00:00.000Z");
    expect(await store.isSilenced(notification("bmc-07"), T0 + H)).toBe(false);
    expect(await store.get(s.id)).toEqual(expired);
  });

  it("ends by itself at endsAt", async () => {
    await add(['bmc=~"bmc-0[1-9]"'], T0 + 2 * H);
    expect(await store.isSilenced(notification("bmc-07"), T0 + 2 * H - 1)).toBe(true);
    expect(await store.isSilenced(notification("bmc-07"), T0 + 2 * H)).toBe(false);
  });

  it("refuses a silence whose end or start lies past the latest date there is, writing nothing", async () => {
    for (const [endsAt, startsAt] of [
      [8.64e15 + 1, undefined],
      [Number.POSITIVE_INFINITY, undefined],
      [T0 + H, 8.64e15 + 1],
    ]) {
      await expect(add(['bmc="bmc-01"'], endsAt, startsAt)).rejects.toMatchObject({ code: "invalid-time" });
    }
    expect(await redis.exists("test:silences", "test:silences:ends")).toBe(0);
  });

  it("does not silence before startsAt (pending)", async () => {
    const s = await add(['bmc="bmc-07"'], T0 + 2 * H, T0 + H);
    expect(silenceState(s, T0)).toBe("pending");
    expect(await store.isSilenced(notification("bmc-07"), T0)).toBe(false);
    expect(await store.isSilenced(notification("bmc-07"), T0 + H)).toBe(true);
  });

  it("lists pending and active ones; --all adds the expired ones still retained", async () => {
    const a = await add(['bmc="a"'], T0 + 3 * H);
    const b = await add(['bmc="b"'], T0 + 1 * H);
    const c = await add(['bmc="c"'], T0 + 2 * H);
    await store.expire(c.id, T0 + 10);
    const ids = (list: Silence[]) => list.map((s) => s.id);
    expect(ids(await store.list(T0 + 20))).toEqual([b.id, a.id]);
    expect(ids(await store.list(T0 + 20, { all: true }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await store.list(T0 + 1 * H))).toEqual([a.id]);
  });

  it("drops expired silences after the retention period", async () => {
    const short = new SilenceStore(redis, { prefix: "test", retentionMs: H });
    const s = await short.add(
      { matchers: ['bmc="a"'], endsAt: T0 + H, createdBy: "alice", comment: "x" },
      T0,
    );
    expect((await short.list(T0 + 2 * H, { all: true })).map((x) => x.id)).toEqual([s.id]);
    expect(await short.list(T0 + 2 * H + 1, { all: true })).toEqual([]);
    expect(await redis.exists("test:silences", "test:silences:ends")).toBe(0);
  });

  it("keeps its data under the prefix", async () => {
    const s = await add(['bmc="a"']);
    expect((await redis.keys("*")).sort()).toEqual(["test:silences", "test:silences:ends"]);
    expect(await redis.zscore("test:silences:ends", s.id)).toBe(String(T0 + 2 * H));
  });

  it("refuses what Alertmanager refuses, with a code", async () => {
    expect(await errorCode(add([]))).toBe("missing-field");
    expect(await errorCode(add(['bmc=~"("']))).toBe("invalid-matcher");
    expect(await errorCode(add(['bmc=~".*"', 'label_rack=""']))).toBe("matches-everything");
    expect(await errorCode(add(['bmc="a"'], T0))).toBe("invalid-time");
    expect(
      await errorCode(
        store.add({ matchers: ['bmc="a"'], endsAt: T0 + H, createdBy: "alice", comment: " " }, T0),
      ),
    ).toBe("missing-field");
    expect(await errorCode(store.expire("nope", T0))).toBe("not-found");
    const s = await add(['bmc="a"'], T0 + H);
    expect(await errorCode(store.expire(s.id, T0 + H))).toBe("already-expired");
    expect(await redis.hlen("test:silences")).toBe(1);
  });

  it("expiring a pending silence means it never starts", async () => {
    const s = await add(['bmc="bmc-07"'], T0 + 3 * H, T0 + H);
    const e = await store.expire(s.id, T0);
    expect(silenceState(e, T0)).toBe("expired");
    expect(await store.isSilenced(notification("bmc-07"), T0 + 2 * H)).toBe(false);
  });

  it("matches on any notification label (silencedBy, pure)", async () => {
    const s = await add(['severity=~"critical|non-recoverable"', 'label_rack="r1"']);
    const snapshot = await store.list(T0);
    expect(silencedBy(snapshot, notification("bmc-01", "critical"), T0)).toEqual([s]);
    expect(silencedBy(snapshot, notification("bmc-01", "non-critical"), T0)).toEqual([]);
  });
});
