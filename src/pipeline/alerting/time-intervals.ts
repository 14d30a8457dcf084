import { z } from "zod";

/*
 * Time intervals, with Alertmanager's syntax and meaning (its timeinterval package and the
 * `time_intervals:` section of its configuration): named lists of intervals that routes refer to by
 * `mute_time_intervals` (no notification goes out while one holds) and `active_time_intervals`
 * (notifications go out only while one holds).
 *
 * An interval holds at an instant when every field it gives holds (a field left out holds always),
 * and a field holds when one of its entries does:
 *   times          [{ start_time: "HH:MM", end_time: "HH:MM" }]: start inclusive, end exclusive,
 *                  "24:00" for the end of the day; start before end
 *   weekdays       "monday", "monday:friday" (Sunday is the first day: "saturday:sunday" is refused)
 *   days_of_month  "1", "1:5", "-1" (the last day), "-7:-1"; a day beyond the month's length is
 *                  clamped to its last day, and a range starting beyond it holds on no day
 *   months         "january", "1", "june:august", "6:8"
 *   years          "2026", "2026:2028"
 *   location       an IANA time zone ("Europe/Berlin") or "Local" (the host's); default UTC
 * Names and ranges are case-insensitive, as in Alertmanager.
 */

/** An inclusive range of integers. */
type Range = readonly [begin: number, end: number];

/** One interval, parsed (see the top of this file). */
export interface TimeInterval {
  /** Minutes of the day: [start, end). */
  readonly times?: readonly Range[];
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekdays?: readonly Range[];
  /** 1…31, or -31…-1 counted from the month's end. */
  readonly daysOfMonth?: readonly Range[];
  /** 1 = January … 12 = December. */
  readonly months?: readonly Range[];
  readonly years?: readonly Range[];
  /** "UTC", "Local" or an IANA zone. */
  readonly location: string;
}

/** A `time_intervals:` entry, parsed. */
export interface NamedTimeInterval {
  readonly name: string;
  readonly intervals: readonly TimeInterval[];
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const HH_MM = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;
const INTEGER = /^-?\d+$/;

// ─── Parsing (each throws a RangeError naming what is wrong) ────────────────────────────────────

function minuteOfDay(text: string): number {
  if (!HH_MM.test(text))
    throw new RangeError(`"${text}" is not a time of day: expected HH:MM, 00:00 to 24:00`);
  const [h, m] = text.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

function timeRange(start: string, end: string): Range {
  const range: Range = [minuteOfDay(start), minuteOfDay(end)];
  if (range[0] >= range[1]) throw new RangeError(`start_time ${start} is not before end_time ${end}`);
  return range;
}

/** "a" or "a:b", each side named by `member`. */
function range(text: string | number, member: (part: string) => number): Range {
  const parts = String(text).toLowerCase().split(":");
  if (parts.length > 2 || parts.some((p) => p === ""))
    throw new RangeError(`"${text}" is not a value or a range "begin:end"`);
  const begin = member(parts[0] as string);
  return [begin, parts.length === 2 ? member(parts[1] as string) : begin];
}

function integer(part: string, what: string): number {
  if (!INTEGER.test(part)) throw new RangeError(`"${part}" is not a ${what}`);
  return Number(part);
}

function weekdayRange(text: string): Range {
  const r = range(text, (p) => {
    const day = WEEKDAYS.indexOf(p);
    if (day < 0) throw new RangeError(`"${p}" is not a weekday (sunday … saturday)`);
    return day;
  });
  if (r[0] > r[1])
    throw new RangeError(
      `"${text}": ${WEEKDAYS[r[1]]} comes before ${WEEKDAYS[r[0]]} (weeks start on sunday)`,
    );
  return r;
}

function dayOfMonthRange(text: string | number): Range {
  const r = range(text, (p) => {
    const day = integer(p, "day of the month");
    if (day === 0 || day < -31 || day > 31)
      throw new RangeError(`${day} is not a day of the month: 1 … 31, or -31 … -1 from its end`);
    return day;
  });
  if (r[0] < 0 && r[1] > 0)
    throw new RangeError(`"${text}": a range that starts from the month's end must end so`);
  // As Alertmanager: in a 28-day month, is the end before the start?
  const on28 = (d: number) => (d < 0 ? 28 + d : d);
  if (on28(r[0]) > on28(r[1])) throw new RangeError(`"${text}": its end day is always before its start day`);
  return r;
}

function monthRange(text: string | number): Range {
  const r = range(text, (p) => {
    const named = MONTHS.indexOf(p);
    if (named >= 0) return named + 1;
    const month = INTEGER.test(p) ? Number(p) : Number.NaN;
    if (!(month >= 1 && month <= 12))
      throw new RangeError(`"${p}" is not a month (january … december, 1 … 12)`);
    return month;
  });
  if (r[0] > r[1]) throw new RangeError(`"${text}": its end month is before its start month`);
  return r;
}

function yearRange(text: string | number): Range {
  const r = range(text, (p) => {
    const year = integer(p, "year");
    if (year < 1) throw new RangeError(`${year} is not a year`);
    return year;
  });
  if (r[0] > r[1]) throw new RangeError(`"${text}": its end year is before its start year`);
  return r;
}

/** The zone's formatter, which also proves it exists (Intl throws a RangeError for an unknown one). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(location: string): Intl.DateTimeFormat {
  let f = formatters.get(location);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      ...(location !== "Local" && { timeZone: location }),
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "long",
    });
    formatters.set(location, f);
  }
  return f;
}

function location(text: string): string {
  if (text === "UTC" || text === "Local") return text;
  try {
    formatter(text);
  } catch {
    throw new RangeError(`"${text}" is not a time zone: an IANA name ("Europe/Berlin"), "UTC" or "Local"`);
  }
  return text;
}

// ─── Configuration ───────────────────────────────────────────────────────────────────────────────

/** A string or a number (YAML reads `- 1` as a number), checked by `parse`. */
const checked = (parse: (text: string | number) => unknown, what: string) =>
  z
    .union([z.string(), z.number()])
    .superRefine((v, ctx) => {
      try {
        parse(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
      }
    })
    .describe(what);

const intervalSchema = z
  .strictObject({
    times: z
      .array(
        z.strictObject({ start_time: z.string(), end_time: z.string() }).superRefine((t, ctx) => {
          try {
            timeRange(t.start_time, t.end_time);
          } catch (err) {
            ctx.addIssue({ code: "custom", message: (err as Error).message });
          }
        }),
      )
      .optional()
      .describe('times of day, { start_time: "09:00", end_time: "17:00" } (end exclusive, "24:00" allowed)'),
    weekdays: z.array(checked((v) => weekdayRange(String(v)), '"monday" or "monday:friday"')).optional(),
    days_of_month: z.array(checked(dayOfMonthRange, '"1", "1:15", "-1" (the last day), "-7:-1"')).optional(),
    months: z.array(checked(monthRange, '"january", "6", "june:august"')).optional(),
    years: z.array(checked(yearRange, '"2026", "2026:2028"')).optional(),
    location: z
      .string()
      .superRefine((v, ctx) => {
        try {
          location(v);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .optional()
      .describe('the time zone the fields are in: IANA ("Europe/Berlin"), "Local" or "UTC" (default)'),
  })
  .describe("holds when every field it gives holds, and a field when one of its entries does");

/** `time_intervals:` in petgate.yml, as in Alertmanager's configuration. */
export const timeIntervalsSchema = z
  .array(
    z.strictObject({
      name: z.string().min(1).describe("the name routes' mute_time_intervals and active_time_intervals use"),
      time_intervals: z.array(intervalSchema).describe("the intervals: the name holds when one of them does"),
    }),
  )
  .default([])
  .describe(
    "named time intervals for routes' mute_time_intervals and active_time_intervals (Alertmanager's)",
  );

export type TimeIntervalsConfig = z.infer<typeof timeIntervalsSchema>;

/** The named intervals of a `time_intervals:` section (parsed: run timeIntervalsSchema.parse first). */
export function compileTimeIntervals(config: TimeIntervalsConfig): Map<string, NamedTimeInterval> {
  return new Map(
    config.map((c) => [
      c.name,
      {
        name: c.name,
        intervals: c.time_intervals.map(
          (i): TimeInterval => ({
            ...(i.times && { times: i.times.map((t) => timeRange(t.start_time, t.end_time)) }),
            ...(i.weekdays && { weekdays: i.weekdays.map((w) => weekdayRange(String(w))) }),
            ...(i.days_of_month && { daysOfMonth: i.days_of_month.map(dayOfMonthRange) }),
            ...(i.months && { months: i.months.map(monthRange) }),
            ...(i.years && { years: i.years.map(yearRange) }),
            location: location(i.location ?? "UTC"),
          }),
        ),
      },
    ]),
  );
}

// ─── Matching ────────────────────────────────────────────────────────────────────────────────────

/** An instant's calendar fields in a zone. */
interface Civil {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minute: number;
}

function civil(at: number, zone: string): Civil {
  if (zone === "UTC") {
    const d = new Date(at);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      weekday: d.getUTCDay(),
      minute: d.getUTCHours() * 60 + d.getUTCMinutes(),
    };
  }
  const parts: Record<string, string> = {};
  for (const p of formatter(zone).formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(String(parts.weekday).toLowerCase()),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

const within = (v: number, ranges: readonly Range[] | undefined, end = (r: Range) => v <= r[1]) =>
  ranges === undefined || ranges.some((r) => v >= r[0] && end(r));

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether the day of the month is in one of the ranges, counted as Alertmanager counts them. */
function onDayOfMonth(c: Civil, ranges: readonly Range[] | undefined): boolean {
  if (ranges === undefined) return true;
  const days = daysIn(c.year, c.month);
  const clamp = (d: number) => Math.min(Math.max(d, -days), days);
  return ranges.some(([b, e]) => {
    const begin = b < 0 ? days + b + 1 : b;
    const end = e < 0 ? days + e + 1 : e;
    return begin <= days && c.day >= clamp(begin) && c.day <= clamp(end);
  });
}

/** Whether the interval holds at `at` (ms since the epoch). */
export function intervalContains(interval: TimeInterval, at: number): boolean {
  const c = civil(at, interval.location);
  return (
    within(c.minute, interval.times, (r) => c.minute < r[1]) &&
    onDayOfMonth(c, interval.daysOfMonth) &&
    within(c.month, interval.months) &&
    within(c.weekday, interval.weekdays) &&
    within(c.year, interval.years)
  );
}

/** Whether one of the named intervals holds at `at`. */
export function namedContains(named: NamedTimeInterval, at: number): boolean {
  return named.intervals.some((i) => intervalContains(i, at));
}
