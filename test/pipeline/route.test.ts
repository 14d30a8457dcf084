import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MatcherError, parseMatcher } from "../../src/config/matchers.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import {
  alertFingerprint,
  compileRoutes,
  formatDuration,
  matcherMatches,
  matchRoutes,
  notificationLabels,
  parseDuration,
  routesSchema,
} from "../../src/pipeline/alerting/route.js";

function notification(over: {
  bmc?: string;
  labels?: Record<string, string>;
  severity?: Notification["severity"];
  status?: Notification["status"];
  sensorType?: string | null;
  text?: string | null;
}): Notification {
  const bmc = over.bmc ?? "bmc-07";
  const status = over.status ?? "firing";
  return {
    version: 1,
    id: `${bmc}-${over.text ?? "x"}-${status}`,
    status,
    severity: over.severity ?? "critical",
    summary: `${bmc}: something`,
    bmc: { name: bmc, address: "192.0.2.7", labels: over.labels ?? { rack: "r1" } },
    event: {
      time: null,
      sensorType: over.sensorType === undefined ? "Temperature" : over.sensorType,
      sensorNumber: 1,
      text: over.text === undefined ? "Upper Critical - going high" : over.text,
      direction: status === "firing" ? "assertion" : "deassertion",
      eventData: "",
    },
    enrichment: "ok",
    receivedAt: "2026-01-01T00:00:00.000Z",
    startsAt: "2026-01-01T00:00:00.000Z",
  };
}

describe("matchers", () => {
  const labels = {
    severity: "critical",
    bmc: "bmc-07",
    sensor_type: "Fan",
    label_rack: "r1",
    event: "Upper Critical - going high",
  };
  it.each([
    ['severity="critical"', true],
    ['severity="warning"', false],
    ["severity=critical", true],
    [' severity = "critical" ', true],
    ['severity!="critical"', false],
    ['severity!="ok"', true],
    ['bmc=~"bmc-0[1-7]"', true],
    ['bmc=~"bmc-0[1-5]"', false],
    ['bmc=~"bmc"', false], // anchored: a regex matches the whole value
    ['bmc=~"bmc.*"', true],
    ['bmc=~"mc-07"', false],
    ['bmc!~"bmc-0[1-5]"', true],
    ['bmc!~"bmc-.*"', false],
    ['bmc=~"a|bmc-07"', true], // the alternation is anchored as a whole: ^(?:a|bmc-07)$
    ['bmc=~"bmc-\\d+"', true], // \d is kept, not an escape of the quoted string
    ['sensor_type!="Fan"', false],
    ['label_rack="r1"', true],
    ['label_rack=~"r[23]"', false],
    ['label_row=""', true], // a label it does not have is ""
    ['label_row!=""', false],
    ['label_row!~".+"', true],
    ['event="Upper Critical - going high"', true],
    ['event=~".*going high"', true],
  ])("%s → %s", (text, expected) => {
    expect(matcherMatches(parseMatcher(text), labels)).toBe(expected);
  });

  it('unescapes \\" \\\\ and \\n in quoted values', () => {
    expect(parseMatcher('event="say \\"hi\\" \\\\ \\n"').value).toBe('say "hi" \\ \n');
  });

  it.each([
    ["severity"],
    ['severity=="critical"'],
    ['="critical"'],
    ['bmc=~"("'],
    ['bmc="unterminated'],
    ['bmc="a"b"'],
    ['bmc~="x"'],
  ])("refuses %s with a MatcherError", (text) => {
    expect(() => parseMatcher(text)).toThrow(MatcherError);
  });
});

describe("notification labels", () => {
  it("are severity, status, sensor_type, sensor_number, event, direction, bmc, instance and label_<name>", () => {
    expect(notificationLabels(notification({ labels: { rack: "r1", role: "db" } }))).toEqual({
      severity: "critical",
      status: "firing",
      sensor_type: "Temperature",
      sensor_number: "1",
      event: "Upper Critical - going high",
      direction: "assertion",
      bmc: "bmc-07",
      instance: "192.0.2.7",
      label_rack: "r1",
      label_role: "db",
    });
  });

  it("are empty strings for what a non-PET trap lacks", () => {
    const labels = notificationLabels(notification({ sensorType: null, text: null }));
    expect(labels.sensor_type).toBe("");
    expect(labels.event).toBe("");
  });

  it("give firing and resolved of one alert the same fingerprint, another sensor another", () => {
    const firing = notification({});
    expect(alertFingerprint(notification({ status: "resolved" }))).toBe(alertFingerprint(firing));
    expect(alertFingerprint(notification({ text: "Lower Critical - going low" }))).not.toBe(
      alertFingerprint(firing),
    );
  });
});

describe("durations", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["4h", 14_400_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["500ms", 500],
    ["0s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5", "m", "1.5h", "-1m", "5 m", "1y"])("refuses %j", (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });

  it("formats back to the shortest text", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(0)).toBe("0s");
  });
});

describe("routes schema", () => {
  it("fills the root's grouping defaults", () => {
    expect(routesSchema.parse({ receiver: "ops" })).toEqual({
      receiver: "ops",
      group_by: [],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [],
    });
  });

  it("refuses bad matchers, durations, group labels and unknown keys, at any depth, with the path", () => {
    const issues = (value: unknown) =>
      routesSchema.safeParse(value).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ receiver: "ops", routes: [{ routes: [{ matchers: ['bmc=~"("'] }] }] })[0]).toMatch(
      /^routes\.0\.routes\.0\.matchers\.0: invalid matcher/,
    );
    expect(issues({ receiver: "ops", group_wait: "soon" })[0]).toMatch(/^group_wait: invalid duration/);
    expect(issues({ receiver: "ops", group_interval: "0s" })[0]).toBe("group_interval: must be more than 0");
    expect(issues({ receiver: "ops", routes: [{ group_by: ["status"] }] })[0]).toMatch(
      /^routes\.0\.group_by\.0: status and direction/,
    );
    expect(issues({ receiver: "ops", routes: [{ match: { a: "b" } }] })[0]).toMatch(/^routes\.0: /);
    expect(issues({ routes: [] })[0]).toMatch(/^receiver: /);
  });

  it("documents a child route's keys for the generated reference", () => {
    const json = z.toJSONSchema(routesSchema, { io: "input", unrepresentable: "any" }) as unknown as {
      properties: { routes: { items: { properties: Record<string, { description?: string }> } } };
    };
    const child = json.properties.routes.items.properties;
    expect(Object.keys(child)).toEqual([
      "receiver",
      "matchers",
      "continue",
      "group_by",
      "group_wait",
      "group_interval",
      "repeat_interval",
      "mute_time_intervals",
      "active_time_intervals",
      "routes",
    ]);
    expect(child.matchers?.description).toMatch(/label_NAME \(each BMC label\)/);
  });
});

describe("route tree", () => {
  const tree = compileRoutes(
    routesSchema.parse({
      receiver: "default",
      group_by: ["bmc"],
      group_wait: "10s",
      routes: [
        {
          receiver: "audit",
          matchers: ['severity=~"critical|non-recoverable"'],
          continue: true,
          group_wait: "0s",
        },
        {
          receiver: "pager",
          matchers: ['severity="critical"'],
          group_by: ["bmc", "sensor_type"],
          routes: [
            { receiver: "fans", matchers: ['sensor_type="Fan"'], repeat_interval: "1h" },
            { matchers: ['label_rack="r9"'] },
          ],
        },
        { receiver: "rack-1", matchers: ['label_rack="r1"'] },
        { receiver: "never", matchers: ['label_rack="r1"'] },
      ],
    }),
  );
  const receivers = (n: Notification) => matchRoutes(tree, n).map((r) => r.receiver);

  it("sends a notification no child takes to the root", () => {
    expect(receivers(notification({ severity: "ok", labels: { rack: "r5" } }))).toEqual(["default"]);
  });

  it("stops at the first matching sibling", () => {
    expect(receivers(notification({ severity: "non-critical" }))).toEqual(["rack-1"]);
  });

  it("goes on after a route with continue", () => {
    expect(receivers(notification({ severity: "non-recoverable" }))).toEqual(["audit", "rack-1"]);
    expect(receivers(notification({ severity: "critical" }))).toEqual(["audit", "pager"]);
  });

  it("goes depth-first: a matching child takes it from its parent", () => {
    expect(receivers(notification({ sensorType: "Fan" }))).toEqual(["audit", "fans"]);
    expect(matchRoutes(tree, notification({ sensorType: "Fan" })).map((r) => r.id)).toEqual(["/0", "/1/0"]);
  });

  it("lets children inherit the receiver and grouping they leave out (matchers and continue not)", () => {
    const [, pager] = tree.routes;
    const fans = pager?.routes[0];
    const rack9 = pager?.routes[1];
    expect(tree).toMatchObject({ groupBy: ["bmc"], groupWaitMs: 10_000, groupIntervalMs: 300_000 });
    expect(tree.routes[0]).toMatchObject({ groupBy: ["bmc"], groupWaitMs: 0, continue: true });
    expect(fans).toMatchObject({
      receiver: "fans",
      groupBy: ["bmc", "sensor_type"],
      groupWaitMs: 10_000,
      repeatIntervalMs: 3_600_000,
      continue: false,
    });
    expect(rack9).toMatchObject({ receiver: "pager", groupBy: ["bmc", "sensor_type"], matchers: [{}] });
    expect(receivers(notification({ labels: { rack: "r9" } }))).toEqual(["audit", "pager"]);
  });

  it('groups by every label with group_by ["..."]', () => {
    const all = compileRoutes(routesSchema.parse({ receiver: "r", group_by: ["..."] }));
    expect(all).toMatchObject({ groupByAll: true, groupBy: [] });
  });
});
