import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature } from "../sinks/webhook.js";
import { parseMessage } from "./mime.js";

/** A catcher accepts anything without authentication, so it listens on loopback only. */
export interface CatcherOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** How many recent messages or requests are kept (default 100). */
  keep?: number;
}

/** One message as the mail catcher received it. */
export interface CaughtMail {
  receivedAt: string;
  /** The envelope sender and recipients (MAIL FROM, RCPT TO). */
  from: string | undefined;
  to: string[];
  /** The whole message (CRLF line ends). */
  raw: string;
  /** Whether the session had been upgraded to TLS when DATA was sent. */
  secure: boolean;
  /** The authenticated user, if the server was given AUTH. */
  user: string | undefined;
}

export interface MailCatcher {
  readonly host: string;
  readonly port: number;
  /** Oldest first, at most `keep`. */
  readonly messages: CaughtMail[];
  close(): Promise<void>;
}

/** One request as the webhook catcher received it. */
export interface CaughtRequest {
  receivedAt: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** undefined when the catcher has no secret; otherwise whether X-Petgate-Signature verified. */
  signatureValid: boolean | undefined;
  idempotencyKey: string | undefined;
}

export interface WebhookCatcher {
  /** Where to POST: `http://HOST:PORT/hook`. */
  readonly url: string;
  /** Oldest first, at most `keep`. */
  readonly requests: CaughtRequest[];
  close(): Promise<void>;
}

const MAX_BYTES = 1024 * 1024;

/**
 * A local SMTP server (smtp-server) that keeps the last messages it is sent. No AUTH and no
 * STARTTLS unless `smtpOptions` asks for them (tests do); its message handling cannot be replaced.
 */
export async function startMailCatcher(
  options: CatcherOptions & { smtpOptions?: SMTPServerOptions } = {},
): Promise<MailCatcher> {
  const host = loopback(options.host);
  const messages: CaughtMail[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ["AUTH", "STARTTLS"],
    size: MAX_BYTES,
    ...options.smtpOptions,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (stream.sizeExceeded)
          return callback(Object.assign(new Error("message too big"), { responseCode: 552 }));
        keepLast(messages, options.keep, {
          receivedAt: new Date().toISOString(),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  // A client that resets its connection (a killed sender) is smtp-server's 'error'; the catcher goes on.
  server.on("error", () => undefined);
  return {
    host,
    port: (server.server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A local HTTP server that keeps the last requests it is sent, verifying X-Petgate-Signature when it
 * has the secret. It answers 200 unless `respond` answers (tests script failures with it).
 */
export async function startWebhookCatcher(
  options: CatcherOptions & {
    secret?: string;
    respond?: (request: CaughtRequest, res: ServerResponse) => void;
  } = {},
): Promise<WebhookCatcher> {
  const host = loopback(options.host);
  const requests: CaughtRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BYTES) chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_BYTES) return res.writeHead(413).end();
      const body = Buffer.concat(chunks);
      const signature = req.headers[SIGNATURE_HEADER.toLowerCase()];
      const key = req.headers[IDEMPOTENCY_HEADER.toLowerCase()];
      const request: CaughtRequest = {
        receivedAt: new Date().toISOString(),
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        signatureValid:
          options.secret === undefined
            ? undefined
            : typeof signature === "string" && verifySignature(body, signature, options.secret),
        idempotencyKey: typeof key === "string" ? key : undefined,
      };
      keepLast(requests, options.keep, request);
      if (options.respond) options.respond(request, res);
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        // Also ends responses `respond` left hanging.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the demo page shows of a mail. */
export async function mailSummary(m: CaughtMail) {
  const { headers, parts } = await parseMessage(m.raw);
  return {
    receivedAt: m.receivedAt,
    from: headers.get("from") ?? m.from ?? "",
    to: m.to,
    subject: headers.get("subject") ?? "",
    text: parts.find((p) => p.contentType === "text/plain")?.body ?? parts[0]?.body ?? "",
  };
}

/** What the demo page shows of a webhook request: the JSON body when it is JSON. */
export function webhookSummary(r: CaughtRequest) {
  const text = r.body.toString("utf8");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return {
    receivedAt: r.receivedAt,
    method: r.method,
    url: r.url,
    signatureValid: r.signatureValid,
    idempotencyKey: r.idempotencyKey,
    body,
  };
}

/**
 * GET /demo/mail and /demo/webhook (JSON, newest first) and /demo (a small HTML view of both,
 * refreshed every 5 s) on petgate's HTTP server.
 */
export function catcherRoutes(
  app: FastifyInstance,
  catchers: { mail?: MailCatcher; webhook?: WebhookCatcher },
): void {
  const mail = () => Promise.all([...(catchers.mail?.messages ?? [])].reverse().map(mailSummary));
  const webhook = () => [...(catchers.webhook?.requests ?? [])].reverse().map(webhookSummary);
  app.get("/demo/mail", async () => ({ messages: await mail() }));
  app.get("/demo/webhook", async () => ({ requests: webhook() }));
  app.get("/demo", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(page(await mail(), webhook())),
  );
}

function page(
  mail: Awaited<ReturnType<typeof mailSummary>>[],
  webhook: ReturnType<typeof webhookSummary>[],
): string {
  const mailRows = mail.map(
    (m) =>
      `<tr><td>${esc(m.receivedAt)}</td><td>${esc(m.to.join(", "))}</td><td>${esc(m.subject)}</td><td><pre>${esc(m.text)}</pre></td></tr>`,
  );
  const hookRows = webhook.map((w) => {
    const signature = w.signatureValid === undefined ? "unsigned" : w.signatureValid ? "valid" : "INVALID";
    const summary = summariesOf(w.body).join("\n");
    return `<tr><td>${esc(w.receivedAt)}</td><td>${signature}</td><td>${esc(summary)}</td><td><pre>${esc(JSON.stringify(w.body, null, 2))}</pre></td></tr>`;
  });
  const table = (title: string, head: string[], rows: string[]) =>
    `<h2>${title} (${rows.length})</h2><table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows.join("")}</table>`;
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>petgate demo catchers</title><style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px;text-align:left;vertical-align:top}pre{margin:0;max-height:12em;overflow:auto}</style></head>
<body><h1>petgate demo: what the receivers got</h1>
${table("Mail catcher", ["received", "to", "subject", "text"], mailRows)}
${table("Webhook catcher", ["received", "signature", "summary", "body"], hookRows)}
</body></html>`;
}

/** The summaries of the notifications in a webhook body (`format: petgate`: a group of them). */
function summariesOf(body: unknown): string[] {
  const notifications = (body as { notifications?: unknown } | null)?.notifications;
  if (!Array.isArray(notifications)) return [];
  return notifications
    .map((n) => (n as { summary?: unknown } | null)?.summary)
    .filter((s) => typeof s === "string");
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function keepLast<T>(list: T[], keep: number | undefined, item: T): void {
  list.push(item);
  const excess = list.length - (keep ?? 100);
  if (excess > 0) list.splice(0, excess);
}

function loopback(host = "127.0.0.1"): string {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "::1")
    throw new RangeError(
      `a catcher accepts anything unauthenticated, so it listens on loopback only, not ${host}`,
    );
  return host;
}
