import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { HistoryStore } from "../history/store.js";
import { withTimeout } from "../io/timeout.js";
import type { HostPort } from "../net/address.js";
import { SilenceStore } from "../pipeline/alerting/silence.js";
import type { Intake } from "../pipeline/intake/intake.js";
import type { Workers } from "../pipeline/pipeline.js";
import { DEFAULT_PREFIX, type RedisConnection } from "../pipeline/queues.js";
import { RecentEvents } from "../pipeline/recent/recent.js";
import { petgateVersion } from "../sinks/webhook.js";
import { type ApiContext, apiRoutes, type BmcInfo } from "./api.js";
import { historyRoutes } from "./history-api.js";
import { type AllowedHosts, hostAllowedBy } from "./host-check.js";
import { openQueues, PipelineMetrics, REDIS_TIMEOUT_MS } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { PAGE_CSP, PAGE_HTML, PAGE_SCRIPT } from "./page.js";
import { HttpError, parseInput, type Route, route } from "./routes.js";

export interface Readiness {
  ok: boolean;
  /** true, or why the check fails ("not running", "Redis: connect ECONNREFUSED …"). */
  checks: Record<string, boolean | string>;
}

export interface HttpOptions {
  bind: HostPort;
  /** A connection the caller owns (and closes after close()). */
  redis: RedisConnection;
  prefix?: string;
  /** The parts this process runs: their counters go to /metrics, their liveness to /readyz. */
  intake?: Intake;
  workers?: Workers;
  /** Enables the mutating calls (bearer token); without it they are refused with 403. */
  token?: string;
  /** Host names served besides IP literals, localhost and this machine's name (host-check.ts). */
  allowedHosts?: AllowedHosts;
  /** The metrics the events worker feeds (onProcessed); default: a fresh set without those. */
  metrics?: PipelineMetrics;
  /** The inventory for /api/bmcs (only name, host, port and labels are shown). */
  bmcs?: readonly BmcInfo[];
  /** Replaces the readiness computed from the parts. */
  ready?: () => Promise<Readiness>;
  /** A BMC's sensors read now, where the workers run (GET /api/bmcs/:name/sensors). */
  sensors?: ApiContext["sensors"];
  /** The alert history this process keeps (GET /api/history); none: that answers 404. */
  history?: HistoryStore;
  /** More routes on the same server (the demo's mail and webhook catcher pages). */
  extraRoutes?: (app: FastifyInstance) => void;
  log?: (message: string) => void;
}

export interface HttpServer {
  address(): HostPort;
  close(): Promise<void>;
}

/** The HTTP API, /metrics, /healthz, /readyz, /openapi.json and the web page, on Fastify. */
export async function startHttp(options: HttpOptions): Promise<HttpServer> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = options.log ?? ((m: string) => process.stderr.write(`petgate: ${m}\n`));
  const { redis } = options;
  const metrics = options.metrics ?? new PipelineMetrics();
  const queues = openQueues(redis, prefix);
  metrics.attach({
    redis,
    prefix,
    queues,
    ...(options.intake && { intake: options.intake }),
    ...(options.workers && { workers: options.workers }),
  });
  const ready = options.ready ?? (() => readiness(options));

  const routes: Route[] = [
    ...serviceRoutes(ready, metrics),
    ...apiRoutes({
      redis,
      prefix,
      recent: new RecentEvents(redis, { prefix }),
      silences: new SilenceStore(redis, { prefix }),
      queues,
      bmcs: options.bmcs ?? [],
      ...(options.sensors && { sensors: options.sensors }),
    }),
    ...historyRoutes(options.history),
  ];
  let document: Record<string, unknown> = {};
  routes.push(
    route({
      method: "GET",
      url: "/openapi.json",
      summary: "This OpenAPI document",
      responses: { 200: { description: "OpenAPI 3.1", type: "application/json" } },
      handle: async () => ({ body: document }),
    }),
  );
  document = openApiDocument(routes, petgateVersion());

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const authorize = bearerCheck(options.token);
  const hostAllowed = hostAllowedBy(options.allowedHosts ?? []);
  // One line a minute at most: a scraper or proxy using a name petgate was not told of shows up in
  // the log, and a rebinding page's requests cannot flood it.
  let lastRefusalLogged = Number.NEGATIVE_INFINITY;
  app.addHook("onRequest", async (req) => {
    if (hostAllowed(req.headers.host)) return;
    if (Date.now() - lastRefusalLogged >= 60_000) {
      lastRefusalLogged = Date.now();
      log(
        `http: refused Host ${JSON.stringify(String(req.headers.host).slice(0, 100))}: not an IP literal, localhost, this host's name or in http.allowedHosts (further refusals unlogged for a minute)`,
      );
    }
    throw new HttpError(
      403,
      "host-not-allowed",
      "the Host header names no host this server answers for: add the name to http.allowedHosts",
    );
  });
  app.addHook("onSend", async (_req, reply) => {
    reply.header("x-content-type-options", "nosniff");
    const type = String(reply.getHeader("content-type") ?? "");
    if (type.startsWith("text/html") && !reply.hasHeader("content-security-policy"))
      reply.header("content-security-policy", DEFAULT_HTML_CSP);
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body());
    const status = err.statusCode ?? 500;
    // Fastify's own client errors (malformed JSON, wrong media type, body too large) say what is wrong.
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: { code: "bad-request", message: err.message } });
    log(`http: ${err.message}`);
    return reply.code(500).send({ error: { code: "internal", message: "internal error" } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: "not-found", message: `no route ${req.method} ${req.url}` } }),
  );
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      // Before the body is read: nothing of an unauthorized request is parsed.
      ...(r.mutating && {
        onRequest: async (req: FastifyRequest) => authorize(req.headers.authorization),
      }),
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const input = {
          params: parseInput(r.params, req.params, "path"),
          query: parseInput(r.query, req.query, "query"),
          body: parseInput(r.body, req.body, "body"),
        };
        const out = await r.handle(input);
        reply.code(out.status ?? 200);
        for (const [k, v] of Object.entries(out.headers ?? {})) reply.header(k, v);
        if (out.type) reply.type(out.type);
        return out.body;
      },
    });
  }
  options.extraRoutes?.(app);

  try {
    await app.listen({ host: options.bind.host, port: options.bind.port });
  } catch (err) {
    await queues.close();
    throw err;
  }
  const address = app.server.address();
  const bound: HostPort =
    typeof address === "object" && address !== null
      ? { host: address.address, port: address.port }
      : { ...options.bind };
  return {
    address: () => bound,
    async close() {
      await app.close();
      await queues.close();
    },
  };
}

/** For HTML that sets no policy of its own (the demo's catcher page): no script, no framing. */
const DEFAULT_HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const readinessSchema = z.object({
  ok: z.boolean(),
  checks: z.record(z.string(), z.union([z.boolean(), z.string()])),
});

function serviceRoutes(ready: () => Promise<Readiness>, metrics: PipelineMetrics): Route[] {
  return [
    route({
      method: "GET",
      url: "/healthz",
      summary: "Liveness: the process answers",
      responses: { 200: { description: "alive", schema: z.object({ status: z.literal("ok") }) } },
      handle: async () => ({ body: { status: "ok" } }),
    }),
    route({
      method: "GET",
      url: "/readyz",
      summary:
        "Readiness: RedisConnection reachable, listener bound, workers running (the parts this process runs)",
      responses: {
        200: { description: "ready", schema: readinessSchema },
        503: { description: "not ready: the failing checks say why", schema: readinessSchema },
      },
      async handle() {
        const r = await ready();
        return { status: r.ok ? 200 : 503, body: r };
      },
    }),
    route({
      method: "GET",
      url: "/metrics",
      summary: "Prometheus metrics",
      responses: { 200: { description: "text exposition format", type: "text/plain" } },
      handle: async () => ({ body: await metrics.registry.metrics(), type: metrics.registry.contentType }),
    }),
    route({
      method: "GET",
      url: "/",
      summary: "The web page: recent events, BMC health, queue depths",
      responses: { 200: { description: "HTML", type: "text/html" } },
      handle: async () => ({
        body: PAGE_HTML,
        type: "text/html; charset=utf-8",
        headers: { "content-security-policy": PAGE_CSP },
      }),
    }),
    route({
      method: "GET",
      url: "/app.js",
      summary: "The web page's script",
      hidden: true,
      responses: {},
      handle: async () => ({ body: PAGE_SCRIPT, type: "text/javascript; charset=utf-8" }),
    }),
  ];
}

/** Redis answers PING; the listener's socket is bound; each worker is running. */
async function readiness(o: HttpOptions): Promise<Readiness> {
  const checks: Record<string, boolean | string> = {};
  checks.redis = await withTimeout(
    o.redis.ping(),
    REDIS_TIMEOUT_MS,
    `no answer within ${REDIS_TIMEOUT_MS} ms`,
  ).then(
    () => true,
    (err: unknown) => `Redis: ${(err as Error).message}`,
  );
  if (o.intake) {
    try {
      o.intake.listener.address();
      checks.listener = true;
    } catch {
      checks.listener = "not bound";
    }
  }
  if (o.workers) {
    const { events, delivery } = o.workers;
    for (const [name, w] of [
      ["events worker", events.worker],
      ["delivery worker", delivery.worker],
    ] as const)
      checks[name] = w.isRunning() || "not running";
  }
  return { ok: Object.values(checks).every((c) => c === true), checks };
}

/** Throws 403 when no token is configured, 401 unless the header carries it. */
function bearerCheck(token: string | undefined): (header: string | undefined) => void {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const expected = token === undefined || token === "" ? undefined : digest(token);
  return (header) => {
    if (!expected)
      throw new HttpError(
        403,
        "mutations-disabled",
        "mutating API calls are refused: no token is configured (http.token in petgate.yml)",
      );
    const given = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1];
    // Digests of equal length, so the comparison takes the same time whatever is sent.
    if (given === undefined || !timingSafeEqual(digest(given), expected))
      throw new HttpError(401, "unauthorized", "this call needs Authorization: Bearer <token>");
  };
}
