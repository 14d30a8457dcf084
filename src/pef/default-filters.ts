import type { EventFilterConfig } from "../config/schema.js";

/**
 * petgate's `filters: default`: what `ipmiutil lan -e` writes (PROTOCOL.md §6), without its garbage
 * entries 12-14, plus power unit, drive faults, correctable memory and OS stops. 15 filters, so it
 * also fits BMCs that serve 15 of 16 (OpenIPMI). Threshold sensors alert on the going-low offsets of
 * lower thresholds and the going-high ones of upper thresholds (0A95h: 0, 2, 4, 7, 9, 11).
 */
const THRESHOLD_CROSSINGS = [0, 2, 4, 7, 9, 11];
const THRESHOLD = 0x01;
const SENSOR_SPECIFIC = 0x6f;

type Filter = Omit<EventFilterConfig, "sensorNumber" | "policy">;

export const DEFAULT_FILTERS: readonly EventFilterConfig[] = (
  [
    {
      description: "temperature thresholds",
      sensorType: 0x01,
      trigger: THRESHOLD,
      offsets: THRESHOLD_CROSSINGS,
      severity: "critical",
    },
    {
      description: "voltage thresholds",
      sensorType: 0x02,
      trigger: THRESHOLD,
      offsets: THRESHOLD_CROSSINGS,
      severity: "critical",
    },
    {
      description: "fan thresholds",
      sensorType: 0x04,
      trigger: THRESHOLD,
      offsets: THRESHOLD_CROSSINGS,
      severity: "critical",
    },
    {
      description:
        "physical security: chassis, drive bay, I/O card, processor area, LAN leash, dock, fan area",
      sensorType: 0x05,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 1, 2, 3, 4, 5, 6],
      severity: "non-critical",
    },
    {
      description: "processor: IERR, thermal trip, FRB1-3, machine check",
      sensorType: 0x07,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 1, 2, 3, 4, 11],
      severity: "critical",
    },
    {
      description: "power supply: failure, predictive failure, input lost",
      sensorType: 0x08,
      trigger: SENSOR_SPECIFIC,
      offsets: [1, 2, 3, 4],
      severity: "critical",
    },
    {
      description: "power unit: AC lost, unit failure, predictive failure",
      sensorType: 0x09,
      trigger: SENSOR_SPECIFIC,
      offsets: [4, 6, 7],
      severity: "critical",
    },
    {
      description: "memory: uncorrectable ECC, parity, scrub failed, device disabled, overtemperature",
      sensorType: 0x0c,
      trigger: SENSOR_SPECIFIC,
      offsets: [1, 2, 3, 4, 10],
      severity: "critical",
    },
    {
      description: "memory: correctable ECC and its logging limit",
      sensorType: 0x0c,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 5],
      severity: "non-critical",
    },
    {
      description: "drive slot: fault, predictive failure, in critical or failed array",
      sensorType: 0x0d,
      trigger: SENSOR_SPECIFIC,
      offsets: [1, 2, 5, 6],
      severity: "critical",
    },
    {
      description: "system firmware (POST) error and hang",
      sensorType: 0x0f,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 1],
      severity: "critical",
    },
    {
      description: "system event: undetermined hardware failure",
      sensorType: 0x12,
      trigger: SENSOR_SPECIFIC,
      offsets: [2],
      severity: "critical",
    },
    {
      description: "critical interrupt: NMI, bus timeout, PCI PERR/SERR, bus uncorrectable and fatal",
      sensorType: 0x13,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 1, 2, 3, 4, 5, 8, 9, 10],
      severity: "critical",
    },
    {
      description: "OS critical stop",
      sensorType: 0x20,
      trigger: SENSOR_SPECIFIC,
      offsets: [0, 1],
      severity: "critical",
    },
    {
      description: "watchdog 2: hard reset, power down, power cycle",
      sensorType: 0x23,
      trigger: SENSOR_SPECIFIC,
      offsets: [1, 2, 3],
      severity: "non-critical",
    },
  ] satisfies Filter[]
).map((f) => ({ ...f, sensorNumber: "any" as const, policy: 1 }));
