import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import {
  compileRoutes,
  configuredRoutes,
  routeMuted,
  routesSchema,
} from "../../src/pipeline/alerting/route.js";
import {
  compileTimeIntervals,
  intervalContains,
  type TimeIntervalsConfig,
  timeIntervalsSchema,
} from "../../src/pipeline/alerting/time-intervals.js";

/*
 * Alertmanager's time intervals: what holds when (on fixed instants: the clock is the argument), what
 * is refused and why, and that petgate and Alertmanager's own amtool accept and refuse the same
 * `time_intervals:` sections.
 */

/** The one interval of a one-entry section. */
function interval(spec: Record<string, unknown>) {
  const [named] = compileTimeIntervals(
    timeIntervalsSchema.parse([{ name: "t", time_intervals: [spec] }]),
  ).values();
  const first = named?.intervals[0];
  if (!first) throw new Error("no interval");
  return first;
}

const at = (iso: string) => Date.parse(iso);
const holds = (spec: Record<string, unknown>, iso: string) => intervalContains(interval(spec), at(iso));

describe("when an interval holds", () => {
  it("times: start inclusive, end exclusive, 24:00 the end of the day", () => {
    const spec = { times: [{ start_time: "09:00", end_time: "17:00" }] };
    expect(holds(spec, "2026-12-07T08:59:59Z")).toBe(false);
    expect(holds(spec, "2026-12-07T09:00:00Z")).toBe(true);
    expect(holds(spec, "2026-12-07T16:59:59Z")).toBe(true);
    expect(holds(spec, "2026-12-07T17:00:00Z")).toBe(false);
    const evening = { times: [{ start_time: "22:00", end_time: "24:00" }] };
    expect(holds(evening, "2026-12-07T23:59:00Z")).toBe(true);
    expect(holds(evening, "2026-12-08T00:00:00Z")).toBe(false);
  });

  it("weekdays, ranges from Sunday; names in any case", () => {
    const spec = { weekdays: ["Monday:friday"] };
    expect(holds(spec, "2026-12-07T12:00:00Z")).toBe(true); // a Monday
    expect(holds(spec, "2026-12-11T23:59:00Z")).toBe(true); // Friday
    expect(holds(spec, "2026-12-12T00:00:00Z")).toBe(false); // Saturday
    expect(holds(spec, "2026-12-06T12:00:00Z")).toBe(false); // Sunday
    expect(holds({ weekdays: ["sunday", "saturday"] }, "2026-12-06T12:00:00Z")).toBe(true);
  });

  it("days_of_month: negative from the month's end, clamped to its length", () => {
    const lastWeek = { days_of_month: ["-7:-1"] };
    expect(holds(lastWeek, "2026-02-22T00:00:00Z")).toBe(true); // February 2026 has 28 days
    expect(holds(lastWeek, "2026-02-21T23:59:00Z")).toBe(false);
    expect(holds(lastWeek, "2026-03-25T00:00:00Z")).toBe(true); // 31 days: from the 25th
    expect(holds(lastWeek, "2026-03-24T00:00:00Z")).toBe(false);
    // 31 in a 30-day month is its last day; a range starting beyond the month holds on no day of it.
    expect(holds({ days_of_month: ["30:31"] }, "2026-04-30T10:00:00Z")).toBe(true);
    expect(holds({ days_of_month: ["31"] }, "2026-04-30T10:00:00Z")).toBe(false);
    expect(holds({ days_of_month: ["29:31"] }, "2026-02-28T10:00:00Z")).toBe(false);
    expect(holds({ days_of_month: ["1:-1"] }, "2026-02-28T10:00:00Z")).toBe(true);
    expect(holds({ days_of_month: [1, 15] }, "2026-02-15T10:00:00Z")).toBe(true);
  });

  it("months by name or number, years", () => {
    expect(holds({ months: ["june:august"] }, "2026-07-01T00:00:00Z")).toBe(true);
    expect(holds({ months: ["6:8"] }, "2026-09-01T00:00:00Z")).toBe(false);
    expect(holds({ months: ["December"] }, "2026-12-31T23:59:00Z")).toBe(true);
    expect(holds({ years: ["2026:2027"] }, "2027-12-31T23:59:00Z")).toBe(true);
    expect(holds({ years: ["2026:2027"] }, "2028-01-01T00:00:00Z")).toBe(false);
  });

  it("every field given must hold", () => {
    const spec = { times: [{ start_time: "02:00", end_time: "06:00" }], weekdays: ["saturday"] };
    expect(holds(spec, "2026-12-12T03:00:00Z")).toBe(true);
    expect(holds(spec, "2026-12-12T07:00:00Z")).toBe(false); // Saturday, not the time
    expect(holds(spec, "2026-12-11T03:00:00Z")).toBe(false); // the time, not Saturday
    expect(holds({}, "2026-12-11T03:00:00Z")).toBe(true); // no field: always
  });

  it("location: the fields are read in that zone, across its DST change", () => {
    // Saturday 02:00–06:00 in Berlin: 01:00–05:00 UTC in winter (CET), 00:00–04:00 in summer (CEST).
    const spec = {
      times: [{ start_time: "02:00", end_time: "06:00" }],
      weekdays: ["saturday"],
      location: "Europe/Berlin",
    };
    expect(holds(spec, "2026-12-12T00:59:00Z")).toBe(false);
    expect(holds(spec, "2026-12-12T01:00:00Z")).toBe(true);
    expect(holds(spec, "2026-12-12T04:59:00Z")).toBe(true);
    expect(holds(spec, "2026-12-12T05:00:00Z")).toBe(false);
    expect(holds(spec, "2026-07-04T00:00:00Z")).toBe(true);
    expect(holds(spec, "2026-07-04T04:00:00Z")).toBe(false);
    // 23:30 UTC on Friday is already Saturday in Sydney (UTC+11 in December).
    const sydneySaturday = { weekdays: ["saturday"], location: "Australia/Sydney" };
    expect(holds(sydneySaturday, "2026-12-11T23:30:00Z")).toBe(true);
    expect(holds({ weekdays: ["saturday"] }, "2026-12-11T23:30:00Z")).toBe(false);
  });
});

/** The message zod gives for a section, or undefined when it parses. */
function refusal(section: unknown): string | undefined {
  const result = timeIntervalsSchema.safeParse(section);
  return result.success
    ? undefined
    : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
}
const one = (spec: Record<string, unknown>) => [{ name: "t", time_intervals: [spec] }];

describe("what is refused, and why", () => {
  it.each([
    [{ times: [{ start_time: "17:00", end_time: "09:00" }] }, /17:00 is not before end_time 09:00/],
    [{ times: [{ start_time: "9:00", end_time: "17:00" }] }, /"9:00" is not a time of day/],
    [{ times: [{ start_time: "00:00", end_time: "24:01" }] }, /"24:01" is not a time of day/],
    [{ times: [{ start_time: "00:00" }] }, /end_time/],
    [{ weekdays: ["saturday:sunday"] }, /sunday comes before saturday \(weeks start on sunday\)/],
    [{ weekdays: ["mon"] }, /"mon" is not a weekday/],
    [{ days_of_month: ["0"] }, /0 is not a day of the month/],
    [{ days_of_month: ["32"] }, /32 is not a day of the month/],
    [{ days_of_month: ["-3:5"] }, /starts from the month's end must end so/],
    [{ days_of_month: ["10:5"] }, /end day is always before its start day/],
    [{ days_of_month: ["1:2:3"] }, /not a value or a range/],
    [{ months: ["13"] }, /"13" is not a month/],
    [{ months: ["march:january"] }, /end month is before its start month/],
    [{ years: ["2027:2026"] }, /end year is before its start year/],
    [{ years: ["twenty"] }, /"twenty" is not a year/],
    [{ location: "Mars/Olympus_Mons" }, /"Mars\/Olympus_Mons" is not a time zone/],
    [{ weekday: ["monday"] }, /weekday/],
  ])("%j", (spec, message) => {
    expect(refusal(one(spec))).toMatch(message);
  });

  it("routes name intervals that exist; names are unique; the root route has none (as in Alertmanager)", () => {
    const base = {
      receivers: [{ name: "ops", webhook: { url: "http://127.0.0.1:9/" } }],
      time_intervals: [
        { name: "night", time_intervals: [{ times: [{ start_time: "00:00", end_time: "06:00" }] }] },
      ],
    };
    const issues = (extra: Record<string, unknown>) => {
      const r = configSchema.safeParse({ ...base, ...extra });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(
      issues({
        routes: {
          receiver: "ops",
          routes: [{ matchers: ['severity="critical"'], routes: [{ active_time_intervals: ["day"] }] }],
        },
      }),
    ).toEqual([
      'routes.routes.0.routes.0.active_time_intervals.0: no time interval named "day" in time_intervals',
    ]);
    expect(issues({ routes: { receiver: "ops", routes: [{ mute_time_intervals: ["night"] }] } })).toEqual([]);
    expect(
      issues({ time_intervals: [...base.time_intervals, { name: "night", time_intervals: [] }] }),
    ).toEqual(['time_intervals.1.name: duplicate time interval name "night"']);
    expect(issues({ routes: { receiver: "ops", mute_time_intervals: ["night"] } }).join()).toMatch(
      /mute_time_intervals/,
    );
  });

  it("the parser takes any text without throwing anything but its own refusals (fuzz)", () => {
    const field = fc.oneof(
      fc.string(),
      fc.integer({ min: -100, max: 3000 }),
      fc.constantFrom("monday", "-1", "1:-1"),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            times: fc.array(
              fc.record({ start_time: fc.string({ maxLength: 6 }), end_time: fc.string({ maxLength: 6 }) }),
            ),
            weekdays: fc.array(field),
            days_of_month: fc.array(field),
            months: fc.array(field),
            years: fc.array(field),
            location: fc.oneof(fc.string(), fc.constantFrom("UTC", "Local", "Asia/Tokyo")),
          },
          { requiredKeys: [] },
        ),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (spec, when) => {
          const parsed = timeIntervalsSchema.safeParse(one(spec));
          if (!parsed.success) return;
          const named = compileTimeIntervals(parsed.data).get("t");
          expect(typeof intervalContains(named?.intervals[0] as never, when)).toBe("boolean");
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("a route muted by its intervals", () => {
  const config = configSchema.parse({
    receivers: [
      { name: "ops", webhook: { url: "http://127.0.0.1:9/" } },
      { name: "pager", webhook: { url: "http://127.0.0.1:9/" } },
    ],
    time_intervals: [
      { name: "weekend", time_intervals: [{ weekdays: ["saturday", "sunday"] }] },
      {
        name: "office",
        time_intervals: [
          { weekdays: ["monday:friday"], times: [{ start_time: "09:00", end_time: "17:00" }] },
        ],
      },
    ],
    routes: {
      receiver: "ops",
      routes: [
        {
          matchers: ['severity="critical"'],
          receiver: "pager",
          mute_time_intervals: ["weekend"],
          routes: [{ matchers: ['bmc="lab"'] }],
        },
        { matchers: ['severity="non-critical"'], active_time_intervals: ["office"] },
      ],
    },
  });
  const tree = configuredRoutes(config);
  const [pager, office] = tree.routes;

  it("mute_time_intervals: muted while one holds, named", () => {
    expect(routeMuted(pager as never, at("2026-12-12T10:00:00Z"))).toBe("weekend");
    expect(routeMuted(pager as never, at("2026-12-14T10:00:00Z"))).toBeUndefined();
  });

  it("active_time_intervals: muted outside them", () => {
    expect(routeMuted(office as never, at("2026-12-14T10:00:00Z"))).toBeUndefined();
    expect(routeMuted(office as never, at("2026-12-14T18:00:00Z"))).toBe("outside active_time_intervals");
  });

  it("a child route does not inherit its parent's intervals (Alertmanager's dispatch/route.go)", () => {
    const lab = pager?.routes[0];
    expect(lab?.receiver).toBe("pager");
    expect(routeMuted(lab as never, at("2026-12-12T10:00:00Z"))).toBeUndefined();
    expect(routeMuted(tree, at("2026-12-12T10:00:00Z"))).toBeUndefined();
  });

  it("compileRoutes without the intervals a route names fails naming both", () => {
    expect(() =>
      compileRoutes(routesSchema.parse({ receiver: "ops", routes: [{ mute_time_intervals: ["x"] }] })),
    ).toThrow('route /0: no time interval named "x" in time_intervals');
  });
});

describe("the same sections as Alertmanager's amtool check-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "petgate-intervals-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const exec = promisify(execFile);

  /** Whether amtool accepts an Alertmanager configuration with this section (YAML as JSON). */
  async function amtoolAccepts(section: TimeIntervalsConfig, i: number): Promise<boolean> {
    const file = join(dir, `am-${i}.yml`);
    writeFileSync(
      file,
      JSON.stringify({
        route: {
          receiver: "r",
          routes: [{ receiver: "r", mute_time_intervals: section.map((s) => s.name) }],
        },
        receivers: [{ name: "r" }],
        time_intervals: section,
      }),
    );
    return exec("amtool", ["check-config", file]).then(
      () => true,
      () => false,
    );
  }

  const cases: Record<string, unknown>[] = [
    { times: [{ start_time: "02:00", end_time: "24:00" }], weekdays: ["monday:friday"] },
    { days_of_month: ["-7:-1", "1"], months: ["JANUARY:3"], years: ["2026:2030"], location: "Europe/Berlin" },
    { location: "Local" },
    { times: [{ start_time: "17:00", end_time: "09:00" }] },
    { times: [{ start_time: "9:00", end_time: "17:00" }] },
    { weekdays: ["saturday:sunday"] },
    { weekdays: ["mon"] },
    { days_of_month: ["0"] },
    { days_of_month: ["-3:5"] },
    { days_of_month: ["10:5"] },
    { months: ["march:january"] },
    { years: ["2027:2026"] },
    { location: "Mars/Olympus_Mons" },
  ];

  it("every case is accepted by both or refused by both", async () => {
    const verdicts = await Promise.all(
      cases.map(async (spec, i) => {
        const section = [{ name: `t${i}`, time_intervals: [spec] }] as TimeIntervalsConfig;
        return { spec, amtool: await amtoolAccepts(section, i), petgate: refusal(section) === undefined };
      }),
    );
    expect(verdicts.filter((v) => v.amtool !== v.petgate)).toEqual([]);
    expect(verdicts.filter((v) => v.petgate)).toHaveLength(3);
  });
});
