/**
 * Inbound session sequence numbers (IPMI 2.0 §6.12.13): accept each number once, within a window
 * below the highest seen (OpenIPMI's BMC allows −16, FreeIPMI ±8; the spec leaves the size open).
 * 0 is never valid inside a session.
 */
export class SequenceWindow {
  private highest: number | undefined;
  /** Bit i set = highest − i already seen. */
  private seen = 0;

  constructor(private readonly size = 16) {}

  accept(sequence: number): boolean {
    if (sequence === 0) return false;
    if (this.highest === undefined) {
      this.highest = sequence;
      this.seen = 1;
      return true;
    }
    const ahead = (sequence - this.highest) >>> 0;
    if (ahead !== 0 && ahead < 0x80000000) {
      // Newer (mod 2^32): slide the window.
      this.seen = ahead >= 32 ? 1 : ((this.seen << ahead) | 1) >>> 0;
      this.highest = sequence;
      return true;
    }
    const behind = (this.highest - sequence) >>> 0;
    if (behind >= this.size) return false;
    const bit = 1 << behind;
    if (this.seen & bit) return false;
    this.seen = (this.seen | bit) >>> 0;
    return true;
  }
}
