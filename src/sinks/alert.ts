import { hexByte } from "../ipmi/bytes.js";
import type { Notification, NotificationTrap, TrapVarbind } from "../pipeline/alerting/notification.js";
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
  for (const [k, v] of Object.entries(n.labels ?? {})) put(labelName(k), v);
  // The event's own labels last: inventory and rule labels must not be able to change an alert's identity.
  put("alertname", n.trap ? trapAlertName(n.trap.name) : alertName(n.event.sensorType));
  put("bmc", n.bmc.name);
  put("instance", n.bmc.address);
  put("severity", n.severity);
  put("sensor_type", n.event.sensorType);
  // The number, not the name: the name comes from SDR enrichment, which may succeed for the firing
  // and time out for the resolved notification, and a changed label would be a different alert.
  put("sensor_number", String(n.event.sensorNumber));
  put("event", n.event.text);
  put("rule", n.rule);
  // A resolved notification names the trap that fired its alert: the same labels, the same alert.
  put("trap", n.trap?.name);
  put("trap_oid", n.trap?.oid);
  put("alert_key", n.trap?.key);
  // A generic trap without a key is a one-shot (route.ts isOneShot): without a label of its own,
  // Alertmanager would take the linkDowns of ports 3 and 5 of one switch for one alert.
  if (n.trap && n.trap.key === undefined) put("notification_id", n.id);

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

/** One varbind for a person: its value, and how long it was when cut. */
export function varbindValueText(vb: TrapVarbind): string {
  return vb.truncatedFrom === undefined ? vb.value : `${vb.value} (cut from ${vb.truncatedFrom} bytes)`;
}

/** A trap's varbinds on one line, "ifIndex.3 = 3; ifDescr.3 = eth3", unescaped. */
export function varbindsText(trap: NotificationTrap): string {
  const parts = trap.varbinds.map((vb) => `${vb.name} = ${varbindValueText(vb)}`);
  if (trap.varbindsLeftOut) parts.push(`${trap.varbindsLeftOut} more varbind(s) left out`);
  return parts.join("; ");
}

/**
 * "IF-MIB::linkDown" → "linkDown"; a trap no loaded MIB defines ("1.3.6.1.4.1.9.9", or
 * "SNMPv2-SMI::enterprises.9.9": a node and an index) → "SnmpTrap".
 */
export function trapAlertName(trapName: string): string {
  const name = trapName.slice(trapName.indexOf("::") + 2);
  return trapName.includes("::") && DESCRIPTOR.test(name) ? name : "SnmpTrap";
}

/** An SMI descriptor (RFC 2578 §3.1: a letter, then letters, digits and hyphens). */
const DESCRIPTOR = /^[A-Za-z][A-Za-z0-9-]*$/;

/** A Prometheus label name for an inventory label: invalid characters become "_", as Prometheus does. */
export function labelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(cleaned) || cleaned === "" ? `_${cleaned}` : cleaned;
}

function describe(n: Notification): string {
  if (n.trap) {
    const lines = [`SNMP trap ${n.trap.name} (${n.trap.oid}).`];
    if (n.detail) lines.push(n.detail);
    const varbinds = varbindsText(n.trap);
    if (varbinds) lines.push(`varbinds: ${varbinds}`);
    lines.push(`Enrichment ${n.enrichment}.`);
    return lines.map(escapeControls).join("\n");
  }
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
