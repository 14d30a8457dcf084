import type { BmcTarget } from "../../src/config/inventory.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";

export type NotificationOverrides = Omit<Partial<Notification>, "event"> & {
  event?: Partial<Notification["event"]>;
};

/**
 * A plain pipeline notification (firing, critical, Temperature sensor 1, no sensor facts, at
 * 2026-01-01T00:00:00Z from bmc-07 at 192.0.2.7); override any field, `event` field by field.
 */
export function notification(overrides: NotificationOverrides = {}): Notification {
  const { event, ...rest } = overrides;
  const base: Notification = {
    version: 1,
    id: "n1",
    status: "firing",
    severity: "critical",
    summary: "bmc-07: Temperature: Upper Critical - going high",
    bmc: { name: "bmc-07", address: "192.0.2.7", labels: {} },
    event: {
      time: null,
      sensorType: "Temperature",
      sensorNumber: 1,
      text: "Upper Critical - going high",
      direction: "assertion",
      eventData: "",
    },
    enrichment: "ok",
    receivedAt: "2026-01-01T00:00:00.000Z",
    startsAt: "2026-01-01T00:00:00.000Z",
  };
  return { ...base, ...rest, event: { ...base.event, ...event } };
}

/** An inventory entry for a BMC nobody connects to; override any field. */
export function bmcTarget(overrides: Partial<BmcTarget> = {}): BmcTarget {
  return {
    name: "bmc-1",
    host: "192.0.2.2",
    port: 623,
    username: "admin",
    password: "unused",
    cipherSuite: 17,
    allowCipherFallback: false,
    labels: {},
    ...overrides,
  };
}
