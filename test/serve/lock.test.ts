import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirError } from "../../src/serve/data-dir.js";
import { DataDirInUseError, lockDataDir } from "../../src/serve/lock.js";

const cleanup: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "petgate-lock-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** The built lock module, as `petgate serve` runs it. */
const LOCK = new URL("../../dist/src/serve/lock.js", import.meta.url).href;

/**
 * A process that says "set", takes the lock when told "go" on stdin, says "won" or "lost …", and
 * releases a won lock when its stdin closes.
 */
const RACER = `
const { lockDataDir } = await import(${JSON.stringify(LOCK)});
const lines = (await import("node:readline")).createInterface({ input: process.stdin });
const go = new Promise((r) => lines.once("line", r));
process.stdout.write("set\\n");
await go;
try {
  const release = await lockDataDir(process.argv[1]);
  process.stdout.write("won\\n");
  lines.once("close", release);
} catch (err) {
  process.stdout.write("lost " + err.message + "\\n");
  process.exit(0);
}`;

interface Racer {
  child: ChildProcess;
  said: (what: RegExp) => Promise<string>;
}

function racer(dataDir: string): Racer {
  const child = spawn(process.execPath, ["--input-type=module", "-e", RACER, dataDir]);
  cleanup.push(() => child.kill("SIGKILL"));
  const said: string[] = [];
  const waiters: { what: RegExp; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    said.push(line);
    for (const w of waiters.splice(0)) w.what.test(line) ? w.resolve(line) : waiters.push(w);
  });
  return {
    child,
    said: (what) =>
      new Promise((resolve) => {
        const line = said.find((l) => what.test(l));
        if (line !== undefined) resolve(line);
        else waiters.push({ what, resolve });
      }),
  };
}

/** A pid that no process has now: a process that ran and exited. */
const deadPid = () => spawnSync("true").pid as number;

/**
 * Four processes race for `petgate.lock` holding `stale` (and whatever `before` leaves in the data dir):
 * exactly one wins, the losers name it, and its release leaves no lock file at all.
 */
async function race(stale: () => string, before: (dataDir: string) => void = () => undefined): Promise<void> {
  for (let trial = 0; trial < 5; trial++) {
    const dataDir = tempDir();
    const file = join(dataDir, "petgate.lock");
    writeFileSync(file, stale());
    before(dataDir);
    const racers = Array.from({ length: 4 }, () => racer(dataDir));
    await Promise.all(racers.map((r) => r.said(/^set$/)));
    for (const r of racers) r.child.stdin?.write("go\n");
    const outcomes = await Promise.all(racers.map((r) => r.said(/^(won|lost)/)));
    const winners = racers.filter((_, i) => outcomes[i] === "won");
    expect(
      outcomes.filter((o) => o === "won"),
      `trial ${trial}: ${outcomes.join("; ")}`,
    ).toHaveLength(1);
    const winner = winners[0]?.child.pid;
    for (const o of outcomes.filter((o) => o !== "won"))
      expect(o).toBe(
        `lost data dir ${dataDir} is in use by petgate process ${winner}: give each serve process its own --data-dir`,
      );
    // The losers are gone and the winner's lock is still there.
    expect(readFileSync(file, "utf8")).toMatch(new RegExp(`^${winner}\\b`));
    const exited = new Promise((r) => winners[0]?.child.once("exit", r));
    winners[0]?.child.stdin?.end();
    await exited;
    expect(readdirSync(dataDir)).toEqual([]);
  }
}

/** 5 trials of 4 node processes each: minutes, not seconds, on a loaded machine. */
const RACE_TIMEOUT = 180_000;

describe("the data dir lock", () => {
  it(
    "of four processes racing for a stale lock exactly one wins, five times over; the losers name it",
    () => race(() => `${deadPid()}\n`),
    RACE_TIMEOUT,
  );

  it(
    "of four processes racing for a stale lock whose take-over was left by a crash, exactly one wins",
    () =>
      race(
        () => `${deadPid()} 1\n`,
        (dataDir) => writeFileSync(join(dataDir, "petgate.lock.takeover"), `${deadPid()} 1\n`),
      ),
    RACE_TIMEOUT,
  );

  it("takes over a stale lock whose pid now belongs to another program", async () => {
    const sleeper = spawn("sleep", ["60"]);
    cleanup.push(() => sleeper.kill("SIGKILL"));
    await new Promise((r) => sleeper.once("spawn", r));
    for (const stale of [
      `${sleeper.pid} 1\n`, // a holder that started 1 clock tick after boot: not the sleep
      `${sleeper.pid}\n`, // an older petgate's lock (pid only): the sleep's command line is not petgate
    ]) {
      const dataDir = tempDir();
      writeFileSync(join(dataDir, "petgate.lock"), stale);
      const release = await lockDataDir(dataDir);
      expect(readFileSync(join(dataDir, "petgate.lock"), "utf8")).toMatch(
        new RegExp(`^${process.pid} \\d+\\n$`),
      );
      release();
    }
  });

  it("an older petgate's lock (pid only) is live only while that pid runs petgate, not whatever names it", async () => {
    /** A live node process running `script` with `args`; its pid. */
    const live = async (args: string[]) => {
      const child = spawn(process.execPath, args, { stdio: "ignore" });
      cleanup.push(() => child.kill("SIGKILL"));
      await new Promise((r) => child.once("spawn", r));
      return child.pid as number;
    };
    const idle = "setInterval(() => {}, 1000)";
    const script = join(tempDir(), "petgate.js");
    writeFileSync(script, idle);
    const petgate = await live([script, "serve"]);
    const editor = await live(["-e", idle, "petgate.yml", "/usr/bin/petgate"]);

    const held = tempDir();
    writeFileSync(join(held, "petgate.lock"), `${petgate}\n`);
    await expect(lockDataDir(held)).rejects.toThrow(`is in use by petgate process ${petgate}`);

    const stale = tempDir();
    writeFileSync(join(stale, "petgate.lock"), `${editor}\n`);
    const release = await lockDataDir(stale);
    expect(readFileSync(join(stale, "petgate.lock"), "utf8")).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    release();
  });

  // As root file modes stop nothing; sysfs refuses new entries (EACCES; EROFS where it is mounted read-only).
  it("a data dir where the lock cannot be written: the error names the lock, not its temp file", async () => {
    const error = await lockDataDir("/sys/kernel").catch((err: Error) => err);
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toMatch(
      /^data dir lock \/sys\/kernel\/petgate\.lock: (permission denied|operation not permitted|read-only file system)$/,
    );
  });

  it("refuses while its holder runs, and a release removes only a lock that is still ours", async () => {
    const dataDir = tempDir();
    const file = join(dataDir, "petgate.lock");
    const holder = racer(dataDir);
    await holder.said(/^set$/);
    holder.child.stdin?.write("go\n");
    expect(await holder.said(/^(won|lost)/)).toBe("won");
    await expect(Promise.resolve().then(() => lockDataDir(dataDir))).rejects.toThrow(DataDirInUseError);
    const exited = new Promise((r) => holder.child.once("exit", r));
    holder.child.kill("SIGKILL");
    await exited;

    const release = await lockDataDir(dataDir);
    // Someone else's lock now (as if ours had been judged stale and taken over).
    writeFileSync(file, `${deadPid()} 1\n`);
    release();
    expect(existsSync(file)).toBe(true);
  });
});
