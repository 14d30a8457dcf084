import { describe, expect, it } from "vitest";
import { resolveBmcs } from "../src/config/inventory.js";
import { ConfigError, parseConfig } from "../src/config/load.js";

/** `ipmi:` per BMC (issue 16): which IPMI session petgate opens; defaults inherit like every field. */
describe("the ipmi field of a BMC entry", () => {
  process.env.PETGATE_TEST_IPMI_PW = "pw";
  const inventory = (defaults: string, entry: string) =>
    resolveBmcs(
      parseConfig(
        [
          `defaults: { passwordEnv: PETGATE_TEST_IPMI_PW${defaults} }`,
          "bmcs:",
          "  - { name: a, host: 10.0.0.1 }",
          `  - { name: b, host: 10.0.0.2${entry} }`,
        ].join("\n"),
        "petgate.yml",
      ),
    ).map((t) => [t.name, t.ipmi, t.allowAuthNone]);

  it("is auto, none refused, unless said otherwise; an entry overrides defaults", () => {
    expect(inventory("", "")).toEqual([
      ["a", "auto", false],
      ["b", "auto", false],
    ]);
    expect(inventory(', ipmi: "1.5"', ', ipmi: "2.0", allowAuthNone: true')).toEqual([
      ["a", "1.5", false],
      ["b", "2.0", true],
    ]);
  });

  it("refuses an unquoted 1.5 (a YAML number) with the path of the problem", () => {
    expect(() => inventory("", ", ipmi: 1.5")).toThrow(ConfigError);
    expect(() => inventory("", ", ipmi: 1.5")).toThrow(/bmcs\[1\]\.ipmi/);
  });
});
