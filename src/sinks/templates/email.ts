import { hexByte } from "../../ipmi/bytes.js";
import type { Notification, NotificationTrap } from "../../pipeline/alerting/notification.js";
import { varbindValueText } from "../alert.js";
import { escapeControls } from "../escape.js";
import type { NotificationGroup } from "../sink.js";

/**
 * One email template: a pure function of one notification. Options may replace any of the three. A
 * message carries one group (composeMessage): the subject template names a group of one, and each
 * notification's text and HTML (a fragment) are put one after the other in the bodies.
 */
export type EmailTemplate = (n: Notification) => string;

export interface EmailTemplates {
  subject: EmailTemplate;
  text: EmailTemplate;
  html: EmailTemplate;
}

const ENRICHMENT_TEXT: Readonly<Record<Notification["enrichment"], string>> = {
  ok: "ok (SEL/SDR context read from the BMC)",
  timeout: "timeout (the BMC did not answer in time; sensor context may be missing)",
  "circuit-open": "circuit-open (the BMC failed recently and was not asked; sensor context missing)",
  "unknown-bmc": "unknown-bmc (the sender is not in the inventory; no credentials to ask it)",
  none: "none (not a PET, or the BMC gave no sensor context)",
};

/** "Temperature CPU1 Temp: Upper Critical - going high" — the sensor and what happened to it. */
function eventLine(n: Notification): string {
  const sensor = n.sensor?.name ?? `sensor #${n.event.sensorNumber}`;
  const what = n.event.text ?? `event data ${n.event.eventData}`;
  return [n.event.sensorType, `${sensor}:`, what].filter((p) => p !== null && p !== "").join(" ");
}

/**
 * "[CRITICAL] bmc-07 Temperature CPU1 Temp: Upper Critical - going high", "[RESOLVED] …" when
 * resolved; a generic trap has no sensor line: its summary ("[CRITICAL] Outlet PSU-A (5) is fault").
 */
export function defaultSubject(n: Notification): string {
  const tag = n.status === "resolved" ? "RESOLVED" : n.severity.toUpperCase();
  return escapeControls(n.trap ? `[${tag}] ${n.summary}` : `[${tag}] ${n.bmc.name} ${eventLine(n)}`);
}

function labelsText(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "(none)" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}

function thresholdsText(thresholds: Record<string, number>): string {
  const entries = Object.entries(thresholds);
  return entries.length === 0 ? "(none)" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}

function readingText(s: NonNullable<Notification["sensor"]>): string {
  return s.reading === null ? "(no reading)" : `${s.reading} ${s.unit}`.trim();
}

function sensorNumberText(num: number): string {
  return `0x${num.toString(16).padStart(2, "0")} (${num})`;
}

/** "critical", or "critical (PET severity 03h, outside PET 1.0 Table 3-2)" for a PET of unknown severity. */
function severityText(n: Notification): string {
  const raw = n.event.severityRaw;
  return raw === undefined
    ? n.severity
    : `${n.severity} (PET severity ${hexByte(raw)}h, outside PET 1.0 Table 3-2)`;
}

/** The first line of both bodies. */
function heading(n: Notification): string {
  return escapeControls(`${n.status === "resolved" ? "RESOLVED" : "FIRING"}: ${n.summary}`);
}

/**
 * The rows both bodies show, grouped by section, so text and HTML cannot drift apart; every value
 * with its control characters escaped, as values come from traps and BMCs.
 */
function sections(n: Notification): Array<[string, Array<[string, string]>]> {
  return rawSections(n).map(([title, rows]) => [
    title,
    rows.map(([k, v]) => [escapeControls(k), escapeControls(v)]),
  ]);
}

/** A generic trap: its name, rule, detail and each varbind by name. */
function trapRows(n: Notification, trap: NotificationTrap): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ["Name", trap.name],
    ["OID", trap.oid],
  ];
  if (n.rule !== undefined) rows.push(["Rule", n.rule]);
  if (n.detail) rows.push(["Detail", n.detail]);
  for (const vb of trap.varbinds) rows.push([vb.name, varbindValueText(vb)]);
  if (trap.varbindsLeftOut) rows.push(["Left out", `${trap.varbindsLeftOut} more varbind(s)`]);
  return rows;
}

/** The BMC's FRU identity, what an RMA asks for: serial, product, asset tag (absent when not read). */
function identitySection(n: Notification): Array<[string, Array<[string, string]>]> {
  const fru = n.bmc.fru;
  if (!fru) return [];
  const product = [fru.productManufacturer, fru.productName].filter(Boolean).join(" ");
  const rows: Array<[string, string | undefined]> = [
    ["Serial", fru.productSerial ?? fru.boardSerial],
    ["Product", product || fru.boardProduct],
    ["Part number", fru.productPartNumber ?? fru.boardPartNumber],
    ["Asset tag", fru.assetTag],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  return shown.length > 0 ? [["Identity", shown]] : [];
}

function rawSections(n: Notification): Array<[string, Array<[string, string]>]> {
  const out: Array<[string, Array<[string, string]>]> = [
    [
      "BMC",
      [
        ["Name", n.bmc.name],
        ["Address", n.bmc.address],
        ["Labels", labelsText(n.bmc.labels)],
      ],
    ],
    ...identitySection(n),
    n.trap
      ? ["Trap", trapRows(n, n.trap)]
      : [
          "Event",
          [
            ["Time", n.event.time ?? "(not given by the BMC)"],
            ["Sensor type", n.event.sensorType ?? "(unknown)"],
            ["Sensor number", sensorNumberText(n.event.sensorNumber)],
            ["Sensor name", n.sensor?.name ?? "(unknown)"],
            ["Text", n.event.text ?? "(unknown offset)"],
            ...(n.detail ? ([["Detail", n.detail]] as Array<[string, string]>) : []),
            ["Direction", n.event.direction],
            ["Event data", n.event.eventData],
          ],
        ],
  ];
  if (n.sensor) {
    out.push([
      "Sensor",
      [
        ["Reading", readingText(n.sensor)],
        ["Thresholds", thresholdsText(n.sensor.thresholds)],
      ],
    ]);
  }
  const alert: Array<[string, string]> = [
    ["Status", n.status],
    ["Severity", severityText(n)],
    ["Enrichment", ENRICHMENT_TEXT[n.enrichment]],
    ["Received", n.receivedAt],
    ["Starts at", n.startsAt],
  ];
  if (n.endsAt !== undefined) alert.push(["Ends at", n.endsAt]);
  alert.push(["Notification id", n.id]);
  out.push(["Alert", alert]);
  return out;
}

export function defaultText(n: Notification): string {
  const lines = [heading(n), ""];
  for (const [title, rows] of sections(n)) {
    const width = Math.max(...rows.map(([k]) => k.length)) + 1;
    lines.push(title);
    for (const [k, v] of rows) lines.push(`  ${`${k}:`.padEnd(width)}  ${v}`);
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The notification's part of the HTML body (composeMessage puts it in the document). */
export function defaultHtml(n: Notification): string {
  const colour = n.status === "resolved" ? "#2e7d32" : n.severity === "ok" ? "#2e7d32" : "#c62828";
  const body = sections(n)
    .map(
      ([title, rows]) =>
        `<h3 style="margin:16px 0 4px">${escapeHtml(title)}</h3>\n<table style="border-collapse:collapse">\n${rows
          .map(
            ([k, v]) =>
              `<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">${escapeHtml(k)}</th><td style="padding:2px 0">${escapeHtml(v)}</td></tr>`,
          )
          .join("\n")}\n</table>`,
    )
    .join("\n");
  return `<h2 style="color:${colour};margin:0 0 8px">${escapeHtml(heading(n))}</h2>\n${body}\n`;
}

export const defaultEmailTemplates: Readonly<EmailTemplates> = {
  subject: defaultSubject,
  text: defaultText,
  html: defaultHtml,
};

/** "[FIRING:2, RESOLVED:1]": how many of the group's notifications fire and how many resolve. */
function countTag(group: NotificationGroup): string {
  const firing = group.notifications.filter((n) => n.status === "firing").length;
  const resolved = group.notifications.length - firing;
  const counts = [firing > 0 && `FIRING:${firing}`, resolved > 0 && `RESOLVED:${resolved}`];
  return `[${counts.filter((c) => c !== false).join(", ")}]`;
}

/** The group label values in name order ("fra1 r12"), as Alertmanager's default subject shows them. */
function groupLabelValues(group: NotificationGroup): string {
  const values = Object.entries(group.groupLabels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, v]) => v);
  return escapeControls(values.length > 0 ? values.join(" ") : group.groupKey);
}

/**
 * One message for one group: the subject says how many notifications fire and resolve, then the
 * subject template's line for a group of one, else the group label values; each notification's text
 * and HTML part follow one another in the bodies. `render(part, n)` is the template's output.
 */
export function composeMessage(
  group: NotificationGroup,
  render: (part: keyof EmailTemplates, n: Notification) => string,
): { subject: string; text: string; html: string } {
  const [only] = group.notifications;
  const tag = countTag(group);
  const subject =
    group.notifications.length === 1 && only
      ? `${tag} ${render("subject", only)}`
      : `${tag} ${groupLabelValues(group)}`;
  const texts = group.notifications.map((n) => render("text", n).replace(/\n*$/, "\n"));
  const htmls = group.notifications.map((n) => render("html", n));
  return {
    subject,
    text: `${texts.join(`\n${"=".repeat(72)}\n\n`)}\n-- \npetgate\n`,
    html: `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:sans-serif;font-size:14px">
${htmls.join('<hr style="margin:24px 0">\n')}
<p style="color:#666;font-size:12px;margin-top:24px">Sent by petgate</p>
</body></html>
`,
  };
}
