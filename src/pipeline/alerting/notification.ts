import { createHash } from "node:crypto";
import { DEFAULT_UNKNOWN_SEVERITY, type PetSeverity } from "../../pet/tables/severity.js";
import type { TrapEvent } from "../../pet/trap.js";
import type { QueuedEvent } from "../intake/event.js";

/**
 * What a receiver is told about one alert: an enriched, routed event. The JSON of this object is the
 * webhook body, so its shape is versioned. Built here, by the alerting code; src/sinks/ takes it as a
 * type only (`import type`), so sinks and the pipeline that calls them form no runtime cycle.
 */
export interface Notification {
  version: 1;
  /** Deterministic per event and status: the idempotency key receivers may deduplicate on. */
  id: string;
  status: "firing" | "resolved";
  /** What the alert fires at: the PET's severity, or `listener.unknownSeverity` when that is "unknown". */
  severity: PetSeverity;
  /** One line for subjects and titles: "bmc-07: Temperature CPU1 Temp: Upper Critical - going high". */
  summary: string;
  /** More for a person: why, and what to do (e.g. the case and remedy of "BMC unresponsive"). */
  detail?: string;
  bmc: { name: string; address: string; labels: Record<string, string> };
  event: {
    /** When the BMC says it happened (ISO-8601), or null. */
    time: string | null;
    sensorType: string | null;
    sensorNumber: number;
    /** The offset's meaning ("Upper Critical - going high"). */
    text: string | null;
    direction: "assertion" | "deassertion";
    /** PET byte 26, given when it is outside PET 1.0 Table 3-2 (the PET's severity is "unknown"). */
    severityRaw?: number;
    /** The 8 event-data bytes, hex. */
    eventData: string;
  };
  /** The sensor as the BMC described and read it when the alert was processed. */
  sensor?: {
    name: string;
    reading: number | null;
    unit: string;
    thresholds: Record<string, number>;
  };
  /** Whether the BMC could be asked for SEL/SDR context in time. */
  enrichment: "ok" | "timeout" | "circuit-open" | "unknown-bmc" | "none";
  /** When petgate received the trap (ISO-8601). */
  receivedAt: string;
  startsAt: string;
  /** Set when resolved. */
  endsAt?: string;
}

/** What enrichment learned about an event's BMC and sensor (src/pipeline/enrich/enrich.ts). */
export interface EnrichmentFacts {
  status: Notification["enrichment"];
  bmc?: { name: string; address: string; labels: Record<string, string> };
  sensor?: {
    name: string;
    reading: number | null;
    unit: string;
    thresholds: Partial<Record<string, number>>;
  };
}

/**
 * The alert an event is about: its BMC, sensor and offset. An assertion fires it; the deassertion of
 * the same offset resolves it (IPMI 2.0 §29.7: the direction bit of the same event).
 */
export function alertKey(event: QueuedEvent, facts: EnrichmentFacts): string | undefined {
  const trap = event.trap;
  if (trap.kind !== "pet") return undefined;
  const p = trap.pet;
  const bmc = facts.bmc?.name ?? p.guid;
  return [
    bmc,
    p.sensorDevice,
    p.sensorNumber,
    p.sensorType ?? "?",
    p.eventReadingType ?? "?",
    p.eventOffset,
  ].join("/");
}

/**
 * A PET alerts at its own severity ("ok" too: the level it resolves at), or at `unknownSeverity` when
 * its severity byte is outside PET 1.0 Table 3-2; other traps default to information.
 */
function severityOf(event: QueuedEvent, unknownSeverity: PetSeverity): PetSeverity {
  if (event.trap.kind !== "pet") return "information";
  const { severity } = event.trap.pet;
  return severity === "unknown" ? unknownSeverity : severity;
}

/**
 * A generic trap's varbinds for a person, `OID = "text"`, `OID = 0xHEX` or `OID = 42` joined into one
 * line; the text as the trap sent it (each sink escapes it for what it renders).
 */
function varbindsText(trap: Extract<TrapEvent, { kind: "trap" }>): string | undefined {
  const parts = trap.varbinds.map((vb) => {
    const value =
      vb.hex === undefined ? String(vb.value) : vb.value === null ? `0x${vb.hex}` : `"${vb.value}"`;
    return `${vb.oid} = ${value}${vb.truncatedFrom === undefined ? "" : ` (cut from ${vb.truncatedFrom} bytes)`}`;
  });
  if (trap.varbindsLeftOut) parts.push(`${trap.varbindsLeftOut} more varbind(s) left out`);
  return parts.length > 0 ? `varbinds: ${parts.join("; ")}` : undefined;
}

/**
 * Builds the notification receivers get. Firing and resolved of one alert share labels and
 * severity (Alertmanager matches on labels); their ids differ, each deterministic so a redelivery is
 * recognised by its idempotency key.
 */
export function buildNotification(
  event: QueuedEvent,
  facts: EnrichmentFacts,
  resolves?: { firing: Notification; at: string },
  unknownSeverity: PetSeverity = DEFAULT_UNKNOWN_SEVERITY,
): Notification {
  const trap = event.trap;
  const status = resolves ? "resolved" : "firing";
  const bmc = facts.bmc ?? { name: trap.source.address, address: trap.source.address, labels: {} };
  const pet = trap.kind === "pet" ? trap.pet : undefined;
  const sensorName = facts.sensor?.name ?? (pet ? `sensor #${pet.sensorNumber}` : trap.snmp.trapOid);
  const text = pet?.event ?? (pet ? `offset ${pet.eventOffset}` : `trap ${trap.snmp.trapOid}`);
  const severity = resolves?.firing.severity ?? severityOf(event, unknownSeverity);
  const detail = trap.kind === "trap" ? varbindsText(trap) : undefined;
  const notification: Notification = {
    version: 1,
    id: createHash("sha256").update(`${event.id}|${status}`).digest("hex").slice(0, 32),
    status,
    severity,
    summary: `${bmc.name}: ${pet?.sensorTypeName ?? "SNMP"} ${sensorName}: ${text}`,
    ...(detail !== undefined && { detail }),
    bmc,
    event: {
      time: pet?.time ?? null,
      sensorType: pet?.sensorTypeName ?? null,
      sensorNumber: pet?.sensorNumber ?? 0,
      text: pet?.event ?? null,
      direction: pet?.eventDirection ?? "assertion",
      ...(pet?.severity === "unknown" && { severityRaw: pet.severityRaw }),
      eventData: pet?.eventData ?? "",
    },
    enrichment: facts.status,
    receivedAt: trap.receivedAt,
    startsAt: resolves?.firing.startsAt ?? trap.receivedAt,
    ...(resolves && { endsAt: resolves.at }),
  };
  if (facts.sensor) {
    const thresholds = Object.fromEntries(
      Object.entries(facts.sensor.thresholds).filter((e): e is [string, number] => e[1] !== undefined),
    );
    notification.sensor = {
      name: facts.sensor.name,
      reading: facts.sensor.reading,
      unit: facts.sensor.unit,
      thresholds,
    };
  }
  return notification;
}

/**
 * Pairs deassertions with the assertions they resolve. `firing` remembers open alerts by key; a
 * deassertion of an open alert yields a resolved notification, one of an unknown alert nothing
 * (there is nothing to resolve), and an assertion of an alert already open nothing (it is firing).
 */
export class AlertBook {
  private readonly open = new Map<string, Notification>();

  /** The notification to send for this event, or undefined when it changes nothing. */
  next(event: QueuedEvent, facts: EnrichmentFacts): Notification | undefined {
    const key = alertKey(event, facts);
    if (key === undefined) return buildNotification(event, facts);
    const direction = event.trap.kind === "pet" ? event.trap.pet.eventDirection : "assertion";
    const firing = this.open.get(key);
    if (direction === "deassertion") {
      if (!firing) return undefined;
      this.open.delete(key);
      return buildNotification(event, facts, { firing, at: event.trap.receivedAt });
    }
    if (firing) return undefined;
    const notification = buildNotification(event, facts);
    this.open.set(key, notification);
    return notification;
  }

  get size(): number {
    return this.open.size;
  }
}
