import type { AnalogDataFormat } from "./records.js";

/**
 * What converting a raw reading needs; a FullSensorRecord has these fields, so pass it directly.
 * For a non-linear sensor (linearization 70h-7Fh) pass the M, B, exponents from Get Sensor Reading
 * Factors for the reading instead of the record's (IPMI 2.0 §36.2, §35.5).
 */
export interface ConversionFactors {
  /** 10-bit two's complement, -512..511. */
  m: number;
  /** 10-bit two's complement, -512..511. */
  b: number;
  /** Signed 4-bit, -8..7. */
  bExp: number;
  /** Signed 4-bit, -8..7. */
  rExp: number;
  linearization: number;
  units: { analogDataFormat: AnalogDataFormat };
}

/** Linearization functions L[] 00h-0Bh (IPMI 2.0 §43.1 byte 24, §36.3). */
const LINEARIZATION: readonly ((x: number) => number)[] = [
  (x) => x,
  Math.log,
  Math.log10,
  Math.log2,
  Math.exp,
  (x) => 10 ** x,
  (x) => 2 ** x,
  (x) => 1 / x,
  (x) => x * x,
  (x) => x * x * x,
  Math.sqrt,
  Math.cbrt,
];

/** True for linearization 70h-7Fh: the factors change with the reading (Get Sensor Reading Factors). */
export function isNonLinear(linearization: number): boolean {
  return linearization >= 0x70 && linearization <= 0x7f;
}

function linearizationFunction(linearization: number): ((x: number) => number) | undefined {
  // §36.3: a non-linear sensor uses the same formula with linear L[], taking the factors for the reading.
  if (isNonLinear(linearization)) return LINEARIZATION[0];
  return LINEARIZATION[linearization];
}

/** The signed value of a raw byte in the record's analog data format; null for "none" (no numeric reading). */
export function rawToSigned(raw: number, format: AnalogDataFormat): number | null {
  const x = raw & 0xff;
  switch (format) {
    case "unsigned":
      return x;
    case "onesComplement":
      return x & 0x80 ? -(~x & 0xff) : x;
    case "twosComplement":
      return x & 0x80 ? x - 0x100 : x;
    case "none":
      return null;
  }
}

/**
 * Raw reading (or raw threshold, nominal, min/max) → engineering value,
 * y = L[(M·x + B·10^Bexp)·10^Rexp] (IPMI 2.0 §36.3). Null when the sensor has no analog reading
 * (data format 11b), its linearization is reserved, or L[] is undefined there (e.g. ln of a negative).
 */
export function rawToValue(factors: ConversionFactors, raw: number): number | null {
  const x = rawToSigned(raw, factors.units.analogDataFormat);
  const l = linearizationFunction(factors.linearization);
  if (x === null || !l) return null;
  const linear = (factors.m * x + factors.b * 10 ** factors.bExp) * 10 ** factors.rExp;
  const y = l(linear);
  return Number.isFinite(y) ? roundToPrecision(y) : null;
}

/** Drops float noise (96.00000000000001) without touching real digits. */
function roundToPrecision(y: number): number {
  return Number.parseFloat(y.toPrecision(12));
}

/**
 * Engineering value → the raw byte whose value is nearest (for the simulator's readings and
 * thresholds). Searches all 256 raw values, so it also works for non-monotonic L[] and signed
 * formats; ties go to the smaller raw byte. Null when no raw value converts (see rawToValue).
 */
export function valueToRaw(factors: ConversionFactors, value: number): number | null {
  let best: number | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let raw = 0; raw <= 0xff; raw++) {
    const y = rawToValue(factors, raw);
    if (y === null) continue;
    const distance = Math.abs(y - value);
    if (distance < bestDistance) {
      best = raw;
      bestDistance = distance;
    }
  }
  return best;
}
