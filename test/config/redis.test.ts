import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configuredRedis } from "../../src/config/redis.js";
import { configSchema } from "../../src/config/schema.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A secret file holding `value`, as config refers to one. */
function secretFile(value: string): string {
  const dir = mkdtempSync(join(tmpdir(), "petgate-secret-"));
  dirs.push(dir);
  const file = join(dir, "secret");
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}
const redisOf = (redis: unknown) => configSchema.parse({ redis }).redis;
const problems = (redis: unknown) =>
  (configSchema.safeParse({ redis }).error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);

describe("config redis", () => {
  it("names the master among sentinels, with both passwords read from their files", () => {
    const configured = configuredRedis(
      redisOf({
        sentinels: ["127.0.0.1", "[::1]:26380"],
        master: "mymaster",
        username: "petgate",
        password: { file: secretFile("s3cret") },
        sentinelPassword: { file: secretFile("sentinel-pw") },
      }),
      undefined,
    );
    expect(configured?.target).toEqual({
      sentinels: [
        { host: "127.0.0.1", port: 26379 },
        { host: "::1", port: 26380 },
      ],
      name: "mymaster",
      username: "petgate",
      password: "s3cret",
      sentinelPassword: "sentinel-pw",
    });
    expect(configured?.replicaAcks).toBe(1);
    expect(configured?.endpoint).toBe("master mymaster of sentinels 127.0.0.1, [::1]:26380");
    expect(configured?.endpoint).not.toContain("s3cret");
  });

  it("takes the seed nodes of a cluster, and replicaAcks as given", () => {
    const configured = configuredRedis(
      redisOf({ cluster: ["127.0.0.1:7000", "127.0.0.1:7001"], prefix: "{pg}" }),
      undefined,
    );
    expect(configured?.target).toEqual({
      cluster: [
        { host: "127.0.0.1", port: 7000 },
        { host: "127.0.0.1", port: 7001 },
      ],
      redisOptions: {},
    });
    expect(configured?.replicaAcks).toBe(0);
    const sentinels = redisOf({ sentinels: ["127.0.0.1:26379"], master: "m", replicaAcks: 0 });
    expect(configuredRedis(sentinels, undefined)?.replicaAcks).toBe(0);
  });

  it("lets $PETGATE_REDIS win, and has none when neither names a Redis", () => {
    const sentinels = redisOf({ sentinels: ["127.0.0.1:26379"], master: "m" });
    expect(configuredRedis(sentinels, "redis://ops:pw@127.0.0.1:6380")).toEqual({
      target: "redis://ops:pw@127.0.0.1:6380",
      endpoint: "redis://ops:***@127.0.0.1:6380",
      replicaAcks: 0,
    });
    expect(configuredRedis(undefined, undefined)).toBeUndefined();
  });

  it("refuses what cannot name one Redis, saying where", () => {
    expect(problems({ url: "redis://127.0.0.1", sentinels: ["127.0.0.1:26379"], master: "m" })).toEqual([
      "redis.sentinels: give one of url, sentinels or cluster, not url and sentinels",
    ]);
    expect(problems({ prefix: "x" })).toEqual(["redis: give one of url, sentinels (with master) or cluster"]);
    expect(problems({ sentinels: ["127.0.0.1:26379"] })).toEqual([
      "redis.master: sentinels need the master's name",
    ]);
    expect(problems({ sentinels: ["127.0.0.1:99999"], master: "m" })).toEqual([
      "redis.sentinels.0: expected HOST[:PORT], e.g. 127.0.0.1:26379",
    ]);
    expect(problems({ cluster: ["127.0.0.1:7000"], prefix: "{pg}", replicaAcks: 1 })).toEqual([
      "redis.replicaAcks: not on Redis Cluster: WAIT is per node there (use sentinels for replicated writes)",
    ]);
  });
});
