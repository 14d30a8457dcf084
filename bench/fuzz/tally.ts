// Per-outcome counts of one fuzz target, and the first few crashes with the datagram that caused them.

export interface TallyResult {
  packets: number;
  outcomes: Record<string, number>;
  crashes: number;
  firstCrashes: { error: string; hex: string }[];
}

const KEEP_CRASHES = 5;

export class Tally {
  private readonly outcomes = new Map<string, number>();
  private crashes = 0;
  private readonly firstCrashes: { error: string; hex: string }[] = [];

  add(outcome: string, n = 1): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + n);
  }

  crash(err: unknown, datagram?: Buffer): void {
    this.crashes++;
    if (this.firstCrashes.length < KEEP_CRASHES)
      this.firstCrashes.push({
        error: err instanceof Error ? (err.stack ?? String(err)) : String(err),
        hex: datagram?.toString("hex") ?? "",
      });
  }

  result(): TallyResult {
    const outcomes = Object.fromEntries([...this.outcomes].sort(([a], [b]) => a.localeCompare(b)));
    const packets = Object.values(outcomes).reduce((a, b) => a + b, 0) + this.crashes;
    return { packets, outcomes, crashes: this.crashes, firstCrashes: [...this.firstCrashes] };
  }
}
