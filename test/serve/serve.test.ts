import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { redisTarget, withoutPassword } from "../../src/config/redis.js";
import { configSchema } from "../../src/config/schema.js";
import { decodePet } from "../../src/pet/event.js";
import { encodeSpecificTrap } from "../../src/pet/specific-trap.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { ServeError, type Service, serve } from "../../src/serve/serve.js";
import { startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { petTrap, startRedis } from "../support/redis.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "petgate-serve-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const quiet = () => undefined;

/** petTrap's PET, asserted (General Chassis Intrusion fires an alert; its deassertion resolves one). */
function assertedPet(sequence: number): TrapEvent {
  const trap = petTrap(sequence, { address: "127.0.0.1", port: 623 });
  if (trap.kind !== "pet") throw new Error("not a PET");
  const asserted = encodeSpecificTrap({
    sensorType: 5,
    eventReadingType: 0x6f,
    deassertion: false,
    offset: 0,
  });
  const decoded = decodePet(asserted, Buffer.from(trap.varbind, "hex"));
  if (!decoded.ok) throw decoded.error;
  return { ...trap, pet: decoded.event };
}

describe("serve", () => {
  it("refuses a split role with no Redis configured before it starts anything", async () => {
    const dataDir = join(tempDir(), "data");
    const started = serve({
      config: configSchema.parse({}),
      roles: new Set(["listener"]),
      dataDir,
      dataDirExplicit: false,
      log: quiet,
    });
    await expect(started).rejects.toThrow(ServeError);
    await expect(started).rejects.toThrow(/no Redis configured for --role listener/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("after a crash takes the dead process's lock over and replays the spool it left", async () => {
    const [redis, hook] = await Promise.all([startRedis(), startHttpReceiver()]);
    cleanup.push(
      () => redis.dispose(),
      () => hook.close(),
    );
    const dataDir = tempDir();
    // What a listener that died left: its lock, and an event spooled while Redis was away.
    const dead = spawnSync("true").pid;
    writeFileSync(join(dataDir, "petgate.lock"), `${dead}\n`);
    const trap = assertedPet(41);
    writeFileSync(join(dataDir, "spool.ndjson"), `${JSON.stringify({ id: eventId(trap), trap })}\n`);

    const service: Service = await serve({
      config: configSchema.parse({
        listener: { bind: "127.0.0.1:0" },
        routes: { receiver: "hook", group_wait: "0s", group_interval: "1s" },
        receivers: [{ name: "hook", webhook: { url: hook.url } }],
      }),
      roles: new Set(["listener", "worker"]),
      dataDir,
      dataDirExplicit: true,
      redisUrl: redis.socket,
      log: quiet,
    });
    cleanup.push(() => service.close());
    // Its holder by pid and start time (proc(5) stat field 22).
    expect(readFileSync(join(dataDir, "petgate.lock"), "utf8")).toMatch(
      new RegExp(`^${process.pid} \\d+\n$`),
    );
    const n = await waitFor("the replayed event's notification", () => hook.notifications()[0], 15_000);
    expect(n.summary).toContain("Physical Security");
    await service.close();
    expect(existsSync(join(dataDir, "petgate.lock"))).toBe(false);
  });
});

describe("redisTarget", () => {
  it("keeps a URL as it is when no password is configured", () => {
    expect(redisTarget("redis://127.0.0.1:6380/2", undefined)).toBe("redis://127.0.0.1:6380/2");
  });

  it("gives a configured password as an option, never inside a URL", () => {
    expect(redisTarget("rediss://ops@127.0.0.1:6380/2", "pw")).toEqual({
      host: "127.0.0.1",
      port: 6380,
      db: 2,
      username: "ops",
      password: "pw",
      tls: {},
    });
    expect(redisTarget("/run/redis.sock", "pw")).toEqual({ path: "/run/redis.sock", password: "pw" });
  });

  it("masks a password written into a URL before it is shown", () => {
    expect(withoutPassword("redis://ops:s3cret@127.0.0.1:6379")).toBe("redis://ops:***@127.0.0.1:6379");
    expect(withoutPassword("redis://:s3cret@127.0.0.1")).toBe("redis://:***@127.0.0.1");
    expect(withoutPassword("/run/redis.sock")).toBe("/run/redis.sock");
  });
});
