import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { bundledMibDir } from "../../src/mib/load.js";
import { parseMibText } from "../../src/mib/parse.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;
const DEBIAN_MIBS = "/usr/share/snmp/mibs";

function parseFile(file: string) {
  return parseMibText(readFileSync(file, "utf8"), file);
}

describe("parseMibText", () => {
  test("every MIB net-snmp bundles parses, one module a file", () => {
    const files = readdirSync(bundledMibDir());
    expect(files).toContain("IF-MIB.mib");
    for (const name of files) {
      const { modules, problems } = parseFile(join(bundledMibDir(), name));
      expect(problems, name).toEqual([]);
      expect(modules.map((m) => m.name)).toEqual([name.replace(/\.mib$/, "")]);
    }
  });

  test.skipIf(!existsSync(DEBIAN_MIBS))("every MIB of Debian's /usr/share/snmp/mibs parses", () => {
    for (const name of readdirSync(DEBIAN_MIBS)) {
      const { modules, problems } = parseFile(join(DEBIAN_MIBS, name));
      expect(problems, name).toEqual([]);
      expect(modules.length, name).toBeGreaterThan(0);
    }
  });

  test("IF-MIB's linkDown: its objects, description and line", () => {
    const [ifMib] = parseFile(join(bundledMibDir(), "IF-MIB.mib")).modules;
    const linkDown = ifMib?.nodes.find((n) => n.name === "linkDown");
    expect(linkDown).toMatchObject({
      macro: "NOTIFICATION-TYPE",
      parent: "snmpTraps",
      arcs: [3],
      objects: ["ifIndex", "ifAdminStatus", "ifOperStatus"],
    });
    const lines = readFileSync(join(bundledMibDir(), "IF-MIB.mib"), "utf8").split("\n");
    expect(lines[(linkDown?.line ?? 0) - 1]).toMatch(/^\s*linkDown\s+NOTIFICATION-TYPE/);
    expect(ifMib?.imports.find((i) => i.module === "SNMPv2-TC")?.symbols).toContain("DisplayString");
  });

  test("a TRAP-TYPE is its ENTERPRISE with arcs 0 and its number; a TEXTUAL-CONVENTION keeps its hint", () => {
    const [v1] = parseFile(join(FIXTURES, "PETGATE-TEST-V1-MIB.mib")).modules;
    expect(v1?.nodes.find((n) => n.name === "testV1DiskFailed")).toMatchObject({
      macro: "TRAP-TYPE",
      parent: "petgateTestV1",
      arcs: [0, 7],
      objects: ["testV1Message", "testV1Severity"],
      description: "A disk has failed.",
    });
    const [tc] = parseFile(join(bundledMibDir(), "SNMPv2-TC.mib")).modules;
    expect(tc?.types.find((t) => t.name === "MacAddress")).toMatchObject({
      displayHint: "1x:",
      syntax: { type: "OCTET STRING" },
    });
  });

  test("a DESCRIPTION keeps its paragraphs, not its indentation", () => {
    const [mib] = parseFile(join(FIXTURES, "PETGATE-TEST-MIB.mib")).modules;
    expect(mib?.nodes.find((n) => n.name === "testUnitFault")?.description).toBe(
      "A unit has left the ok state.\ntestUnitState says how bad it is.",
    );
  });

  test("a module that does not parse is a problem at its line; the file's other modules stay", () => {
    const good = readFileSync(join(FIXTURES, "MISSING-IMPORT-MIB.mib"), "utf8");
    const broken = readFileSync(join(FIXTURES, "BROKEN-MIB.mib"), "utf8");
    const { modules, problems } = parseMibText(`${broken}\n${good}`, "two.mib");
    expect(problems).toEqual([
      { file: "two.mib", line: 9, module: "BROKEN-MIB", message: 'expected "(", found "2"' },
    ]);
    expect(modules.map((m) => m.name)).toEqual(["MISSING-IMPORT-MIB"]);
  });

  test("an unclosed string, a stray character and a file with no module are problems with lines", () => {
    expect(parseMibText('X DEFINITIONS ::= BEGIN\nx OBJECT-TYPE DESCRIPTION "open\n', "a").problems).toEqual([
      { file: "a", line: 2, message: "a quoted string is not closed" },
    ]);
    expect(parseMibText("X DEFINITIONS ::= BEGIN\n\n  x ~ y\nEND", "b").problems).toEqual([
      { file: "b", line: 3, message: 'unexpected character "~"' },
    ]);
    expect(parseMibText("-- only a comment\nhello", "c").problems).toEqual([
      { file: "c", line: 2, message: "no module (NAME DEFINITIONS ::= BEGIN)" },
    ]);
    expect(
      parseMibText("X DEFINITIONS ::= BEGIN\nx OBJECT IDENTIFIER ::= { iso 3 }\n", "d").problems,
    ).toEqual([{ file: "d", line: 2, module: "X", message: "the module ends without END" }]);
  });

  test("fuzz: any text, or a real MIB cut or spliced anywhere, gives problems, never a throw", () => {
    const ifMib = readFileSync(join(bundledMibDir(), "IF-MIB.mib"), "utf8");
    const tokens = fc.constantFrom(
      "::=",
      "{",
      "}",
      "(",
      ")",
      '"',
      "--",
      "\n",
      "BEGIN",
      "END",
      "DEFINITIONS",
      "x",
      "1",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 400 }),
          fc.array(tokens, { maxLength: 60 }).map((t) => `M DEFINITIONS ::= BEGIN ${t.join(" ")}`),
          fc
            .tuple(fc.nat(ifMib.length), fc.nat(ifMib.length), fc.string({ maxLength: 8 }))
            .map(([a, b, insert]) => ifMib.slice(0, Math.min(a, b)) + insert + ifMib.slice(Math.max(a, b))),
        ),
        (text) => {
          const { modules, problems } = parseMibText(text, "fuzz.mib");
          for (const p of problems) expect(p.line).toBeGreaterThanOrEqual(0);
          expect(JSON.parse(JSON.stringify(modules))).toEqual(modules);
        },
      ),
      { numRuns: 200 },
    );
  });
});
