import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveBmcs } from "../src/config/inventory.js";
import { loadConfig, readSecret } from "../src/config/load.js";
import { type Config, configSchema, type SecretRef } from "../src/config/schema.js";
import { loadMibs } from "../src/mib/load.js";
import { Inhibitor } from "../src/pipeline/alerting/inhibit.js";
import { configuredRoutes } from "../src/pipeline/alerting/route.js";
import { compileTrapRules } from "../src/pipeline/interpret/rules.js";
import { buildSinks } from "../src/sinks/build.js";
import { ACME_PDU, v2cTrap, vb } from "./interpret/traps.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const SAMPLES = ["petgate.example.yml", "compose/petgate.yml"];

/** Every `{ env }` / `{ file }` secret reference in a parsed config, with where it sits. */
function secretRefs(node: unknown, path = ""): { path: string; ref: SecretRef }[] {
  if (typeof node !== "object" || node === null) return [];
  const keys = Object.keys(node);
  if (keys.length === 1 && (keys[0] === "env" || keys[0] === "file"))
    return [{ path, ref: node as SecretRef }];
  return Object.entries(node).flatMap(([k, v]) => secretRefs(v, path ? `${path}.${k}` : k));
}

/** Sets the environment variables a config names, and stands temp files in for its secret files. */
function provideSecrets(config: Config, dir: string): string[] {
  const values: string[] = [];
  const standIn = (file: string, value: string): string => {
    expect(isAbsolute(file), `${file} is relative to wherever petgate is started`).toBe(true);
    const path = join(dir, file.replaceAll("/", "_"));
    writeFileSync(path, `${value}\n`);
    return path;
  };
  for (const [i, { ref }] of secretRefs(config).entries()) {
    const value = `sample-secret-${i}`;
    values.push(value);
    if (ref.env !== undefined) process.env[ref.env] = value;
    if (ref.file !== undefined) ref.file = standIn(ref.file, value);
  }
  for (const [i, b] of [config.defaults, ...config.bmcs].entries()) {
    const value = `bmc-password-${i}`;
    values.push(value);
    if (b.passwordEnv !== undefined) process.env[b.passwordEnv] = value;
    if (b.passwordFile !== undefined) b.passwordFile = standIn(b.passwordFile, value);
    if (b.kgEnv !== undefined) process.env[b.kgEnv] = "0123456789abcdef";
  }
  return values;
}

const temp = mkdtempSync(join(tmpdir(), "petgate-example-"));
const savedEnv = { ...process.env };
afterAll(() => {
  process.env = savedEnv;
  rmSync(temp, { recursive: true, force: true });
});

describe.each(SAMPLES)("%s", (file) => {
  const path = join(root, file);

  it("loads with the real loader, every secret given by reference only", async () => {
    const config = loadConfig(path);
    const secrets = provideSecrets(config, mkdtempSync(join(temp, "secrets-")));

    const bmcs = resolveBmcs(config);
    expect(bmcs.length).toBe(config.bmcs.length);
    for (const b of bmcs) expect(secrets).toContain(b.password);
    for (const { path: where, ref } of secretRefs(config))
      expect(secrets, where).toContain(readSecret(ref, where));

    const sinks = buildSinks(config);
    expect([...sinks.keys()].sort()).toEqual((config.receivers ?? []).map((r) => r.name).sort());
    await Promise.all([...sinks.values()].map((s) => s.close?.()));
    if (config.routes) expect(configuredRoutes(config).receiver).toBe(config.routes.receiver);
    expect(() => new Inhibitor(config.inhibit_rules)).not.toThrow();
  });

  it("writes no secret into the file itself", () => {
    const text = readFileSync(path, "utf8");
    expect(text).not.toMatch(/^\s*(password|insecureInlinePassword):\s*[^{\s]/m);
    expect(text).not.toMatch(/https?:\/\/[^/\s:@]+:[^/\s@]+@/); // user:password@ in a URL
  });
});

describe("petgate.example.yml", () => {
  it("shows every top-level section of the schema", () => {
    const raw = parse(readFileSync(join(root, "petgate.example.yml"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("shows each kind of receiver, and secrets both from the environment and from files", () => {
    const config = loadConfig(join(root, "petgate.example.yml"));
    const kinds = (config.receivers ?? []).flatMap((r) =>
      (["email", "webhook", "alertmanager"] as const).filter((k) => r[k]),
    );
    expect(new Set(kinds)).toEqual(new Set(["email", "webhook", "alertmanager"]));
    const refs = secretRefs(config).map((s) => s.ref);
    expect(refs.some((r) => r.env)).toBe(true);
    expect(refs.some((r) => r.file)).toBe(true);
  });

  it("has trap rules that compile over examples/mibs, a PDU fault from 10.30/16 taking the PDU rule", async () => {
    const config = loadConfig(join(root, "petgate.example.yml"));
    const { store, problems } = await loadMibs({ dirs: [join(root, "examples/mibs")] });
    expect(problems).toEqual([]);
    const rules = compileTrapRules(config.traps, store);
    const outletFault = (address: string) =>
      rules.interpret(
        v2cTrap(
          `${ACME_PDU}.0.1`,
          [
            vb(`${ACME_PDU}.1.2.1.1.5`, "Integer", 5),
            vb(`${ACME_PDU}.1.2.1.2.5`, "OctetString", "PSU-A"),
            vb(`${ACME_PDU}.1.2.1.3.5`, "Integer", 3),
          ],
          address,
        ),
      );
    const pdu = outletFault("10.30.4.7");
    expect(pdu).toMatchObject({ rule: "outlet-fault", action: "notify", severity: "critical" });
    expect(pdu.summary).toBe("Outlet PSU-A (5) is fault");
    expect(outletFault("10.40.4.7").rule).toBeUndefined(); // another source: the catch-all
  });
});
