// IPMI 2.0 Table 42-1, Event/Reading Type Code Ranges, and Table 42-2, Generic Event/Reading Type Codes
// (offset texts as FreeIPMI ipmi-pet prints them).
export type EventReadingClass =
  | "unspecified"
  | "threshold"
  | "generic"
  | "sensor-specific"
  | "oem"
  | "reserved";

export function eventReadingClass(type: number): EventReadingClass {
  if (type === 0x00) return "unspecified";
  if (type === 0x01) return "threshold";
  if (type >= 0x02 && type <= 0x0c) return "generic";
  if (type === 0x6f) return "sensor-specific";
  if (type >= 0x70 && type <= 0x7f) return "oem";
  return "reserved";
}

const TYPE_NAMES: readonly string[] = [
  "Unspecified",
  "Threshold",
  "Discrete Usage State",
  "Discrete State",
  "Discrete Predictive Failure",
  "Discrete Limit",
  "Discrete Performance",
  "Discrete Severity",
  "Discrete Device Presence",
  "Discrete Device Enabled",
  "Discrete Availability State",
  "Discrete Redundancy",
  "Discrete ACPI Device Power State",
];

export function eventReadingTypeName(type: number): string {
  switch (eventReadingClass(type)) {
    case "sensor-specific":
      return "Sensor-specific";
    case "oem":
      return "OEM";
    case "reserved":
      return "Reserved";
    default:
      return TYPE_NAMES[type] ?? "Reserved";
  }
}

const GENERIC_OFFSETS: ReadonlyMap<number, readonly string[]> = new Map([
  [
    0x01,
    [
      "Lower Non-critical - going low",
      "Lower Non-critical - going high",
      "Lower Critical - going low",
      "Lower Critical - going high",
      "Lower Non-recoverable - going low",
      "Lower Non-recoverable - going high",
      "Upper Non-critical - going low",
      "Upper Non-critical - going high",
      "Upper Critical - going low",
      "Upper Critical - going high",
      "Upper Non-recoverable - going low",
      "Upper Non-recoverable - going high",
    ],
  ],
  [0x02, ["Transition to Idle", "Transition to Active", "Transition to Busy"]],
  [0x03, ["State Deasserted", "State Asserted"]],
  [0x04, ["Predictive Failure deasserted", "Predictive Failure asserted"]],
  [0x05, ["Limit Not Exceeded", "Limit Exceeded"]],
  [0x06, ["Performance Met", "Performance Lags"]],
  [
    0x07,
    [
      "transition to OK",
      "transition to Non-Critical from OK",
      "transition to Critical from less severe",
      "transition to Non-recoverable from less severe",
      "transition to Non-Critical from more severe",
      "transition to Critical from Non-recoverable",
      "transition to Non-recoverable",
      "Monitor",
      "Informational",
    ],
  ],
  [0x08, ["Device Removed/Device Absent", "Device Inserted/Device Present"]],
  [0x09, ["Device Disabled", "Device Enabled"]],
  [
    0x0a,
    [
      "transition to Running",
      "transition to In Test",
      "transition to Power Off",
      "transition to On Line",
      "transition to Off Line",
      "transition to Off Duty",
      "transition to Degraded",
      "transition to Power Save",
      "Install Error",
    ],
  ],
  [
    0x0b,
    [
      "Fully Redundant",
      "Redundancy Lost",
      "Redundancy Degraded",
      "Non-redundant:Sufficient Resources from Redundant",
      "Non-redundant:Sufficient Resources from Insufficient Resources",
      "Non-redundant:Insufficient Resources",
      "Redundancy Degraded from Fully Redundant",
      "Redundancy Degraded from Non-redundant",
    ],
  ],
  [0x0c, ["D0 Power State", "D1 Power State", "D2 Power State", "D3 Power State"]],
]);

/** Meaning of an offset of the threshold (0x01) or a generic discrete (0x02-0x0C) event/reading type. */
export function genericOffsetText(type: number, offset: number): string | undefined {
  return GENERIC_OFFSETS.get(type)?.[offset];
}
