import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadTrapRules } from "../../src/pipeline/interpret/load.js";
import { petgate } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;
const EXAMPLE_MIBS = new URL("../../examples/mibs/", import.meta.url).pathname;

/** A directory standing in for /usr/share/snmp/mibs: modules importing what is not there, and one that loads. */
function systemDir(): string {
  const dir = tempDir("petgate-system-mibs-");
  const mib = (name: string, body: string) =>
    writeFileSync(join(dir, `${name}.txt`), `${name} DEFINITIONS ::= BEGIN\n${body}\nEND\n`);
  mib("SYS-AGENT-MIB", "IMPORTS\n  SnmpAdminString FROM SNMP-FRAMEWORK-MIB;");
  mib("SYS-EXTEND-MIB", "IMPORTS\n  nothing FROM SYS-AGENT-MIB;");
  mib("SYS-VENDOR-MIB", "IMPORTS\n  vendorRoot FROM NO-SUCH-VENDOR-MIB;");
  mib(
    "SYS-GOOD-MIB",
    "IMPORTS\n  enterprises FROM SNMPv2-SMI;\nsysGood OBJECT IDENTIFIER ::= { enterprises 32473 97 }",
  );
  return dir;
}

/** The operator's directory: a broken MIB and one importing a missing module (test/fixtures/mibs). */
function operatorDir(): string {
  const dir = tempDir("petgate-mibs-");
  cpSync(FIXTURES, dir, { recursive: true });
  return dir;
}

async function startLog(dirs: string[], system: boolean, systemMibDirs: string[]) {
  const lines: string[] = [];
  const rules = await loadTrapRules(
    { mibs: { dirs, system }, traps: [] },
    { log: (line) => lines.push(line), systemMibDirs },
  );
  return { lines, modules: rules.store.modules() };
}

describe("MIB problems as the gateway starts", () => {
  test("one line per problem of mibs.dirs, one summary line per system directory", async () => {
    const [operator, system] = [operatorDir(), systemDir()];
    const { lines, modules } = await startLog([operator], true, [system, join(system, "absent")]);
    expect(lines).toEqual([
      `MIB ${operator}/BROKEN-MIB.mib:9: expected "(", found "2" (skipped)`,
      `MIB ${operator}/MISSING-IMPORT-MIB.mib:5: imports from NO-SUCH-VENDOR-MIB, which is not loaded (skipped)`,
      `MIB ${system}: 3 problems (missing imports: NO-SUCH-VENDOR-MIB, SNMP-FRAMEWORK-MIB), skipped; petgate mib check lists them`,
    ]);
    expect(modules).toContain("SYS-GOOD-MIB");
    expect(modules).toContain("PETGATE-TEST-MIB");
  });

  test("a system directory the operator lists in mibs.dirs gets a line per problem; system: false loads none", async () => {
    const system = systemDir();
    const listed = await startLog([system], true, [system]);
    expect(listed.lines).toEqual([
      `MIB ${system}/SYS-AGENT-MIB.txt:3: imports from SNMP-FRAMEWORK-MIB, which is not loaded (skipped)`,
      `MIB ${system}/SYS-EXTEND-MIB.txt:3: imports from SYS-AGENT-MIB, which was skipped (skipped)`,
      `MIB ${system}/SYS-VENDOR-MIB.txt:3: imports from NO-SUCH-VENDOR-MIB, which is not loaded (skipped)`,
    ]);
    const off = await startLog([], false, [system]);
    expect(off.lines).toEqual([]);
    expect(off.modules).not.toContain("SYS-GOOD-MIB");
  });
});

describe("petgate mib check", () => {
  function config(dirs: string[]): string {
    const file = join(tempDir("petgate-mib-check-"), "petgate.yml");
    writeFileSync(
      file,
      `mibs:\n  system: false\n  dirs: [${dirs.map((d) => JSON.stringify(d)).join(", ")}]\n`,
    );
    return file;
  }

  test("prints every problem with file:line and exits 1; exits 0 when every MIB loads", async () => {
    const operator = operatorDir();
    const bad = await petgate(["mib", "check", "--config", config([operator])]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      `${operator}/BROKEN-MIB.mib:9: expected "(", found "2"\n` +
        `${operator}/MISSING-IMPORT-MIB.mib:5: imports from NO-SUCH-VENDOR-MIB, which is not loaded\n`,
    );
    expect(bad.stderr).toMatch(
      new RegExp(`^petgate mib: \\d+ modules loaded \\(.*, ${operator}\\), 2 problems\\n$`),
    );
    const good = await petgate(["mib", "check", "--config", config([EXAMPLE_MIBS])]);
    expect(good).toMatchObject({ code: 0, stdout: "" });
  });
});

test("petgate's command list names every mib subcommand that petgate mib --help shows", async () => {
  const help = await petgate(["mib", "--help"]);
  const subcommands = [...help.stdout.matchAll(/petgate mib (\w+)/g)].map((m) => m[1]);
  expect(subcommands).toEqual(["convert", "translate", "check"]);
  const usage = await petgate(["--help"]);
  expect(usage.stdout).toMatch(new RegExp(`^  mib ${subcommands.join("\\|")} `, "m"));
});
