import { describe, expect, it } from "vitest";
import { formatUnit, SENSOR_UNITS, sensorUnit, type UnitFields } from "../../../src/ipmi/sdr/units.js";

const units = (u: Partial<UnitFields>): UnitFields => ({
  rateUnit: "none",
  modifierUnit: "none",
  percentage: false,
  baseUnit: 0,
  modifierUnitCode: 0,
  ...u,
});

describe("sensor unit type codes (IPMI 2.0 Table 43-15)", () => {
  it("lists codes 0-92 in order", () => {
    expect(SENSOR_UNITS).toHaveLength(93);
    SENSOR_UNITS.forEach((u, i) => {
      expect(u.code).toBe(i);
    });
  });

  it("names the codes as the spec does, with short symbols", () => {
    const picks = [0, 1, 2, 3, 4, 5, 6, 9, 17, 18, 19, 20, 58, 59, 65, 70, 82, 91, 92].map((c) => {
      const u = sensorUnit(c);
      return [c, u.name, u.symbol];
    });
    expect(picks).toEqual([
      [0, "unspecified", ""],
      [1, "degrees C", "°C"],
      [2, "degrees F", "°F"],
      [3, "degrees K", "K"],
      [4, "Volts", "V"],
      [5, "Amps", "A"],
      [6, "Watts", "W"],
      [9, "VA", "VA"],
      [17, "CFM", "CFM"],
      [18, "RPM", "RPM"],
      [19, "Hz", "Hz"],
      [20, "microsecond", "µs"],
      [58, "PPM", "ppm"],
      [59, "reserved", ""],
      [65, "color temp deg K", "K"],
      [70, "byte", "B"],
      [82, "overrun / overflow", "overrun"],
      [91, "fatal error", "fatal error"],
      [92, "grams", "g"],
    ]);
  });

  it("names unassigned codes by number", () => {
    expect(sensorUnit(93)).toEqual({ code: 93, name: "unit 93", symbol: "unit 93" });
  });
});

describe("formatUnit", () => {
  it("gives the base unit's symbol or name", () => {
    expect(formatUnit(units({ baseUnit: 1 }))).toBe("°C");
    expect(formatUnit(units({ baseUnit: 18 }), "name")).toBe("RPM");
    expect(formatUnit(units({}))).toBe("");
  });

  it("combines a modifier unit by division or multiplication", () => {
    expect(formatUnit(units({ baseUnit: 6, modifierUnit: "divide", modifierUnitCode: 24 }))).toBe("W/h");
    expect(formatUnit(units({ baseUnit: 6, modifierUnit: "divide", modifierUnitCode: 24 }), "name")).toBe(
      "Watts/hour",
    );
    expect(formatUnit(units({ baseUnit: 4, modifierUnit: "multiply", modifierUnitCode: 5 }))).toBe("V·A");
    expect(formatUnit(units({ baseUnit: 4, modifierUnit: "multiply", modifierUnitCode: 5 }), "name")).toBe(
      "Volts*Amps",
    );
    // A modifier code with modifier "none" is ignored.
    expect(formatUnit(units({ baseUnit: 4, modifierUnitCode: 5 }))).toBe("V");
  });

  it("adds the rate unit", () => {
    expect(formatUnit(units({ baseUnit: 85, rateUnit: "perSecond" }))).toBe("packets/s");
    expect(formatUnit(units({ baseUnit: 88, rateUnit: "perHour" }), "name")).toBe("error per hour");
  });

  it("marks percentages", () => {
    expect(formatUnit(units({ percentage: true }))).toBe("%");
    expect(formatUnit(units({ percentage: true }), "name")).toBe("percent");
    expect(formatUnit(units({ percentage: true, baseUnit: 4 }))).toBe("% V");
  });
});
