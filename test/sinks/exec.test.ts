import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { buildSinks } from "../../src/sinks/build.js";
import { ExecSink } from "../../src/sinks/exec.js";
import { PETGATE_BODY_VERSION, type PetgateWebhookBody } from "../../src/sinks/webhook.js";
import { sampleGroup, sampleNotification } from "../support/http-receiver.js";

const dir = mkdtempSync(join(tmpdir(), "petgate-exec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A /bin/sh script in the test's directory (the sink itself runs it without a shell: sh is the program). */
function script(name: string, body: string): string[] {
  const path = join(dir, name);
  writeFileSync(path, body);
  return ["/bin/sh", path];
}

describe("exec receiver (real programs, no shell)", () => {
  it("the group reaches the program's stdin as format: petgate JSON, trap text escaped; exit 0 is delivered", async () => {
    const out = join(dir, "stdin.json");
    const sink = new ExecSink({ name: "pager", command: ["/usr/bin/tee", out] });
    const hostile = sampleNotification({ summary: "bmc-07: fan\r\nX-Injected: 1\u001b[31m" });
    expect(await sink.send(sampleGroup([hostile], { receiver: "pager" }))).toEqual({ outcome: "delivered" });
    const text = readFileSync(out, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.trimEnd()).not.toContain("\n");
    const body = JSON.parse(text) as PetgateWebhookBody;
    expect(body).toMatchObject({ version: PETGATE_BODY_VERSION, receiver: "pager", status: "firing" });
    expect(body.notifications[0]?.summary).toBe("bmc-07: fan\\r\\nX-Injected: 1\\x1b[31m");
  });

  it("exit 75 (EX_TEMPFAIL) is retried, any other exit fails for good, each with the end of its stderr", async () => {
    const tempfail = new ExecSink({
      name: "t",
      command: script("tempfail.sh", "cat >/dev/null; echo 'ticket system busy' >&2; exit 75\n"),
    });
    expect(await tempfail.send(sampleGroup())).toEqual({
      outcome: "retryable",
      reason: `/bin/sh: exit 75 (EX_TEMPFAIL): ticket system busy`,
    });
    const broken = new ExecSink({
      name: "b",
      command: script("broken.sh", "echo 'no such queue\r\n\u001b[2J' >&2; exit 3\n"),
    });
    expect(await broken.send(sampleGroup())).toEqual({
      outcome: "permanent",
      reason: "/bin/sh: exit 3: no such queue \\x1b[2J",
    });
  });

  it("a program still running at the timeout is killed and retried; one that is not there fails for good", async () => {
    const slow = new ExecSink({ name: "s", command: ["/bin/sleep", "30"], timeoutMs: 200 });
    const started = Date.now();
    const result = await slow.send(sampleGroup());
    expect(result).toEqual({ outcome: "retryable", reason: "/bin/sleep: still running after 200 ms" });
    expect(Date.now() - started).toBeLessThan(25_000); // killed, not waited for
    const missing = new ExecSink({ name: "m", command: [join(dir, "no-such-program")] });
    expect(await missing.send(sampleGroup())).toEqual({
      outcome: "permanent",
      reason: `${join(dir, "no-such-program")}: ENOENT`,
    });
  });

  it("gets a clean environment: PATH, PETGATE_RECEIVER and its own env, nothing of petgate's", async () => {
    const out = join(dir, "env.txt");
    process.env.PETGATE_TEST_SECRET = "hunter2";
    try {
      const sink = new ExecSink({
        name: "ticket",
        command: script("env.sh", `cat >/dev/null; env | sort > ${out}\n`),
        env: { TICKET_QUEUE: "dc-ops" },
      });
      expect(await sink.send(sampleGroup())).toEqual({ outcome: "delivered" });
    } finally {
      delete process.env.PETGATE_TEST_SECRET;
    }
    const vars = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("=")[0])
      .filter((name) => name !== "PWD" && name !== "SHLVL" && name !== "_"); // set by sh itself
    expect(vars).toEqual(["PATH", "PETGATE_RECEIVER", "TICKET_QUEUE"]);
    expect(readFileSync(out, "utf8")).not.toContain("hunter2");
  });

  it("petgate.yml: an exec receiver builds its sink; a bad env name or an empty command fails with its path", () => {
    const yaml = (exec: string) => `
receivers:
  - name: ticket
    exec: ${exec}
routes:
  receiver: ticket
`;
    const sinks = buildSinks(
      parseConfig(yaml(`{ command: ["/usr/bin/logger", "-t", "petgate"], timeoutMs: 5000 }`), "petgate.yml"),
    );
    expect(sinks.get("ticket")).toBeInstanceOf(ExecSink);
    expect(() =>
      parseConfig(yaml(`{ command: ["/bin/true"], env: { "BAD-NAME": "x" } }`), "petgate.yml"),
    ).toThrow(/petgate\.yml:\d+: receivers\[0\]\.exec\.env\.BAD-NAME/);
    expect(() => parseConfig(yaml(`{ command: [] }`), "petgate.yml")).toThrow(
      /petgate\.yml:\d+: receivers\[0\]\.exec\.command/,
    );
  });
});
