import { randomUUID } from "node:crypto";
import type { RedisConnection } from "../queues.js";

/*
 * A lease in Redis: at most one holder at a time among any number of processes (the health monitor
 * of several `--role worker` processes probes each BMC once, and raises one alert).
 *   acquire: SET key <holder id> NX PX ttl
 *   renew:   PEXPIRE only while the key still names this holder (Lua, so no other holder's lease is
 *            touched), every ttl/3
 * A holder that dies stops renewing; another process takes the lease within ttl + ttl/3. A holder cut
 * off from Redis gives the lease up when a renewal fails, so two holders overlap by at most that.
 */

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

export interface LeaseOptions {
  /** On a connection the caller owns (and closes after close()). */
  redis: RedisConnection;
  key: string;
  /** Default 15 s. */
  ttlMs?: number;
  onAcquired: () => void;
  /** Also called by close() when held. */
  onLost: () => Promise<void> | void;
  log?: (message: string) => void;
}

export class RedisLease {
  readonly holder = randomUUID();
  private held = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly ttlMs: number;

  constructor(private readonly o: LeaseOptions) {
    this.ttlMs = o.ttlMs ?? 15_000;
  }

  /** Tries at once, then every ttl/3. */
  start(): void {
    this.tick();
  }

  get isHeld(): boolean {
    return this.held;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    if (!this.held) return;
    this.held = false;
    await this.o.onLost();
    await this.o.redis.eval(RELEASE, 1, this.o.key, this.holder).catch(() => undefined);
  }

  private tick(): void {
    if (this.closed) return;
    this.running = this.attempt().finally(() => {
      this.running = undefined;
      if (!this.closed) this.timer = setTimeout(() => this.tick(), Math.ceil(this.ttlMs / 3));
    });
  }

  private async attempt(): Promise<void> {
    const { redis, key } = this.o;
    let holds: boolean;
    try {
      holds = this.held
        ? (await redis.eval(RENEW, 1, key, this.holder, String(this.ttlMs))) === 1
        : (await redis.set(key, this.holder, "PX", this.ttlMs, "NX")) === "OK";
    } catch (err) {
      holds = false;
      if (this.held) this.o.log?.(`lease ${key}: renewal failed (${String(err)}); giving it up`);
    }
    if (this.closed || holds === this.held) return;
    this.held = holds;
    if (holds) this.o.onAcquired();
    else await this.o.onLost();
  }
}
