import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { configReference } from "../src/config/reference.js";
import { decodePet } from "../src/pet/event.js";
import { formatPetLine } from "../src/pet/format.js";
import { petgate } from "./support/cli.js";

it("README's configuration reference is the one generated from the zod schema", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const generated = readme.match(
    /<!-- config-reference:start[^>]*-->\n([\s\S]*?)\n<!-- config-reference:end -->/,
  )?.[1];
  expect(generated).toBe(configReference());
});

it("README's decode example is what petgate prints", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const [, trap = "", hex = "", shown] = readme.match(/\$ petgate decode (\d+) ([0-9a-f]+)\n\s+(.*)\n/) ?? [];
  const result = decodePet(Number(trap), Buffer.from(hex, "hex"));
  expect(result.ok && formatPetLine(result.event)).toBe(shown);
});

it("README has a section for every petgate command", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  // The command table of src/cli/main.ts (not exported: main.ts runs the CLI when imported).
  const source = readFileSync(new URL("../src/cli/main.ts", import.meta.url), "utf8");
  const table = source.match(/const commands: Record<.*> = \{\n([\s\S]*?)\n\};/)?.[1] ?? "";
  const fromTable = [...table.matchAll(/^ {2}"?([a-z][a-z-]*)"?:/gm)].map((m) => m[1] as string);
  // And the commands `petgate --help` lists.
  const help = await petgate(["--help"]);
  expect(help.code).toBe(0);
  const listed = help.stdout.match(/\ncommands:\n([\s\S]*?)\n\n/)?.[1] ?? "";
  const fromHelp = [...listed.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string);
  expect(fromTable).toContain("serve");
  expect(new Set(fromHelp)).toEqual(new Set(fromTable));

  const documented = (name: string) => new RegExp(`^### \`petgate ${name}[\` ]`, "m").test(readme);
  expect(fromTable.filter((name) => !documented(name))).toEqual([]);
});
