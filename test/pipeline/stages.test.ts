import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { eventsPath, pathParts } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { deliverQueue } from "../../src/pipeline/notify/deliver.js";
import { type Item, runStages, Sequencer, type Stage } from "../../src/pipeline/stage.js";
import { assertedPetFrom, startRedis, type TestRedis } from "../support/redis.js";
import { commandsDuring } from "../support/redis-monitor.js";

/*
 * The events path as stages over a batch (events-worker.ts eventsPath), on a real Redis: what each
 * stage stops goes no further, and a batch costs the same Redis commands whatever its size.
 */

let redis: TestRedis;
let client: Redis;
let worker: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.socket);
  worker = new Redis(redis.socket, { maxRetriesPerRequest: null });
  await Promise.all([client.ping(), worker.ping()]);
});
afterAll(async () => {
  client?.disconnect();
  worker?.disconnect();
  await redis?.dispose();
});

/** The events path of `routes` on the worker connection, under `prefix`; run() takes a batch of traps. */
function startPath(prefix: string, routes: Record<string, unknown>) {
  const config = configSchema.parse({
    routes: { receiver: "ops", ...routes },
    receivers: [{ name: "ops", webhook: { url: "http://127.0.0.1:9/unused" } }],
    storm: { fleet: { limit: 1_000 } }, // every event of these batches admitted
  });
  const deliver = deliverQueue(worker, prefix);
  const parts = pathParts({ config, prefix, inventory: [], log: () => undefined }, worker, deliver);
  const path = eventsPath(parts);
  let batches = 0;
  return {
    parts,
    deliver,
    ...path,
    async run(traps: ReturnType<typeof assertedPetFrom>[]): Promise<Item[]> {
      const items: Item[] = traps.map((trap) => ({ event: { id: eventId(trap), trap } }));
      const context = { batchId: `batch-${++batches}` };
      await runStages([...path.overlapping, ...path.inOrder, ...path.after], items, context);
      return items;
    },
    async close() {
      await deliver.close();
      await parts.pool.closeAll();
    },
  };
}

/** `n` assertions, each its own alert (its own GUID) from its own address 192.0.2.<first + i>. */
function traps(first: number, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const k = first + i;
    return assertedPetFrom(
      `10.${k >> 8}.${k & 255}.1`,
      `00000000-0000-0000-0000-${k.toString(16).padStart(12, "0")}`,
      k,
    );
  });
}

describe("the events path", () => {
  it("a silenced event of a batch never reaches the grouper, while the others of the batch do", async () => {
    const path = startPath("stages-silence", { group_by: ["..."], group_wait: "30s" });
    try {
      const now = Date.now();
      await path.parts.silences.add(
        { matchers: ['bmc="10.0.2.1"'], endsAt: now + 3_600_000, createdBy: "test", comment: "maintenance" },
        now,
      );
      const items = await path.run(traps(1, 3));
      expect(items.map((i) => [i.event?.trap.source.address, i.outcome])).toEqual([
        ["10.0.1.1", "sent"],
        ["10.0.2.1", "silenced"],
        ["10.0.3.1", "sent"],
      ]);
      expect(path.parts.dispatcher.grouper.size).toBe(2);
      const grouped = path.parts.dispatcher.grouper.due(Number.MAX_SAFE_INTEGER);
      expect(grouped.flatMap((b) => b.notifications.map((n) => n.bmc.name)).sort()).toEqual([
        "10.0.1.1",
        "10.0.3.1",
      ]);
      // Held in the outbox while their groups wait: only the two that reached route/group.
      expect(await client.zcard("stages-silence:outbox")).toBe(2);
    } finally {
      await path.close();
    }
  });

  for (const [timing, routes] of [
    ["due at once", { group_by: ["..."], group_wait: "0s" }],
    ["waiting in the outbox", { group_by: ["..."], group_wait: "30s" }],
  ] as const)
    it(`a batch costs the same Redis commands for 5 events as for 100 (groups ${timing})`, async () => {
      const prefix = `stages-count-${routes.group_wait}`;
      const path = startPath(prefix, routes);
      try {
        await path.run(traps(1000, 2)); // scripts loaded, queue set up
        const sent = (commands: string[][]) => commands.map(([c]) => c?.toLowerCase()).join(" ");
        const few = await commandsDuring(client, () => path.run(traps(2000, 5)), { scripts: false });
        const many = await commandsDuring(client, () => path.run(traps(3000, 100)), { scripts: false });
        expect(sent(many)).toBe(sent(few));
        // claim, alert state (HMGET, compare-and-set), silences, outbox hold or DELIVER add.
        expect(few.length).toBeLessThanOrEqual(8);
        const stats = path.parts.dispatcher.counts;
        if (routes.group_wait === "0s") expect(stats.deliveries).toBe(107);
        else expect(await client.zcard(`${prefix}:outbox`)).toBe(107);
      } finally {
        await path.close();
      }
    });
});

describe("the enqueue stage", () => {
  it("a batch whose groups another flush took ends only after that flush has put them on the DELIVER queue", async () => {
    const path = startPath("stages-enqueue", { group_by: ["..."], group_wait: "0s" });
    const items = traps(6000, 3).map((trap): Item => ({ event: { id: eventId(trap), trap } }));
    const context = { batchId: "enqueue" };
    try {
      await runStages([...path.overlapping, ...path.inOrder], items, context);
      // Writes held: a tick's flush takes the batch's groups and waits to add their DELIVER job.
      await client.call("CLIENT", "PAUSE", "30000", "WRITE");
      const tick = path.parts.dispatcher.flush(Date.now());
      await client.ping(); // the tick's flush has taken the groups: none is due any more
      expect(path.parts.dispatcher.due(Date.now())).toBe(false);
      // What is on the DELIVER queue when the batch ends (read on a connection no write holds up).
      const batch = runStages(path.after, items, context).then(() =>
        client.llen("stages-enqueue:deliver:wait"),
      );
      await client.ping();
      await client.call("CLIENT", "UNPAUSE");
      await tick;
      expect(await batch).toBe(1);
    } finally {
      await client.call("CLIENT", "UNPAUSE");
      await path.close();
    }
  });
});

describe("Sequencer", () => {
  /** A promise and its resolve. */
  function gate() {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, opened };
  }
  /** Items named by their `receivers`, for the order they are seen in. */
  const named = (...names: string[]): Item[] => names.map((name) => ({ receivers: [name] }));
  const nameOf = (item: Item) => item.receivers?.[0] ?? "?";
  /** A stage that records each run's items (and waits for `hold`, when given, in its first run). */
  function recording(runs: string[][], hold?: Promise<void>) {
    let first = true;
    const stage: Stage = {
      name: "recording",
      async exec(items) {
        runs.push(items.map(nameOf));
        if (first && hold) {
          first = false;
          await hold;
        }
        return items;
      },
    };
    return [stage];
  }
  const context = (batchId: string) => ({ batchId });

  it("runs the in-order parts in the order of the calls, whichever overlapping part ends first", async () => {
    const sequencer = new Sequencer();
    const runs: string[][] = [];
    const order: string[] = [];
    const stages = recording(runs);
    const slow = gate();
    const first = sequencer.run(
      async () => {
        await slow.opened;
        return named("first");
      },
      stages,
      context("1"),
    );
    const second = sequencer.run(
      async () => {
        order.push("second enriched");
        return named("second");
      },
      stages,
      context("2"),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["second enriched"]); // overlapping parts overlap; the in-order part waits
    expect(runs).toEqual([]);
    slow.open();
    expect((await first).map(nameOf)).toEqual(["first"]);
    expect((await second).map(nameOf)).toEqual(["second"]);
    // Both ready when the first could run: one run, in the order of the calls.
    expect(runs).toEqual([["first", "second"]]);
  });

  it("runs as one the calls that became ready while a run was in flight, and only calls of the same stages", async () => {
    const sequencer = new Sequencer();
    const runs: string[][] = [];
    const held = gate();
    const stages = recording(runs, held.opened);
    const other = recording(runs);
    const first = sequencer.run(async () => named("b1"), stages, context("1"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([["b1"]]); // in flight, held
    const later = [
      sequencer.run(async () => named("b2", "b2'"), stages, context("2")),
      sequencer.run(async () => named("b3"), stages, context("3")),
      sequencer.run(async () => named("notification"), other, context("")),
      sequencer.run(async () => named("b4"), stages, context("4")),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    held.open();
    await Promise.all([first, ...later]);
    expect(runs).toEqual([["b1"], ["b2", "b2'", "b3"], ["notification"], ["b4"]]);
    // Each call gets back its own items.
    expect((await later[0])?.map(nameOf)).toEqual(["b2", "b2'"]);
  });

  it("a call that fails does not hold up the later ones, nor let them overtake an earlier one", async () => {
    const sequencer = new Sequencer();
    const runs: string[][] = [];
    const stages = recording(runs);
    const slow = gate();
    const first = sequencer.run(
      async () => {
        await slow.opened;
        return named("first");
      },
      stages,
      context("1"),
    );
    const failing = sequencer.run(
      async () => {
        throw new Error("enrichment failed");
      },
      stages,
      context("2"),
    );
    const third = sequencer.run(async () => named("third"), stages, context("3"));
    await expect(failing).rejects.toThrow("enrichment failed");
    expect(runs).toEqual([]);
    slow.open();
    await Promise.all([first, third]);
    expect(runs).toEqual([["first"], ["third"]]);
  });

  it("a merged run that fails fails each of its calls, and the next calls still run", async () => {
    const sequencer = new Sequencer();
    const runs: string[][] = [];
    const slow = gate();
    let fail = true;
    const stages: Stage[] = [
      {
        name: "fails once",
        async exec(items) {
          runs.push(items.map(nameOf));
          if (fail) {
            fail = false;
            throw new Error("Redis gone");
          }
          return items;
        },
      },
    ];
    const first = sequencer.run(
      async () => {
        await slow.opened;
        return named("a");
      },
      stages,
      context("1"),
    );
    const second = sequencer.run(async () => named("b"), stages, context("2"));
    slow.open();
    await expect(first).rejects.toThrow("Redis gone");
    await expect(second).rejects.toThrow("Redis gone");
    expect((await sequencer.run(async () => named("c"), stages, context("3"))).map(nameOf)).toEqual(["c"]);
    expect(runs).toEqual([["a", "b"], ["c"]]);
  });
});
