import { connect, type Socket } from "node:net";
import nodemailer from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import { withTimeout } from "../io/timeout.js";
import type { Notification } from "../pipeline/alerting/notification.js";
import { escapeStrings } from "./escape.js";
import type { DeliveryResult, NotificationGroup, Sink } from "./sink.js";
import {
  composeMessage,
  defaultEmailTemplates,
  type EmailTemplate,
  type EmailTemplates,
} from "./templates/email.js";

export interface EmailTransportOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  secure?: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS. */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** TLS settings for either mode, e.g. the CA of a private relay. */
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
  /** Connect, greeting and socket inactivity limit (nodemailer's defaults run to minutes). */
  timeoutMs?: number;
}

export interface EmailSinkOptions {
  name: string;
  transport: EmailTransportOptions;
  from: string;
  to: string[];
  templates?: Partial<EmailTemplates>;
}

export type { EmailTemplate, EmailTemplates };

/**
 * Nodemailer error codes, without an SMTP reply code, that no retry can fix: no usable AUTH
 * mechanism, no valid recipient, an unbuildable message, RFC 8689 REQUIRETLS unsupported.
 */
const PERMANENT_CODES = new Set(["EAUTH", "EENVELOPE", "EMESSAGE", "EREQUIRETLS"]);
const MAX_REASON = 300;
/**
 * nodemailer's getSocket: a TCP connection to the relay with Nagle's algorithm off, which nodemailer
 * then speaks SMTP over (and upgrades to TLS for `secure`). nodemailer writes a message in pieces, so
 * with Nagle on each message waited out the relay's delayed ACK, 40 ms on Linux: 22 messages a second
 * a connection. When the connection fails, nodemailer is left to connect by itself and report the
 * failure: an error given back from getSocket leaves a dead resource counted in its pool for good
 * (nodemailer 7.0.13), which hung every send once all of them were.
 */
function noDelayConnection(
  options: { host?: string; port?: number; connectionTimeout?: number },
  callback: (err: null, socket: { connection: Socket } | false) => void,
): void {
  const socket = connect({ host: options.host, port: options.port ?? 25, noDelay: true });
  const giveUp = () => {
    socket.destroy();
    callback(null, false);
  };
  socket.setTimeout(options.connectionTimeout ?? 30_000, giveUp);
  socket.once("error", giveUp);
  socket.once("connect", () => {
    socket.setTimeout(0);
    socket.off("timeout", giveUp);
    socket.off("error", giveUp);
    callback(null, { connection: socket });
  });
}

/** A send's deadline, in transport timeouts: connect, greeting and the transaction, each one. */
const SEND_DEADLINE_TIMEOUTS = 3;

/** Connections to the relay at once, and messages sent over one before it is replaced. */
const SMTP_CONNECTIONS = 8;
const SMTP_MESSAGES_PER_CONNECTION = 100;

/**
 * Sends one message per group through an SMTP relay, over a small pool of connections (a
 * connection per message cost a TCP and SMTP handshake each, the most of a send in a storm). The
 * pool replaces a connection the relay closed while idle; a send on one that broke is retried.
 */
export class EmailSink implements Sink {
  readonly name: string;
  private readonly transporter: nodemailer.Transporter<SMTPPool.SentMessageInfo>;
  private readonly templates: EmailTemplates;
  /** The parts whose template is the operator's: they render the notification escaped (below). */
  private readonly customParts: ReadonlySet<string>;
  private readonly secrets: string[];
  /** The most one send may take, whatever nodemailer's own timeouts (each is per step, not per send). */
  private readonly deadlineMs: number;

  constructor(private readonly options: EmailSinkOptions) {
    if (options.to.length === 0) throw new RangeError(`email sink ${options.name}: no recipients`);
    this.name = options.name;
    this.templates = { ...defaultEmailTemplates, ...options.templates };
    this.customParts = new Set(Object.keys(options.templates ?? {}));
    const t = options.transport;
    const timeout = t.timeoutMs ?? 30_000;
    this.deadlineMs = SEND_DEADLINE_TIMEOUTS * timeout;
    this.transporter = nodemailer.createTransport({
      host: t.host,
      port: t.port,
      secure: t.secure ?? false,
      requireTLS: t.requireTLS ?? false,
      auth: t.auth ? { user: t.auth.user, pass: t.auth.pass } : undefined,
      tls: t.tls,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      getSocket: noDelayConnection,
      pool: true,
      maxConnections: SMTP_CONNECTIONS,
      maxMessages: SMTP_MESSAGES_PER_CONNECTION,
      // No logger, no debug: SMTP transcripts carry the AUTH exchange.
      logger: false,
      debug: false,
    });
    this.secrets = t.auth ? credentialForms(t.auth.user, t.auth.pass) : [];
  }

  async send(group: NotificationGroup): Promise<DeliveryResult> {
    let message: { subject: string; text: string; html: string };
    try {
      // Custom templates render each notification with its strings escaped, so trap- and BMC-supplied
      // text is data in whatever they make of it (one copy for all of them). The default templates
      // escape each value they show; nodemailer writes any line break left in a header as a space.
      const escaped = new Map<Notification, Notification>();
      const input = (part: keyof EmailTemplates, n: Notification): Notification => {
        if (!this.customParts.has(part)) return n;
        const copy = escaped.get(n) ?? escapeStrings(n);
        escaped.set(n, copy);
        return copy;
      };
      message = composeMessage(group, (part, n) => this.templates[part](input(part, n)));
    } catch (err) {
      // A broken template fails the same way every time.
      return { outcome: "permanent", reason: this.redact(`template failed: ${errorMessage(err)}`) };
    }
    try {
      const sending = this.transporter.sendMail({
        from: this.options.from,
        to: this.options.to,
        ...message,
        messageId: messageId(group.idempotencyKey),
        headers: { "X-Petgate-Notification-Ids": group.notifications.map((n) => n.id).join(" ") },
      });
      sending.catch(() => undefined); // a late failure after the deadline is nobody's
      const info = await withTimeout(sending, this.deadlineMs, () =>
        Object.assign(new Error(`no end to the send within ${this.deadlineMs} ms`), { code: "ETIMEDOUT" }),
      );
      // Some recipients accepted: resending would duplicate for them, so this counts as delivered.
      if (info.accepted.length > 0) return { outcome: "delivered" };
      return { outcome: "permanent", reason: this.redact(`all recipients rejected: ${info.response}`) };
    } catch (err) {
      return this.classify(err);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }

  /** RFC 5321 §4.2.1: 4yz is a transient negative reply, 5yz permanent. Network failures are transient. */
  private classify(err: unknown): DeliveryResult {
    const e = (typeof err === "object" && err !== null ? err : {}) as {
      code?: unknown;
      responseCode?: unknown;
      response?: unknown;
      command?: unknown;
    };
    const code = typeof e.code === "string" ? e.code : undefined;
    const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
    const parts: string[] = [];
    if (code) parts.push(code);
    if (typeof e.command === "string") parts.push(`after ${e.command.split(" ")[0]}`);
    const detail =
      typeof e.response === "string" && responseCode !== undefined ? e.response : errorMessage(err);
    const reason = this.redact(`smtp ${parts.join(" ")}: ${detail}`.replace(/\s+/g, " ")).slice(
      0,
      MAX_REASON,
    );

    if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
      return { outcome: "retryable", reason };
    }
    if (responseCode !== undefined && responseCode >= 500) return { outcome: "permanent", reason };
    if (code && PERMANENT_CODES.has(code)) return { outcome: "permanent", reason };
    // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS (handshake failures, which include a certificate
    // renewed late) and anything unrecognised: the relay may be fine later.
    return { outcome: "retryable", reason };
  }

  private redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join("[redacted]");
    return out;
  }
}

/** The password as it can appear in an SMTP exchange: raw, and in AUTH PLAIN/LOGIN base64. */
function credentialForms(user: string, pass: string): string[] {
  if (pass === "") return [];
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  return [pass, b64(pass), b64(`\u0000${user}\u0000${pass}`), b64(`${user}\u0000${user}\u0000${pass}`)];
}

/** RFC 5322 §3.6.4 msg-id: the group send's idempotency key, so a re-run's message keeps its Message-ID. */
function messageId(id: string): string {
  return `<${id.replace(/[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/g, "_")}@petgate>`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
