import { once } from "node:events";
import type { Writable } from "node:stream";

/**
 * Writes one JSON object per line, coalescing the lines of one event-loop turn into a single write:
 * at tens of thousands of traps per second a write per event costs more than the decoding.
 */
export class NdjsonWriter {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly out: Writable) {}

  write(value: unknown): void {
    this.pending.push(JSON.stringify(value));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushNow());
    }
  }

  private flushNow(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const chunk = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.out.write(chunk);
  }

  /** Writes what is pending and waits until the stream has taken it. */
  async flush(): Promise<void> {
    this.flushNow();
    if (this.out.writableNeedDrain) await once(this.out, "drain");
  }
}
