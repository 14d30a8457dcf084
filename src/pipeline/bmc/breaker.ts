/** closed: calls go through; open: calls are refused; half-open: one probe call is let through. */
export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit; default 3. */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before letting one probe through; default 30 s. */
  coolDownMs?: number;
  /** Milliseconds; default Date.now. Tests inject a clock they move by hand. */
  now?: () => number;
}

export interface BreakerChange {
  key: string;
  from: BreakerState;
  to: BreakerState;
  /** Consecutive failures when the change happened. */
  failures: number;
  at: number;
  /** Why the last failure happened, as its reporter put it ("no answer within 3000 ms"). */
  reason?: string;
}

export type BreakerListener = (change: BreakerChange) => void;

interface Circuit {
  state: BreakerState;
  failures: number;
  openedAt: number;
  /** When the half-open probe was let through; undefined when none is out. */
  probeAt: number | undefined;
  reason: string | undefined;
}

/**
 * A circuit breaker per key (a BMC name): closed → open after `failureThreshold` consecutive
 * failures → half-open once `coolDownMs` have passed, letting one probe through → closed on its
 * success, open again (for another cool-down) on its failure. A probe that reports neither within a
 * cool-down is taken as lost and another one is let through.
 *
 * There are no timers: open → half-open is noticed, and reported to listeners, the first time
 * `state` or `allow` is asked after the cool-down.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();
  private readonly listeners = new Set<BreakerListener>();
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly now: () => number;

  constructor(options: BreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? 3;
    this.coolDownMs = options.coolDownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`failureThreshold ${this.threshold} is not a positive integer`);
    }
    if (!(this.coolDownMs >= 0)) throw new RangeError(`coolDownMs ${this.coolDownMs} is negative`);
  }

  state(key: string): BreakerState {
    const c = this.circuits.get(key);
    if (!c) return "closed";
    if (c.state === "open" && this.now() - c.openedAt >= this.coolDownMs) {
      this.move(key, c, "half-open");
      c.probeAt = undefined;
    }
    return c.state;
  }

  /** Whether a call may go to `key` now; in half-open, true for the one probe only. */
  allow(key: string): boolean {
    const state = this.state(key);
    if (state === "closed") return true;
    if (state === "open") return false;
    const c = this.circuits.get(key) as Circuit;
    const now = this.now();
    if (c.probeAt !== undefined && now - c.probeAt < this.coolDownMs) return false;
    c.probeAt = now;
    return true;
  }

  /** The call answered: the circuit closes, whatever state it was in. */
  success(key: string): void {
    const c = this.circuits.get(key);
    if (!c) return;
    c.failures = 0;
    c.probeAt = undefined;
    c.reason = undefined;
    if (c.state !== "closed") this.move(key, c, "closed");
  }

  /** The call got no answer: counts towards opening; a failed probe opens the circuit again. */
  failure(key: string, reason?: string): void {
    const c = this.circuit(key);
    c.failures++;
    c.reason = reason;
    const state = this.state(key);
    if (state === "half-open" || (state === "closed" && c.failures >= this.threshold)) {
      c.openedAt = this.now();
      c.probeAt = undefined;
      this.move(key, c, "open");
    }
    // Already open: a late failure of a call let through before the circuit opened changes nothing.
  }

  /** Calls `listener` on every state change; returns a function that removes it. */
  onChange(listener: BreakerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every key not closed, with its state. */
  snapshot(): { key: string; state: BreakerState; failures: number }[] {
    return [...this.circuits.keys()]
      .map((key) => ({ key, state: this.state(key), failures: this.circuits.get(key)?.failures ?? 0 }))
      .filter((c) => c.state !== "closed");
  }

  private circuit(key: string): Circuit {
    let c = this.circuits.get(key);
    if (!c) {
      c = { state: "closed", failures: 0, openedAt: 0, probeAt: undefined, reason: undefined };
      this.circuits.set(key, c);
    }
    return c;
  }

  private move(key: string, c: Circuit, to: BreakerState): void {
    const from = c.state;
    c.state = to;
    const change: BreakerChange = {
      key,
      from,
      to,
      failures: c.failures,
      at: this.now(),
      ...(c.reason !== undefined && { reason: c.reason }),
    };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not break the caller's bookkeeping.
      }
    }
  }
}
