import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { Spool } from "../../src/pipeline/intake/spool.js";
import { petTrap } from "../support/redis.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "petgate-spool-"));
  file = join(dir, "spool.ndjson");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function events(from: number, count: number): QueuedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const trap = petTrap(from + i);
    return { id: eventId(trap), trap };
  });
}

const ids = (es: readonly QueuedEvent[]) => es.map((e) => e.id);

describe("Spool", () => {
  it("appends NDJSON, replays it in batches and is empty afterwards", async () => {
    const spool = await Spool.open(file);
    const sent = [...events(0, 7), ...events(100, 5)];
    await spool.append(sent.slice(0, 7));
    await spool.append(sent.slice(7));
    expect(readFileSync(file, "utf8").trimEnd().split("\n")).toHaveLength(12);
    expect(spool.isEmpty()).toBe(false);

    const batches: QueuedEvent[][] = [];
    const result = await spool.replay(async (b) => {
      batches.push(b);
    }, 5);
    expect(batches.map((b) => b.length)).toEqual([5, 5, 2]);
    expect(ids(batches.flat())).toEqual(ids(sent));
    expect(batches[0]?.[0]).toEqual(sent[0]);
    expect(result).toEqual({ replayed: 12, skippedLines: 0 });
    expect(spool.isEmpty()).toBe(true);
    expect(spool.stats()).toMatchObject({ appended: 12, appendedBatches: 2, replayed: 12, pendingBytes: 0 });
    expect(statSync(file).size).toBe(0);
    expect(existsSync(`${file}.replaying`)).toBe(false);

    let again = 0;
    await spool.replay(async (b) => {
      again += b.length;
    });
    expect(again).toBe(0);
    await spool.close();
  });

  it("keeps what consume failed on, and resumes after the last consumed batch (also in a new process)", async () => {
    const sent = events(0, 10);
    const first = await Spool.open(file);
    await first.append(sent);
    const got: QueuedEvent[] = [];
    let calls = 0;
    await expect(
      first.replay(async (b) => {
        if (++calls === 2) throw new Error("redis down");
        got.push(...b);
      }, 4),
    ).rejects.toThrow("redis down");
    expect(ids(got)).toEqual(ids(sent.slice(0, 4)));
    expect(first.isEmpty()).toBe(false);
    await first.close();

    // A new process: picks up the interrupted replay where the last consumed batch ended.
    const second = await Spool.open(file);
    expect(second.isEmpty()).toBe(false);
    const rest: QueuedEvent[] = [];
    await second.replay(async (b) => {
      rest.push(...b);
    }, 4);
    expect(ids(rest)).toEqual(ids(sent.slice(4)));
    expect(second.isEmpty()).toBe(true);
    await second.close();
  });

  it("keeps events appended while a replay is running", async () => {
    const spool = await Spool.open(file);
    const before = events(0, 6);
    const during = events(50, 3);
    await spool.append(before);
    const got: QueuedEvent[] = [];
    let appended = false;
    await spool.replay(async (b) => {
      got.push(...b);
      if (!appended) {
        appended = true;
        await spool.append(during);
      }
    }, 2);
    expect(ids(got).sort()).toEqual(ids([...before, ...during]).sort());
    expect(spool.isEmpty()).toBe(true);
    await spool.close();
  });

  it("skips and counts a line torn by a crash mid-write, and keeps later appends whole", async () => {
    const sent = events(0, 3);
    writeFileSync(file, sent.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const torn = JSON.stringify(events(10, 1)[0]).slice(0, 57);
    appendFileSync(file, torn);

    const spool = await Spool.open(file);
    const later = events(20, 2);
    await spool.append(later);
    const got: QueuedEvent[] = [];
    const result = await spool.replay(async (b) => {
      got.push(...b);
    });
    expect(ids(got)).toEqual(ids([...sent, ...later]));
    expect(result).toEqual({ replayed: 5, skippedLines: 1 });
    expect(spool.stats().skippedLines).toBe(1);
    expect(spool.isEmpty()).toBe(true);
    await spool.close();
  });

  it("keeps its files for their owner only (0600), whatever the umask, and narrows a wider one", async () => {
    const mode = (path: string) => statSync(path).mode & 0o777;
    const umask = process.umask(0);
    try {
      const spool = await Spool.open(file);
      expect(mode(file)).toBe(0o600);
      await spool.append(events(0, 3));
      // A replay moves the spool aside, records its progress and starts a new spool.
      let calls = 0;
      await spool.replay(async () => {
        expect(mode(`${file}.replaying`)).toBe(0o600);
        calls++;
        if (calls === 1) {
          await spool.append(events(10, 1));
          expect(mode(file)).toBe(0o600);
        }
        // Written after each consumed batch.
        if (calls === 2) expect(mode(`${file}.replaying.offset`)).toBe(0o600);
      }, 1);
      expect(calls).toBe(4);
      expect(mode(file)).toBe(0o600);
      await spool.close();
    } finally {
      process.umask(umask);
    }
    chmodSync(file, 0o644); // as an older petgate left it
    await (await Spool.open(file)).close();
    expect(mode(file)).toBe(0o600);
  });
});
