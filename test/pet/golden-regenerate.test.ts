import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("FreeIPMI golden fixtures", () => {
  it("are what ipmi-pet prints on this machine today (regenerated against ipmi_sim and compared)", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "petgate-golden-")), "golden.json");
    const script = fileURLToPath(new URL("../../scripts/gen-pet-fixtures.mjs", import.meta.url));
    await run(process.execPath, [script, "--out", out], { timeout: 110_000 });
    const committed = readFileSync(new URL("../fixtures/pet/freeipmi-golden.json", import.meta.url), "utf8");
    expect(JSON.parse(readFileSync(out, "utf8")).cases).toEqual(JSON.parse(committed).cases);
    // ~7 s alone; ipmi_sim and some 1,200 ipmi-pet cases take far longer on a loaded 2-core machine.
  }, 120_000);
});
