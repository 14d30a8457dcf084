import { describe, expect, it } from "vitest";
import { type BreakerChange, CircuitBreaker } from "../../src/pipeline/bmc/breaker.js";

function setup(options: { failureThreshold?: number; coolDownMs?: number } = {}) {
  let now = 1_000_000;
  const breaker = new CircuitBreaker({ ...options, now: () => now });
  const changes: BreakerChange[] = [];
  breaker.onChange((c) => changes.push(c));
  return {
    breaker,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("circuit breaker", () => {
  it("starts closed for any key and stays closed below the threshold", () => {
    const { breaker, changes } = setup();
    expect(breaker.state("bmc-1")).toBe("closed");
    breaker.failure("bmc-1");
    breaker.failure("bmc-1");
    expect(breaker.state("bmc-1")).toBe("closed");
    expect(breaker.allow("bmc-1")).toBe(true);
    expect(changes).toEqual([]);
  });

  it("opens after 3 consecutive failures; a success in between resets the count", () => {
    const { breaker, changes } = setup();
    breaker.failure("a");
    breaker.failure("a");
    breaker.success("a");
    breaker.failure("a");
    breaker.failure("a");
    expect(breaker.state("a")).toBe("closed");
    breaker.failure("a", "no answer within 3000 ms");
    expect(breaker.state("a")).toBe("open");
    expect(breaker.allow("a")).toBe(false);
    expect(changes).toEqual([
      {
        key: "a",
        from: "closed",
        to: "open",
        failures: 3,
        at: 1_000_000,
        reason: "no answer within 3000 ms",
      },
    ]);
  });

  it("keys are independent", () => {
    const { breaker } = setup({ failureThreshold: 1 });
    breaker.failure("a");
    expect(breaker.state("a")).toBe("open");
    expect(breaker.state("b")).toBe("closed");
    expect(breaker.allow("b")).toBe(true);
    expect(breaker.snapshot()).toEqual([{ key: "a", state: "open", failures: 1 }]);
  });

  it("half-opens after the cool-down and lets exactly one probe through; success closes it", () => {
    const { breaker, changes, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.failure("a");
    advance(29_999);
    expect(breaker.allow("a")).toBe(false);
    expect(breaker.state("a")).toBe("open");
    advance(1);
    expect(breaker.state("a")).toBe("half-open");
    expect(breaker.allow("a")).toBe(true);
    expect(breaker.allow("a")).toBe(false);
    breaker.success("a");
    expect(breaker.state("a")).toBe("closed");
    expect(breaker.allow("a")).toBe(true);
    expect(changes.map((c) => `${c.from}>${c.to}`)).toEqual([
      "closed>open",
      "open>half-open",
      "half-open>closed",
    ]);
  });

  it("a failed probe opens the circuit again for another cool-down", () => {
    const { breaker, changes, advance } = setup({ coolDownMs: 1000 });
    for (let i = 0; i < 3; i++) breaker.failure("a");
    advance(1000);
    expect(breaker.allow("a")).toBe(true);
    breaker.failure("a");
    expect(breaker.state("a")).toBe("open");
    expect(breaker.allow("a")).toBe(false);
    advance(999);
    expect(breaker.state("a")).toBe("open");
    advance(1);
    expect(breaker.allow("a")).toBe(true);
    expect(changes.map((c) => c.to)).toEqual(["open", "half-open", "open", "half-open"]);
  });

  it("a probe that never reports is taken as lost after a cool-down", () => {
    const { breaker, advance } = setup({ coolDownMs: 1000 });
    for (let i = 0; i < 3; i++) breaker.failure("a");
    advance(1000);
    expect(breaker.allow("a")).toBe(true);
    advance(999);
    expect(breaker.allow("a")).toBe(false);
    advance(1);
    expect(breaker.allow("a")).toBe(true);
  });

  it("late failures of calls let through before it opened do not extend the open period", () => {
    const { breaker, advance } = setup({ coolDownMs: 1000 });
    for (let i = 0; i < 3; i++) breaker.failure("a");
    advance(500);
    breaker.failure("a");
    breaker.failure("a");
    advance(500);
    expect(breaker.state("a")).toBe("half-open");
  });

  it("listeners can be removed, and one that throws does not break the breaker", () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const seen: string[] = [];
    const off = breaker.onChange((c) => seen.push(c.to));
    breaker.onChange(() => {
      throw new Error("listener bug");
    });
    breaker.failure("a");
    off();
    breaker.success("a");
    expect(seen).toEqual(["open"]);
    expect(breaker.state("a")).toBe("closed");
  });

  it("refuses a nonsensical configuration", () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ coolDownMs: -1 })).toThrow(RangeError);
  });
});
