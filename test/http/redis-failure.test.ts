import { Redis } from "ioredis";
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { RedisTimeoutError, redisFailure } from "../../src/http/api.js";
import { HttpError } from "../../src/http/routes.js";
import { createRedis } from "../../src/pipeline/queues.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/*
 * Which errors of an API call are a Redis outage (503 redis-unavailable) and which are ours (500):
 * the Redis ones as a real redis-server and ioredis raise them.
 */

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.dispose();
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );

describe("a Redis failure", () => {
  it("is an error reply of Redis", async () => {
    const client = new Redis(redis.socket);
    try {
      await client.set("redis-failure:string", "v");
      const err = await rejection(client.lpush("redis-failure:string", "x"));
      expect(String(err)).toMatch(/WRONGTYPE/);
      expect(redisFailure(err)).toBe(true);
    } finally {
      client.disconnect();
    }
  });

  it("is ioredis's refusal on a closed connection, or one not up while Redis is down", async () => {
    const client = new Redis(redis.socket);
    await client.ping();
    client.disconnect();
    const closed = await rejection(client.ping());
    expect(closed).toMatchObject({ message: "Connection is closed." });
    expect(redisFailure(closed)).toBe(true);

    const down = await startRedis();
    const producer = createRedis(down.socket, "producer");
    producer.on("error", () => undefined);
    try {
      await new Promise((ready) => producer.once("ready", ready));
      await down.stop();
      const refused = await rejection(producer.ping());
      expect(redisFailure(refused)).toBe(true);
    } finally {
      producer.disconnect();
      await down.dispose();
    }
  });

  it("is ioredis giving up after its retries, and no answer in time", () => {
    expect(redisFailure(new MaxRetriesPerRequestError(0))).toBe(true);
    expect(redisFailure(new RedisTimeoutError("no answer within 2000 ms"))).toBe(true);
  });
});

describe("not a Redis failure (a 500, not redis-unavailable)", () => {
  it.each([
    ["a ZodError", z.object({ limit: z.number() }).safeParse({ limit: "x" }).error],
    ["an HttpError thrown in the work", new HttpError(404, "not-found", "no such silence")],
    ["an AbortError", AbortSignal.abort().reason],
    ["a plain Error", new Error("something of ours broke")],
    ["a TypeError", new TypeError("x is undefined")],
    ["a thrown string", "Connection is closed."],
  ])("%s", (_, err) => {
    expect(redisFailure(err)).toBe(false);
  });
});
