import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type HistoryEvent, HistoryStore } from "../../src/history/store.js";
import { petgate } from "../support/cli.js";
import { historyEvent } from "../support/history.js";

/* `petgate history` on a history file petgate serve would keep (written here by its store). */

const dir = mkdtempSync(join(tmpdir(), "petgate-history-cli-"));
const file = join(dir, "history.sqlite");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function event(n: number, overrides: Partial<HistoryEvent> = {}): HistoryEvent {
  return historyEvent(`e${n}`, Date.parse("2026-12-07T10:00:00Z") + n * 60_000, {
    bmc: `bmc-${n}`,
    source: `192.0.2.${n}`,
    notification: `n${n}`,
    labels: { bmc: `bmc-${n}`, label_rack: n === 2 ? "r12" : "r1" },
    ...overrides,
  });
}

beforeAll(() => {
  const store = new HistoryStore(file);
  store.record(
    [event(1), event(2), event(3, { sensor: "PSU\u001b[2J\r\nforged line", severity: "non-critical" })],
    [{ notification: "n2", receiver: "ops", status: "delivered", outcome: "delivered", at: Date.now() }],
  );
  store.close();
});

it("prints one line per event, newest first, its delivery per receiver, control characters escaped", async () => {
  const r = await petgate(["history", "--file", file]);
  expect(r.code).toBe(0);
  expect(r.stdout.split("\n")).toEqual([
    "2026-12-07T10:03:00.000Z  bmc-3  non-critical  firing  PSU\\x1b[2J\\r\\nforged line: Upper Critical - going high  → ops: pending",
    "2026-12-07T10:02:00.000Z  bmc-2  critical  firing  CPU1 Temp: Upper Critical - going high  → ops: delivered",
    "2026-12-07T10:01:00.000Z  bmc-1  critical  firing  CPU1 Temp: Upper Critical - going high  → ops: pending",
    "",
  ]);
});

it("filters as the API does, pages with --cursor, and answers --json", async () => {
  const lines = async (...args: string[]) => (await petgate(["history", "--file", file, ...args])).stdout;
  expect(await lines("--label", "label_rack=r12")).toMatch(/^2026-12-07T10:02:00.000Z {2}bmc-2 /);
  expect(await lines("--severity", "critical", "--until", "2026-12-07T10:02:00Z")).toMatch(
    /^[^\n]*bmc-1 [^\n]*\n$/,
  );
  expect(await lines("forged")).toMatch(/bmc-3/);
  const first = await lines("--limit", "2");
  expect(first).toMatch(/\(more: --cursor (\d+)\)\n$/);
  const cursor = /--cursor (\d+)/.exec(first)?.[1] as string;
  expect(await lines("--limit", "2", "--cursor", cursor)).toMatch(/^[^\n]*bmc-1 [^\n]*\n$/);
  const json = JSON.parse(await lines("--json", "--bmc", "bmc-2")) as {
    events: HistoryEvent[];
    next: string | null;
  };
  expect(json.events.map((e) => e.id)).toEqual(["e2"]);
  expect(json.next).toBeNull();
});

it("finds the file through petgate.yml's history.path; a bad option or a missing file is one line", async () => {
  const config = join(dir, "petgate.yml");
  writeFileSync(config, `history: { path: "${file}" }\n`);
  expect((await petgate(["history", "--config", config, "--bmc", "bmc-1"])).stdout).toMatch(/bmc-1/);
  expect(await petgate(["history", "--file", file, "--since", "lately"])).toMatchObject({
    code: 2,
    stderr: 'petgate history: --since "lately": an ISO-8601 time or a duration ("24h")\n',
  });
  expect(await petgate(["history", "--file", join(dir, "none.sqlite")])).toMatchObject({
    code: 2,
    stderr: `petgate history: no history file at ${join(dir, "none.sqlite")} (give --file or --config)\n`,
  });
});
