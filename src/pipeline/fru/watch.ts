import type { BmcTarget } from "../../config/inventory.js";
import type { Execute } from "../../ipmi/commands/command.js";
import { fruIdentity } from "../../ipmi/fru.js";
import { readFru, readFruLayout } from "../../ipmi/fru-read.js";
import type { BmcPool } from "../bmc/bmc-pool.js";
import type { CircuitBreaker } from "../bmc/breaker.js";
import type { RedisConnection } from "../queues.js";
import { type CachedFru, readFrus, writeFru } from "./store.js";

const DAY_MS = 86_400_000;

export interface FruWatcherOptions {
  pool: BmcPool;
  breaker?: CircuitBreaker;
  redis: RedisConnection;
  prefix: string;
  /** Deadline of each IPMI request (the pool's queueing included). */
  deadlineMs: number;
  /** Least time between two looks at one BMC's FRU, unless it recovered; default one day. */
  checkEveryMs?: number;
  log: (line: string) => void;
  now?: () => number;
}

/**
 * Keeps each inventory BMC's FRU identity in Redis (`<prefix>:bmc-fru`). A BMC is looked at on its
 * first good health probe in this process, after each recovery (a replaced board reboots its BMC)
 * and once every `checkEveryMs`:
 *   - nothing cached, or cached more than a day ago: the whole inventory is read (about ten requests);
 *   - else Get FRU Inventory Area Info and the 8-byte common header (two requests): a different size
 *     or header (areas moved, grown, added) means it changed, and it is read again.
 * So a change that keeps the layout (an asset tag rewritten in place) shows within a day. Requests go
 * through the pool's bounded client, never urgent (events come first), and not to a BMC whose breaker
 * is open; events never wait for this: they take what is cached.
 */
export class FruWatcher {
  private readonly running = new Map<string, Promise<void>>();
  /** When each BMC was last looked at (ms), answered or not. */
  private readonly lookedAt = new Map<string, number>();
  private readonly now: () => number;
  private readonly checkEveryMs: number;

  constructor(private readonly options: FruWatcherOptions) {
    this.now = options.now ?? Date.now;
    this.checkEveryMs = options.checkEveryMs ?? DAY_MS;
  }

  /** Told that `target` answered a health probe; `recovered`: it had not before. Never rejects. */
  observe(target: BmcTarget, recovered: boolean): Promise<void> {
    const running = this.running.get(target.name);
    if (running) return running;
    const last = this.lookedAt.get(target.name);
    if (!recovered && last !== undefined && this.now() - last < this.checkEveryMs) return Promise.resolve();
    if (this.options.breaker && !this.options.breaker.allow(target.name)) return Promise.resolve();
    this.lookedAt.set(target.name, this.now());
    const look = this.look(target)
      .catch((err: unknown) =>
        this.options.log(
          `fru: ${target.name}: not read: ${err instanceof Error ? err.message : String(err)}`,
        ),
      )
      .finally(() => this.running.delete(target.name));
    this.running.set(target.name, look);
    return look;
  }

  /** Resolves when no look is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async look(target: BmcTarget): Promise<void> {
    const { redis, prefix, deadlineMs } = this.options;
    const client = this.options.pool.get(target);
    const execute: Execute = (command, request) => client.execute(command, request, { deadlineMs });
    const cached = (await readFrus(redis, prefix, [target.name])).get(target.name);
    if (cached && this.now() - Date.parse(cached.readAt) < DAY_MS) {
      const layout = await readFruLayout(execute);
      if (layout.size === cached.size && layout.header.toString("hex") === cached.header) return;
    }
    const read = await readFru(execute);
    const fresh: CachedFru = {
      fru: fruIdentity(read.inventory),
      readAt: new Date(this.now()).toISOString(),
      size: read.size,
      header: read.header.toString("hex"),
      warnings: read.inventory.warnings,
    };
    await writeFru(redis, prefix, target.name, fresh);
    if (cached && JSON.stringify(cached.fru) !== JSON.stringify(fresh.fru))
      this.options.log(
        `fru: ${target.name}: identity changed (serial ${fresh.fru.productSerial ?? fresh.fru.boardSerial ?? "none"})`,
      );
  }
}
