import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { configReference } from "../src/config/reference.js";
import { decodePet } from "../src/pet/event.js";
import { formatPetLine } from "../src/pet/format.js";

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
