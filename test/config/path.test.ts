import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_FILE, findConfigFile, SYSTEM_CONFIG_FILE } from "../../src/config/path.js";

const dir = mkdtempSync(join(tmpdir(), "petgate-config-path-"));
const saved = process.env.PETGATE_CONFIG;
afterEach(() => {
  if (saved === undefined) delete process.env.PETGATE_CONFIG;
  else process.env.PETGATE_CONFIG = saved;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("where the configuration is found", () => {
  it("looks in ./petgate.yml, then /etc/petgate/petgate.yml (as the systemd units place it)", () => {
    expect([DEFAULT_CONFIG_FILE, SYSTEM_CONFIG_FILE]).toEqual(["petgate.yml", "/etc/petgate/petgate.yml"]);
  });

  it("the file named, else $PETGATE_CONFIG, else the first place that has one, else none", () => {
    delete process.env.PETGATE_CONFIG;
    const local = join(dir, "petgate.yml");
    const system = join(dir, "etc-petgate.yml");
    expect(findConfigFile(undefined, [local, system])).toBeUndefined();
    writeFileSync(system, "{}\n");
    expect(findConfigFile(undefined, [local, system])).toBe(system);
    writeFileSync(local, "{}\n");
    expect(findConfigFile(undefined, [local, system])).toBe(local);
    process.env.PETGATE_CONFIG = "/somewhere/else.yml";
    expect(findConfigFile(undefined, [local, system])).toBe("/somewhere/else.yml");
    expect(findConfigFile("named.yml", [local, system])).toBe("named.yml");
  });
});
