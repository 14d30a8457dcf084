import { z } from "zod";
import { type Matcher, matcherString, parseMatcher } from "../../config/matchers.js";
import type { Notification } from "./notification.js";
import {
  compileTimeIntervals,
  type NamedTimeInterval,
  namedContains,
  type TimeIntervalsConfig,
} from "./time-intervals.js";

/*
 * Routing after Alertmanager's dispatch/route.go: a tree of routes, each with matchers on the
 * labels of a notification; a notification goes down the tree depth-first, the first matching child
 * at each level takes it unless that child says `continue`, and a route none of whose children match
 * takes it itself. The root matches everything.
 *
 * The labels a notification is matched on (notificationLabels):
 *   severity     monitor, information, ok, non-critical, critical, non-recoverable, unspecified
 *   status       firing | resolved
 *   sensor_type  "Temperature", "Fan", … ("" for a trap that is not a PET)
 *   sensor_number the PET's sensor number, decimal
 *   event        the offset's meaning, "Upper Critical - going high" ("" when unknown)
 *   direction    assertion | deassertion
 *   bmc          the BMC's inventory name (its address when not in the inventory)
 *   instance     the BMC's address
 *   label_<name> each of the BMC's inventory labels: `labels: { rack: r1 }` is label_rack="r1"
 *   trap         a trap that is no PET: its MIB name, "IF-MIB::linkDown" (its OID when no MIB names it)
 *   trap_oid     its numeric OID
 *   alert_key    its alert when its trap rule gives it one: "trap:" and a digest of rule, BMC and key values
 *   rule         the trap rule that applied (petgate.yml `traps:`), "" for none
 *   <name>       each of that rule's labels: `labels: { team: power }` is team="power"
 * A label a notification does not have matches as the empty string (as in Alertmanager).
 */

// ─── Matchers (their syntax: src/config/matchers.ts) ─────────────────────────────────────────────

/** Whether the matcher holds for the labels. */
export function matcherMatches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  return matcherMatchesValue(m, labels[m.name] ?? "");
}

/** Whether the matcher holds for its label having value `v` ("" when absent). */
export function matcherMatchesValue(m: Matcher, v: string): boolean {
  switch (m.op) {
    case "=":
      return v === m.value;
    case "!=":
      return v !== m.value;
    case "=~":
      return m.regex?.test(v) === true;
    case "!~":
      return m.regex?.test(v) !== true;
  }
}

/** All matchers match (no matchers: everything matches). */
export function allMatch(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matcherMatches(m, labels));
}

/** The labels routes, silences and inhibition rules match on (see the top of this file). */
export function notificationLabels(n: Notification): Record<string, string> {
  // A trap rule's labels first: the names below are reserved for them (src/config/traps.ts), and
  // win here all the same.
  const labels: Record<string, string> = { ...n.labels };
  for (const [k, v] of Object.entries(n.bmc.labels)) labels[`label_${k}`] = v;
  labels.severity = n.severity;
  labels.status = n.status;
  labels.sensor_type = n.event.sensorType ?? "";
  // The number as the Alertmanager sink labels it: with it the labels name one alert, so that
  // group_by ['...'] makes a group per alert, as in Alertmanager.
  labels.sensor_number = String(n.event.sensorNumber);
  labels.event = n.event.text ?? "";
  labels.direction = n.event.direction;
  labels.bmc = n.bmc.name;
  labels.instance = n.bmc.address;
  if (n.rule !== undefined) labels.rule = n.rule;
  if (n.trap) {
    labels.trap = n.trap.name;
    labels.trap_oid = n.trap.oid;
    if (n.trap.key !== undefined) labels.alert_key = n.trap.key;
  }
  return labels;
}

/**
 * The labels that tell a firing notification and its resolved one apart, and so are left out of
 * an alert's identity and cannot be grouped by.
 */
export const STATUS_LABELS: ReadonlySet<string> = new Set(["status", "direction"]);

/**
 * The identity of the alert a notification is about: the same for its firing and its resolved
 * notification (which share BMC, sensor and offset meaning, or a trap rule's key: see AlertBook),
 * different for another sensor, offset or key. Grouping replaces an alert's firing notification with
 * its resolved one by it. A generic trap without a key is a one-shot (isOneShot): its own
 * notification, so two linkDowns of different ports with one summary are not taken for one alert.
 */
export function alertFingerprint(n: Notification): string {
  if (n.trap) return n.trap.key ?? n.id;
  return [n.bmc.name, n.event.sensorType ?? "", n.event.sensorNumber, n.event.text ?? n.summary].join(
    "\u0000",
  );
}

/**
 * A generic trap whose rule gives it no alert (no `key` nor `resolved_by`; the catch-all too): a
 * notification nothing resolves, so grouping sends it once and then forgets it, never repeating it.
 */
export function isOneShot(n: Notification): boolean {
  return n.trap !== undefined && n.trap.key === undefined;
}

// ─── Durations ───────────────────────────────────────────────────────────────────────────────────

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;

/** Milliseconds of a Prometheus-style duration: "30s", "5m", "4h", "1h30m", "2d", "500ms". */
export function parseDuration(text: string): number {
  if (!DURATION.test(text))
    throw new RangeError(`invalid duration "${text}": expected e.g. "30s", "5m", "4h" or "1h30m"`);
  let ms = 0;
  for (const [, n = "0", unit = "ms"] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g))
    ms += Number(n) * (DURATION_UNITS[unit] ?? 0);
  return ms;
}

/** The shortest duration text for `ms` ("1h30m"; "0s" for zero). */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  let text = "";
  for (const unit of ["w", "d", "h", "m", "s", "ms"]) {
    const size = DURATION_UNITS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text || "0s";
}

// ─── Configuration ───────────────────────────────────────────────────────────────────────────────

/** A duration string ("30s", "5m", "1h30m"); `positive` refuses 0. */
export const duration = (positive: boolean) =>
  z.string().superRefine((s, ctx) => {
    try {
      if (parseDuration(s) === 0 && positive)
        ctx.addIssue({ code: "custom", message: "must be more than 0" });
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });

const GROUP_BY = 'labels whose values split notifications into groups; ["..."] = every label';

const groupBy = z
  .array(
    z
      .string()
      .min(1)
      .refine(
        (l) => !STATUS_LABELS.has(l),
        "status and direction differ between an alert's firing and resolved notifications: not a group label",
      ),
  )
  .describe(GROUP_BY);

const WHAT_MATCHERS =
  'Alertmanager matchers on severity, status, sensor_type, sensor_number, event, direction, bmc, instance, label_NAME (each BMC label), trap, trap_oid, alert_key, rule and the rule\'s labels by name: NAME="v", NAME!="v", NAME=~"regex", NAME!~"regex" (regexes anchored)';

/**
 * A child route. A key left out is inherited from the parent (but matchers and continue). Written
 * out, not spread from a shared object: TypeScript cannot infer a recursive zod object otherwise.
 */
const nestedRoute = z.strictObject({
  receiver: z
    .string()
    .min(1)
    .optional()
    .describe("receiver of what this route takes (default: the parent's)"),
  matchers: z.array(matcherString).default([]).describe(`${WHAT_MATCHERS}; all must match`),
  continue: z
    .boolean()
    .default(false)
    .describe("after this route matched, go on trying its next siblings (default: stop at the first match)"),
  group_by: groupBy.optional().describe(`${GROUP_BY} (default: the parent's)`),
  group_wait: duration(false)
    .optional()
    .describe("how long a new group waits for more notifications (default: the parent's)"),
  group_interval: duration(true)
    .optional()
    .describe("how long before a group's next batch (default: the parent's)"),
  repeat_interval: duration(true)
    .optional()
    .describe("how long before a batch that changed nothing is resent (default: the parent's)"),
  mute_time_intervals: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "names of time_intervals during which this route sends nothing (not inherited, as in Alertmanager)",
    ),
  active_time_intervals: z
    .array(z.string().min(1))
    .optional()
    .describe("names of time_intervals outside which this route sends nothing (not inherited)"),
  get routes(): z.ZodOptional<z.ZodArray<typeof nestedRoute>> {
    return z.array(nestedRoute).optional();
  },
});

/** The root's children: the same keys, spelled out once more so that the reference documents them. */
const childRoute = nestedRoute.extend({
  routes: z
    .array(nestedRoute)
    .optional()
    .describe("child routes, each with the keys of routes.routes[] (any depth)"),
});

/**
 * `routes:` in petgate.yml: the root route. It takes every notification no child route takes, and
 * gives its children the grouping settings they leave out.
 */
export const routesSchema = z
  .object({
    receiver: z.string().min(1).describe("receiver of what no child route takes"),
    group_by: groupBy.default([]),
    group_wait: duration(false).default("30s").describe("how long a new group waits for more notifications"),
    group_interval: duration(true).default("5m").describe("how long before a group's next batch"),
    repeat_interval: duration(true)
      .default("4h")
      .describe("how long before a batch that changed nothing is resent"),
    routes: z
      .array(childRoute)
      .default([])
      .describe("child routes, tried in order (first match wins unless continue)"),
  })
  .strict();

export type RoutesConfig = z.infer<typeof routesSchema>;
export type RouteConfig = z.infer<typeof nestedRoute>;

// ─── The route tree ──────────────────────────────────────────────────────────────────────────────

/** A route with everything inherited resolved. */
export interface Route {
  /** Its position in the tree: "/" for the root, "/0/2" for the root's first child's third child. */
  readonly id: string;
  readonly receiver: string;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  /** Group labels; ignored when groupByAll. */
  readonly groupBy: readonly string[];
  /** group_by: ["..."]: each distinct label set (but status and direction) is its own group. */
  readonly groupByAll: boolean;
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  /** While one of these holds, the route sends nothing (time-intervals.ts). */
  readonly muteTimeIntervals: readonly NamedTimeInterval[];
  /** When given, the route sends only while one of these holds. */
  readonly activeTimeIntervals: readonly NamedTimeInterval[];
  readonly routes: readonly Route[];
}

/**
 * The route tree of a `routes:` section (parsed: run routesSchema.parse first), its routes' time
 * intervals named in `intervals` (configSchema checks that every name is there).
 */
export function compileRoutes(
  config: RoutesConfig,
  intervals: ReadonlyMap<string, NamedTimeInterval> = new Map(),
): Route {
  return build(config, undefined, "/", intervals);
}

function build(
  c: RouteConfig | RoutesConfig,
  parent: Route | undefined,
  id: string,
  intervals: ReadonlyMap<string, NamedTimeInterval>,
): Route {
  const named = (names: readonly string[] | undefined) =>
    (names ?? []).map((name) => {
      const found = intervals.get(name);
      if (!found) throw new RangeError(`route ${id}: no time interval named "${name}" in time_intervals`);
      return found;
    });
  const groupBy = c.group_by ?? parent?.groupBy ?? [];
  const groupByAll = c.group_by ? c.group_by.includes("...") : (parent?.groupByAll ?? false);
  const ms = (text: string | undefined, inherited: number | undefined, fallback: string) =>
    text !== undefined ? parseDuration(text) : (inherited ?? parseDuration(fallback));
  const route: Route = {
    id,
    receiver: c.receiver ?? parent?.receiver ?? "",
    matchers: "matchers" in c ? (c.matchers ?? []).map(parseMatcher) : [],
    continue: "continue" in c ? c.continue === true : false,
    groupBy: groupByAll ? [] : groupBy,
    groupByAll,
    groupWaitMs: ms(c.group_wait, parent?.groupWaitMs, "30s"),
    groupIntervalMs: ms(c.group_interval, parent?.groupIntervalMs, "5m"),
    repeatIntervalMs: ms(c.repeat_interval, parent?.repeatIntervalMs, "4h"),
    muteTimeIntervals: named("mute_time_intervals" in c ? c.mute_time_intervals : undefined),
    activeTimeIntervals: named("active_time_intervals" in c ? c.active_time_intervals : undefined),
    routes: [],
  };
  const children = (c.routes ?? []).map((child, i) =>
    build(child, route, id === "/" ? `/${i}` : `${id}/${i}`, intervals),
  );
  return { ...route, routes: children };
}

/**
 * Why the route sends nothing at `at` (Alertmanager's TimeMuteStage and TimeActiveStage): the name
 * of a mute interval that holds, or "outside active_time_intervals"; undefined when it sends.
 */
export function routeMuted(route: Route, at: number): string | undefined {
  for (const m of route.muteTimeIntervals) if (namedContains(m, at)) return m.name;
  if (route.activeTimeIntervals.length > 0 && !route.activeTimeIntervals.some((a) => namedContains(a, at)))
    return "outside active_time_intervals";
  return undefined;
}

/** The time interval names a routes section uses, each with its path in the config. */
export function routeIntervalPaths(
  route: { routes?: readonly RouteConfig[] | undefined },
  path: readonly (string | number)[],
): { name: string; path: (string | number)[] }[] {
  return (route.routes ?? []).flatMap((child, i) => {
    const at = [...path, "routes", i];
    const own = (key: "mute_time_intervals" | "active_time_intervals") =>
      (child[key] ?? []).map((name, j) => ({ name, path: [...at, key, j] }));
    return [...own("mute_time_intervals"), ...own("active_time_intervals"), ...routeIntervalPaths(child, at)];
  });
}

/**
 * The routes that take a notification, in tree order (Alertmanager's Route.Match): depth-first;
 * at each level the first matching child wins, unless it has `continue`, in which case the next
 * siblings are tried too; a matching route none of whose children match takes it itself. The root
 * always matches, so the result is never empty.
 */
export function matchRoutes(tree: Route, n: Notification): Route[] {
  return routesFor(tree, notificationLabels(n));
}

/** The routes that take a notification with these labels (`petgate route test`, as amtool's). */
export function routesFor(tree: Route, labels: Readonly<Record<string, string>>): Route[] {
  return match(tree, labels) ?? [tree];
}

/** The routes petgate.yml gives, or one route to the receiver "default" when it gives none. */
export function configuredRoutes(config: {
  routes?: RoutesConfig | undefined;
  time_intervals?: TimeIntervalsConfig | undefined;
}): Route {
  return compileRoutes(
    config.routes ?? routesSchema.parse({ receiver: "default" }),
    compileTimeIntervals(config.time_intervals ?? []),
  );
}

function match(route: Route, labels: Readonly<Record<string, string>>): Route[] | undefined {
  if (!allMatch(route.matchers, labels)) return undefined;
  const all: Route[] = [];
  for (const child of route.routes) {
    const taken = match(child, labels);
    if (!taken) continue;
    all.push(...taken);
    if (!child.continue) break;
  }
  return all.length > 0 ? all : [route];
}
