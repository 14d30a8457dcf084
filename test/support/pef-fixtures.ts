import { type AlertPolicyEntry, EMPTY_EVENT_FILTER, type EventFilterEntry } from "../../src/ipmi/pef.js";
import { SensorNumber } from "../../src/sim/default-sdr.js";

/** Threshold offset 09h: Upper Critical going high (IPMI 2.0 Table 42-2). */
export const UCR_GOING_HIGH = 0x09;

/**
 * `pef.filters` of petgate.yml for the simulator's CPU1 Temp crossing Upper Critical going high: its
 * assertion (trigger 01h) and its deassertion (81h), so that an alert fires and then resolves.
 */
export const CPU_TEMP_UCR_FILTERS = [
  { sensorType: 1, sensorNumber: SensorNumber.Cpu1Temp, trigger: 0x01, offsets: [UCR_GOING_HIGH] },
  { sensorType: 1, sensorNumber: SensorNumber.Cpu1Temp, trigger: 0x81, offsets: [UCR_GOING_HIGH] },
];

/**
 * The temperature filter `ipmiutil lan -e` writes first (PROTOCOL.md §6, filter 1): enabled, alert via
 * policy 1, severity critical, any generator and sensor, threshold trigger, offsets 0A95h.
 */
export const TEMPERATURE_FILTER: EventFilterEntry = {
  ...EMPTY_EVENT_FILTER,
  enabled: true,
  actions: { ...EMPTY_EVENT_FILTER.actions, alert: true },
  alertPolicyNumber: 1,
  severity: 0x10,
  generatorId1: 0xff,
  generatorId2: 0xff,
  sensorType: 0x01,
  sensorNumber: 0xff,
  eventTrigger: 0x01,
  eventData1OffsetMask: 0x0a95,
};

/** Alert policy 1 as `ipmiutil lan -e` sets it: enabled, "always send", LAN channel 1, destination 1. */
export const ALERT_POLICY_1: AlertPolicyEntry = {
  policyNumber: 1,
  enabled: true,
  policyType: 0,
  channel: 1,
  destinationSelector: 1,
  eventSpecificAlertString: false,
  alertStringSet: 0,
};
