import {
  chmodSync,
  chownSync,
  cpSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import { bundledMibDir, loadMibs } from "../../src/mib/load.js";
import { tempDir } from "../support/temp.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;

describe("loadMibs", () => {
  test("a broken MIB and one importing a missing module are named with file:line; the others translate", async () => {
    const { store, problems, modules } = await loadMibs({ dirs: [FIXTURES] });
    expect(problems).toEqual([
      {
        file: join(FIXTURES, "BROKEN-MIB.mib"),
        line: 9,
        module: "BROKEN-MIB",
        message: 'expected "(", found "2"',
      },
      {
        file: join(FIXTURES, "MISSING-IMPORT-MIB.mib"),
        line: 5,
        module: "MISSING-IMPORT-MIB",
        message: "imports from NO-SUCH-VENDOR-MIB, which is not loaded",
        missing: "NO-SUCH-VENDOR-MIB",
      },
    ]);
    expect(store.modules()).toEqual(
      expect.arrayContaining(["PETGATE-TEST-MIB", "PETGATE-TEST-V1-MIB", "IF-MIB"]),
    );
    expect(store.modules()).not.toContain("MISSING-IMPORT-MIB");
    expect(modules).toBe(store.modules().length);
    expect(store.oid("PETGATE-TEST-MIB::testUnitFault")).toBe("1.3.6.1.4.1.32473.99.0.1");
    expect(store.name("1.3.6.1.6.3.1.1.5.3")).toMatchObject({ module: "IF-MIB", name: "linkDown" });
  });

  test("a TRAP-TYPE is found under its RFC 3584 OID, ENTERPRISE.0.specific", async () => {
    const { store } = await loadMibs({ dirs: [FIXTURES] });
    expect(store.notification("1.3.6.1.4.1.32473.98.0.7")).toMatchObject({
      module: "PETGATE-TEST-V1-MIB",
      name: "testV1DiskFailed",
      kind: "TRAP-TYPE",
      objects: ["testV1Message", "testV1Severity"],
      file: join(FIXTURES, "PETGATE-TEST-V1-MIB.mib"),
      line: 27,
    });
    expect(store.oid("testV1DiskFailed")).toBe("1.3.6.1.4.1.32473.98.0.7");
  });

  test("a module whose import is not defined by its source, or that imports a skipped one, is skipped", async () => {
    const dir = tempDir("petgate-mibs-");
    cpSync(join(FIXTURES, "MISSING-IMPORT-MIB.mib"), join(dir, "A.mib"));
    writeFileSync(
      join(dir, "B.mib"),
      "B-MIB DEFINITIONS ::= BEGIN\nIMPORTS\n  nothingHere FROM IF-MIB\n  missingRoot FROM MISSING-IMPORT-MIB;\nEND\n",
    );
    const { problems } = await loadMibs({ dirs: [dir] });
    expect(problems.map((p) => `${p.module}:${p.line}: ${p.message}`)).toEqual([
      "MISSING-IMPORT-MIB:5: imports from NO-SUCH-VENDOR-MIB, which is not loaded",
      "B-MIB:3: imports nothingHere from IF-MIB, which does not define it",
    ]);
  });

  test("a directory that cannot be read is a problem; bundled: false loads only the directories", async () => {
    const missing = join(tempDir("petgate-mibs-"), "nope");
    const { problems, modules } = await loadMibs({ dirs: [missing], bundled: false });
    expect(problems).toEqual([{ file: missing, line: 0, message: expect.stringMatching(/ENOENT/) }]);
    expect(modules).toBe(0);
  });

  test("the second load is served from the linked cache: the same names, renderings and problems", async () => {
    const cacheDir = tempDir("petgate-mib-cache-");
    const cold = await loadMibs({ dirs: [FIXTURES], cacheDir });
    expect(cold).toMatchObject({ fromCache: 0, linkedFromCache: false });
    // One parse per file, and the linked set.
    expect(readdirSync(cacheDir).filter((f) => f.endsWith(".json"))).toHaveLength(
      readdirSync(FIXTURES).length + readdirSync(bundledMibDir()).length + 1,
    );
    const warm = await loadMibs({ dirs: [FIXTURES], cacheDir });
    expect(warm).toMatchObject({ linkedFromCache: true, modules: cold.modules, fromCache: cold.modules });
    expect(warm.problems).toEqual(cold.problems);
    expect(warm.problems.map((p) => `${basename(p.file)}:${p.line}`)).toEqual([
      "BROKEN-MIB.mib:9",
      "MISSING-IMPORT-MIB.mib:5",
    ]);
    expect(warm.store.modules()).toEqual(cold.store.modules());
    expect(warm.store.objectNames()).toEqual(cold.store.objectNames());
    for (const oid of ["1.3.6.1.4.1.32473.99.0.1", "1.3.6.1.4.1.32473.98.0.7", "1.3.6.1.6.3.1.1.5.3"]) {
      expect(warm.store.notification(oid)).toEqual(cold.store.notification(oid));
      expect(warm.store.notification(oid)).toBeDefined();
    }
    expect(warm.store.object("1.3.6.1.2.1.2.2.1.8.3")).toEqual(cold.store.object("1.3.6.1.2.1.2.2.1.8.3"));
    expect(warm.store.oid("IF-MIB::ifIndex.3")).toBe("1.3.6.1.2.1.2.2.1.1.3");
    const state = { oid: "1.3.6.1.2.1.2.2.1.8.3", type: "Integer", value: 2 };
    expect(warm.store.render(state)).toEqual(cold.store.render(state));
    expect(warm.store.render(state).value).toBe("down");
  });

  test("changing one file's content invalidates the linked set; the other files' parses are reused", async () => {
    const dir = tempDir("petgate-mibs-");
    cpSync(FIXTURES, dir, { recursive: true });
    const cacheDir = tempDir("petgate-mib-cache-");
    const first = await loadMibs({ dirs: [dir], cacheDir });
    const file = join(dir, "PETGATE-TEST-MIB.mib");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "testUnitFault NOTIFICATION-TYPE",
        "testUnitBroken NOTIFICATION-TYPE",
      ),
    );
    const changed = await loadMibs({ dirs: [dir], cacheDir });
    expect(changed.linkedFromCache).toBe(false);
    // Parsed from the cache: every module but PETGATE-TEST-MIB, and MISSING-IMPORT-MIB, which
    // parses but does not link.
    expect(changed.fromCache).toBe(first.modules);
    expect(changed.store.name("1.3.6.1.4.1.32473.99.0.1")?.name).toBe("testUnitBroken");
    const again = await loadMibs({ dirs: [dir], cacheDir });
    expect(again.linkedFromCache).toBe(true);
    expect(again.store.name("1.3.6.1.4.1.32473.99.0.1")?.name).toBe("testUnitBroken");
  });

  test("the linked set is keyed by content: the same files elsewhere are named by their new paths", async () => {
    const cacheDir = tempDir("petgate-mib-cache-");
    const before = tempDir("petgate-mibs-");
    cpSync(FIXTURES, before, { recursive: true });
    await loadMibs({ dirs: [before], cacheDir });
    const after = tempDir("petgate-mibs-");
    cpSync(FIXTURES, after, { recursive: true });
    const moved = await loadMibs({ dirs: [after], cacheDir });
    expect(moved.linkedFromCache).toBe(true);
    expect(moved.problems.map((p) => p.file)).toEqual([
      join(after, "BROKEN-MIB.mib"),
      join(after, "MISSING-IMPORT-MIB.mib"),
    ]);
    expect(moved.store.notification("1.3.6.1.4.1.32473.99.0.1")?.file).toBe(
      join(after, "PETGATE-TEST-MIB.mib"),
    );
  });

  test("a cached parse is keyed by content: the same file elsewhere is named by its new path", async () => {
    const cacheDir = tempDir("petgate-mib-cache-");
    await loadMibs({ dirs: [FIXTURES], bundled: true, cacheDir });
    const moved = tempDir("petgate-mibs-");
    cpSync(join(FIXTURES, "PETGATE-TEST-MIB.mib"), join(moved, "renamed.txt"));
    const { store, fromCache } = await loadMibs({ dirs: [moved], cacheDir });
    expect(fromCache).toBe(store.modules().length);
    expect(store.notification("1.3.6.1.4.1.32473.99.0.1")?.file).toBe(join(moved, "renamed.txt"));
  });
});

describe("the MIB cache, read at every start", () => {
  const TEST_UNIT_FAULT = "1.3.6.1.4.1.32473.99.0.1";

  /** The cache after one load of the fixtures, with its linked set's name of testUnitFault replaced. */
  async function tamperedCache(): Promise<{ cacheDir: string; linked: string }> {
    const cacheDir = tempDir("petgate-mib-cache-");
    await loadMibs({ dirs: [FIXTURES], cacheDir });
    const linked = join(cacheDir, "linked.json");
    writeFileSync(linked, readFileSync(linked, "utf8").replace('"testUnitFault"', '"injectedName"'));
    expect((await loadMibs({ dirs: [FIXTURES], cacheDir })).store.name(TEST_UNIT_FAULT)?.name).toBe(
      "injectedName",
    );
    return { cacheDir, linked };
  }

  test("is made private whatever the umask: its directory 0700, its files 0600", async () => {
    const cacheDir = join(tempDir("petgate-mib-cache-"), "mibs");
    const umask = process.umask(0);
    try {
      await loadMibs({ dirs: [FIXTURES], cacheDir });
    } finally {
      process.umask(umask);
    }
    expect((statSync(cacheDir).mode & 0o777).toString(8)).toBe("700");
    const files = readdirSync(cacheDir);
    expect(files).toContain("linked.json");
    for (const f of files)
      expect(`${f} ${(lstatSync(join(cacheDir, f)).mode & 0o777).toString(8)}`).toBe(`${f} 600`);
  });

  test("a cached file that other users can write is a miss, and is written again private", async () => {
    const { cacheDir, linked } = await tamperedCache();
    chmodSync(linked, 0o666);
    const loaded = await loadMibs({ dirs: [FIXTURES], cacheDir });
    expect(loaded.linkedFromCache).toBe(false);
    expect(loaded.store.name(TEST_UNIT_FAULT)?.name).toBe("testUnitFault");
    expect(lstatSync(linked).mode & 0o777).toBe(0o600);
    expect((await loadMibs({ dirs: [FIXTURES], cacheDir })).linkedFromCache).toBe(true);
  });

  test("a cache directory that other users can write is neither read nor written", async () => {
    const { cacheDir, linked } = await tamperedCache();
    chmodSync(cacheDir, 0o770);
    const tampered = readFileSync(linked, "utf8");
    const loaded = await loadMibs({ dirs: [FIXTURES], cacheDir });
    expect(loaded).toMatchObject({ linkedFromCache: false, fromCache: 0 });
    expect(loaded.store.name(TEST_UNIT_FAULT)?.name).toBe("testUnitFault");
    expect(readFileSync(linked, "utf8")).toBe(tampered);
  });

  // Only root can give a file to another user.
  test.runIf(process.geteuid?.() === 0)("a cached file another user owns is a miss", async () => {
    const { cacheDir, linked } = await tamperedCache();
    chownSync(linked, 65534, 65534);
    const loaded = await loadMibs({ dirs: [FIXTURES], cacheDir });
    expect(loaded.linkedFromCache).toBe(false);
    expect(loaded.store.name(TEST_UNIT_FAULT)?.name).toBe("testUnitFault");
  });
});
