import { readFileSync } from "node:fs";
import type { EventFilterConfig, PefConfig } from "../config/schema.js";
import {
  type AlertPolicyEntry,
  EMPTY_ALERT_POLICY,
  EMPTY_EVENT_FILTER,
  type EventFilterEntry,
} from "../ipmi/pef.js";
import { petSeverityCode } from "../pet/tables/severity.js";
import { DEFAULT_FILTERS } from "./default-filters.js";
import type { AlertDestination, PefCapacity, PefState } from "./state.js";

const ANY = 0xff;
/** Every offset 0-14: a filter on "any" event offset. */
const ALL_OFFSETS = 0x7fff;
const POLICY_TYPES = ["always", "next-if-ok", "stop-if-ok", "next-channel-if-ok", "next-type-if-ok"] as const;
const NO_MAC = "00:00:00:00:00:00";

/** The filters a `filters:` setting stands for, "default" expanded, in table order. */
export function filterConfigs(filters: PefConfig["filters"]): EventFilterConfig[] {
  const list = filters === "default" ? ["default" as const] : filters;
  return list.flatMap((f) => (f === "default" ? DEFAULT_FILTERS : [f]));
}

/** An event filter entry (IPMI 2.0 §17.7, Table 17-2) from its configuration: alert only, software-configurable. */
export function filterEntry(f: EventFilterConfig): EventFilterEntry {
  const mask = f.offsets === "any" ? ALL_OFFSETS : f.offsets.reduce((m, o) => m | (1 << o), 0);
  return {
    ...EMPTY_EVENT_FILTER,
    enabled: true,
    actions: { ...EMPTY_EVENT_FILTER.actions, alert: true },
    alertPolicyNumber: f.policy,
    severity: petSeverityCode(f.severity),
    generatorId1: ANY,
    generatorId2: ANY,
    sensorType: f.sensorType === "any" ? ANY : f.sensorType,
    sensorNumber: f.sensorNumber === "any" ? ANY : f.sensorNumber,
    eventTrigger: f.trigger === "any" ? ANY : f.trigger,
    eventData1OffsetMask: mask,
  };
}

/**
 * The whole managed state a BMC of this capacity should hold: the configured filters and policy
 * entries first, every other slot disabled; PEF on with the alert action only (PROTOCOL.md §6: not
 * ipmiutil's 0Fh); the configured destinations, others left alone.
 */
export function desiredPefState(
  pef: PefConfig,
  capacity: PefCapacity,
  macOf: (ip: string) => string | undefined = arpMac,
): PefState {
  const filters = filterConfigs(pef.filters).map(filterEntry);
  const policies = pef.policies.map(
    (p): AlertPolicyEntry => ({
      ...EMPTY_ALERT_POLICY,
      policyNumber: p.number,
      enabled: true,
      policyType: POLICY_TYPES.indexOf(p.type),
      channel: pef.channel,
      destinationSelector: p.destination,
    }),
  );
  const destinations: (AlertDestination | undefined)[] = [];
  for (const d of pef.destinations) {
    const mac = d.mac ?? macOf(d.ip);
    destinations[d.selector - 1] = {
      type: "pet",
      acknowledge: d.acknowledge,
      ackTimeoutSeconds: d.timeoutSeconds,
      retries: d.retries,
      // Without a MAC on the same segment the BMC sends through its default gateway (IPMI 2.0 §23.1, parameter 19).
      gateway: "default",
      ip: d.ip,
      mac: mac ?? NO_MAC,
    };
  }
  return {
    control: { enable: pef.enable, eventMessages: pef.enable, startupDelay: false, alertStartupDelay: false },
    actions: {
      alert: pef.enable,
      powerDown: false,
      reset: false,
      powerCycle: false,
      oemAction: false,
      diagnosticInterrupt: false,
    },
    filters: pad(filters, capacity.filters, EMPTY_EVENT_FILTER),
    policies: pad(policies, capacity.policies, EMPTY_ALERT_POLICY),
    lan: { channel: pef.channel, community: pef.community, destinations },
  };
}

function pad<T>(entries: T[], size: number, filler: T): T[] {
  return [...entries, ...Array.from({ length: Math.max(0, size - entries.length) }, () => filler)];
}

/** The MAC the kernel's ARP table has for an address on a directly connected segment. */
function arpMac(ip: string): string | undefined {
  try {
    for (const line of readFileSync("/proc/net/arp", "utf8").split("\n").slice(1)) {
      const [address, , flags, hwAddress] = line.trim().split(/\s+/);
      if (address === ip && flags === "0x2" && hwAddress) return hwAddress.toLowerCase();
    }
  } catch {
    // No ARP table to read (not Linux): the gateway path is used.
  }
  return undefined;
}
