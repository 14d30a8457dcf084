import { hexByte } from "../ipmi/bytes.js";
import type { Notification } from "../pipeline/alerting/notification.js";
import { escapeControls } from "./escape.js";
import type { DeliveryResult, Sink } from "./sink.js";

export interface AlertmanagerSinkOptions {
  name: string;
  /** Alertmanager's base URL ("http://127.0.0.1:9093", or with a path prefix); user:password@ becomes Basic auth. */
  url: string;
  timeoutMs?: number;
  /** Added to every alert; the alert's own labels win on a clash. Names must be Prometheus label names. */
  extraLabels?: Record<string, string>;
  /** Sent as each alert's generatorURL (Alertmanager's UI links "Source" to it). */
  generatorUrl?: string;
}

/** An Alertmanager sink that cannot be built as configured (checked once, at start-up). */
export class AlertmanagerSinkConfigError extends Error {
  constructor(
    readonly sink: string,
    readonly problem: string,
  ) {
    super(`alertmanager sink ${sink}: ${problem}`);
    this.name = "AlertmanagerSinkConfigError";
  }
}

/** Alertmanager API v2 `postableAlert` (api/v2/openapi.yaml). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_REASON_BODY = 500;

/**
 * Posts each notification as one alert to Alertmanager's API v2. Alertmanager identifies an alert by
 * its label set, so the labels hold only what is fixed for an event — never the status, direction,
 * reading or the enrichment result — and a resolved notification (endsAt in the past) ends the very
 * alert its firing notification started.
 */
export class AlertmanagerSink implements Sink {
  readonly name: string;
  /** Without credentials, so it can appear in reasons. */
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly extraLabels: Record<string, string>;
  private readonly generatorUrl: string | undefined;

  constructor(options: AlertmanagerSinkOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.generatorUrl = options.generatorUrl;
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new AlertmanagerSinkConfigError(options.name, "url is not an absolute URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new AlertmanagerSinkConfigError(options.name, `url must be http or https, not ${url.protocol}`);
    }
    this.headers = { "content-type": "application/json" };
    // fetch refuses URLs with credentials (WHATWG Fetch §5.4), so they travel as a header instead.
    if (url.username !== "" || url.password !== "") {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
    url.search = "";
    url.hash = "";
    this.endpoint = url.toString();
    const invalid = Object.keys(options.extraLabels ?? {}).filter((k) => !LABEL_NAME.test(k));
    if (invalid.length > 0) {
      throw new AlertmanagerSinkConfigError(
        options.name,
        `extraLabels names must match [a-zA-Z_][a-zA-Z0-9_]*: ${invalid.map((k) => JSON.stringify(k)).join(", ")}`,
      );
    }
    this.extraLabels = { ...options.extraLabels };
  }

  async send(notification: Notification): Promise<DeliveryResult> {
    const body = JSON.stringify([toPostableAlert(notification, this.extraLabels, this.generatorUrl)]);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      return {
        outcome: "retryable",
        reason: `POST ${this.endpoint}: ${describeFetchError(err, this.timeoutMs)}`,
      };
    }
    if (response.ok) return { outcome: "delivered" };
    const reason = `POST ${this.endpoint}: HTTP ${response.status}${errorText(text)}`;
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
      return retryAfterMs === undefined
        ? { outcome: "retryable", reason }
        : { outcome: "retryable", reason, retryAfterMs };
    }
    // 400 is Alertmanager's validation error ("start time must be before end time", …): the same alert
    // would be rejected again. 401/403/404 need a person to fix the configuration.
    return { outcome: "permanent", reason };
  }
}

/** The alert a notification becomes: the same labels for its firing and its resolved notification. */
export function toPostableAlert(
  n: Notification,
  extraLabels: Record<string, string> = {},
  generatorUrl?: string,
): PostableAlert {
  const labels: Record<string, string> = {};
  const put = (name: string, value: string | null | undefined) => {
    // Prometheus treats an empty label value as an absent label; Alertmanager would drop it anyway.
    if (value !== null && value !== undefined && value !== "") labels[name] = escapeControls(value);
  };
  for (const [k, v] of Object.entries(extraLabels)) put(k, v);
  for (const [k, v] of Object.entries(n.bmc.labels)) put(labelName(k), v);
  // The event's own labels last: inventory labels must not be able to change an alert's identity.
  put("alertname", alertName(n.event.sensorType));
  put("bmc", n.bmc.name);
  put("instance", n.bmc.address);
  put("severity", n.severity);
  put("sensor_type", n.event.sensorType);
  // The number, not the name: the name comes from SDR enrichment, which may succeed for the firing
  // and time out for the resolved notification, and a changed label would be a different alert.
  put("sensor_number", String(n.event.sensorNumber));
  put("event", n.event.text);

  const annotations: Record<string, string> = {
    summary: escapeControls(n.summary),
    description: describe(n),
    notification_id: n.id,
    event_data: n.event.eventData,
    enrichment: n.enrichment,
    received_at: n.receivedAt,
  };
  if (n.sensor) annotations.sensor = escapeControls(n.sensor.name);
  if (n.event.time !== null) annotations.event_time = escapeControls(n.event.time);
  if (n.event.severityRaw !== undefined) annotations.pet_severity = `${hexByte(n.event.severityRaw)}h`;

  const alert: PostableAlert = { labels, annotations, startsAt: n.startsAt };
  // Without endsAt Alertmanager keeps a firing alert for resolve_timeout; an endsAt in the past resolves it.
  if (n.status === "resolved") alert.endsAt = n.endsAt ?? new Date().toISOString();
  if (generatorUrl !== undefined) alert.generatorURL = generatorUrl;
  return alert;
}

/** "Temperature" → "IpmiTemperature", "Button/Switch" → "IpmiButtonSwitch", null → "IpmiEvent". */
export function alertName(sensorType: string | null): string {
  const words = (sensorType ?? "").split(/[^a-zA-Z0-9]+/).filter((w) => w !== "");
  if (words.length === 0) return "IpmiEvent";
  return `Ipmi${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("")}`;
}

/** A Prometheus label name for an inventory label: invalid characters become "_", as Prometheus does. */
export function labelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(cleaned) || cleaned === "" ? `_${cleaned}` : cleaned;
}

function describe(n: Notification): string {
  const lines: string[] = [];
  const sensor = n.sensor
    ? `${n.sensor.name} (sensor #${n.event.sensorNumber})`
    : `sensor #${n.event.sensorNumber}`;
  lines.push(
    `${n.event.sensorType ?? "Unknown type"} ${sensor}: ${n.event.text ?? "unknown event"} (${n.event.direction}).`,
  );
  if (n.detail) lines.push(n.detail);
  if (n.sensor) {
    const unit = n.sensor.unit === "" ? "" : ` ${n.sensor.unit}`;
    const reading = n.sensor.reading === null ? "no reading" : `reading ${n.sensor.reading}${unit}`;
    const thresholds = Object.entries(n.sensor.thresholds).map(([k, v]) => `${k} ${v}${unit}`);
    lines.push(thresholds.length > 0 ? `${reading}; thresholds: ${thresholds.join(", ")}.` : `${reading}.`);
  }
  lines.push(
    `Event data ${n.event.eventData}; BMC time ${n.event.time ?? "unknown"}; enrichment ${n.enrichment}.`,
  );
  // Our line breaks; within a line, what came from a trap or a BMC is escaped.
  return lines.map(escapeControls).join("\n");
}

/** Alertmanager answers errors with a JSON string ("start time must be before end time"). */
function errorText(body: string): string {
  let text = body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "string") text = parsed;
    else if (parsed !== null && typeof parsed === "object" && "message" in parsed)
      text = String(parsed.message);
  } catch {
    // not JSON: keep it as it came
  }
  text = text.replace(/\s+/g, " ").trim();
  if (text === "") return "";
  return `: ${text.length > MAX_REASON_BODY ? `${text.slice(0, MAX_REASON_BODY)}…` : text}`;
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  // undici reports "fetch failed" and puts the system error (ECONNREFUSED, ENOTFOUND…) in `cause`.
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
