import { hash } from "node:crypto";
import type { BmcFru } from "../../ipmi/fru.js";
import { receivedValue } from "../../mib/render.js";
import { DEFAULT_UNKNOWN_SEVERITY, type PetSeverity } from "../../pet/tables/severity.js";
import type { TrapEvent } from "../../pet/trap.js";
import type { QueuedEvent } from "../intake/event.js";
import type { Verdict } from "../interpret/types.js";

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
  /**
   * What the alert fires at: its trap rule's severity, else the PET's (`listener.unknownSeverity` when
   * that is "unknown"), else "information" for a generic trap; a resolved notification keeps its
   * firing one's.
   */
  severity: PetSeverity;
  /** One line for subjects and titles: "bmc-07: Temperature CPU1 Temp: Upper Critical - going high". */
  summary: string;
  /** More for a person: why, and what to do (e.g. the case and remedy of "BMC unresponsive"). */
  detail?: string;
  bmc: NotificationBmc;
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
  /** The trap rule that applied (petgate.yml `traps:`); absent when none did. */
  rule?: string;
  /** The rule's labels, rendered: routes, silences and inhibition match them by name. */
  labels?: Record<string, string>;
  /** A trap that is no PET, named through the loaded MIBs. */
  trap?: NotificationTrap;
  /**
   * Where petgate learned of the event when not from a PET or trap it received: "sel" = read from the
   * BMC's SEL, its PET never arrived (the summary says so); absent = received.
   */
  origin?: "pet" | "sel" | "trap" | "health";
}

/** The BMC an alert is about; `fru`: its FRU identity as last read (src/pipeline/fru/), when known. */
export interface NotificationBmc {
  name: string;
  address: string;
  labels: Record<string, string>;
  fru?: BmcFru;
}

/**
 * A generic trap on its notification. `name`, `oid` and `key` are the alert's, so a resolved
 * notification carries those of the trap that fired it (IF-MIB::linkDown, not linkUp): receivers
 * match firing and resolved on them. Its varbinds are those of the trap it was made from.
 */
export interface NotificationTrap {
  /** "IF-MIB::linkDown", or the numeric OID when no loaded MIB names it. */
  name: string;
  oid: string;
  /** The rule that applied, as on the notification. */
  rule?: string;
  /**
   * The alert's identity when its rule gives one (`resolved_by`, `key`): "trap:" and a digest of the
   * rule, BMC and key values.
   */
  key?: string;
  /**
   * Of the trap it was made from, named and rendered through the loaded MIBs (TrapVarbind), at most
   * 32, each value cut to 512 bytes as received.
   */
  varbinds: TrapVarbind[];
  /** Varbinds beyond those kept. */
  varbindsLeftOut?: number;
}

export interface TrapVarbind {
  /** "ifIndex.3"; the OID when no loaded MIB names it. */
  name: string;
  /** As a person reads it: an enumeration's label, a display hint applied, else as received (hex: 0x…). */
  value: string;
  /** The value's length as received, when cut. */
  truncatedFrom?: number;
}

/** What enrichment learned about an event's BMC and sensor (src/pipeline/enrich/enrich.ts). */
export interface EnrichmentFacts {
  status: Notification["enrichment"];
  bmc?: NotificationBmc;
  sensor?: {
    name: string;
    reading: number | null;
    unit: string;
    thresholds: Partial<Record<string, number>>;
  };
}

/**
 * The alert an event is about. A PET's: its BMC, sensor and offset; an assertion fires it, the
 * deassertion of the same offset resolves it (IPMI 2.0 §29.7: the direction bit of the same event).
 * A generic trap's: its rule's `key` (verdict.alert), when the rule gives one; without, every trap is
 * a notification of its own and resolves nothing.
 */
export function alertKey(event: QueuedEvent, facts: EnrichmentFacts, verdict?: Verdict): string | undefined {
  const trap = event.trap;
  if (trap.kind !== "pet") return verdict?.alert?.key;
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

/** Whether an event asserts or deasserts its alert: a PET's direction bit, a generic trap's rule. */
export function alertDirection(event: QueuedEvent, verdict?: Verdict): "assertion" | "deassertion" {
  if (event.trap.kind === "pet") return event.trap.pet.eventDirection;
  return verdict?.alert?.direction ?? "assertion";
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
 * A generic trap's varbinds by name ("ifIndex.3", the OID when no MIB names it) and value: as the
 * loaded MIBs render it when the trap was translated, else as received (text, 0xHEX or the number).
 */
function trapVarbinds(
  trap: Extract<TrapEvent, { kind: "trap" }>,
  verdict: Verdict | undefined,
): TrapVarbind[] {
  const rendered = verdict?.trap?.varbinds;
  return trap.varbinds.map((vb, i) => {
    const r = rendered?.[i];
    const value = r?.value ?? receivedValue(vb);
    return {
      name: r?.name === undefined ? vb.oid : `${r.name}${r.index}`,
      value,
      ...(vb.truncatedFrom !== undefined && { truncatedFrom: vb.truncatedFrom }),
    };
  });
}

/** What a notification of a SEL record says (its summary ends with it in brackets). */
export const PET_NOT_RECEIVED = "PET not received";

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, "0");
}

/** How to build a notification beyond its event and enrichment. */
export interface BuildOptions {
  /** What the trap rules decided (interpret stage): severity, summary, detail, rule and labels. */
  verdict?: Verdict;
  /** The firing notification this event resolves, and when. */
  resolves?: { firing: Notification; at: string };
  /** What a PET of severity "unknown" fires at (`listener.unknownSeverity`). */
  unknownSeverity?: PetSeverity;
}

/**
 * Builds the notification receivers get. Firing and resolved of one alert share labels and
 * severity (Alertmanager matches on labels): a resolved notification keeps its firing one's
 * severity, rule, rule labels and trap name, whichever rule matched the event that resolved it.
 * Their ids differ, each deterministic so a redelivery is recognised by its idempotency key.
 */
export function buildNotification(
  event: QueuedEvent,
  facts: EnrichmentFacts,
  { verdict, resolves, unknownSeverity = DEFAULT_UNKNOWN_SEVERITY }: BuildOptions = {},
): Notification {
  const trap = event.trap;
  const status = resolves ? "resolved" : "firing";
  const bmc = facts.bmc ?? { name: trap.source.address, address: trap.source.address, labels: {} };
  const pet = trap.kind === "pet" ? trap.pet : undefined;
  const firing = resolves?.firing;
  const severity = firing?.severity ?? verdict?.severity ?? severityOf(event, unknownSeverity);
  const rule = firing ? firing.rule : verdict?.rule;
  const labels = firing
    ? firing.labels
    : verdict && Object.keys(verdict.labels).length > 0
      ? { ...verdict.labels }
      : undefined;
  let summary: string;
  let generic: NotificationTrap | undefined;
  if (trap.kind === "pet") {
    const p = trap.pet;
    const sensorName = facts.sensor?.name ?? `sensor #${p.sensorNumber}`;
    summary = `${bmc.name}: ${p.sensorTypeName ?? "SNMP"} ${sensorName}: ${p.event ?? `offset ${p.eventOffset}`}`;
  } else {
    const name = verdict?.trap?.name ?? trap.snmp.trapOid;
    const key = firing ? firing.trap?.key : verdict?.alert?.key;
    generic = {
      name: firing?.trap?.name ?? name,
      oid: firing?.trap?.oid ?? trap.snmp.trapOid,
      ...(rule !== undefined && { rule }),
      ...(key !== undefined && { key }),
      varbinds: trapVarbinds(trap, verdict),
      ...(trap.varbindsLeftOut && { varbindsLeftOut: trap.varbindsLeftOut }),
    };
    summary = `${bmc.name}: trap ${name}`;
  }
  summary = `${verdict?.summary ?? summary}${event.sel ? ` (${PET_NOT_RECEIVED})` : ""}`;
  const detail = event.sel
    ? [verdict?.detail, `${PET_NOT_RECEIVED}: read from the SEL, record ${hex4(event.sel.recordId)}h`]
        .filter(Boolean)
        .join("; ")
    : verdict?.detail;
  const notification: Notification = {
    version: 1,
    id: hash("sha256", `${event.id}|${status}`).slice(0, 32),
    status,
    severity,
    summary,
    ...(detail && { detail }),
    bmc,
    event: {
      time: pet?.time ?? null,
      sensorType: pet?.sensorTypeName ?? null,
      sensorNumber: pet?.sensorNumber ?? 0,
      text: pet?.event ?? null,
      direction: alertDirection(event, verdict),
      ...(pet?.severity === "unknown" && { severityRaw: pet.severityRaw }),
      eventData: pet?.eventData ?? "",
    },
    enrichment: facts.status,
    receivedAt: trap.receivedAt,
    startsAt: resolves?.firing.startsAt ?? trap.receivedAt,
    ...(resolves && { endsAt: resolves.at }),
    ...(rule !== undefined && { rule }),
    ...(labels && { labels }),
    ...(generic && { trap: generic }),
    ...(event.sel && { origin: "sel" as const }),
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
  next(event: QueuedEvent, facts: EnrichmentFacts, verdict?: Verdict): Notification | undefined {
    const key = alertKey(event, facts, verdict);
    if (key === undefined) return buildNotification(event, facts, { verdict });
    const firing = this.open.get(key);
    if (alertDirection(event, verdict) === "deassertion") {
      if (!firing) return undefined;
      this.open.delete(key);
      return buildNotification(event, facts, { verdict, resolves: { firing, at: event.trap.receivedAt } });
    }
    if (firing) return undefined;
    const notification = buildNotification(event, facts, { verdict });
    this.open.set(key, notification);
    return notification;
  }

  get size(): number {
    return this.open.size;
  }
}
