import { toPostableAlert } from "./alert.js";
import { post, receiverAgent, retryableStatus, snippet } from "./http-post.js";
import type { DeliveryResult, NotificationGroup, Sink } from "./sink.js";

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

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_REASON_BODY = 500;

/**
 * Posts a group's notifications, one alert each, in one request to Alertmanager's API v2; the groups
 * of one flush go in one request (`regroups`: Alertmanager groups by its own routes). Alertmanager identifies an alert by
 * its label set, so the labels hold only what is fixed for an event — never the status, direction,
 * reading or the enrichment result — and a resolved notification (endsAt in the past) ends the very
 * alert its firing notification started.
 */
export class AlertmanagerSink implements Sink {
  readonly name: string;
  readonly regroups = true;
  /** Without credentials, so it can appear in reasons. */
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly extraLabels: Record<string, string>;
  private readonly generatorUrl: string | undefined;
  private readonly agent = receiverAgent();

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
    // Credentials travel as a header, never in the URL (which reasons name).
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

  async send(group: NotificationGroup): Promise<DeliveryResult> {
    const body = JSON.stringify(
      group.notifications.map((n) => toPostableAlert(n, this.extraLabels, this.generatorUrl)),
    );
    const answer = await post(this.agent, this.endpoint, this.headers, body, this.timeoutMs);
    if (!answer.answered) return { outcome: "retryable", reason: `POST ${this.endpoint}: ${answer.reason}` };
    const { status, text, retryAfterMs } = answer;
    if (status >= 200 && status < 300) return { outcome: "delivered" };
    const reason = `POST ${this.endpoint}: HTTP ${status}${errorText(text)}`;
    if (retryableStatus(status)) {
      return retryAfterMs === undefined
        ? { outcome: "retryable", reason }
        : { outcome: "retryable", reason, retryAfterMs };
    }
    // 400 is Alertmanager's validation error ("start time must be before end time", …): the same alert
    // would be rejected again. 401/403/404 need a person to fix the configuration.
    return { outcome: "permanent", reason };
  }
  async close(): Promise<void> {
    await this.agent.close();
  }
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
  const shown = snippet(text, MAX_REASON_BODY);
  return shown === "" ? "" : `: ${shown}`;
}
