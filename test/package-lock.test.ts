import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

/*
 * `npm ci` on a fresh clone (CI pipelines, the Dockerfile) takes the lockfile as it is: it refuses
 * one that lacks an optional package of another platform ("Missing: … from lock file"), and warns
 * EBADENGINE for a package whose engines exclude the Node that package.json says petgate runs on.
 */

interface LockedPackage {
  version?: string;
  engines?: { node?: string };
  optionalDependencies?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  engines: { node: string };
};
const locked = (
  JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8")) as {
    packages: Record<string, LockedPackage>;
  }
).packages;

/** Where npm looks for `name` from the package at `path`: its own node_modules, then each one above. */
function resolvable(path: string, name: string): boolean {
  for (let dir = path; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
    if (`${dir ? `${dir}/` : ""}node_modules/${name}` in locked) return true;
    if (dir === "") return false;
  }
}

it("locks every optional package of every platform, so npm ci accepts it anywhere", () => {
  const missing = Object.entries(locked).flatMap(([path, p]) =>
    Object.keys(p.optionalDependencies ?? {})
      .filter((name) => !resolvable(path, name))
      .map((name) => `${name} (for ${path || "petgate"})`),
  );
  expect(missing).toEqual([]);
});

type Version = [number, number, number];

function version(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .trim()
    .split(".")
    .map((n) => (/^\d+$/.test(n) ? Number(n) : 0));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The engines.node forms the lockfile holds: `*`, `>=X`, `^X`, `N.x`, joined by `||` (semver's meaning). */
function admits(range: string, v: Version): boolean {
  return range.split("||").some((alternative) => {
    const a = alternative.trim();
    if (a === "*" || a === "") return true;
    const major = /^(\d+)\.x$/.exec(a);
    if (major) return v[0] === Number(major[1]);
    const m = /^(>=|\^)\s*(\S+)$/.exec(a);
    if (!m?.[2]) throw new Error(`engines range "${range}": form not understood`);
    const min = version(m[2]);
    if (compare(v, min) < 0) return false;
    return m[1] === ">=" || (min[0] === 0 ? v[0] === 0 : v[0] === min[0]);
  });
}

it("locks no package whose engines exclude the Node petgate says it runs on (no EBADENGINE)", () => {
  const oldest = version(manifest.engines.node.replace(/^>=\s*/, ""));
  expect(admits(">=20.19", oldest)).toBe(true);
  expect(admits(">=22", oldest)).toBe(false);
  expect(admits("^20.19.0 || >=22.12.0", oldest)).toBe(true);
  expect(admits("20.x || 22.x", oldest)).toBe(true);
  expect(admits("22.x || 24.x", oldest)).toBe(false);
  const excluding = Object.entries(locked)
    .filter(([path, p]) => path !== "" && p.engines?.node !== undefined && !admits(p.engines.node, oldest))
    .map(([path, p]) => `${path}@${p.version}: node ${p.engines?.node}`);
  expect(excluding).toEqual([]);
});
