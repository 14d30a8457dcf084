import { readFileSync, statSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { type SelConfig, selSchema } from "../../src/config/sel.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { clearSel, getSelInfo } from "../../src/ipmi/commands/storage.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { BmcPool } from "../../src/pipeline/bmc/bmc-pool.js";
import { SelHealth } from "../../src/pipeline/sel/health.js";
import { startSims, tableRows } from "../support/sim.js";
import { tempDir } from "../support/temp.js";

const CAPACITY = 8;
let sims: Awaited<ReturnType<typeof startSims>>;
let pool: BmcPool;
let target: BmcTarget;
let execute: Execute;
const ipmitool = (...args: string[]) => sims.ipmitool("17", ...args);

beforeAll(async () => {
  sims = await startSims({ selCapacity: CAPACITY });
  target = { ...sims.target, labels: { rack: "r1" } };
  pool = new BmcPool({ attemptTimeoutMs: 500, deadlineMs: 5000, keepAliveMs: 0 });
  execute = (command, request) => pool.get(target).execute(command, request);
});
afterAll(async () => {
  await pool.closeAll();
  await sims.fleet.stop();
});
afterEach(async () => {
  await ipmitool("sel", "clear");
});

/** A SelHealth whose notifications and log lines are kept. */
function selHealth(config: Partial<SelConfig> = {}, archiveDir = tempDir("petgate-sel-archive-")) {
  const notifications: Notification[] = [];
  const log: string[] = [];
  const health = new SelHealth({
    config: selSchema.parse({ full_percent: 50, ...config }),
    archiveDir,
    emit: (n) => notifications.push(n),
    log: (l) => log.push(l),
  });
  const observe = async (run: Execute = execute) =>
    health.observe(target, await execute(getSelInfo, undefined), run);
  return { health, notifications, log, observe, archiveDir };
}

async function logEvents(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await ipmitool("event", String((i % 3) + 1));
}

/** The SEL as ipmitool reads it: record IDs (sel list, hex) and 16 bytes each (sel writeraw). */
async function ipmitoolSel(): Promise<{ ids: number[]; raw: string[] }> {
  const ids = tableRows(await ipmitool("sel", "list")).map((r) => Number.parseInt(r[0] ?? "", 16));
  const file = join(tempDir("petgate-sel-raw-"), "sel.bin");
  await ipmitool("sel", "writeraw", file);
  const raw = readFileSync(file).toString("hex").match(/.{32}/g) ?? [];
  return { ids, raw };
}

const selEntries = async () => (await execute(getSelInfo, undefined)).entries;

describe("SelHealth against petgate sim", () => {
  it("fires SEL 50% full (non-critical) and SEL full (critical) as the SEL fills, resolves both after a clear; a restarted SelHealth sends the same ids", async () => {
    const { health, notifications, observe } = selHealth();
    await logEvents(3);
    await observe();
    expect(notifications).toEqual([]);
    expect(health.state("bmc-1")).toEqual({ entries: 3, freeBytes: 80, percent: 37, overflow: false });

    await logEvents(1);
    await observe();
    expect(notifications.map((n) => [n.status, n.severity, n.summary])).toEqual([
      ["firing", "non-critical", "bmc-1: SEL 50% full"],
    ]);
    expect(notifications[0]).toMatchObject({
      origin: "health",
      bmc: { name: "bmc-1", labels: { rack: "r1" } },
      event: { sensorType: "Event Logging Disabled", text: "SEL Almost Full", direction: "assertion" },
    });
    expect(notifications[0]?.detail).toMatch(/^SEL 50% full: 4 records, 64 bytes free; save and clear it/);

    // Full, and one event more: dropped, the overflow flag set.
    await logEvents(CAPACITY - 4 + 1);
    await observe();
    expect(notifications.slice(1).map((n) => [n.status, n.severity, n.summary])).toEqual([
      ["firing", "critical", "bmc-1: SEL full: events are being lost"],
    ]);
    expect(notifications[1]?.detail).toMatch(/overflow flag set/);
    expect(health.state("bmc-1")).toEqual({ entries: CAPACITY, freeBytes: 0, percent: 100, overflow: true });

    // Observed again: nothing new. A new process finding the same filling gives the same ids.
    await observe();
    expect(notifications).toHaveLength(2);
    const restarted = selHealth();
    await restarted.observe();
    expect(restarted.notifications.map((n) => n.id)).toEqual(notifications.map((n) => n.id).reverse());

    await ipmitool("sel", "clear");
    await observe();
    const resolved = notifications.slice(2);
    expect(resolved.map((n) => [n.status, n.summary, n.event.direction])).toEqual([
      ["resolved", "bmc-1: SEL full: events are being lost", "deassertion"],
      ["resolved", "bmc-1: SEL 50% full", "deassertion"],
    ]);
    expect(resolved[0]?.startsAt).toBe(notifications[1]?.startsAt);
    expect(new Set(notifications.map((n) => n.id)).size).toBe(4);
    expect(health.state("bmc-1")).toMatchObject({ entries: 0, percent: 0, overflow: false });
  });

  it("archive_and_clear: archives every record ipmitool shows, verified, then clears; no alert", async () => {
    const { health, notifications, log, observe, archiveDir } = selHealth({ archive_and_clear: true });
    await logEvents(5);
    const before = await ipmitoolSel();
    expect(before.ids).toHaveLength(5);

    expect(await observe()).toBe("cleared");
    expect(await selEntries()).toBe(0);
    expect(notifications).toEqual([]);
    const state = health.state("bmc-1");
    expect(state).toMatchObject({ entries: 0, archives: { cleared: 1, reservation_lost: 0, failed: 0 } });
    const file = state?.lastArchive?.file ?? "";
    expect(file.startsWith(join(archiveDir, "bmc-1"))).toBe(true);
    expect(file).toMatch(/\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.ndjson$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(archiveDir, "bmc-1")).mode & 0o777).toBe(0o700);
    expect(log).toEqual([`sel: bmc-1: 5 record(s) archived to ${file}, SEL cleared`]);

    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.recordId)).toEqual(before.ids);
    expect(lines.map((l) => l.raw)).toEqual(before.raw);
    expect(lines[0].record).toMatchObject({ kind: "system", sensorType: 0x01, sensorNumber: 0x30 });
  });

  it("a record logged while archiving cancels the reservation: the SEL is not cleared, and is at the next sweep", async () => {
    const { health, notifications, log, observe } = selHealth({ archive_and_clear: true });
    await logEvents(4);
    // Between the archive and Clear SEL the BMC logs an event, as it may at any time.
    const racing: Execute = async (command, request) => {
      if (command === clearSel) await ipmitool("event", "1");
      return execute(command, request);
    };
    expect(await observe(racing)).toBe("kept");
    expect(await selEntries()).toBe(5);
    expect(health.state("bmc-1")?.lastArchive).toMatchObject({ result: "reservation_lost", records: 4 });
    expect(log.at(-1)).toMatch(/SEL not cleared \(reservation_lost\): .*reservation canceled, C5h/);
    expect(notifications.map((n) => n.summary)).toEqual(["bmc-1: SEL 50% full"]);
    expect(notifications[0]?.detail).toMatch(/archive and clear: .*C5h/);

    expect(await observe()).toBe("cleared");
    expect(await selEntries()).toBe(0);
    expect(health.state("bmc-1")?.archives).toEqual({ cleared: 1, reservation_lost: 1, failed: 0 });
    expect(notifications.map((n) => n.status)).toEqual(["firing", "resolved"]);
  });

  it("records added since the sweep read the SEL are not cleared before reconciliation reads them", async () => {
    const { health, observe } = selHealth({ archive_and_clear: true });
    await logEvents(4);
    const seen = await execute(getSelInfo, undefined);
    await ipmitool("event", "2");
    expect(await health.observe(target, seen, execute)).toBe("kept");
    expect(await selEntries()).toBe(5);
    expect(health.state("bmc-1")?.lastArchive?.reason).toMatch(/changed since the sweep read it/);
    expect(await observe()).toBe("cleared");
  });

  it("an archive dir that cannot be written leaves the SEL as it was and says why", async () => {
    const blocker = join(tempDir("petgate-sel-archive-"), "a-file");
    writeFileSync(blocker, "");
    const { health, notifications, log, observe } = selHealth(
      { archive_and_clear: true },
      join(blocker, "archive"),
    );
    await logEvents(4);
    const before = await ipmitoolSel();

    expect(await observe()).toBe("kept");
    expect(await ipmitoolSel()).toEqual(before);
    expect(health.state("bmc-1")?.lastArchive).toMatchObject({ result: "failed", records: 4 });
    expect(log.at(-1)).toMatch(/SEL not cleared \(failed\): ENOTDIR/);
    expect(notifications[0]?.detail).toMatch(/archive and clear: ENOTDIR/);
    await expect(readdir(join(blocker, ".."))).resolves.toEqual(["a-file"]);
  });
});
