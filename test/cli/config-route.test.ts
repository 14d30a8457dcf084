import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { petgate } from "../support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "petgate-config-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const ROUTES = `
routes:
  receiver: default
  routes:
    - matchers: ['severity=~"critical|non-recoverable"']
      receiver: pager
      continue: true
    - matchers: ['label_rack="r12"']
      receiver: rack12
receivers:
  - name: default
    webhook: { url: "http://127.0.0.1:9/hook" }
  - name: pager
    webhook: { url: "http://127.0.0.1:9/pager" }
  - name: rack12
    exec: { command: [/usr/bin/logger, -t, petgate] }
`;

describe("petgate config check", () => {
  it("a config petgate serve could start with: exit 0 and what it has", async () => {
    const mibs = join(dir, "mibs");
    mkdirSync(mibs, { recursive: true });
    const file = config(
      "good.yml",
      `bmcs:\n  - { name: bmc-07, host: 127.0.0.1, passwordEnv: BMC07_PASSWORD }\nmibs: { dirs: ["${mibs}"] }\n${ROUTES}`,
    );
    const r = await petgate(["config", "check", "--config", file], "", { BMC07_PASSWORD: "s3cret-bmc" });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`${file}: ok (1 BMC(s), 3 receiver(s), 0 trap rule(s))\n`);
  });

  it("lists every problem at start-up, each naming where, never a secret's value; exit 1", async () => {
    const file = config(
      "bad.yml",
      [
        "bmcs:",
        "  - { name: bmc-07, host: 127.0.0.1, passwordEnv: NOT_SET_BMC07 }",
        "  - { name: bmc-08, host: 127.0.0.2, passwordEnv: BMC08_PASSWORD }",
        `mibs: { dirs: ["${join(dir, "no-such-mibs")}"] }`,
        "http: { token: { env: NOT_SET_TOKEN } }",
        "receivers:",
        "  - name: mail",
        `    email: { host: 127.0.0.1, port: 25, from: a@b, to: [c@d], username: u, password: { file: "${join(dir, "no-such-password")}" } }`,
        "routes: { receiver: mail }",
      ].join("\n"),
    );
    const r = await petgate(["config", "check", "--config", file], "", { BMC08_PASSWORD: "s3cret-bmc" });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(new RegExp(`^${file}: bmcs bmc-07: .*NOT_SET_BMC07`));
    expect(lines[1]).toMatch(/: receivers mail: .*no-such-password/);
    expect(lines[2]).toMatch(/: http\.token: .*NOT_SET_TOKEN/);
    expect(lines[3]).toMatch(/: mibs\.dirs .*no-such-mibs: ENOENT/);
    expect(lines[4]).toBe(`${file}: 4 problem(s)`);
    expect(r.stdout + r.stderr).not.toContain("s3cret-bmc");
  });

  it("a schema problem: each one with its line and path, exit 1; no config file: one line", async () => {
    const file = config(
      "schema.yml",
      "routes:\n  receiver: x\n  group_wiat: 1s\nlistener: { port: 99999 }\n",
    );
    const r = await petgate(["config", "check", "--config", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${file}:3: routes.group_wiat: unknown key`);
    expect(r.stdout).toMatch(/problem\(s\)\n$/);
    const missing = await petgate(["config", "check", "--config", join(dir, "nope.yml")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `petgate config: ${join(dir, "nope.yml")}: invalid configuration\n  no such file (give --config FILE or set PETGATE_CONFIG)\n`,
    );
  });
});

describe("petgate route test", () => {
  const file = config("routes.yml", ROUTES);

  it("prints the receivers a notification with these labels reaches, as amtool does", async () => {
    const run = (...labels: string[]) => petgate(["route", "test", "--config", file, ...labels]);
    expect((await run("severity=critical", "label_rack=r12")).stdout).toBe("pager,rack12\n");
    // A child took it (and said continue, but no later one matches): the root does not, as in Alertmanager.
    expect((await run("severity=critical", "label_rack=r1")).stdout).toBe("pager\n");
    expect((await run("severity=ok")).stdout).toBe("default\n");
  });

  it("--verify-receivers: exit 0 when exactly those are reached, else 1 saying what was; a bad label is a usage error", async () => {
    const ok = await petgate([
      "route",
      "test",
      "--config",
      file,
      "--verify-receivers",
      "pager,rack12",
      "severity=critical",
      "label_rack=r12",
    ]);
    expect(ok.code).toBe(0);
    const wrong = await petgate([
      "route",
      "test",
      "--config",
      file,
      "--verify-receivers",
      "rack12",
      "severity=critical",
      "label_rack=r12",
    ]);
    expect(wrong).toMatchObject({
      code: 1,
      stdout: "pager,rack12\n",
      stderr: "petgate route test: expected rack12, reached pager,rack12\n",
    });
    const usage = await petgate(["route", "test", "--config", file, "severity"]);
    expect(usage).toMatchObject({
      code: 2,
      stderr: 'petgate route: "severity": give labels as LABEL=VALUE\n',
    });
  });

  it("--at: names on standard error a route its time intervals mute at that moment", async () => {
    const muted = config(
      "muted.yml",
      ROUTES.replace("      continue: true", "      continue: true\n      mute_time_intervals: [weekend]") +
        "time_intervals:\n  - name: weekend\n    time_intervals: [{ weekdays: [saturday, sunday], location: Europe/Berlin }]\n",
    );
    const run = (at: string) =>
      petgate(["route", "test", "--config", muted, "--at", at, "severity=critical", "label_rack=r12"]);
    // Saturday 00:30 in Berlin, still Friday in UTC.
    expect(await run("2026-12-11T23:30:00Z")).toMatchObject({
      code: 0,
      stdout: "pager,rack12\n",
      stderr: "route /0 to pager is muted at that moment: weekend\n",
    });
    expect(await run("2026-12-11T22:30:00Z")).toMatchObject({
      code: 0,
      stdout: "pager,rack12\n",
      stderr: "",
    });
    expect(await run("friday")).toMatchObject({
      code: 2,
      stderr: 'petgate route: --at "friday": not an ISO-8601 time\n',
    });
  });
});
