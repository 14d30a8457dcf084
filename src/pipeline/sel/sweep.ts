import { hash } from "node:crypto";
import type { BmcTarget } from "../../config/inventory.js";
import { eachAtMost } from "../../io/each.js";
import { IpmiClosedError, IpmiTimeoutError } from "../../ipmi/client/errors.js";
import type { Execute } from "../../ipmi/commands/command.js";
import type { GetSelInfoResponse } from "../../ipmi/commands/storage.js";
import type { BmcPool } from "../bmc/bmc-pool.js";
import type { CircuitBreaker } from "../bmc/breaker.js";
import { INGEST_JOB, type IngestQueue, type RedisConnection } from "../queues.js";
import { petOf, petsSeenKey } from "./pets-seen.js";
import { readNewRecords } from "./read.js";
import { alertSeverity, decodeSystemRecord, type SelAlerting, selEvent } from "./record-event.js";
import { type PendingRecord, readProgress, type SelState, writeProgress } from "./store.js";

/** What SEL health (sel/health.ts) is told after each Get SEL Info (i16 contract). */
export interface SelObserver {
  observe(target: BmcTarget, info: GetSelInfoResponse, execute: Execute): Promise<"kept" | "cleared">;
  state(name: string): object | undefined;
}

export interface SelSweeperOptions {
  inventory: readonly BmcTarget[];
  pool: BmcPool;
  /** Skips BMCs whose circuit is open, and hears of timeouts and answers as enrichment's reads. */
  breaker?: CircuitBreaker;
  /** A connection whose commands wait through an outage (createRedis "worker"). */
  redis: RedisConnection;
  prefix: string;
  /** Where the events of records whose PET never arrived go: the INGEST queue, as a listener's batch. */
  ingest: IngestQueue;
  alerting: SelAlerting;
  /** Time between the end of one sweep of the fleet and the start of the next. */
  intervalMs: number;
  /** How long after a record is read its PET may still arrive. */
  petGraceMs: number;
  /** Deadline of each IPMI command (queueing in the pool included). */
  deadlineMs: number;
  /** BMCs swept at once; default 64. */
  concurrency?: number;
  observer?: SelObserver;
  log: (line: string) => void;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

/**
 * SEL reconciliation of the inventory (FreeIPMI ipmiseld's job, for the fleet): every BMC's SEL read
 * for what it logged since the last sweep (read.ts), every `intervalMs` and at once on start and
 * when a BMC recovers (sweep). A new system event record that should have sent a PET
 * (record-event.ts alertSeverity) waits `petGraceMs` for it; unless a PET the events worker saw
 * (pets-seen.ts) is its PET by then, it goes into the INGEST queue as an event of its own (the PET
 * the BMC should have sent, marked as from the SEL), and through the whole events path from there.
 *
 * Each BMC is swept by one sweep at a time (a second request joins the running one, or runs once
 * after it when it asked for a read the running one had passed), through the pool's bounded client.
 */
export class SelSweeper {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly rechecks = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  /** Bumped by start and stop, so a round of an earlier start never schedules another. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: SelSweeperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Sweeps every BMC now, then every `intervalMs` after the previous round ends. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.round(++this.generation);
  }

  /** Stops the rounds and rechecks; resolves when running sweeps have ended. */
  async stop(): Promise<void> {
    this.started = false;
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Every inventory BMC, `concurrency` at a time. */
  async sweepAll(): Promise<void> {
    await eachAtMost(this.options.inventory, this.options.concurrency ?? 64, (t) => this.sweep(t));
  }

  /**
   * One BMC: its SEL read from the cursor, then its pending records decided. One already running is
   * joined when it has not read yet; else this one runs after it (a recovery must read again).
   */
  sweep(target: BmcTarget, read = true): Promise<void> {
    const running = this.running.get(target.name);
    if (running) {
      if (read) this.again.add(target.name);
      return running;
    }
    const sweep = this.run(target, read)
      .catch((err: unknown) => this.options.log(`sel: ${target.name}: not read: ${(err as Error).message}`))
      .finally(() => {
        this.running.delete(target.name);
        if (this.again.delete(target.name) && this.started) void this.sweep(target);
      });
    this.running.set(target.name, sweep);
    return sweep;
  }

  private async round(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    await this.sweepAll();
    if (generation === this.generation)
      this.timer = setTimeout(() => void this.round(generation), this.options.intervalMs).unref();
  }

  private async run(target: BmcTarget, read: boolean): Promise<void> {
    const { redis, prefix, breaker } = this.options;
    if (read && breaker && !breaker.allow(target.name)) return;
    const { progress, state } = await readProgress(redis, prefix, target.name);
    let cursor = progress?.cursor;
    let pending = progress?.pending ?? [];
    const now = this.now();
    let readAt: string | undefined;
    if (read) {
      const execute = this.execute(target);
      const result = await this.bounded(target, () => readNewRecords(execute, cursor));
      if (result === undefined) return;
      readAt = new Date(now).toISOString();
      cursor = result.cursor;
      if (result.firstContact)
        this.options.log(
          `sel: ${target.name}: first read; ${result.info.entries} record(s) before now are not alerted`,
        );
      for (const entry of result.records) {
        const severity = entry.record && alertSeverity(entry.record, this.options.alerting);
        if (severity === undefined) continue;
        const record = entry.bytes.toString("hex");
        if (pending.some((p) => p.record === record)) continue;
        pending.push({
          recordId: entry.recordId,
          record,
          severity,
          readAt: now,
          dueAt: now + this.options.petGraceMs,
        });
      }
      // A read cut at its bound leaves records unread: an archive-and-clear now would clear them
      // before reconciliation saw them, so SEL health waits for the read that completes.
      if (!result.cursor.partial)
        await this.bounded(
          target,
          () => this.options.observer?.observe(target, result.info, execute) ?? "kept",
        );
    }
    const missed = await this.decide(target, pending, now);
    pending = pending.filter((p) => !missed.decided.has(p));
    const next: SelState = {
      ...state,
      petsMissed: state.petsMissed + missed.alerted,
      ...(cursor?.recordId !== undefined && { lastRecordId: cursor.recordId }),
      ...(readAt !== undefined && { lastReadAt: readAt }),
      ...this.options.observer?.state(target.name),
    };
    if (cursor) await writeProgress(redis, prefix, target.name, { cursor, pending }, next);
    this.scheduleRecheck(target, pending);
  }

  /**
   * The pending records whose PET arrived (consumed from the PETs seen) and those past their grace
   * without one (queued as events); the others wait.
   */
  private async decide(
    target: BmcTarget,
    pending: readonly PendingRecord[],
    now: number,
  ): Promise<{ decided: Set<PendingRecord>; alerted: number }> {
    const decided = new Set<PendingRecord>();
    if (pending.length === 0) return { decided, alerted: 0 };
    const { redis, prefix } = this.options;
    const key = petsSeenKey(prefix, target.name);
    const members = await redis.zrange(key, 0, -1);
    const consumed: string[] = [];
    const late: PendingRecord[] = [];
    for (const p of pending) {
      const pet = petOf(
        members.filter((m) => !consumed.includes(m)),
        decodeSystemRecord(p.record),
      );
      if (pet !== undefined) {
        consumed.push(pet);
        decided.add(p);
      } else if (p.dueAt <= now) late.push(p);
    }
    if (consumed.length > 0) await redis.zrem(key, ...consumed);
    if (late.length > 0) {
      const guid = this.guidOf(target.name);
      const events = late.map((p) => selEvent(target, p, guid, new Date(now)));
      // A deterministic job ID: the same records queued again (a crash before the cursor was saved) are one job.
      const jobId = `sel-${hash("sha256", events.map((e) => e.id).join(",")).slice(0, 32)}`;
      await this.options.ingest.add(INGEST_JOB, { events }, { jobId });
      for (const p of late) {
        decided.add(p);
        this.options.log(
          `sel: ${target.name}: SEL record ID ${p.recordId}: PET not received in time; alerted from the SEL`,
        );
      }
    }
    return { decided, alerted: late.length };
  }

  private scheduleRecheck(target: BmcTarget, pending: readonly PendingRecord[]): void {
    clearTimeout(this.rechecks.get(target.name));
    this.rechecks.delete(target.name);
    if (!this.started || pending.length === 0) return;
    const due = Math.min(...pending.map((p) => p.dueAt));
    const timer = setTimeout(
      () => {
        this.rechecks.delete(target.name);
        void this.sweep(target, false);
      },
      Math.max(0, due - this.now()),
    );
    this.rechecks.set(target.name, timer.unref());
  }

  private execute(target: BmcTarget): Execute {
    const client = this.options.pool.get(target);
    const options = { deadlineMs: this.options.deadlineMs };
    return (command, request) => client.execute(command, request, options);
  }

  /** Runs IPMI work; a timeout tells the breaker and ends the sweep (undefined), an answer closes it. */
  private async bounded<T>(target: BmcTarget, work: () => Promise<T> | T): Promise<T | undefined> {
    const breaker = this.options.breaker;
    try {
      const result = await work();
      breaker?.success(target.name);
      return result;
    } catch (err) {
      if (err instanceof IpmiClosedError) return undefined;
      if (err instanceof IpmiTimeoutError) breaker?.failure(target.name, err.message);
      throw err;
    }
  }

  /** The system GUID the pool learned for BMC `name`, for the PET of a record (16 bytes, as the PET carries it). */
  private guidOf(name: string): Buffer | undefined {
    for (const [guid, bmc] of this.options.pool.guids) if (bmc === name) return Buffer.from(guid, "hex");
    return undefined;
  }
}
