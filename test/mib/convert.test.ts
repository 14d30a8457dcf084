import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { trapRulesSchema } from "../../src/config/traps.js";
import { guessSeverity, trapRuleStubs } from "../../src/mib/convert.js";
import { loadMibs } from "../../src/mib/load.js";
import { parseMibText } from "../../src/mib/parse.js";
import { compileTrapRules } from "../../src/pipeline/interpret/rules.js";
import { petgate } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;
const TEST_MIBS = ["PETGATE-TEST-MIB.mib", "PETGATE-TEST-V1-MIB.mib"].map((f) => join(FIXTURES, f));

function stubsOf(files: readonly string[]): string {
  return trapRuleStubs(files.flatMap((f) => parseMibText(readFileSync(f, "utf8"), f).modules));
}

describe("mib convert", () => {
  test("one stub per NOTIFICATION-TYPE and TRAP-TYPE, marked for review, that compiles as trap rules", async () => {
    const yaml = stubsOf(TEST_MIBS);
    expect(yaml.match(/severity: \w[\w-]* # review: guessed from the trap's name/g)).toHaveLength(2);
    const { traps } = parse(yaml) as { traps: unknown };
    const rules = trapRulesSchema.parse(traps);
    expect(rules).toEqual([
      {
        name: "testUnitFault",
        match: ['trap="PETGATE-TEST-MIB::testUnitFault"'],
        action: "notify",
        severity: "critical",
        summary: "testUnitFault: testUnitName={{testUnitName}} testUnitState={{testUnitState}}",
        detail: "A unit has left the ok state.\ntestUnitState says how bad it is.",
      },
      {
        name: "testV1DiskFailed",
        match: ['trap="PETGATE-TEST-V1-MIB::testV1DiskFailed"'],
        action: "notify",
        severity: "critical",
        summary: "testV1DiskFailed: testV1Message={{testV1Message}} testV1Severity={{testV1Severity}}",
        detail: "A disk has failed.",
      },
    ]);
    const { store } = await loadMibs({ dirs: [FIXTURES] });
    expect(() => compileTrapRules(rules, store)).not.toThrow();
  });

  test("IF-MIB's and SNMPv2-MIB's notifications compile too; names of two modules stay unique", async () => {
    const { store } = await loadMibs({ dirs: [] });
    const dir = new URL("../../node_modules/net-snmp/lib/mibs/", import.meta.url).pathname;
    const files = ["IF-MIB.mib", "SNMPv2-MIB.mib", "RFC-1215.mib"].map((f) => join(dir, f));
    const rules = trapRulesSchema.parse((parse(stubsOf(files)) as { traps: unknown }).traps);
    expect(rules.map((r) => `${r.name} ${r.severity}`)).toEqual([
      "linkDown critical",
      "linkUp ok",
      "coldStart information",
      "warmStart information",
      "authenticationFailure critical",
      "RFC-1215-coldStart information",
      "RFC-1215-warmStart information",
      "RFC-1215-linkDown critical",
      "RFC-1215-linkUp ok",
      "RFC-1215-authenticationFailure critical",
      "egpNeighborLoss information",
    ]);
    expect(() => compileTrapRules(rules, store)).not.toThrow();
  });

  test("severity from the words of the name", () => {
    expect(guessSeverity("outletFault")).toBe("critical");
    expect(guessSeverity("psuDegraded")).toBe("non-critical");
    expect(guessSeverity("tempThresholdCrossed")).toBe("non-critical");
    expect(guessSeverity("alertRestored")).toBe("ok");
    expect(guessSeverity("lookupDone")).toBe("information");
    expect(guessSeverity("updateStarted")).toBe("information");
  });

  test("petgate mib convert --out writes the stubs; a broken MIB is named with file:line and exit 1", async () => {
    const out = join(tempDir("petgate-convert-"), "traps.yml");
    const ok = await petgate(["mib", "convert", "--out", out, ...TEST_MIBS]);
    expect(ok).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(out, "utf8")).toBe(stubsOf(TEST_MIBS));
    const broken = join(FIXTURES, "BROKEN-MIB.mib");
    const bad = await petgate(["mib", "convert", broken, TEST_MIBS[0] as string]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`petgate mib: ${broken}:9: expected "(", found "2" (skipped)\n`);
    expect(bad.stdout).toContain('trap="PETGATE-TEST-MIB::testUnitFault"');
  });

  test("petgate mib translate: OID to name and back", async () => {
    const result = await petgate([
      "mib",
      "translate",
      "--no-system",
      "--dir",
      FIXTURES,
      "1.3.6.1.6.3.1.1.5.3",
      "IF-MIB::ifIndex.3",
      "testUnitFault",
      "9.9",
    ]);
    expect(result.stdout).toBe(
      [
        "IF-MIB::linkDown = 1.3.6.1.6.3.1.1.5.3",
        "IF-MIB::ifIndex.3 = 1.3.6.1.2.1.2.2.1.1.3",
        "PETGATE-TEST-MIB::testUnitFault = 1.3.6.1.4.1.32473.99.0.1",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toContain("BROKEN-MIB.mib:9:");
    expect(result.stderr).toContain("petgate mib: 9.9: no loaded MIB defines it\n");
    expect(result.code).toBe(1);
  });
});
