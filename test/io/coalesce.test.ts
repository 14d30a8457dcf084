import { describe, expect, it } from "vitest";
import { TurnCoalescer } from "../../src/io/coalesce.js";

describe("TurnCoalescer", () => {
  it("what is added in one event-loop turn is written in one call; a later turn writes again", async () => {
    const writes: number[][] = [];
    const c = new TurnCoalescer<number>(async (items) => {
      writes.push(items);
    });
    await Promise.all([c.add(1), c.add(2), c.add(3)]);
    expect(writes).toEqual([[1, 2, 3]]);
    await c.add(4);
    expect(writes).toEqual([[1, 2, 3], [4]]);
  });

  it("items added while a write is in flight go in the next one; each add settles with its own write", async () => {
    const writes: number[][] = [];
    let release: () => void = () => undefined;
    const c = new TurnCoalescer<number>((items) => {
      writes.push(items);
      return items[0] === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    let firstDone = false;
    const first = c.add(1).then(() => (firstDone = true));
    await new Promise((r) => setImmediate(r));
    await c.add(2); // written and settled while the first write still waits
    expect(writes).toEqual([[1], [2]]);
    expect(firstDone).toBe(false);
    release();
    await first;
    expect(firstDone).toBe(true);
  });

  it("a failed write rejects every add of its batch with the error, and the next batch is written", async () => {
    let fail = true;
    const c = new TurnCoalescer<string>(async () => {
      if (fail) throw new Error("READONLY You can't write against a read only replica.");
    });
    const results = await Promise.allSettled([c.add("a"), c.add("b")]);
    expect(results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"))).toEqual([
      "READONLY You can't write against a read only replica.",
      "READONLY You can't write against a read only replica.",
    ]);
    fail = false;
    await expect(c.add("c")).resolves.toBeUndefined();
  });
});
