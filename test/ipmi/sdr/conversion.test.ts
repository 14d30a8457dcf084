import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ConversionFactors,
  isNonLinear,
  rawToSigned,
  rawToValue,
  valueToRaw,
} from "../../../src/ipmi/sdr/conversion.js";
import { decodeSdr, type FullSensorRecord } from "../../../src/ipmi/sdr/records.js";
import { IPMI_SIM_SDRS } from "./ipmi-sim-sdrs.js";

const factors = (
  f: Partial<ConversionFactors> & { format?: ConversionFactors["units"]["analogDataFormat"] },
) => ({
  m: f.m ?? 1,
  b: f.b ?? 0,
  bExp: f.bExp ?? 0,
  rExp: f.rExp ?? 0,
  linearization: f.linearization ?? 0,
  units: { analogDataFormat: f.format ?? "unsigned" },
});

describe("sensor reading conversion (IPMI 2.0 §36.3)", () => {
  const mbTemp = decodeSdr(IPMI_SIM_SDRS.mbTemp) as FullSensorRecord;

  it("gives ipmi_sim's MBTemp reading as ipmitool printed it: raw 60h → 96 °C", () => {
    // ipmitool raw 0x04 0x2d 0x01 → 60 c0 00 00; `sensor list`: MBTemp | 96.000 | degrees C | ok
    expect(rawToValue(mbTemp, 0x60)).toBe(96);
  });

  it("converts MBTemp's thresholds with the same formula: 70h/90h/A0h → 112/144/160", () => {
    // ipmitool raw 0x04 0x27 0x01 → 38 00 00 00 70 90 a0 (UNC, UCR, UNR readable);
    // `sensor list`: … | na | na | na | 112.000 | 144.000 | 160.000
    expect([0x70, 0x90, 0xa0].map((raw) => rawToValue(mbTemp, raw))).toEqual([112, 144, 160]);
    expect([112, 144, 160].map((v) => valueToRaw(mbTemp, v))).toEqual([0x70, 0x90, 0xa0]);
  });

  it("scales with M and the R exponent: M=63, R=-3, raw BEh = 190 → 11.97 V", () => {
    const f = factors({ m: 63, rExp: -3 });
    expect(rawToValue(f, 190)).toBe(11.97);
    expect(valueToRaw(f, 12)).toBe(190); // 11.970 is nearer 12 than 12.033
  });

  it("reads a two's complement sensor: M=5, B=-12, Bexp=1, R=-1", () => {
    // y = (5x + -12·10)·0.1
    const f = factors({ m: 5, b: -12, bExp: 1, rExp: -1, format: "twosComplement" });
    expect(rawToValue(f, 0xfe)).toBe(-13); // x = -2: (-10 - 120)/10
    expect(rawToValue(f, 0x10)).toBe(-4); // x = 16: (80 - 120)/10
    expect(rawToValue(f, 0x7f)).toBe(51.5); // x = 127
    expect(rawToValue(f, 0x80)).toBe(-76); // x = -128
    expect(valueToRaw(f, -13)).toBe(0xfe);
    expect(valueToRaw(f, -76)).toBe(0x80);
  });

  it("reads one's complement raw values (FEh = -1, FFh = -0)", () => {
    const f = factors({ format: "onesComplement" });
    expect(rawToValue(f, 0xfe)).toBe(-1);
    expect(rawToValue(f, 0x80)).toBe(-127);
    expect(rawToValue(f, 0xff)).toBe(0);
    expect(valueToRaw(f, 0)).toBe(0x00);
    expect(rawToSigned(0xfe, "onesComplement")).toBe(-1);
  });

  it("applies each linearization function L[] to the linear result", () => {
    const cases: [linearization: number, raw: number, value: number][] = [
      [0x01, 1, 0], // ln
      [0x02, 100, 2], // log10
      [0x03, 8, 3], // log2
      [0x04, 0, 1], // e
      [0x05, 2, 100], // exp10
      [0x06, 10, 1024], // exp2
      [0x07, 4, 0.25], // 1/x
      [0x08, 12, 144], // sqr
      [0x09, 3, 27], // cube
      [0x0a, 144, 12], // sqrt
      [0x0b, 27, 3], // cube root
    ];
    for (const [linearization, raw, value] of cases) {
      expect(rawToValue(factors({ linearization }), raw), `L=${linearization}`).toBe(value);
    }
  });

  it("computes 1/x after scaling, as a fan-period sensor would: M=2, R=1, raw 5 → 1/100", () => {
    expect(rawToValue(factors({ m: 2, rExp: 1, linearization: 0x07 }), 5)).toBe(0.01);
  });

  it("inverts a curved L[] by searching all raw values (sqr: 150 → raw 12)", () => {
    expect(valueToRaw(factors({ linearization: 0x08 }), 150)).toBe(12);
  });

  it("uses the linear formula for non-linear sensors (70h-7Fh), whose factors come per reading", () => {
    // §36.3: the BMC returns M, B, exponents for each reading via Get Sensor Reading Factors.
    const f = factors({ m: 2, b: 3, linearization: 0x70 });
    expect(isNonLinear(0x70)).toBe(true);
    expect(isNonLinear(0x7f)).toBe(true);
    expect(isNonLinear(0x0b)).toBe(false);
    expect(rawToValue(f, 10)).toBe(23);
    expect(rawToValue({ ...f, linearization: 0x7f }, 10)).toBe(23);
  });

  it("gives null for sensors without an analog reading, reserved linearizations and undefined L[] points", () => {
    expect(rawToValue(factors({ format: "none" }), 1)).toBeNull();
    expect(rawToValue(factors({ linearization: 0x0c }), 1)).toBeNull();
    expect(rawToValue(factors({ linearization: 0x01 }), 0)).toBeNull(); // ln 0
    expect(rawToValue(factors({ linearization: 0x07 }), 0)).toBeNull(); // 1/0
    expect(valueToRaw(factors({ format: "none" }), 1)).toBeNull();
  });

  it("finds a raw value that converts back to the same reading, for any linear sensor", () => {
    const arb = fc.record({
      m: fc.integer({ min: -512, max: 511 }).filter((m) => m !== 0),
      b: fc.integer({ min: -512, max: 511 }),
      bExp: fc.integer({ min: -8, max: 7 }),
      rExp: fc.integer({ min: -8, max: 7 }),
      linearization: fc.constant(0),
      units: fc.record({
        analogDataFormat: fc.constantFrom(
          "unsigned" as const,
          "onesComplement" as const,
          "twosComplement" as const,
        ),
      }),
    });
    fc.assert(
      fc.property(arb, fc.nat(0xff), (f, raw) => {
        const value = rawToValue(f, raw) as number;
        expect(rawToValue(f, valueToRaw(f, value) as number)).toBe(value);
      }),
    );
  });
});
