import { hexByte } from "../ipmi/bytes.js";
import type { Notification } from "../pipeline/alerting/notification.js";
import { escapeControls } from "./escape.js";

/*
 * A notification as an Alertmanager alert: the Alertmanager sink posts these (API v2), the webhook
 * sink's `format: alertmanager` sends them as Alertmanager's own webhook would. One mapping for both,
 * so an alert has the same labels, and so the same identity, whichever way it travels.
 */

/** Alertmanager API v2 `postableAlert` (api/v2/openapi.yaml). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/** Go's zero time as Alertmanager's webhook writes it: the endsAt of an alert still firing. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
/** prometheus/common model.SeparatorByte. */
const SEPARATOR = 0xff;

/**
 * The fingerprint Alertmanager gives a label set (prometheus/common model.LabelSet.Fingerprint): FNV-1a
 * 64 over the names in byte order, each name and value followed by the byte 0xff; 16 hex digits.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let hash = FNV64_OFFSET;
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  };
  const names = Object.keys(labels).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    for (const byte of Buffer.from(name, "utf8")) add(byte);
    add(SEPARATOR);
    for (const byte of Buffer.from(labels[name] as string, "utf8")) add(byte);
    add(SEPARATOR);
  }
  return hash.toString(16).padStart(16, "0");
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
