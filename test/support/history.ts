import type { HistoryEvent } from "../../src/history/store.js";

/**
 * An event as the history keeps it: a firing PET of `bmc` processed at `at` (ms), a CPU temperature's
 * upper critical crossing sent to receiver "ops"; override any field.
 */
export function historyEvent(id: string, at: number, overrides: Partial<HistoryEvent> = {}): HistoryEvent {
  const bmc = overrides.bmc ?? "bmc-1";
  const iso = new Date(at).toISOString();
  return {
    id,
    receivedAt: iso,
    processedAt: iso,
    bmc,
    source: "192.0.2.1",
    sensor: "CPU1 Temp",
    sensorType: "Temperature",
    event: "Upper Critical - going high",
    severity: "critical",
    direction: "assertion",
    status: "firing",
    enrichment: "ok",
    reading: null,
    outcome: "sent",
    trap: null,
    rule: null,
    notification: `n-${id}`,
    receivers: ["ops"],
    varbinds: null,
    truncated: null,
    at,
    labels: { bmc, label_rack: "r1" },
    ...overrides,
  };
}
