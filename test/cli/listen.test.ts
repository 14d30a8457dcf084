import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DELL_CHASSIS_INTRUSION } from "../pet/vectors.js";
import { petgate, petgateDaemon, sigintOnLine } from "../support/cli.js";
import { netSnmp, petArgs, waitFor } from "../support/listener.js";
import { tempDir } from "../support/temp.js";

describe("petgate listen", () => {
  it("turns a real snmptrap PET into one NDJSON line and prints its counters on SIGINT", async () => {
    const dir = tempDir("petgate-listen-");
    const out = join(dir, "events.ndjson");
    const d = await petgateDaemon(
      ["listen", "--bind", "127.0.0.1:0", "--out", out],
      /udp 127\.0\.0\.1:(\d+);/,
    );
    try {
      expect(d.stderr()).toMatch(/receive buffer \d+ bytes requested, \d+ granted/);
      const target = `udp:127.0.0.1:${d.match[1]}`;
      await netSnmp(
        "snmptrap",
        petArgs({ version: "1", community: "public" }, target, 356224, DELL_CHASSIS_INTRUSION.hex),
      );
      const line = await waitFor("the NDJSON line", () => {
        try {
          return readFileSync(out, "utf8").split("\n")[0] || undefined;
        } catch {
          return undefined;
        }
      });
      expect(JSON.parse(line)).toMatchObject({ kind: "pet", pet: { event: "General Chassis Intrusion" } });
    } finally {
      d.child.kill("SIGINT");
      await d.exited;
    }
    expect(await d.exited).toBe(0);
    const counters = JSON.parse(d.stderr().match(/counters (\{.*\})/)?.[1] ?? "null");
    expect(counters).toMatchObject({ received: 1, pet: 1, nonPet: 0, rejected: { malformed: 0 } });
  });

  it("refuses an --out it cannot open in one line naming the path, before it binds (exit 1)", async () => {
    const dir = tempDir("petgate-listen-");
    const r = await petgate(["listen", "--bind", "127.0.0.1:0", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`petgate listen: EISDIR: illegal operation on a directory, open '${dir}'\n`);
  });

  it("writes --out owner-only (0600): its events carry communities and alert text", async () => {
    const out = join(tempDir("petgate-listen-"), "events.ndjson");
    const d = await petgateDaemon(["listen", "--bind", "127.0.0.1:0", "--out", out], /udp 127\.0\.0\.1:\d+;/);
    try {
      expect(statSync(out).mode & 0o777).toBe(0o600);
    } finally {
      d.child.kill("SIGINT");
      await d.exited;
    }
    expect(await d.exited).toBe(0);
  });

  it("stops with its counters, exit 0, on a SIGINT sent the moment it says it listens", async () => {
    const out = join(tempDir("petgate-listen-"), "events.ndjson");
    const r = await petgate(
      ["listen", "--bind", "127.0.0.1:0", "--out", out],
      "",
      sigintOnLine(/listening for SNMP traps/),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/petgate: stopped; counters \{/);
  });

  it("fails start-up on a bad config, naming each bad line's path, without a stack trace", async () => {
    const dir = tempDir("petgate-config-");
    const file = join(dir, "petgate.yml");
    writeFileSync(
      file,
      [
        "listener:",
        "  communities: [public]",
        "  receiveBufferBytes: lots",
        "  users:",
        "    - name: petgate",
        "      level: authPriv",
        "      authProtocol: md5",
        "      authKey: { env: PETGATE_TEST_AUTH }",
        "    - name: other",
        "      authProtocol: sha",
        "      authKey: { file: /etc/petgate/auth }",
      ].join("\n"),
    );
    const r = await petgate(["listen", "--config", file, "--bind", "127.0.0.1:0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: listener.receiveBufferBytes:`);
    expect(r.stderr).toContain(`${file}:7: listener.users[0].authProtocol:`);
    expect(r.stderr).toContain(
      `${file}:9: listener.users[1].privKey: authPriv needs privProtocol and privKey`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("reads SNMPv3 keys from the environment and never prints them", async () => {
    const dir = tempDir("petgate-config-");
    const file = join(dir, "petgate.yml");
    writeFileSync(
      file,
      [
        "listener:",
        "  users:",
        "    - name: petgate",
        "      authProtocol: sha256",
        "      authKey: { env: PETGATE_TEST_AUTH }",
        "      privProtocol: aes",
        "      privKey: { env: PETGATE_TEST_PRIV }",
      ].join("\n"),
    );
    const missing = await petgate(["listen", "--config", file, "--bind", "127.0.0.1:0"], "", {
      PETGATE_TEST_AUTH: "s3cret-auth-value",
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "listener.users[0].privKey: environment variable PETGATE_TEST_PRIV is not set",
    );
    expect(missing.stderr).not.toContain("s3cret-auth-value");

    const env = { PETGATE_TEST_AUTH: "s3cret-auth-value", PETGATE_TEST_PRIV: "s3cret-priv-value" };
    const d = await petgateDaemon(
      ["listen", "--config", file, "--bind", "127.0.0.1:0"],
      /udp 127\.0\.0\.1:(\d+);/,
      env,
    );
    try {
      const v3 = { version: "3" as const, user: "petgate", engineId: "0x80001f8880c0ffee0002" };
      const keys = { authKey: env.PETGATE_TEST_AUTH, privKey: env.PETGATE_TEST_PRIV };
      const target = `udp:127.0.0.1:${d.match[1]}`;
      await netSnmp("snmptrap", petArgs({ ...v3, ...keys }, target, 356224, DELL_CHASSIS_INTRUSION.hex));
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
    }
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toMatch(/"pet":1/);
    expect(d.stderr()).not.toContain("s3cret");
  });
});
