import { ReplyError } from "ioredis";
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js";
import { z } from "zod";
import { withTimeout } from "../io/timeout.js";
import type { SensorView } from "../ipmi/sensors.js";
import { PET_SEVERITIES } from "../pet/tables/severity.js";
import { duration, parseDuration } from "../pipeline/alerting/route.js";
import { type Silence, SilenceError, type SilenceStore, silenceState } from "../pipeline/alerting/silence.js";
import { SensorsUnavailable } from "../pipeline/bmc/sensors-now.js";
import { type CachedFru, readFrus } from "../pipeline/fru/store.js";
import { readHealth } from "../pipeline/health/health-store.js";
import type { RedisConnection } from "../pipeline/queues.js";
import { type RecentEvents, recentEventSchema } from "../pipeline/recent/recent.js";
import { ARCHIVE_RESULTS } from "../pipeline/sel/archive.js";
import { readSelStates } from "../pipeline/sel/store.js";
import { escapeControls } from "../sinks/escape.js";
import { type PipelineQueues, REDIS_TIMEOUT_MS } from "./metrics.js";
import { errorSchema, HttpError, type Route, route } from "./routes.js";

/** A BMC of the inventory as the API shows it: never its credentials. */
export interface BmcInfo {
  name: string;
  host: string;
  port: number;
  labels: Record<string, string>;
}

export interface ApiContext {
  /** A BMC's sensors read now (undefined: not in the inventory); absent where no events worker runs. */
  sensors?: (name: string) => Promise<SensorView[] | undefined>;
  redis: RedisConnection;
  prefix: string;
  recent: RecentEvents;
  silences: SilenceStore;
  queues: PipelineQueues;
  bmcs: readonly BmcInfo[];
}

const time = z.iso.datetime({ offset: true });

const eventsQuery = z
  .object({
    bmc: z.string().min(1).optional().describe("only this BMC's events (its name, or the sender's address)"),
    severity: z.enum(PET_SEVERITIES).optional(),
    status: z.enum(["firing", "resolved"]).optional(),
    since: time.optional().describe("only events processed at or after this time (ISO-8601)"),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const healthSchema = z.object({
  name: z.string(),
  state: z.enum(["unknown", "ok", "unresponsive", "wedged"]),
  consecutiveFailures: z.number(),
  alerting: z.boolean().describe('whether "BMC unresponsive" is firing'),
  reason: z.string().optional(),
  downSince: z.string().optional(),
  lastProbeAt: z.string().optional(),
  lastOkAt: z.string().optional(),
  coldResets: z.number(),
  lastColdResetAt: z.string().optional(),
  clockSkewSeconds: z.number().optional().describe("SEL clock minus petgate's, seconds; measured hourly"),
  clockSkewAt: z.string().optional().describe("when clockSkewSeconds was measured"),
  ipmi: z.enum(["2.0", "1.5"]).optional().describe("the IPMI version of the session petgate holds to it"),
});

const selSchema = z
  .object({
    petsMissed: z.number().describe("records alerted from the SEL: their PET never arrived"),
    lastRecordId: z.number().optional().describe("the newest SEL record read"),
    lastReadAt: z.string().optional().describe("when the SEL was last read (ISO-8601)"),
    entries: z.number().optional().describe("records in the SEL (Get SEL Info)"),
    freeBytes: z.number().optional().describe("free bytes the BMC reports (65535 = that or more)"),
    percent: z.number().optional().describe("percent used, as ipmitool sel info shows it"),
    overflow: z.boolean().optional().describe("the BMC has dropped events for lack of space"),
    archives: z
      .record(z.enum(ARCHIVE_RESULTS), z.number())
      .optional()
      .describe("sel.archive_and_clear runs by result, since the sweeping process started"),
    lastArchive: z
      .object({
        at: z.string(),
        result: z.enum(ARCHIVE_RESULTS),
        records: z.number(),
        file: z.string().optional(),
        reason: z.string().optional(),
      })
      .optional()
      .describe("the last archive-and-clear: the archive file, or why the SEL was kept"),
  })
  .catchall(z.unknown());

const fruSchema = z
  .object({
    boardManufacturer: z.string().optional(),
    boardProduct: z.string().optional(),
    boardSerial: z.string().optional(),
    boardPartNumber: z.string().optional(),
    productManufacturer: z.string().optional(),
    productName: z.string().optional(),
    productPartNumber: z.string().optional(),
    productVersion: z.string().optional(),
    productSerial: z.string().optional(),
    assetTag: z.string().optional(),
    chassisSerial: z.string().optional(),
    chassisPartNumber: z.string().optional(),
    readAt: z.string().describe("when the FRU inventory was read (ISO-8601)"),
  })
  .describe("FRU identity (IPMI FRU spec): the BMC's text, control characters removed");

/** What /api/bmcs shows of a cached FRU: the identity and when it was read. */
function fruOf(cached: CachedFru | undefined): z.infer<typeof fruSchema> | null {
  return cached ? { ...cached.fru, readAt: cached.readAt } : null;
}

const bmcsResponse = z.object({
  bmcs: z.array(
    z.object({
      name: z.string(),
      address: z
        .string()
        .nullable()
        .describe("HOST:PORT of its RMCP+ interface; null when not in the inventory"),
      labels: z.record(z.string(), z.string()),
      health: healthSchema.nullable().describe("null until a health monitor has probed it"),
      ipmi: z
        .enum(["2.0", "1.5"])
        .nullable()
        .describe("the IPMI version its session negotiated (RMCP+ or 1.5); null until one was opened"),
      sel: selSchema.nullable().describe("null until SEL reconciliation has read its SEL"),
      fru: fruSchema.nullable().describe("null until its FRU inventory has been read"),
      lastEvent: recentEventSchema.nullable(),
    }),
  ),
});

const silenceSchema = z.object({
  id: z.string(),
  matchers: z.array(z.string()),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
  updatedAt: z.string(),
  state: z.enum(["pending", "active", "expired"]),
});

const newSilence = z
  .object({
    matchers: z
      .array(z.string().min(1))
      .min(1)
      .describe('Alertmanager matchers, all of which must match: bmc="bmc-07", severity!="ok"'),
    duration: duration(true).optional().describe('how long from its start: "30m", "2h", "1d"'),
    endsAt: time.optional().describe("when it ends (ISO-8601); give this or duration"),
    startsAt: time.optional().describe("when it starts (ISO-8601); default now"),
    createdBy: z.string().trim().min(1),
    comment: z.string().trim().min(1).describe("why"),
  })
  .strict()
  .refine((b) => (b.duration === undefined) !== (b.endsAt === undefined), {
    message: "give either duration or endsAt",
    path: ["duration"],
  });

const idParams = z.object({ id: z.string().min(1) });

const depthsSchema = z.object({
  queues: z
    .record(z.string(), z.record(z.string(), z.number()))
    .describe("job counts of the ingest and deliver queues, by state"),
});

const SILENCE_ERRORS: Record<SilenceError["code"], [number, string | undefined]> = {
  "invalid-matcher": [400, "matchers"],
  "matches-everything": [400, "matchers"],
  "invalid-time": [400, "endsAt"],
  "missing-field": [400, undefined],
  "not-found": [404, undefined],
  "already-expired": [409, undefined],
};

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_TEXT[s] ?? "error", schema: errorSchema }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: "a query, body or path parameter is invalid (error.field names it)",
  401: "no or wrong bearer token",
  403: "no token is configured: mutating calls are refused",
  404: "no such silence",
  409: "the silence has already expired",
  503: "Redis did not answer",
};

/** A Redis read of the API had no answer within REDIS_TIMEOUT_MS. */
export class RedisTimeoutError extends Error {
  override readonly name = "RedisTimeoutError";
}

/** What ioredis rejects a command with when the connection is lost or not up (no offline queue). */
const IOREDIS_CONNECTION_ERRORS = new Set([
  "Connection is closed.",
  "Stream isn't writeable and enableOfflineQueue options is false",
]);
/** Socket errors of the connection to Redis. */
const SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * An outage of Redis (a 503): its error reply, ioredis giving up on a command or its connection, a
 * socket error, or no answer in time. Anything else (a ZodError, an HttpError, a fault) is ours: a 500.
 */
export function redisFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof RedisTimeoutError ||
    err instanceof ReplyError ||
    err instanceof MaxRetriesPerRequestError ||
    IOREDIS_CONNECTION_ERRORS.has(err.message) ||
    SOCKET_ERRORS.has((err as NodeJS.ErrnoException).code ?? "")
  );
}

/** The JSON API under /api. Every Redis read is bounded: a Redis that does not answer is a 503. */
export function apiRoutes(ctx: ApiContext): Route[] {
  const redis = <T>(work: Promise<T>) =>
    withTimeout(
      work,
      REDIS_TIMEOUT_MS,
      () => new RedisTimeoutError(`no answer within ${REDIS_TIMEOUT_MS} ms`),
    ).catch((err: unknown) => {
      // Only a Redis failure is an outage; our own errors (a SilenceError, a fault) are not.
      if (!redisFailure(err)) throw err;
      throw new HttpError(503, "redis-unavailable", `Redis: ${(err as Error).message}`);
    });
  const withState = (s: Silence, now: number): z.infer<typeof silenceSchema> => ({
    ...s,
    state: silenceState(s, now),
  });
  const silenceCall = async (work: () => Promise<Silence>): Promise<Silence> => {
    try {
      return await redis(work());
    } catch (err) {
      if (!(err instanceof SilenceError)) throw err;
      const [status, field] = SILENCE_ERRORS[err.code];
      throw new HttpError(status, err.code, err.message, field);
    }
  };

  return [
    route({
      method: "GET",
      url: "/api/events",
      summary: "Recent events, newest first, with their delivery status per receiver",
      query: eventsQuery,
      responses: {
        200: { description: "the events", schema: z.object({ events: z.array(recentEventSchema) }) },
        ...errors(400, 503),
      },
      async handle({ query }) {
        const events = await redis(
          ctx.recent.list({
            ...(query.bmc !== undefined && { bmc: query.bmc }),
            ...(query.severity !== undefined && { severity: query.severity }),
            ...(query.status !== undefined && { status: query.status }),
            ...(query.since !== undefined && { since: Date.parse(query.since) }),
            limit: query.limit,
          }),
        );
        return { body: { events } };
      },
    }),
    route({
      method: "GET",
      url: "/api/bmcs/:name/sensors",
      summary: "A BMC's sensors read now, over the workers' pooled session (the page's view of one BMC)",
      params: z.object({ name: z.string().min(1).max(256) }),
      responses: {
        200: {
          description: "its sensors as the SDR names them, each reading and threshold status",
          schema: z.object({
            sensors: z.array(
              z.object({
                name: z.string(),
                type: z.string(),
                value: z.number().nullable(),
                unit: z.string(),
                status: z.enum(["ok", "nc", "cr", "nr", "ns"]),
              }),
            ),
          }),
        },
        404: { description: "no such BMC, or this process runs no events worker", schema: errorSchema },
        503: { description: "the BMC did not answer, or its circuit is open", schema: errorSchema },
      },
      async handle({ params }) {
        if (!ctx.sensors)
          throw new HttpError(
            404,
            "no-bmc-access",
            "this process runs no events worker: sensors are read where the workers run",
          );
        let sensors: SensorView[] | undefined;
        try {
          sensors = await ctx.sensors(params.name);
        } catch (err) {
          const why = err instanceof SensorsUnavailable ? err.message : `not read: ${(err as Error).message}`;
          throw new HttpError(503, "bmc-unavailable", escapeControls(why));
        }
        if (!sensors)
          throw new HttpError(
            404,
            "unknown-bmc",
            `no BMC named ${JSON.stringify(params.name.slice(0, 100))}`,
          );
        return {
          body: {
            sensors: sensors.map((v) => ({
              name: escapeControls(v.name),
              type: v.sensorTypeName,
              value: v.value,
              unit: v.unit,
              status: v.status,
            })),
          },
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/bmcs",
      summary: "The inventory, with each BMC's health and last recent event",
      responses: { 200: { description: "the BMCs by name", schema: bmcsResponse }, ...errors(503) },
      async handle() {
        const [health, sel, frus] = await redis(
          Promise.all([
            readHealth(ctx.redis, ctx.prefix),
            readSelStates(ctx.redis, ctx.prefix),
            readFrus(ctx.redis, ctx.prefix),
          ]),
        );
        const byName = new Map(health.map((h) => [h.name, h]));
        const names = [...new Set([...ctx.bmcs.map((b) => b.name), ...byName.keys()])];
        // One index head per BMC shown, however many events senders stored.
        const latest = await redis(ctx.recent.latest(names));
        const inventory = new Map(ctx.bmcs.map((b) => [b.name, b]));
        const body: z.infer<typeof bmcsResponse> = {
          bmcs: names.map((name) => {
            const b = inventory.get(name);
            return {
              name,
              address: b ? `${b.host}:${b.port}` : null,
              labels: b ? { ...b.labels } : {},
              health: byName.get(name) ?? null,
              ipmi: byName.get(name)?.ipmi ?? null,
              sel: sel.get(name) ?? null,
              fru: fruOf(frus.get(name)),
              lastEvent: latest.get(name) ?? null,
            };
          }),
        };
        return { body };
      },
    }),
    route({
      method: "GET",
      url: "/api/queues",
      summary: "Job counts of the pipeline's queues",
      responses: { 200: { description: "counts by queue and state", schema: depthsSchema }, ...errors(503) },
      async handle() {
        return { body: { queues: await redis(ctx.queues.depths()) } };
      },
    }),
    route({
      method: "GET",
      url: "/api/silences",
      summary: "Pending and active silences (with all=true, also those expired within retention)",
      query: z.object({ all: z.enum(["true", "false"]).default("false") }).strict(),
      responses: {
        200: { description: "silences, by end", schema: z.object({ silences: z.array(silenceSchema) }) },
        ...errors(400, 503),
      },
      async handle({ query }) {
        const now = Date.now();
        const list = await redis(ctx.silences.list(now, { all: query.all === "true" }));
        return { body: { silences: list.map((s) => withState(s, now)) } };
      },
    }),
    route({
      method: "POST",
      url: "/api/silences",
      summary: "Adds a silence",
      mutating: true,
      body: newSilence,
      responses: {
        201: { description: "the silence", schema: z.object({ silence: silenceSchema }) },
        ...errors(400, 401, 403, 503),
      },
      async handle({ body }) {
        const now = Date.now();
        const startsAt = body.startsAt === undefined ? now : Date.parse(body.startsAt);
        const endsAt =
          body.endsAt !== undefined
            ? Date.parse(body.endsAt)
            : Math.max(startsAt, now) + parseDuration(body.duration as string);
        const silence = await silenceCall(() =>
          ctx.silences.add(
            { matchers: body.matchers, startsAt, endsAt, createdBy: body.createdBy, comment: body.comment },
            now,
          ),
        );
        return { status: 201, body: { silence: withState(silence, now) } };
      },
    }),
    route({
      method: "DELETE",
      url: "/api/silences/:id",
      summary: "Expires a silence now",
      mutating: true,
      params: idParams,
      responses: {
        200: { description: "the expired silence", schema: z.object({ silence: silenceSchema }) },
        ...errors(401, 403, 404, 409, 503),
      },
      async handle({ params }) {
        const now = Date.now();
        const silence = await silenceCall(() => ctx.silences.expire(params.id, now));
        return { body: { silence: withState(silence, now) } };
      },
    }),
  ];
}
