import type { Notification } from "../pipeline/alerting/notification.js";

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
