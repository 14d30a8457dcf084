import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Notification } from "../pipeline/alerting/notification.js";
import { fingerprint, toPostableAlert, ZERO_TIME } from "./alert.js";
import { escapeControls, escapeStrings } from "./escape.js";
import { post, receiverAgent, retryableStatus, snippet } from "./http-post.js";
import type { DeliveryResult, NotificationGroup, Sink } from "./sink.js";

/** The body a webhook receiver is sent: petgate's own, or Alertmanager's webhook payload. */
export type WebhookFormat = "petgate" | "alertmanager";

export interface WebhookSinkOptions {
  name: string;
  url: string;
  /** HMAC-SHA256 key; when set every request carries X-Petgate-Signature. */
  secret?: string;
  /** Whole request, response body included. */
  timeoutMs?: number;
  /** Extra request headers (e.g. an Authorization token); petgate's own headers win on conflict. */
  headers?: Record<string, string>;
  /** Default "petgate". */
  format?: WebhookFormat;
}

/** The `format: petgate` body: one group's notifications, each with its id. */
export interface PetgateWebhookBody {
  version: typeof PETGATE_BODY_VERSION;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  /** "firing" while any notification in it fires, as Alertmanager's. */
  status: Notification["status"];
  notifications: Notification[];
}

/** Alertmanager's webhook payload, version 4 (notify/webhook/webhook.go, template.Data). */
export interface AlertmanagerWebhookBody {
  version: "4";
  groupKey: string;
  /** Alerts left out for max_alerts: petgate sends every one. */
  truncatedAlerts: number;
  status: Notification["status"];
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Where Alertmanager itself would be reached: petgate is not an Alertmanager, so "". */
  externalURL: string;
  alerts: {
    status: Notification["status"];
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

export const PETGATE_BODY_VERSION = "petgate/2";

export const SIGNATURE_HEADER = "X-Petgate-Signature";
export const IDEMPOTENCY_HEADER = "X-Petgate-Idempotency-Key";
const SIGNATURE_PREFIX = "sha256=";
const MAX_REASON_BODY = 200;

/** "sha256=<hex>" over the exact body bytes. */
export function signBody(body: Buffer | string, secret: string): string {
  return SIGNATURE_PREFIX + createHmac("sha256", secret).update(body).digest("hex");
}

/** For receivers: whether an X-Petgate-Signature header matches the body. Constant-time compare. */
export function verifySignature(body: Buffer | string, header: string, secret: string): boolean {
  if (!header.startsWith(SIGNATURE_PREFIX)) return false;
  const hex = header.slice(SIGNATURE_PREFIX.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, "hex"), expected);
}

/**
 * POSTs one group per request, as `format` says, its text escaped. Receivers deduplicate on the
 * idempotency key (the group send's, stable across re-runs); each notification keeps its own id.
 */
export class WebhookSink implements Sink {
  readonly name: string;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly agent = receiverAgent();

  constructor(private readonly options: WebhookSinkOptions) {
    this.name = options.name;
    this.url = new URL(options.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new TypeError(
        `webhook sink ${options.name}: url must be http or https, not ${this.url.protocol}`,
      );
    }
    if (this.url.username !== "" || this.url.password !== "") {
      throw new TypeError(`webhook sink ${options.name}: put credentials in headers, not in the url`);
    }
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async send(group: NotificationGroup): Promise<DeliveryResult> {
    const payload = this.options.format === "alertmanager" ? alertmanagerBody(group) : petgateBody(group);
    const body = Buffer.from(JSON.stringify(payload), "utf8");
    const headers: Record<string, string> = {
      ...this.options.headers,
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      [IDEMPOTENCY_HEADER]: group.idempotencyKey,
    };
    if (this.options.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(body, this.options.secret);

    const answer = await post(this.agent, this.url, headers, body, this.timeoutMs);
    if (!answer.answered) return { outcome: "retryable", reason: answer.reason };
    const { status, text, retryAfterMs } = answer;
    if (status >= 200 && status < 300) return { outcome: "delivered" };
    // Reasons never name the URL: webhook URLs often carry a token.
    const reason = `HTTP ${status}${text ? `: ${snippet(text, MAX_REASON_BODY)}` : ""}`;
    if (status >= 300 && status < 400) {
      // Not followed: the signature and headers are meant for the configured receiver only.
      return { outcome: "permanent", reason: `HTTP ${status} redirect not followed` };
    }
    if (!retryableStatus(status)) return { outcome: "permanent", reason };
    return retryAfterMs === undefined
      ? { outcome: "retryable", reason }
      : { outcome: "retryable", reason, retryAfterMs };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function groupStatus(group: NotificationGroup): Notification["status"] {
  return group.notifications.some((n) => n.status === "firing") ? "firing" : "resolved";
}

/**
 * Trap- and BMC-supplied text escaped as every sink shows it: JSON escaping alone gives a receiver
 * back the CR/LF and ESC it would print. The raw bytes are hex fields, unchanged.
 */
export function petgateBody(group: NotificationGroup): PetgateWebhookBody {
  return escapeStrings({
    version: PETGATE_BODY_VERSION,
    receiver: group.receiver,
    groupKey: group.groupKey,
    groupLabels: { ...group.groupLabels },
    status: groupStatus(group),
    notifications: [...group.notifications],
  });
}

/**
 * The group as Alertmanager's webhook would send it, its alerts mapped (and escaped) as the
 * Alertmanager sink posts them; the group's own text escaped here. Not escaped as a whole: the
 * description's line breaks are petgate's own (alert.ts), each line's text escaped.
 */
export function alertmanagerBody(group: NotificationGroup): AlertmanagerWebhookBody {
  const alerts = group.notifications.map((n) => {
    const a = toPostableAlert(n);
    return {
      status: n.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? ZERO_TIME,
      generatorURL: a.generatorURL ?? "",
      fingerprint: fingerprint(a.labels),
    };
  });
  return {
    version: "4",
    groupKey: escapeControls(group.groupKey),
    truncatedAlerts: 0,
    status: groupStatus(group),
    receiver: escapeControls(group.receiver),
    groupLabels: escapeStrings({ ...group.groupLabels }),
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: "",
    alerts,
  };
}

/** The pairs every one of `sets` has (template.Data's CommonLabels / CommonAnnotations). */
function common(sets: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = sets;
  return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((s) => s[k] === v)));
}

/** Read once from petgate's package.json, which sits a different number of levels up in src and dist. */
export function petgateVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "petgate" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return "unknown";
}

export const USER_AGENT = `petgate/${petgateVersion()}`;
