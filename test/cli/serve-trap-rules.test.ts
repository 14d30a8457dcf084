import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { petgate } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

/*
 * `petgate serve` with trap rules and MIBs it cannot use (built CLI, embedded redis-server): a MIB
 * that does not parse is logged with its file and line and skipped; a rule that does not compile
 * stops the start with one line naming its place in petgate.yml.
 */

describe("petgate serve with a trap rule that does not compile", () => {
  it("exits 1 with one line naming file:line and the rule's config path, after logging the broken MIB", async () => {
    const dir = tempDir("serve-trap-rules");
    const mibs = join(dir, "mibs");
    mkdirSync(mibs);
    writeFileSync(
      join(mibs, "BROKEN-MIB.txt"),
      "BROKEN-MIB DEFINITIONS ::= BEGIN\n  x OBJECT IDENTIFIER ::= {\nEND\n",
    );
    const config = join(dir, "petgate.yml");
    writeFileSync(
      config,
      [
        "mibs:",
        `  dirs: [${JSON.stringify(mibs)}]`,
        "  system: false",
        "traps:",
        "  - name: fine",
        "    match: ['trap=\"IF-MIB::linkDown\"']",
        "  - name: bad",
        "    match:",
        "      - 'trap=\"NO-SUCH-MIB::nothing\"'",
        "",
      ].join("\n"),
    );
    const r = await petgate([
      "serve",
      "--config",
      config,
      "--data-dir",
      join(dir, "data"),
      "--listen",
      "127.0.0.1:0",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^petgate: MIB .*BROKEN-MIB\.txt:\d+: .+ \(skipped\)$/m);
    const failure = r.stderr.split("\n").filter((l) => l.includes("traps[1]"));
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatch(
      new RegExp(
        `^petgate: ${config.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:9: traps\\[1\\]\\.match\\[0\\]: .*NO-SUCH-MIB::nothing`,
      ),
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
