import type { Execute } from "../ipmi/commands/command.js";
import { platformEvent } from "../ipmi/commands/sensor-event.js";
import { matchEventFilters } from "../ipmi/pef-match.js";
import type { SystemEventRecord } from "../ipmi/sel.js";
import type { PetEvent } from "../pet/event.js";
import { readPefState } from "./read.js";
import type { PefState } from "./state.js";

/** The Platform Event Messages `ipmitool event 1|2|3` sends (PROTOCOL.md §5). */
export const SAMPLE_EVENTS = {
  1: {
    sensorType: 0x01,
    sensorNumber: 0x30,
    eventType: 0x01,
    offset: 0x09,
    text: "Temperature, Upper Critical going high",
  },
  2: {
    sensorType: 0x02,
    sensorNumber: 0x60,
    eventType: 0x01,
    offset: 0x02,
    text: "Voltage, Lower Critical going low",
  },
  3: { sensorType: 0x0c, sensorNumber: 0x53, eventType: 0x6f, offset: 0x00, text: "Memory, Correctable ECC" },
} as const;
export type SampleEvent = keyof typeof SAMPLE_EVENTS;

/** Sends sample event N (or its deassertion) as a Platform Event Message (IPMI 2.0 §29.3), as ipmitool does. */
export async function injectSampleEvent(
  execute: Execute,
  n: SampleEvent,
  direction: "assertion" | "deassertion" = "assertion",
): Promise<void> {
  const e = SAMPLE_EVENTS[n];
  await execute(platformEvent, {
    evmRev: 0x04,
    sensorType: e.sensorType,
    sensorNumber: e.sensorNumber,
    eventDirection: direction,
    eventType: e.eventType,
    eventData1: e.offset,
    eventData2: 0xff,
    eventData3: 0xff,
  });
}

/** Whether a PET is the answer to sample event N. */
export function isSamplePet(pet: PetEvent, n: SampleEvent): boolean {
  const e = SAMPLE_EVENTS[n];
  return (
    pet.sensorType === e.sensorType && pet.eventOffset === e.offset && pet.sensorNumber === e.sensorNumber
  );
}

/**
 * Why a BMC sent no PET for sample event N, from its PEF and LAN alerting as read back: the first
 * broken link of the chain event → filter → policy → destination → this gateway.
 */
export async function diagnoseMissingPet(
  execute: Execute,
  n: SampleEvent,
  channel: number,
  gateway: { ip: string; community: string },
): Promise<string> {
  const { state } = await readPefState(execute, channel);
  return explain(state, n, gateway);
}

export function explain(state: PefState, n: SampleEvent, gateway: { ip: string; community: string }): string {
  if (!state.control.enable) return "PEF is disabled (PEF parameter 1)";
  if (!state.actions.alert) return "the PEF alert action is disabled (PEF parameter 2)";
  const e = SAMPLE_EVENTS[n];
  const event: SystemEventRecord = {
    kind: "system",
    recordId: 0,
    timestamp: 0,
    generatorId: { id: 0x41, channel: 0, lun: 0 },
    evmRev: 4,
    sensorType: e.sensorType,
    sensorNumber: e.sensorNumber,
    eventDirection: "assertion",
    eventType: e.eventType,
    eventData: [e.offset, 0xff, 0xff],
  };
  const matched = matchEventFilters(
    state.filters.map((entry, i) => ({ number: i + 1, entry })),
    event,
  ).filter((f) => f.entry.actions.alert);
  if (matched.length === 0) return `no enabled event filter with the alert action matches ${e.text}`;
  const policyNumbers = new Set(matched.map((f) => f.entry.alertPolicyNumber));
  const policies = state.policies.filter(
    (p) => p.enabled && policyNumbers.has(p.policyNumber) && p.channel === state.lan.channel,
  );
  if (policies.length === 0)
    return `no enabled alert policy ${[...policyNumbers].join("/")} for LAN channel ${state.lan.channel}`;
  const destinations = policies.map((p) => state.lan.destinations[p.destinationSelector - 1]);
  if (!destinations.some((d) => d?.ip === gateway.ip)) {
    const ips = destinations.map((d) => d?.ip ?? "none").join(", ");
    return `the alert destinations point at ${ips}, not at this gateway (${gateway.ip})`;
  }
  if (state.lan.community !== gateway.community)
    return `the BMC sends community "${state.lan.community}", the listener accepts "${gateway.community}"`;
  return "PEF looks right: the PET was lost on the way (firewall, routing, or UDP 162 not reaching this host)";
}
