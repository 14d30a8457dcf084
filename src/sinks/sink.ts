import type { PetSeverity } from "../pet/tables/severity.js";

/**
 * What a receiver is told about one alert: an enriched, routed event. The JSON of this object is the
 * webhook body, so its shape is versioned.
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

/**
 * The outcome of one delivery attempt (after Alertmanager's notify: the retry policy lives in one
 * place, sinks only say whether retrying can help).
 */
export type DeliveryResult =
  | { outcome: "delivered" }
  | { outcome: "retryable"; reason: string; retryAfterMs?: number }
  | { outcome: "permanent"; reason: string };

/** One receiver integration: email, webhook, Alertmanager. */
export interface Sink {
  readonly name: string;
  send(notification: Notification): Promise<DeliveryResult>;
  close?(): Promise<void>;
}
