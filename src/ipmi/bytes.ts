/** Raised when a reader runs past the end of its buffer; decoders turn it into their own typed error. */
export class TruncatedError extends Error {
  constructor(
    readonly offset: number,
    readonly wanted: number,
    readonly available: number,
  ) {
    super(`needs ${wanted} byte(s) at offset ${offset}, only ${available} left`);
    this.name = "TruncatedError";
  }
}

/** Sequential reader over a byte buffer; IPMI fields are little-endian unless a method says BE. */
export class ByteReader {
  offset = 0;

  constructor(readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number): number {
    if (n > this.remaining) throw new TruncatedError(this.offset, n, this.remaining);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1)] as number;
  }

  u16le(): number {
    const at = this.take(2);
    return (this.buf[at] as number) | ((this.buf[at + 1] as number) << 8);
  }

  u16be(): number {
    const at = this.take(2);
    return ((this.buf[at] as number) << 8) | (this.buf[at + 1] as number);
  }

  u32le(): number {
    const at = this.take(4);
    return new DataView(this.buf.buffer, this.buf.byteOffset + at, 4).getUint32(0, true);
  }

  u32be(): number {
    const at = this.take(4);
    return new DataView(this.buf.buffer, this.buf.byteOffset + at, 4).getUint32(0, false);
  }

  bytes(n: number): Buffer {
    const at = this.take(n);
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}

/** Chained writer: `new ByteWriter().u8(1).u16le(2).bytes(x).flush()`. */
export class ByteWriter {
  private chunks: number[] = [];

  u8(v: number): this {
    this.chunks.push(v & 0xff);
    return this;
  }

  u16le(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }

  u16be(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32le(v: number): this {
    return this.u16le(v & 0xffff).u16le(v >>> 16);
  }

  u32be(v: number): this {
    return this.u16be(v >>> 16).u16be(v & 0xffff);
  }

  bytes(b: Uint8Array | readonly number[]): this {
    for (const v of b) this.u8(v);
    return this;
  }

  flush(): Buffer {
    return Buffer.from(this.chunks);
  }
}

/** `v` when it is an integer in min..max; else a RangeError naming the field: for encoders' typed inputs. */
export function inRange(what: string, v: number, max: number, min = 0): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${what} ${v} is outside ${min}..${max}`);
  return v;
}

/** Bit n of a byte, as a boolean. */
export const bit = (byte: number, n: number): boolean => ((byte >> n) & 1) === 1;

/** 1 << n when on, else 0: for OR-ing flags into a byte. */
export const flag = (on: boolean, n: number): number => (on ? 1 << n : 0);

/** A byte as two upper-case hex digits, as the IPMI spec writes codes ("C1" for C1h). */
export function hexByte(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}
