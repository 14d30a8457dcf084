// The commands that manage a gateway's Redis find it as the gateway does: here the master of a real
// Sentinel set-up, named only in the configuration file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisCli, type SentinelTopology, startSentinelTopology } from "../../bench/redis-topology.js";
import { petgate } from "../support/cli.js";

let topology: SentinelTopology;
let dir: string;
let file: string;

beforeAll(async () => {
  topology = await startSentinelTopology();
  dir = mkdtempSync(join(tmpdir(), "petgate-cli-redis-"));
  file = join(dir, "petgate.yml");
  writeFileSync(
    file,
    [
      "redis:",
      `  sentinels: [${topology.sentinels.map((s) => `"${s.address}"`).join(", ")}]`,
      `  master: ${topology.master}`,
      "  prefix: ops",
      "",
    ].join("\n"),
  );
}, 60_000);
afterAll(async () => {
  await topology.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("petgate silence and dlq with --config", () => {
  // No $PETGATE_REDIS: it would win over the file.
  const env = { PETGATE_REDIS: "" };
  it("reach the master the sentinels name, under the configured prefix", async () => {
    const silence = ["silence", "add", "--config", file, "-m", 'bmc="bmc-07"', "-d", "1h", "-c", "fan swap"];
    const added = await petgate(silence, undefined, env);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const id = added.stdout.trim();
    expect(await redisCli(topology.primary.port, "HEXISTS", "ops:silences", id)).toBe("1");
    expect(await petgate(["dlq", "list", "--config", file], undefined, env)).toEqual({
      code: 0,
      stdout: "dead-letter queue is empty\n",
      stderr: "",
    });
  });
});
