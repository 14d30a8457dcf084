import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { petgate } from "../support/cli.js";
import { lanplus } from "../support/login.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";

const run = promisify(execFile);
let sims: Awaited<ReturnType<typeof startSims>>;
let dir: string;
let config: string;
const env = { PETGATE_TEST_BMC_PASSWORD: SIM_PASSWORD };

beforeAll(async () => {
  sims = await startSims();
  dir = mkdtempSync(join(tmpdir(), "petgate-sel-time-"));
  config = join(dir, "petgate.yml");
  writeFileSync(
    config,
    [
      "defaults:",
      "  passwordEnv: PETGATE_TEST_BMC_PASSWORD",
      "bmcs:",
      `  - { name: bmc-1, host: "${sims.host}:${sims.port}" }`,
      "pef:",
      "  destinations:",
      "    - { selector: 1, ip: 127.0.0.1 }",
    ].join("\n"),
  );
});
afterAll(async () => {
  await sims.fleet.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** ipmitool in UTC: sel time get and set read and write "MM/DD/YY HH:MM:SS" in local time. */
const ipmitool = async (...args: string[]) =>
  (
    await run(
      "ipmitool",
      [...lanplus({ host: sims.host, port: sims.port, password: SIM_PASSWORD, suite: "17" }), ...args],
      { env: { ...process.env, TZ: "UTC" } },
    )
  ).stdout;
const bmc = (...args: string[]) =>
  petgate(
    [
      "bmc",
      ...args,
      "-H",
      `${sims.host}:${sims.port}`,
      "-U",
      "admin",
      "--password-env",
      "PETGATE_TEST_BMC_PASSWORD",
    ],
    "",
    env,
  );
const pef = (...args: string[]) => petgate(["pef", ...args, "--config", config], "", env);

/** ipmitool's "MM/DD/YY HH:MM:SS" (UTC) for Unix seconds, and back. */
function ipmitoolTime(seconds: number): string {
  const [y, mo, d, h, mi, s] = new Date(seconds * 1000).toISOString().split(/[-T:.]/);
  return `${mo}/${d}/${y?.slice(2)} ${h}:${mi}:${s}`;
}
function parseIpmitoolTime(text: string): number {
  const m = /(\d\d)\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)/.exec(text);
  if (!m) throw new Error(`no time in ${JSON.stringify(text)}`);
  const [, mo, d, y, h, mi, s] = m;
  return Date.parse(`20${y}-${mo}-${d}T${h}:${mi}:${s}Z`) / 1000;
}

const SET = Date.parse("2020-01-02T03:04:05Z") / 1000;

describe("the SEL clock: petgate bmc time, ipmitool sel time, pef apply", () => {
  it("petgate bmc time get reads what ipmitool sel time set wrote, and events are stamped with it", async () => {
    expect(await ipmitool("sel", "time", "set", ipmitoolTime(SET))).toContain("01/02/20 03:04:05");
    const got = await bmc("time", "get", "--json");
    expect(got.code).toBe(0);
    // The clock runs on from the time set: a few seconds at most between the two commands.
    const { bmcTime } = JSON.parse(got.stdout) as { bmcTime: number };
    expect(bmcTime - SET).toBeGreaterThanOrEqual(0);
    expect(bmcTime - SET).toBeLessThan(30);
    expect((await bmc("time", "get")).stdout).toMatch(/^SEL time : 2020-01-02T03:0\d:\d\dZ$/m);

    await ipmitool("event", "1");
    const { records } = JSON.parse((await bmc("sel", "--json")).stdout) as {
      records: { timestamp: number }[];
    };
    const stamped = records.at(-1)?.timestamp ?? 0;
    expect(stamped - SET).toBeGreaterThanOrEqual(0);
    expect(stamped - SET).toBeLessThan(30);
  });

  it("petgate bmc time sync sets the clock ipmitool sel time get then reads", async () => {
    await ipmitool("sel", "time", "set", ipmitoolTime(SET));
    const sync = await bmc("time", "sync", "--json");
    expect(sync.code).toBe(0);
    const { before, set, after } = JSON.parse(sync.stdout) as {
      before: { skewSeconds: number };
      set: number;
      after: { bmcTime: number; skewSeconds: number };
    };
    expect(before.skewSeconds).toBeLessThan(-100_000_000);
    expect(Math.abs(after.skewSeconds)).toBeLessThanOrEqual(1);
    const theirs = parseIpmitoolTime(await ipmitool("sel", "time", "get"));
    expect(theirs - set).toBeGreaterThanOrEqual(0);
    expect(theirs - set).toBeLessThan(30);
    expect(Math.abs(theirs - after.bmcTime)).toBeLessThan(30);
  });

  it("pef plan shows a clock an hour ahead; pef apply sets it, verifies it and then plans nothing", async () => {
    await pef("apply"); // the PEF and LAN settings first, so that only the clock is left to plan
    const ahead = Math.round(Date.now() / 1000) + 3600;
    await ipmitool("sel", "time", "set", ipmitoolTime(ahead));
    const plan = await pef("plan");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(
      /^bmc-1: 1 change\(s\)\n {2}SEL time: \S+Z, \+3\d\d\d s \(BMC ahead\) → petgate's clock$/m,
    );

    const apply = await pef("apply");
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.stdout.trim())).toMatchObject({ bmc: "bmc-1", status: "changed", changes: 1 });
    const again = await pef("plan");
    expect(again.stdout.trim()).toBe("bmc-1: no changes");
    expect(again.code).toBe(0);
    const skew = JSON.parse((await bmc("time", "get", "--json")).stdout).skewSeconds as number;
    expect(Math.abs(skew)).toBeLessThanOrEqual(5);
  });
});
