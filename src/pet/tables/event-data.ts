import { hexByte } from "../../ipmi/bytes.js";
// IPMI 2.0 §29.7 and Table 29-6, Event Request Message Event Data Field Contents, with the event data 2/3
// extension codes of Table 42-3, Sensor Type Codes (rev 1.1 with errata); table texts as FreeIPMI prints them.
import { eventReadingClass, genericOffsetText } from "./event-reading-types.js";
import { sensorSpecificOffsetText } from "./sensor-specific.js";

export interface EventDataDetail {
  eventData2?: string;
  eventData3?: string;
}

const UNSPECIFIED = 0xff;

/** What event data 2 and 3 mean, as far as event data 1 [7:4] and the spec tables say; 0xFF bytes are omitted. */
export function describeEventData(input: {
  sensorType: number;
  eventReadingType: number;
  offset: number;
  eventData: Uint8Array;
}): EventDataDetail {
  const [ed1 = 0, ed2 = UNSPECIFIED, ed3 = UNSPECIFIED] = input.eventData;
  const use2 = (ed1 >> 6) & 0x03;
  const use3 = (ed1 >> 4) & 0x03;
  const cls = eventReadingClass(input.eventReadingType);
  const extension =
    use2 === 0b11 || use3 === 0b11 ? (EXTENSIONS.get(input.sensorType)?.(input.offset, ed2, ed3) ?? {}) : {};
  const detail: EventDataDetail = {};

  if (ed2 !== UNSPECIFIED) {
    if (use2 === 0b01) {
      detail.eventData2 =
        cls === "threshold"
          ? `trigger reading 0x${hexByte(ed2)}`
          : previousState(input.sensorType, input.eventReadingType, ed2);
    } else if (use2 === 0b10) {
      detail.eventData2 = `OEM code 0x${hexByte(ed2)}`;
    } else if (use2 === 0b11) {
      detail.eventData2 = extension.eventData2 ?? `sensor-specific code 0x${hexByte(ed2)}`;
    }
  }
  if (ed3 !== UNSPECIFIED) {
    if (use3 === 0b01 && cls === "threshold") {
      detail.eventData3 = `trigger threshold 0x${hexByte(ed3)}`;
    } else if (use3 === 0b10) {
      detail.eventData3 = `OEM code 0x${hexByte(ed3)}`;
    } else if (use3 === 0b11) {
      detail.eventData3 = extension.eventData3 ?? `sensor-specific code 0x${hexByte(ed3)}`;
    }
  }
  return detail;
}

// Event data 2 with event data 1 [7:6] = 01b on a discrete event: [7:4] severity offset (type 0x07 table),
// [3:0] previous state offset; 0xF in either nibble = unspecified.
function previousState(sensorType: number, eventReadingType: number, ed2: number): string | undefined {
  const previous = ed2 & 0x0f;
  const severity = ed2 >> 4;
  const parts: string[] = [];
  if (previous !== 0x0f) {
    const text =
      eventReadingType === 0x6f
        ? sensorSpecificOffsetText(sensorType, previous)
        : genericOffsetText(eventReadingType, previous);
    parts.push(`Previous state = ${text ?? `offset 0x${hexByte(previous)}`}`);
  }
  if (severity !== 0x0f) {
    parts.push(`Severity = ${genericOffsetText(0x07, severity) ?? `offset 0x${hexByte(severity)}`}`);
  }
  return parts.length > 0 ? parts.join("; ") : undefined;
}

type Extension = (offset: number, ed2: number, ed3: number) => EventDataDetail;

// Table 42-3, 0x0F System Firmware Progress, offset 00h: event data 2 = System Firmware Error (POST error) code.
const POST_ERRORS: readonly string[] = [
  "Unspecified",
  "No system memory is physically installed in the system",
  "No usable system memory, all installed memory has experienced an unrecoverable failure",
  "Unrecoverable hard-disk/ATAPI/IDE device failure",
  "Unrecoverable system-board failure",
  "Unrecoverable diskette subsystem failure",
  "Unrecoverable hard-disk controller failure",
  "Unrecoverable PS/2 or USB keyboard failure",
  "Removable boot media not found",
  "Unrecoverable video controller failure",
  "No video device detected",
  "Firmware (BIOS) ROM corruption detected",
  "CPU voltage mismatch (processors that share same supply have mismatched voltage requirements)",
  "CPU speed matching failure",
];

// Table 42-3, 0x0F System Firmware Progress, offsets 01h/02h: event data 2 = hang / progress code.
const PROGRESS_CODES: readonly (string | undefined)[] = [
  "Unspecified",
  "Memory initialization",
  "Hard-disk initialization",
  "Secondary processor(s) initialization",
  "User authentication",
  "User-initiated system setup",
  "USB resource configuration",
  "PCI resource configuration",
  "Option ROM initialization",
  "Video initialization",
  "Cache initialization",
  "SM Bus initialization",
  "Keyboard controller initialization",
  "Embedded controller/management controller initialization",
  "Docking station attachment",
  "Enabling docking station",
  "Docking station ejection",
  "Disabling docking station",
  "Calling operating system wake-up vector",
  "Starting operating system boot process, e.g. calling Int 19h",
  "Baseboard or motherboard initialization",
  undefined,
  "Floppy initialization",
  "Keyboard test",
  "Pointing device test",
  "Primary processor initialization",
];

// Table 42-3, 0x08 Power Supply, offset 06h: event data 3 [3:0] = configuration error type.
const POWER_SUPPLY_ERRORS: readonly string[] = [
  "Vendor mismatch",
  "Revision mismatch",
  "Processor missing or unexpected/unsupported condition",
  "Power Supply rating mismatch",
  "Voltage rating mismatch",
];

// Table 42-3, 0x12 System Event, offset 03h: event data 2 [7:4] log entry action, [3:0] log type.
const AUX_LOG_ACTIONS: readonly string[] = [
  "entry added",
  "entry added because event did not map to standard IPMI event",
  "entry added along with one or more corresponding SEL entries",
  "log cleared",
  "log disabled",
  "log enabled",
];
const AUX_LOG_TYPES: readonly string[] = ["MCA log", "OEM1", "OEM2"];

// Table 42-3, 0x12 System Event, offset 04h: event data 2 bits [0]..[5] = PEF actions taken.
const PEF_ACTIONS: readonly string[] = [
  "Alert",
  "power off",
  "reset",
  "power cycle",
  "OEM action",
  "Diagnostic Interrupt (NMI)",
];

// Table 42-3, 0x12 System Event, offset 05h: event data 2 [3:0] timestamp clock type.
const CLOCK_TYPES: readonly string[] = [
  "SEL Timestamp Clock updated (Also used when both SEL and SDR Timestamp clocks are linked together)",
  "SDR Timestamp Clock updated",
];

// Table 42-3, 0x19 Chip Set, offset 00h: event data 2 = requested power state, 3 = state at time of request.
const POWER_STATES: readonly string[] = [
  'S0/G0 "working"',
  'S1 "sleeping with system h/w & processor context maintained"',
  'S2 "sleeping, processor context lost"',
  'S3 "sleeping, processor & h/w context lost, memory retained."',
  'S4 "non-volatile sleep/suspend-to disk"',
  'S5/G2 "soft-off"',
  "S4/S5 soft-off, particular S4/S5 state cannot be determined",
  "G3/Mechanical Off",
  "Sleeping in an S1, S2, or S3 states (used when particular S1, S2, S3 state cannot be determined)",
  "G1 sleeping (S1-S4 state cannot be determined)",
  "S5 entered by override",
  "Legacy ON state",
  "Legacy OFF state",
  "unknown",
];

// Table 42-3, 0x1D System Boot / Restart Initiated, offset 07h: event data 2 [3:0] restart cause.
const RESTART_CAUSES: readonly string[] = [
  "unknown",
  "Chassis Control command",
  "reset via pushbutton",
  "power-up via power pushbutton",
  "Watchdog expiration",
  "OEM",
  "automatic power-up on AC being applied due to 'always restore' power restore policy",
  "automatic power-up on AC being applied due to 'restore previous power state' power restore policy",
  "reset via PEF",
  "power-cycle via PEF",
  "soft reset (e.g. CTRL-ALT-DEL)",
  "power-up via RTC (system real time clock) wakeup",
];

// Table 42-3, 0x21 Slot / Connector: event data 2 [6:0] slot/connector type.
const SLOT_TYPES: readonly string[] = [
  "PCI",
  "Drive Array",
  "External Peripheral Connector",
  "Docking",
  "other standard internal expansion slot",
  "slot associated with entity specified by Entity ID for sensor",
  "AdvancedTCA",
  "DIMM/memory device",
  "FAN",
  "PCI Express",
  "SCSI (parallel)",
  "SATA / SAS",
  "USB",
];

// Table 42-3, 0x23 Watchdog 2: event data 2 [7:4] interrupt type, [3:0] timer use at expiration.
const WATCHDOG_INTERRUPTS: ReadonlyMap<number, string> = new Map([
  [0x0, "none"],
  [0x1, "SMI"],
  [0x2, "NMI"],
  [0x3, "Messaging Interrupt"],
  [0xf, "unspecified"],
]);
const WATCHDOG_TIMER_USES: ReadonlyMap<number, string> = new Map([
  [0x1, "BIOS FRB2"],
  [0x2, "BIOS/POST"],
  [0x3, "OS Load"],
  [0x4, "SMS/OS"],
  [0x5, "OEM"],
  [0xf, "unspecified"],
]);

// Table 42-3, 0x2A Session Audit: event data 3 [5:4] session deactivation cause.
const DEACTIVATION_CAUSES: readonly string[] = [
  "Session deactivation cause unspecified",
  "Session deactivated by Close Session command",
  "Session deactivated by timeout",
  "Session deactivated by configuration change",
];

// Table 42-3, 0x2B Version Change: event data 2 = version change type.
const VERSION_CHANGE_TYPES: readonly string[] = [
  "unspecified",
  "management controller device ID (change in one or more fields from `Get Device ID')",
  "management controller firmware revision",
  "management controller device revision",
  "management controller manufacturer ID",
  "management controller IPMI version",
  "management controller auxiliary firmware ID",
  "management controller firmware boot block",
  "other management controller firmware",
  "system firmware (EFI/BIOS) change",
  "SMBIOS change",
  "operating system change",
  "operating system loader change",
  "service or diagnostic partition change",
  "management software agent change",
  "management software application change",
  "management software middleware change",
  "programmable hardware change (e.g. FPGA)",
  "board/FRU module change (change of a module plugged into associated entity)",
  "board/FRU component change (addition or removal of a replaceable component on the board/FRU that is not tracked as a FRU)",
  "board/FRU replaced with equivalent version",
  "board/FRU replaced with newer version",
  "board/FRU replaced with older version",
  "board/FRU hardware configuration change (e.g. strap, jumper, cable change, etc.)",
];

// Table 42-3, 0x2C FRU State: event data 2 [7:4] cause of state change.
const FRU_STATE_CAUSES: ReadonlyMap<number, string> = new Map([
  [0x0, "Normal State Change"],
  [0x1, "Change Commanded by software external to FRU"],
  [0x2, "State Change due to operator changing a Handle latch"],
  [0x3, "State Change due to operator pressing the hotswap push button"],
  [0x4, "State Change due to FRU programmatic action"],
  [0x5, "Communication Lost"],
  [0x6, "Communication Lost due to local failure"],
  [0x7, "State Change due to unexpected extraction"],
  [0x8, "State Change due to operator intervention/update"],
  [0x9, "Unable to compute IPMB address"],
  [0xa, "Unexpected Deactivation"],
  [0xf, "State Change, Cause Unknown"],
]);

const EXTENSIONS: ReadonlyMap<number, Extension> = new Map<number, Extension>([
  [0x05, (offset, ed2) => (offset === 0x04 ? { eventData2: `Network controller #${ed2}` } : {})],
  [
    0x08,
    (offset, _ed2, ed3) =>
      offset === 0x06 ? { eventData3: named(POWER_SUPPLY_ERRORS[ed3 & 0x0f], "error type", ed3 & 0x0f) } : {},
  ],
  [0x0c, (_offset, _ed2, ed3) => ({ eventData3: `Memory module/device ${ed3}` })],
  [
    0x0f,
    (offset, ed2) => {
      if (offset === 0x00) return { eventData2: named(POST_ERRORS[ed2], "POST error code", ed2) };
      if (offset === 0x01 || offset === 0x02) {
        return { eventData2: named(PROGRESS_CODES[ed2], "progress code", ed2) };
      }
      return {};
    },
  ],
  [0x10, eventLoggingDisabled],
  [0x12, systemEvent],
  [
    0x19,
    (offset, ed2, ed3) =>
      offset === 0x00
        ? {
            eventData2: `Requested power state = ${named(POWER_STATES[ed2], "state", ed2)}`,
            eventData3: `Power state at time of request = ${named(POWER_STATES[ed3], "state", ed3)}`,
          }
        : {},
  ],
  [
    0x1d,
    (offset, ed2, ed3) =>
      offset === 0x07
        ? {
            eventData2: named(RESTART_CAUSES[ed2 & 0x0f], "restart cause", ed2 & 0x0f),
            eventData3: `Channel number used to deliver command that generated restart = ${ed3}`,
          }
        : {},
  ],
  [
    0x21,
    (_offset, ed2, ed3) => ({
      eventData2: `Slot/Connector Type = ${named(SLOT_TYPES[ed2 & 0x7f], "type", ed2 & 0x7f)}`,
      eventData3: `Slot/Connector #${ed3}`,
    }),
  ],
  [
    0x23,
    (_offset, ed2) => ({
      eventData2: [
        `Timer use at expiration = ${named(WATCHDOG_TIMER_USES.get(ed2 & 0x0f), "use", ed2 & 0x0f)}`,
        `Interrupt type = ${named(WATCHDOG_INTERRUPTS.get(ed2 >> 4), "type", ed2 >> 4)}`,
      ].join("; "),
    }),
  ],
  [0x28, managementSubsystemHealth],
  [0x2a, sessionAudit],
  [
    0x2b,
    (_offset, ed2) => ({
      eventData2: `Version change type = ${named(VERSION_CHANGE_TYPES[ed2], "type", ed2)}`,
    }),
  ],
  [
    0x2c,
    (_offset, ed2) => ({
      eventData2: [
        `Previous state = ${named(sensorSpecificOffsetText(0x2c, ed2 & 0x0f), "offset", ed2 & 0x0f)}`,
        `Cause of state change = ${named(FRU_STATE_CAUSES.get(ed2 >> 4), "cause", ed2 >> 4)}`,
      ].join("; "),
    }),
  ],
]);

// Table 42-3, 0x10 Event Logging Disabled.
function eventLoggingDisabled(offset: number, ed2: number, ed3: number): EventDataDetail {
  switch (offset) {
    case 0x00:
      return { eventData2: `Memory module/device ${ed2}` };
    case 0x01: {
      const all = ed3 & 0x20 ? "; logging has been disabled for all events of given type" : "";
      return {
        eventData2: `Event/Reading Type Code #${ed2}`,
        eventData3: `Event Offset ${ed3 & 0x0f}; ${ed3 & 0x10 ? "assertion" : "deassertion"} event${all}`,
      };
    }
    case 0x05:
      return { eventData3: `${ed3}% full` };
    case 0x06: {
      if (ed3 === UNSPECIFIED) return { eventData2: `Instance ID #${ed2}` };
      const kind = ed3 & 0x80 ? "Vendor-specific Processor Number" : "Entity Instance Number";
      return { eventData2: `${kind} = ${ed2}`, eventData3: `Number type = ${kind}` };
    }
    default:
      return {};
  }
}

// Table 42-3, 0x12 System Event.
function systemEvent(offset: number, ed2: number): EventDataDetail {
  switch (offset) {
    case 0x03:
      return {
        eventData2: [
          `Log entry action = ${named(AUX_LOG_ACTIONS[ed2 >> 4], "action", ed2 >> 4)}`,
          `Log type = ${named(AUX_LOG_TYPES[ed2 & 0x0f], "type", ed2 & 0x0f)}`,
        ].join("; "),
      };
    case 0x04: {
      const taken = PEF_ACTIONS.filter((_, bit) => ed2 & (1 << bit));
      return { eventData2: `PEF actions = ${taken.length > 0 ? taken.join(", ") : "none"}` };
    }
    case 0x05:
      return {
        eventData2: [
          named(CLOCK_TYPES[ed2 & 0x0f], "clock type", ed2 & 0x0f),
          ed2 & 0x80 ? "event is second of pair" : "event is first of pair",
        ].join("; "),
      };
    default:
      return {};
  }
}

// Table 42-3, 0x28 Management Subsystem Health.
function managementSubsystemHealth(offset: number, ed2: number, ed3: number): EventDataDetail {
  if (offset === 0x00 || offset === 0x04) return { eventData2: `Sensor Number #${ed2}` };
  if (offset !== 0x05) return {};
  return {
    eventData2: [
      ed2 & 0x80
        ? "device is logical FRU Device (accessed via FRU commands to mgmt. controller)"
        : "device is not a logical FRU Device",
      `LUN for Master Write-Read command or FRU Command #${(ed2 >> 3) & 0x03}`,
      `Private bus ID #${ed2 & 0x07}`,
    ].join("; "),
    eventData3: `FRU Device ID/Slave Address #${ed3}`,
  };
}

// Table 42-3, 0x2A Session Audit: event data 2 [5:0] user ID, event data 3 [5:4] cause, [3:0] channel.
function sessionAudit(offset: number, ed2: number, ed3: number): EventDataDetail {
  const userId = ed2 & 0x3f;
  const cause = offset === 0x01 ? `; ${DEACTIVATION_CAUSES[(ed3 >> 4) & 0x03]}` : "";
  const detail: EventDataDetail = {
    eventData3: `Channel number that session was activated/deactivated = ${ed3 & 0x0f}${cause}`,
  };
  if (offset <= 0x01) {
    detail.eventData2 = `User ID for user that activated session = ${userId === 0 ? "Unspecified" : userId}`;
  }
  return detail;
}

function named(text: string | undefined, what: string, code: number): string {
  return text ?? `reserved ${what} 0x${hexByte(code)}`;
}
