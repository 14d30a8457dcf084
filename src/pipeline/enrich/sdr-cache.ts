import { IpmiTimeoutError } from "../../ipmi/client/errors.js";
import type { Execute, IpmiCommand } from "../../ipmi/commands/command.js";
import { getSensorThresholds, type SensorThresholds } from "../../ipmi/commands/sensor-event.js";
import { getSdrRepositoryInfo } from "../../ipmi/commands/storage.js";
import { readSdrRepository } from "../../ipmi/sdr/read.js";
import type { SdrRecord } from "../../ipmi/sdr/records.js";

/** What SdrCache needs of a BMC connection: IpmiClient fits. */
export interface DeadlineExecutor {
  readonly name: string;
  execute<Req, Res>(
    command: IpmiCommand<Req, Res>,
    request: Req,
    options: { deadlineMs?: number },
  ): Promise<Res>;
}

/**
 * An Execute whose every call ends by `deadline` (epoch ms): each call is given what is left, and
 * a call asked for after the deadline is refused with an IpmiTimeoutError without reaching the BMC.
 */
export function executeUntil(
  client: DeadlineExecutor,
  deadline: number,
  what = "the deadline",
  maxCallMs = Number.POSITIVE_INFINITY,
): Execute {
  return (command, request) => {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new IpmiTimeoutError(client.name, `${command.name} (${what})`, 0));
    return client.execute(command, request, { deadlineMs: Math.min(left, maxCallMs) });
  };
}

export interface SdrCacheOptions {
  /**
   * Budget of one whole repository read, which may outlive the event that started it (a cold read on
   * a slow BMC takes longer than one event's deadline); default 30 s. One read per BMC at a time.
   */
  readBudgetMs?: number;
  /** Deadline of each call of such a read, so a BMC that wedges mid-read frees its slot; default 5 s. */
  callTimeoutMs?: number;
  /**
   * How long what a BMC said about its configuration is taken as current: Get SDR Repository Info is
   * sent at most once in this time per BMC, and a sensor's thresholds (Get Sensor Thresholds) are
   * read again only after it; default 10 s. 0: every batch asks.
   */
  recheckMs?: number;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

export interface SdrCacheStats {
  /** Repository unchanged since it was read: nothing but Get SDR Repository Info was sent. */
  hits: number;
  /** Repository (re)read. */
  misses: number;
  /** Waited for a read another event had started. */
  shared: number;
  bmcs: number;
}

interface Entry {
  /** Most recent addition, most recent erase and record count as Get SDR Repository Info gave them. */
  version: string;
  records: SdrRecord[];
  /** When Get SDR Repository Info last confirmed `version`. */
  checkedAt: number;
  /** Thresholds read from sensors of this version, by sensor number, with when they were read. */
  thresholds: Map<number, { value: SensorThresholds; at: number }>;
}

/**
 * The SDR repositories of the BMCs, each kept until the BMC says it changed (IPMI 2.0 §33.9: the
 * most-recent-addition and most-recent-erase timestamps of Get SDR Repository Info, plus the record
 * count for BMCs that leave the timestamps unspecified).
 */
export class SdrCache {
  private readonly entries = new Map<string, Entry>();
  private readonly reading = new Map<string, { version: string; promise: Promise<SdrRecord[]> }>();
  private readonly counters = { hits: 0, misses: 0, shared: 0 };
  private readonly readBudgetMs: number;
  private readonly callTimeoutMs: number;
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(options: SdrCacheOptions = {}) {
    this.readBudgetMs = options.readBudgetMs ?? 30_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.recheckMs = options.recheckMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * The repository of BMC `key`: the cached records if Get SDR Repository Info confirmed them within
   * `recheckMs`; else one such request within `deadline`, then the cached records if they are still
   * current, else a fresh read (shared with concurrent callers).
   */
  async records(key: string, client: DeadlineExecutor, deadline: number): Promise<SdrRecord[]> {
    const known = this.entries.get(key);
    if (known && this.now() - known.checkedAt < this.recheckMs) {
      this.counters.hits++;
      return known.records;
    }
    const info = await executeUntil(client, deadline, "the event deadline")(getSdrRepositoryInfo, undefined);
    const version = [info.mostRecentAddition, info.mostRecentErase, info.recordCount].join("|");
    const cached = this.entries.get(key);
    if (cached?.version === version) {
      this.counters.hits++;
      cached.checkedAt = this.now();
      return cached.records;
    }
    const pending = this.reading.get(key);
    if (pending?.version === version) {
      this.counters.shared++;
      return pending.promise;
    }
    this.counters.misses++;
    const budget = executeUntil(
      client,
      Date.now() + this.readBudgetMs,
      "the SDR read budget",
      this.callTimeoutMs,
    );
    const checkedAt = this.now();
    const promise = readSdrRepository(budget).then((records) => {
      this.entries.set(key, { version, records, checkedAt, thresholds: new Map() });
      return records;
    });
    const entry = { version, promise };
    this.reading.set(key, entry);
    const forget = () => {
      if (this.reading.get(key) === entry) this.reading.delete(key);
    };
    promise.then(forget, forget);
    return promise;
  }

  /**
   * `execute` for BMC `key` with its sensors' thresholds remembered for `recheckMs`, as long as its
   * repository is the one cached (thresholds are configuration: ipmitool's `sensor thresh` sets them).
   * Every other command goes through.
   */
  withThresholds(key: string, execute: Execute): Execute {
    return (command, request) => {
      const entry = this.entries.get(key);
      if (command !== getSensorThresholds || !entry) return execute(command, request);
      const { sensorNumber } = request as { sensorNumber: number };
      const kept = entry.thresholds.get(sensorNumber);
      if (kept && this.now() - kept.at < this.recheckMs) return Promise.resolve(kept.value as never);
      const at = this.now();
      return execute(command, request).then((value) => {
        entry.thresholds.set(sensorNumber, { value: value as SensorThresholds, at });
        return value;
      });
    };
  }

  /** The cached records of BMC `key`, current or not. */
  peek(key: string): readonly SdrRecord[] | undefined {
    return this.entries.get(key)?.records;
  }

  invalidate(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  stats(): SdrCacheStats {
    return { ...this.counters, bmcs: this.entries.size };
  }
}
