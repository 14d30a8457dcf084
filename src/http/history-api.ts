import { z } from "zod";
import { HISTORY_PAGE_MAX, type HistoryFilter, type HistoryStore } from "../history/store.js";
import { PET_SEVERITIES } from "../pet/tables/severity.js";
import { recentEventSchema } from "../pipeline/recent/recent.js";
import { errorSchema, HttpError, type Route, route } from "./routes.js";

/*
 * GET /api/history: the alert history (src/history/), filtered and a page at a time. Answered from
 * the history file of this process; a process that keeps none answers 404.
 */

const time = z.iso.datetime({ offset: true });
const LABEL = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const TEXT_MAX = 200;

const historyQuery = z
  .object({
    bmc: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("only this BMC's events (its name, or the sender's address)"),
    label: z
      .union([z.string(), z.array(z.string()).max(16)])
      .optional()
      .describe(
        'NAME=VALUE, repeatable: the labels routes match on, exactly ("label_rack=r12", "rule=link-down")',
      ),
    sensor_type: z.string().min(1).max(64).optional().describe('"Temperature", "Fan", …'),
    severity: z.enum(PET_SEVERITIES).optional(),
    status: z.enum(["firing", "resolved"]).optional(),
    since: time.optional().describe("processed at or after (ISO-8601)"),
    until: time.optional().describe("processed before (ISO-8601)"),
    q: z
      .string()
      .max(TEXT_MAX)
      .optional()
      .describe("words that must all appear, each as a word prefix, in any field"),
    limit: z.coerce.number().int().min(1).max(HISTORY_PAGE_MAX).default(100),
    cursor: z
      .string()
      .regex(/^\d{1,16}$/, "the next of a previous page")
      .optional()
      .describe("the `next` of the previous page"),
  })
  .strict();

const historyEventSchema = recentEventSchema.extend({
  at: z.number().describe("processed at, ms since the epoch"),
  labels: z.record(z.string(), z.string()).describe("the labels routes matched its notification on"),
});

/** The query as a store filter; a malformed label is a 400 naming it. */
export function historyFilter(query: z.output<typeof historyQuery>): HistoryFilter {
  const labels: Record<string, string> = {};
  for (const text of query.label === undefined ? [] : [query.label].flat()) {
    const m = LABEL.exec(text);
    if (!m)
      throw new HttpError(
        400,
        "invalid-query",
        `label ${JSON.stringify(text.slice(0, 100))}: give NAME=VALUE`,
        "label",
      );
    labels[m[1] as string] = m[2] as string;
  }
  return {
    ...(query.bmc !== undefined && { bmc: query.bmc }),
    ...(Object.keys(labels).length > 0 && { labels }),
    ...(query.sensor_type !== undefined && { sensorType: query.sensor_type }),
    ...(query.severity !== undefined && { severity: query.severity }),
    ...(query.status !== undefined && { status: query.status }),
    ...(query.since !== undefined && { since: Date.parse(query.since) }),
    ...(query.until !== undefined && { until: Date.parse(query.until) }),
    ...(query.q !== undefined && { text: query.q }),
    ...(query.cursor !== undefined && { cursor: Number(query.cursor) }),
    limit: query.limit,
  };
}

const hoursQuery = z
  .object({ hours: z.coerce.number().int().min(1).max(168).default(24).describe("how many hours back") })
  .strict();

const HOUR = 3_600_000;

export function historyRoutes(store: HistoryStore | undefined, clock: () => number = Date.now): Route[] {
  const kept = (): HistoryStore => {
    if (!store)
      throw new HttpError(
        404,
        "no-history",
        "this process keeps no alert history (config history.enabled, or the HTTP process that keeps it)",
      );
    return store;
  };
  return [
    route({
      method: "GET",
      url: "/api/history/hours",
      summary: "Events per hour by severity over the last hours (the page's chart), oldest hour first",
      query: hoursQuery,
      responses: {
        200: {
          description: "each hour (its start, ISO-8601) and its events by severity; the current hour last",
          schema: z.object({
            hours: z.array(z.object({ start: z.string(), counts: z.record(z.string(), z.number()) })),
          }),
        },
        400: { description: "a query parameter is invalid (error.field names it)", schema: errorSchema },
        404: { description: "this process keeps no history", schema: errorSchema },
      },
      async handle({ query }) {
        const history = kept();
        const end = (Math.floor(clock() / HOUR) + 1) * HOUR;
        const start = end - query.hours * HOUR;
        const hours = Array.from({ length: query.hours }, (_, i) => ({
          start: new Date(start + i * HOUR).toISOString(),
          counts: {} as Record<string, number>,
        }));
        for (const r of history.hourly(start, end)) {
          const slot = hours[(r.hour - start) / HOUR];
          if (slot) slot.counts[r.severity] = r.count;
        }
        return { body: { hours } };
      },
    }),
    route({
      method: "GET",
      url: "/api/history",
      summary: "The alert history, newest first, a page at a time, with each receiver's delivery",
      query: historyQuery,
      responses: {
        200: {
          description: "a page of events; `next` is the cursor of the next page, null on the last",
          schema: z.object({ events: z.array(historyEventSchema), next: z.string().nullable() }),
        },
        400: { description: "a query parameter is invalid (error.field names it)", schema: errorSchema },
        404: {
          description: "this process keeps no history (history.enabled false, or another process keeps it)",
          schema: errorSchema,
        },
      },
      async handle({ query }) {
        const page = kept().query(historyFilter(query));
        return { body: { events: page.events, next: page.next === null ? null : String(page.next) } };
      },
    }),
  ];
}
