import type { AlertDestinationType, LanParameter } from "../ipmi/commands/transport.js";
import type { AlertPolicyEntry, EventFilterEntry, PefActionFlags, PefParameter } from "../ipmi/pef.js";

/**
 * The part of a BMC's configuration petgate manages: PEF control and actions, the event filter and
 * alert policy tables, and the LAN alerting parameters of one channel (IPMI 2.0 §17, §23.1, §30.3).
 * The same shape describes what a BMC holds (read from it) and what it should hold (from petgate.yml).
 */
export interface PefState {
  /** PEF parameter 1. */
  control: { enable: boolean; eventMessages: boolean; startupDelay: boolean; alertStartupDelay: boolean };
  /** PEF parameter 2. */
  actions: PefActionFlags;
  /** PEF parameter 6, by filter number (1-based; index 0 is filter 1). */
  filters: EventFilterEntry[];
  /** PEF parameter 9, by entry number (1-based; index 0 is entry 1). */
  policies: AlertPolicyEntry[];
  lan: LanAlerting;
}

/** LAN parameters 16 (community), 18 (destination type) and 19 (destination address) of a channel. */
export interface LanAlerting {
  channel: number;
  community: string;
  /**
   * By destination selector (1-based; index 0 is destination 1; the volatile selector 0 is not
   * managed). In a desired state, `undefined` = a destination petgate leaves alone.
   */
  destinations: (AlertDestination | undefined)[];
}

export interface AlertDestination {
  type: AlertDestinationType;
  acknowledge: boolean;
  ackTimeoutSeconds: number;
  retries: number;
  gateway: "default" | "backup";
  ip: string;
  mac: string;
}

/** What a BMC reports about itself that bounds the configuration: table sizes (PEF parameters 5, 8; LAN 17). */
export interface PefCapacity {
  filters: number;
  policies: number;
  destinations: number;
}

/** One parameter write a plan makes. */
export type PefWrite =
  | { kind: "pef"; parameter: PefParameter }
  | { kind: "lan"; channel: number; parameter: LanParameter };

/** One difference, for people: "filter 3: disabled → Fan, any sensor, … → alert, policy 1". */
export interface PlanChange {
  what: string;
  from: string;
  to: string;
}

/** What it takes to bring one BMC from its current to its desired state; empty = nothing to do. */
export interface PefPlan {
  /** Every difference, the SEL clock's included: empty = nothing to do. */
  changes: PlanChange[];
  writes: PefWrite[];
  /** Set the SEL clock to petgate's, at the moment of writing (Set SEL Time, IPMI 2.0 §31.11). */
  syncSelTime?: boolean;
}
