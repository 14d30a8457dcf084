/** One sensor unit type code: the spec's name and a short symbol for display. */
export interface SensorUnit {
  code: number;
  name: string;
  symbol: string;
}

/** Sensor unit type codes 0-92 (IPMI 2.0 §43.17, Table 43-15), in code order. */
const UNITS: readonly [name: string, symbol: string][] = [
  ["unspecified", ""],
  ["degrees C", "°C"],
  ["degrees F", "°F"],
  ["degrees K", "K"],
  ["Volts", "V"],
  ["Amps", "A"],
  ["Watts", "W"],
  ["Joules", "J"],
  ["Coulombs", "C"],
  ["VA", "VA"],
  ["Nits", "nt"],
  ["lumen", "lm"],
  ["lux", "lx"],
  ["Candela", "cd"],
  ["kPa", "kPa"],
  ["PSI", "psi"],
  ["Newton", "N"],
  ["CFM", "CFM"],
  ["RPM", "RPM"],
  ["Hz", "Hz"],
  ["microsecond", "µs"],
  ["millisecond", "ms"],
  ["second", "s"],
  ["minute", "min"],
  ["hour", "h"],
  ["day", "d"],
  ["week", "wk"],
  ["mil", "mil"],
  ["inches", "in"],
  ["feet", "ft"],
  ["cu in", "in³"],
  ["cu feet", "ft³"],
  ["mm", "mm"],
  ["cm", "cm"],
  ["m", "m"],
  ["cu cm", "cm³"],
  ["cu m", "m³"],
  ["liters", "L"],
  ["fluid ounce", "fl oz"],
  ["radians", "rad"],
  ["steradians", "sr"],
  ["revolutions", "rev"],
  ["cycles", "cycles"],
  ["gravities", "gn"],
  ["ounce", "oz"],
  ["pound", "lb"],
  ["ft-lb", "ft·lb"],
  ["oz-in", "oz·in"],
  ["gauss", "G"],
  ["gilberts", "Gb"],
  ["henry", "H"],
  ["millihenry", "mH"],
  ["farad", "F"],
  ["microfarad", "µF"],
  ["ohms", "Ω"],
  ["siemens", "S"],
  ["mole", "mol"],
  ["becquerel", "Bq"],
  ["PPM", "ppm"],
  ["reserved", ""],
  ["Decibels", "dB"],
  ["DbA", "dBA"],
  ["DbC", "dBC"],
  ["gray", "Gy"],
  ["sievert", "Sv"],
  ["color temp deg K", "K"],
  ["bit", "bit"],
  ["kilobit", "kbit"],
  ["megabit", "Mbit"],
  ["gigabit", "Gbit"],
  ["byte", "B"],
  ["kilobyte", "kB"],
  ["megabyte", "MB"],
  ["gigabyte", "GB"],
  ["word", "word"],
  ["dword", "dword"],
  ["qword", "qword"],
  ["line", "line"],
  ["hit", "hit"],
  ["miss", "miss"],
  ["retry", "retry"],
  ["reset", "reset"],
  ["overrun / overflow", "overrun"],
  ["underrun", "underrun"],
  ["collision", "collision"],
  ["packets", "packets"],
  ["messages", "messages"],
  ["characters", "characters"],
  ["error", "error"],
  ["correctable error", "correctable error"],
  ["uncorrectable error", "uncorrectable error"],
  ["fatal error", "fatal error"],
  ["grams", "g"],
];

export const SENSOR_UNITS: readonly SensorUnit[] = UNITS.map(([name, symbol], code) => ({
  code,
  name,
  symbol,
}));

/** The unit for a code; codes above 92 are not assigned and come back as "unit NN". */
export function sensorUnit(code: number): SensorUnit {
  return SENSOR_UNITS[code] ?? { code, name: `unit ${code}`, symbol: `unit ${code}` };
}

/** Sensor units 1, [5:3] (IPMI 2.0 §43.1 byte 21): the time base a reading is "per". */
export type RateUnit =
  | "none"
  | "perMicrosecond"
  | "perMillisecond"
  | "perSecond"
  | "perMinute"
  | "perHour"
  | "perDay"
  | "reserved";
export const RATE_UNITS: readonly RateUnit[] = [
  "none",
  "perMicrosecond",
  "perMillisecond",
  "perSecond",
  "perMinute",
  "perHour",
  "perDay",
  "reserved",
];

/** Sensor units 1, [2:1]: how the modifier unit combines with the base unit. */
export type ModifierUnit = "none" | "divide" | "multiply" | "reserved";
export const MODIFIER_UNITS: readonly ModifierUnit[] = ["none", "divide", "multiply", "reserved"];

/** The unit fields of a full or compact sensor record. */
export interface UnitFields {
  rateUnit: RateUnit;
  modifierUnit: ModifierUnit;
  percentage: boolean;
  baseUnit: number;
  modifierUnitCode: number;
}

const RATE_TEXT: Readonly<Record<RateUnit, { symbol: string; name: string }>> = {
  none: { symbol: "", name: "" },
  perMicrosecond: { symbol: "µs", name: "microsecond" },
  perMillisecond: { symbol: "ms", name: "millisecond" },
  perSecond: { symbol: "s", name: "second" },
  perMinute: { symbol: "min", name: "minute" },
  perHour: { symbol: "h", name: "hour" },
  perDay: { symbol: "d", name: "day" },
  reserved: { symbol: "", name: "" },
};

/**
 * Formats a sensor's unit: base, then "/modifier" or "·modifier" ("*modifier" with names), then
 * "/rate" (" per rate" with names); a percentage sensor reads "%" (or "% <unit>" with a unit).
 * Examples: "°C", "W/h", "percent", "Volts*Amps per second".
 */
export function formatUnit(units: UnitFields, style: "symbol" | "name" = "symbol"): string {
  const pick = (code: number): string => {
    if (code === 0) return "";
    const u = sensorUnit(code);
    return style === "symbol" ? u.symbol || u.name : u.name;
  };
  let text = pick(units.baseUnit);
  const mod = pick(units.modifierUnitCode);
  if (mod && units.modifierUnit === "divide") text = `${text || "1"}/${mod}`;
  if (mod && units.modifierUnit === "multiply") text = `${text}${style === "symbol" ? "·" : "*"}${mod}`;
  const rate = RATE_TEXT[units.rateUnit];
  if (style === "symbol" && rate.symbol) text = `${text || "1"}/${rate.symbol}`;
  if (style === "name" && rate.name) text = `${text}${text ? " " : ""}per ${rate.name}`;
  if (units.percentage) {
    const pct = style === "symbol" ? "%" : "percent";
    text = text ? `${pct} ${text}` : pct;
  }
  return text;
}
