import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { silenceCommand } from "../../src/cli/silence.js";
import { UsageError } from "../../src/cli/usage.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { SilenceStore } from "../../src/pipeline/alerting/silence.js";
import { notification as baseNotification } from "../support/notifications.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/** Runs `petgate silence ARGS` in-process; what it wrote to stdout and stderr, and its exit code. */
async function silence(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await silenceCommand(args);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

const fan: Notification = baseNotification({
  summary: "bmc-07: Fan FAN1: Lower Critical - going low",
  bmc: { name: "bmc-07", address: "192.0.2.7", labels: { rack: "r1" } },
  event: { sensorType: "Fan", sensorNumber: 4, text: "Lower Critical - going low" },
});

describe("petgate silence", () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.socket);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.dispose();
  });
  afterEach(async () => {
    await redis.flushall();
    delete process.env.PETGATE_REDIS;
  });

  it("add → list → expire → list --all, against Redis", async () => {
    const added = await silence(
      "add",
      "--redis",
      server.socket,
      "--matcher",
      'bmc="bmc-07"',
      "--matcher",
      'sensor_type=~"Fan|Temperature"',
      "--duration",
      "2h",
      "--comment",
      "replacing FAN1",
      "--author",
      "alice",
    );
    expect(added.err).toBe("");
    expect(added.code).toBe(0);
    const id = added.out.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // What the pipeline sees.
    const store = new SilenceStore(redis);
    expect(await store.isSilenced(fan, Date.now())).toBe(true);

    const listed = await silence("list", "--redis", server.socket, "--json");
    expect(listed.code).toBe(0);
    const [s, ...others] = JSON.parse(listed.out) as Array<Record<string, unknown>>;
    expect(others).toEqual([]);
    expect(s).toMatchObject({
      id,
      state: "active",
      matchers: ['bmc="bmc-07"', 'sensor_type=~"Fan|Temperature"'],
      createdBy: "alice",
      comment: "replacing FAN1",
    });
    expect(Date.parse(String(s?.endsAt)) - Date.parse(String(s?.startsAt))).toBe(2 * 3_600_000);

    const text = await silence("list", "--redis", server.socket);
    const [header, row, ...rest] = text.out.trimEnd().split("\n");
    expect(header).toMatch(/^ID\s+STATE\s+ENDS\s+CREATED BY\s+MATCHERS\s+COMMENT$/);
    expect(row).toContain(id);
    expect(row).toMatch(/active .*alice\s+bmc="bmc-07" sensor_type=~"Fan\|Temperature"\s+replacing FAN1$/);
    expect(rest).toEqual([]);

    expect(await silence("expire", "--redis", server.socket, id)).toEqual({
      code: 0,
      out: `expired ${id}\n`,
      err: "",
    });
    expect(await store.isSilenced(fan, Date.now())).toBe(false);
    expect((await silence("list", "--redis", server.socket)).out).toBe("no silences\n");
    const all = JSON.parse((await silence("list", "--all", "--json", "--redis", server.socket)).out);
    expect(all).toMatchObject([{ id, state: "expired" }]);
  });

  it("takes Redis from PETGATE_REDIS, and the key prefix from --prefix", async () => {
    process.env.PETGATE_REDIS = server.socket;
    const added = await silence(
      "add",
      "-m",
      "bmc=bmc-07",
      "-d",
      "30m",
      "-c",
      "x",
      "--prefix",
      "other",
      "--json",
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ matchers: ["bmc=bmc-07"], state: "active" });
    expect(await redis.exists("other:silences")).toBe(1);
    expect((await silence("list")).out).toBe("no silences\n");
  });

  it("says when a silence to expire does not exist or already expired (exit 1)", async () => {
    const missing = await silence("expire", "--redis", server.socket, "no-such-id");
    expect(missing).toMatchObject({ code: 1, out: "" });
    expect(missing.err).toMatch(/no silence no-such-id/);

    const id = (
      await silence("add", "--redis", server.socket, "-m", 'bmc="a"', "-d", "1h", "-c", "x")
    ).out.trim();
    await silence("expire", "--redis", server.socket, id);
    const again = await silence("expire", "--redis", server.socket, id);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already expired/);
  });

  it.each([
    [["add", "-d", "1h", "-c", "x"], /at least one matcher/],
    [["add", "-m", 'bmc=~"("', "-d", "1h", "-c", "x"], /invalid matcher/],
    [["add", "-m", 'bmc=~".*"', "-d", "1h", "-c", "x"], /mute every notification/],
    [["add", "-m", 'bmc="a"', "-c", "x"], /--duration/],
    [["add", "-m", 'bmc="a"', "-d", "soon", "-c", "x"], /invalid duration/],
    [["add", "-m", 'bmc="a"', "-d", "0s", "-c", "x"], /more than 0/],
    [["add", "-m", 'bmc="a"', "-d", "1h"], /--comment/],
    [["expire"], /the id/],
    [["mute"], /expected add, list or expire/],
    [["list", "--bogus"], /bogus/],
  ])("refuses %j as a usage error, before reaching Redis", async (args, message) => {
    await expect(silenceCommand([...args, "--redis", "/nonexistent/redis.sock"])).rejects.toThrow(UsageError);
    await expect(silenceCommand([...args, "--redis", "/nonexistent/redis.sock"])).rejects.toThrow(message);
  });

  it("refuses a silence ending past the latest representable date in one line (exit 1), storing nothing", async () => {
    const result = await silence(
      "add",
      "--redis",
      server.socket,
      "-m",
      'bmc="a"',
      "-d",
      "99999999999w",
      "-c",
      "x",
    );
    expect(result).toMatchObject({ code: 1, out: "" });
    expect(result.err).toBe(
      "petgate silence add: start and end must be valid times, no later than +275760-09-13T00:00:00.000Z (the latest a date can be)\n",
    );
    expect(await redis.exists("petgate:silences")).toBe(0);
  });

  it("exits 1 with a message when Redis cannot be reached", async () => {
    const result = await silence("list", "--redis", `${server.dir}/missing.sock`);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/cannot reach Redis at .*missing\.sock/);
  });
});
