import type { Notification } from "../pipeline/alerting/notification.js";

/**
 * The outcome of one delivery attempt (after Alertmanager's notify: the retry policy lives in one
 * place, sinks only say whether retrying can help).
 */
export type DeliveryResult =
  | { outcome: "delivered" }
  | { outcome: "retryable"; reason: string; retryAfterMs?: number }
  | { outcome: "permanent"; reason: string };

/**
 * What one receiver is sent at once: the notifications of one aggregation group that it was not sent
 * yet (after Alertmanager's notify, where an integration's Notify takes a group's alerts).
 */
export interface NotificationGroup {
  readonly receiver: string;
  /** The route and the group label values: stable across the group's sends. */
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly notifications: readonly Notification[];
  /** Stable across re-runs of this send: receivers deduplicate on it. */
  readonly idempotencyKey: string;
}

/** One receiver integration: email, webhook, Alertmanager. One call sends one group. */
export interface Sink {
  readonly name: string;
  /**
   * The receiver groups alerts itself (Alertmanager's API takes any list of alerts): the groups of
   * one flush are sent at once, as one group carrying all their notifications.
   */
  readonly regroups?: boolean;
  send(group: NotificationGroup): Promise<DeliveryResult>;
  close?(): Promise<void>;
}
