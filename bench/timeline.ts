// A step second by second (`bench:e2e --timeline`): what the events sent in each second waited (p50,
// p99 send → arrival) and how much CPU each process of the run used in that second. A second that
// waited long can so be put down to what ran in it: petgate itself, or a peer on the same cores.
import { cpuMsOf, percentile } from "./stats.js";

/** Every second, the CPU (ms) each named process used since the sample before. */
export class CpuSampler {
  private readonly taken: { at: number; cpu: Record<string, number> }[] = [];
  private readonly last: Record<string, number>;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: Readonly<Record<string, number | undefined>>) {
    this.last = this.read();
    this.timer = setInterval(() => {
      const now = this.read();
      const cpu = Object.fromEntries(
        Object.keys(now).map((k) => [k, Math.round((now[k] ?? 0) - (this.last[k] ?? 0))]),
      );
      Object.assign(this.last, now);
      this.taken.push({ at: Date.now(), cpu });
    }, 1_000);
    this.timer.unref();
  }

  /** The samples so far, each stamped with the end of its second (epoch ms). */
  samples(): readonly { at: number; cpu: Record<string, number> }[] {
    return this.taken;
  }

  /** Stops sampling; the samples taken. */
  stop(): readonly { at: number; cpu: Record<string, number> }[] {
    clearInterval(this.timer);
    return this.taken;
  }

  private read(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.pids).map(([k, pid]) => [k, cpuMsOf(pid)]));
  }
}

export interface SecondRow {
  /** Seconds since the first event was sent. */
  second: number;
  events: number;
  p50: number;
  p99: number;
  /** CPU (ms) each process used over the sample that ended closest after this second's end. */
  cpu: Record<string, number>;
}

/**
 * The step by second of sending: `sentAt[i]` is when event i was sent, `arrivals` [i, when it arrived]
 * (epoch ms both), `samples` a CpuSampler's.
 */
export function bySecond(
  sentAt: readonly number[],
  arrivals: readonly [number, number][],
  samples: readonly { at: number; cpu: Record<string, number> }[],
): SecondRow[] {
  const first = sentAt.find((t) => t !== undefined && t > 0);
  if (first === undefined) return [];
  const waits = new Map<number, number[]>();
  for (const [i, at] of arrivals) {
    const sent = sentAt[i];
    if (!sent) continue;
    const second = Math.floor((sent - first) / 1000);
    const list = waits.get(second) ?? [];
    list.push(at - sent);
    waits.set(second, list);
  }
  return [...waits]
    .sort(([a], [b]) => a - b)
    .map(([second, list]) => {
      list.sort((a, b) => a - b);
      const end = first + (second + 1) * 1000;
      return {
        second,
        events: list.length,
        p50: Math.round(percentile(list, 50)),
        p99: Math.round(percentile(list, 99)),
        cpu: samples.find((s) => s.at >= end)?.cpu ?? {},
      };
    });
}

/** The rows as a Markdown table on stderr, under `title`. */
export function printTimeline(title: string, rows: readonly SecondRow[]): void {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.cpu)))];
  const lines = [
    `\n${title}: by second of sending, send → arrival, and CPU ms each process used in that second`,
    `| s | events | p50 ms | p99 ms | ${names.map((n) => `${n} CPU`).join(" | ")} |`,
    `| ---: | ---: | ---: | ---: | ${names.map(() => "---:").join(" | ")} |`,
    ...rows.map(
      (r) =>
        `| ${r.second} | ${r.events} | ${r.p50} | ${r.p99} | ${names.map((n) => r.cpu[n] ?? "").join(" | ")} |`,
    ),
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
