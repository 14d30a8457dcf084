import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { bySecond, CpuSampler } from "../../bench/timeline.js";

describe("bench timeline (bench:e2e --timeline)", () => {
  it("splits the events by the second they were sent, with that second's waits and the CPU sampled after it", () => {
    const t0 = 1_800_000_000_000;
    // Events 0–2 sent in second 0, 3–4 in second 1; event 5 never arrived.
    const sentAt = [t0, t0 + 100, t0 + 900, t0 + 1_000, t0 + 1_500, t0 + 1_600];
    const arrivals: [number, number][] = [
      [0, t0 + 10],
      [1, t0 + 130],
      [2, t0 + 1_200],
      [4, t0 + 1_540],
      [3, t0 + 1_020],
    ];
    const samples: { at: number; cpu: Record<string, number> }[] = [
      { at: t0 + 999, cpu: { serve: 1 } },
      { at: t0 + 1_000, cpu: { serve: 700, redis: 200 } },
      { at: t0 + 2_004, cpu: { serve: 650, redis: 180 } },
    ];
    expect(bySecond(sentAt, arrivals, samples)).toEqual([
      { second: 0, events: 3, p50: 30, p99: 300, cpu: { serve: 700, redis: 200 } },
      { second: 1, events: 2, p50: 20, p99: 40, cpu: { serve: 650, redis: 180 } },
    ]);
  });

  it("samples the CPU a busy process uses each second, and none for one that is gone", async () => {
    const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    try {
      const sampler = new CpuSampler({ busy: busy.pid, gone: 2 ** 22 + 1 });
      // Wait for the second sample: a real second of a spinning process has passed.
      await expect
        .poll(() => sampler.samples().length, { timeout: 30_000, interval: 200 })
        .toBeGreaterThan(1);
      const [, second] = sampler.stop();
      expect(second?.cpu.busy).toBeGreaterThan(0);
      expect(second?.cpu.gone).toBe(0);
    } finally {
      busy.kill("SIGKILL");
      await once(busy, "exit").catch(() => undefined);
    }
  });
});
