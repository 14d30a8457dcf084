import { afterAll, describe, expect, it } from "vitest";
import { type ChaosSummary, runChaos } from "../../bench/chaos/harness.js";
import { killAll } from "../../bench/receivers.js";

/*
 * `npm run chaos` reduced (bench/chaos/harness.ts, built scripts from dist/): 20 simulated BMCs on
 * 127.94.0.x (the full soak uses 127.93.x), 100 PETs/s for 60 s through a listener and two worker
 * processes on a redis-server with AOF, to a webhook and a mail catcher, with each fault of the soak
 * once, one after another: webhook 500s, a worker SIGKILLed, SMTP down, Redis restarted, two BMCs
 * wedged and cold-reset by their alert's remedy. No timing is asserted: the drain waits up to 4 min.
 */

let summary: ChaosSummary | undefined;
afterAll(() => killAll());

describe("chaos soak, reduced", () => {
  it("every PET becomes one notification at each receiver through kills, restarts and outages; work and memory stay bounded; wedged BMCs alert and recover", async () => {
    summary = await runChaos({
      bmcs: 20,
      rate: 100,
      durationMs: 60_000,
      plan: {
        webhook500: { atMs: 5_000, forMs: 10_000 },
        workerKillsAtMs: [20_000],
        smtpDown: { atMs: 25_000, forMs: 10_000 },
        redisRestartsAtMs: [40_000],
        redisDownMs: 3_000,
        wedge: { atMs: 45_000, count: 2 },
      },
      firstBmc: "127.94.0.1",
      bmcPort: 1623,
      listen: "127.94.255.254:1162",
      workers: 2,
      health: { interval: "1s", probe_deadline: "2s", failures_before_alert: 2 },
      drainTimeoutMs: 240_000,
      rssBoundBytes: 512 * 1024 * 1024,
      log: () => undefined,
    });
    const s = summary;
    expect(s.sent).toBe(6_000);
    for (const kind of [
      "webhook-down",
      "worker-kill",
      "smtp-down",
      "redis-down",
      "redis-up",
      "wedge",
      "cold-reset",
    ])
      expect(
        s.faults.map((f) => f.kind),
        kind,
      ).toContain(kind);
    // The outages did refuse deliveries: the faults were real.
    expect(s.receivers.webhook.refused).toBeGreaterThan(0);
    for (const invariant of s.invariants)
      expect(invariant.ok, `${invariant.name}: ${invariant.detail}`).toBe(true);
    expect(s.wedged).toHaveLength(2);
  }, 480_000);
});
