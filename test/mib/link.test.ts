import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { linkModules } from "../../src/mib/link.js";
import { loadMibs } from "../../src/mib/load.js";
import { type ParsedModule, parseMibText } from "../../src/mib/parse.js";
import { tempDir } from "../support/temp.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;

/** enterprises is 1.3.6.1.4.1: n0 under it has 7 arcs, n(i) 7 + i, so n121 has 128 and n122 129. */
function chainMib(count: number, order: "parents first" | "children first"): string {
  const nodes: string[] = [];
  for (let i = 1; i < count; i++) nodes.push(`n${i} OBJECT IDENTIFIER ::= { n${i - 1} 1 }`);
  if (order === "children first") nodes.reverse();
  return [
    "DEEP-MIB DEFINITIONS ::= BEGIN",
    "IMPORTS enterprises FROM SNMPv2-SMI;",
    "n0 OBJECT IDENTIFIER ::= { enterprises 32473 }",
    ...nodes,
    "shallow OBJECT IDENTIFIER ::= { n0 7 }",
    "END",
    "",
  ].join("\n");
}

describe("linking past the SMI's bounds", () => {
  // 10,000 nodes children first exhausted the stack of a recursive resolve (serve did not start).
  for (const order of ["parents first", "children first"] as const) {
    test(`a chain of OIDs past 128 arcs (${order}) is a problem at the first node too deep; the rest load`, async () => {
      const dir = tempDir("petgate-mibs-");
      const text = chainMib(10_000, order);
      writeFileSync(join(dir, "DEEP-MIB"), text);
      const { store, problems } = await loadMibs({ dirs: [FIXTURES, dir] });
      const line = text.split("\n").findIndex((l) => l.startsWith("n122 ")) + 1;
      expect(problems.filter((p) => p.module === "DEEP-MIB")).toEqual([
        {
          file: join(dir, "DEEP-MIB"),
          line,
          module: "DEEP-MIB",
          message: "n122 is 129 arcs deep, past the 128 of RFC 2578 §3.5 (skipped, and the nodes under it)",
        },
      ]);
      expect(store.oid("DEEP-MIB::n121")?.split(".")).toHaveLength(128);
      expect(store.oid("DEEP-MIB::n122")).toBeUndefined();
      expect(store.oid("DEEP-MIB::n9999")).toBeUndefined();
      expect(store.oid("DEEP-MIB::shallow")).toBe("1.3.6.1.4.1.32473.7");
      expect(store.oid("PETGATE-TEST-MIB::testUnitFault")).toBe("1.3.6.1.4.1.32473.99.0.1");
      expect(store.name("1.3.6.1.6.3.1.1.5.3")).toMatchObject({ module: "IF-MIB", name: "linkDown" });
    });
  }

  test("a node under itself is named once, with the nodes under it skipped", () => {
    const text = [
      "LOOP-MIB DEFINITIONS ::= BEGIN",
      "a OBJECT IDENTIFIER ::= { c 1 }",
      "b OBJECT IDENTIFIER ::= { a 1 }",
      "c OBJECT IDENTIFIER ::= { b 1 }",
      "d OBJECT IDENTIFIER ::= { c 1 }",
      "e OBJECT IDENTIFIER ::= { iso 3 }",
      "END",
    ].join("\n");
    const { definitions, problems } = linkModules(parseMibText(text, "LOOP-MIB").modules);
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual(["2: a is under itself (skipped)"]);
    expect(definitions.map((d) => `${d.name} ${d.oid}`)).toEqual(["e 1.3"]);
  });

  test("modules importing each other thousands deep: a problem at the one too deep, the others load", async () => {
    const dir = tempDir("petgate-mibs-");
    const modules: string[] = [];
    for (let i = 1; i < 5_000; i++) {
      modules.push(
        `CHAIN${i}-MIB DEFINITIONS ::= BEGIN\nIMPORTS enterprises FROM SNMPv2-SMI c${i - 1} FROM CHAIN${i - 1}-MIB;\nc${i} OBJECT IDENTIFIER ::= { enterprises ${i} }\nEND`,
      );
    }
    modules.reverse(); // each module before the one it imports: linking recursed once per module
    modules.push(
      "CHAIN0-MIB DEFINITIONS ::= BEGIN\nIMPORTS enterprises FROM SNMPv2-SMI;\nc0 OBJECT IDENTIFIER ::= { enterprises 0 }\nEND",
    );
    writeFileSync(join(dir, "CHAIN-MIB"), `${modules.join("\n")}\n`);
    const { store, problems } = await loadMibs({ dirs: [FIXTURES, dir] });
    // A walk down the imports stops 100 deep; the modules it leaves are skipped as importing a
    // skipped one, each walk that starts from them again stops 100 deeper.
    const tooDeep = problems.filter(
      (p) => p.module?.startsWith("CHAIN") && !p.message.endsWith("which was skipped"),
    );
    expect(tooDeep.length).toBeGreaterThan(0);
    for (const p of tooDeep) {
      expect(p).toEqual({
        file: join(dir, "CHAIN-MIB"),
        line: expect.any(Number),
        module: expect.stringMatching(/^CHAIN\d+-MIB$/),
        message: "imports nest more than 100 modules deep (skipped)",
      });
    }
    expect(store.oid("CHAIN4999-MIB::c4999")).toBeUndefined();
    expect(store.oid("CHAIN0-MIB::c0")).toBe("1.3.6.1.4.1.0");
    expect(store.oid("PETGATE-TEST-MIB::testUnitFault")).toBe("1.3.6.1.4.1.32473.99.0.1");
  });

  test("a module the linker cannot take (a malformed parse) is a problem at its line; the others link", () => {
    const good = parseMibText(
      "GOOD-MIB DEFINITIONS ::= BEGIN\ngood OBJECT IDENTIFIER ::= { iso 3 }\nEND\n",
      "GOOD-MIB",
    ).modules;
    const bad = {
      name: "BAD-MIB",
      file: "BAD-MIB",
      line: 4,
      imports: [],
      nodes: [{ name: "bad", line: 5, macro: "OBJECT IDENTIFIER", parent: "iso" }],
      types: [],
      macros: [],
    } as unknown as ParsedModule;
    const { definitions, problems } = linkModules([bad, ...good]);
    expect(problems).toEqual([
      {
        file: "BAD-MIB",
        line: 4,
        module: "BAD-MIB",
        message: expect.stringMatching(/^cannot be linked: .+ \(skipped\)$/),
      },
    ]);
    expect(definitions.map((d) => `${d.module}::${d.name} ${d.oid}`)).toEqual(["GOOD-MIB::good 1.3"]);
  });
});
