// Random and mutated datagrams from real seeds, as fast-check arbitraries: the listener and simulator
// fuzz tests and `npm run fuzz` draw from the same generators.
import fc from "fast-check";

/** A byte range of a seed worth corrupting on its own: a length, a type, an ID. */
export type Field = readonly [offset: number, length: number];

/** A valid datagram and the fields in it that mutations aim at. */
export interface Seed {
  bytes: Buffer;
  fields: readonly Field[];
}

export type MutationKind = "valid" | "overwrite" | "bitflip" | "resize" | "field" | "splice" | "random";

export interface Mutant {
  kind: MutationKind;
  bytes: Buffer;
}

export interface MutantOptions {
  /** Longest random datagram; default 400. */
  maxRandom?: number;
  /** Weight of unmutated seeds; default 1 (of 13). */
  validWeight?: number;
}

/** Values a corrupted length or ID field most often breaks on. */
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xfe, 0xff];

/**
 * Seeds unchanged, and mutated: bytes overwritten, bits flipped, cut short or extended, a field
 * forced to edge or random values (length-field corruption), two seeds spliced, or random bytes.
 */
export function mutants(seeds: readonly Seed[], options: MutantOptions = {}): fc.Arbitrary<Mutant> {
  if (seeds.length === 0) throw new RangeError("mutants needs at least one seed");
  const seed = fc.constantFrom(...seeds);
  const as = (kind: MutationKind) => (bytes: Buffer) => ({ kind, bytes });
  const valid = seed.map((s) => as("valid")(Buffer.from(s.bytes)));
  const overwrite = fc
    .tuple(
      seed,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    )
    .map(([s, changes]) => {
      const m = Buffer.from(s.bytes);
      for (const [at, v] of changes) if (m.length > 0) m[at % m.length] = v;
      return as("overwrite")(m);
    });
  const bitflip = fc.tuple(seed, fc.array(fc.nat(), { minLength: 1, maxLength: 4 })).map(([s, bits]) => {
    const m = Buffer.from(s.bytes);
    for (const b of bits) {
      const at = (b >>> 3) % Math.max(1, m.length);
      if (at < m.length) m[at] = (m[at] as number) ^ (1 << (b & 7));
    }
    return as("bitflip")(m);
  });
  const resize = fc
    .tuple(seed, fc.nat(), fc.uint8Array({ maxLength: 24 }))
    .map(([s, cut, tail]) =>
      as("resize")(Buffer.concat([s.bytes.subarray(0, cut % (s.bytes.length + 1)), Buffer.from(tail)])),
    );
  const fieldValue = fc.oneof(
    fc.array(fc.constantFrom(...EDGE_BYTES), { minLength: 4, maxLength: 4 }),
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
  );
  const field = fc
    .tuple(seed, fc.nat(), fieldValue, fc.integer({ min: -2, max: 2 }))
    .map(([s, pick, v, nudge]) => {
      const m = Buffer.from(s.bytes);
      const [at, n] = s.fields[pick % Math.max(1, s.fields.length)] ?? [pick % Math.max(1, m.length), 1];
      if (at + n > m.length) return as("field")(m);
      // Either a value from the set, or the field's own value off by a little (a length one too short).
      if (nudge !== 0 && n === 1) m[at] = ((m[at] as number) + nudge) & 0xff;
      else for (let i = 0; i < n; i++) m[at + i] = v[i % v.length] as number;
      return as("field")(m);
    });
  const splice = fc
    .tuple(seed, seed, fc.nat(), fc.nat())
    .map(([a, b, i, j]) =>
      as("splice")(
        Buffer.concat([
          a.bytes.subarray(0, i % (a.bytes.length + 1)),
          b.bytes.subarray(j % (b.bytes.length + 1)),
        ]),
      ),
    );
  const random = fc
    .uint8Array({ maxLength: options.maxRandom ?? 400 })
    .map((a) => as("random")(Buffer.from(a)));
  return fc.oneof(
    { arbitrary: valid, weight: options.validWeight ?? 1 },
    { arbitrary: overwrite, weight: 3 },
    { arbitrary: bitflip, weight: 2 },
    { arbitrary: resize, weight: 2 },
    { arbitrary: field, weight: 2 },
    { arbitrary: splice, weight: 1 },
    { arbitrary: random, weight: 2 },
  );
}

/** `count` values of `arb`, drawn lazily in chunks so a million never sit in memory; same seed, same values. */
export function* sampled<T>(arb: fc.Arbitrary<T>, count: number, seed: number, chunk = 2048): Generator<T> {
  for (let done = 0, i = 0; done < count; i++) {
    const n = Math.min(chunk, count - done);
    yield* fc.sample(arb, { numRuns: n, seed: (seed + i * 0x9e3779b1) | 0 });
    done += n;
  }
}

/**
 * The length octets (and tags) of every BER TLV in an SNMP message, descending into constructed
 * types and into OCTET STRINGs that hold BER themselves (SNMPv3 msgSecurityParameters).
 */
export function berFields(buf: Buffer, start = 0, end = buf.length, depth = 0): Field[] {
  const fields: Field[] = [];
  let at = start;
  while (at + 2 <= end && depth < 8) {
    const tag = buf[at] as number;
    const first = buf[at + 1] as number;
    const lengthBytes = first & 0x80 ? 1 + (first & 0x7f) : 1;
    if (lengthBytes > 5 || at + 1 + lengthBytes > end) break;
    let length = first;
    if (first & 0x80) {
      length = 0;
      for (let i = 2; i <= lengthBytes; i++) length = length * 256 + (buf[at + i] as number);
    }
    const content = at + 1 + lengthBytes;
    if (content + length > end) break;
    fields.push([at, 1], [at + 1, lengthBytes]);
    if (tag & 0x20 || (tag === 0x04 && buf[content] === 0x30))
      fields.push(...berFields(buf, content, content + length, depth + 1));
    at = content + length;
  }
  return fields;
}

/**
 * The header fields of an RMCP datagram (version, class; IPMI 1.5: auth type, sequence, session ID,
 * message length; RMCP+: payload type, session ID, sequence, payload length) and the IPMI message
 * header after it (addresses, netFn, checksum, rqSeq, command).
 */
export function rmcpFields(buf: Buffer): Field[] {
  const fields: Field[] = [
    [0, 1],
    [3, 1],
    [4, 1],
  ];
  if (buf[3] !== 0x07)
    return fields
      .filter(([at]) => at < 4)
      .concat([
        [4, 4],
        [8, 1],
        [11, 1],
      ]);
  if (buf[4] === 0x06) {
    fields.push([5, 1], [6, 4], [10, 4], [14, 2]);
    if (((buf[5] ?? 0) & 0x3f) === 0) fields.push(...messageFields(16));
    else fields.push([16, 1], [17, 1], [20, 4], [24, 4]);
  } else {
    const lengthAt = buf[4] === 0 ? 13 : 29;
    fields.push([5, 4], [9, 4], [lengthAt, 1], ...messageFields(lengthAt + 1));
  }
  return fields.filter(([at, n]) => at + n <= buf.length);
}

function messageFields(at: number): Field[] {
  return [0, 1, 2, 3, 4, 5, 6].map((i) => [at + i, 1] as const);
}
