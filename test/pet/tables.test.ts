import { describe, expect, it } from "vitest";
import { entityName } from "../../src/pet/tables/entity-ids.js";
import { describeEventData } from "../../src/pet/tables/event-data.js";
import {
  eventReadingClass,
  eventReadingTypeName,
  genericOffsetText,
} from "../../src/pet/tables/event-reading-types.js";
import { manufacturerName } from "../../src/pet/tables/manufacturers.js";
import { sensorSpecificOffsetText } from "../../src/pet/tables/sensor-specific.js";
import { sensorTypeName } from "../../src/pet/tables/sensor-types.js";
import { type PetSeverity, petSeverity, petSeverityCode } from "../../src/pet/tables/severity.js";

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function ed(sensorType: number, eventReadingType: number, offset: number, bytes: [number, number, number]) {
  return describeEventData({ sensorType, eventReadingType, offset, eventData: Uint8Array.from(bytes) });
}

describe("sensor types (Table 42-3)", () => {
  it("names every defined type 0x01..0x2C", () => {
    for (const code of range(0x01, 0x2c))
      expect(sensorTypeName(code), `0x${code.toString(16)}`).not.toBe("Reserved");
  });

  it("uses FreeIPMI's names", () => {
    expect(sensorTypeName(0x01)).toBe("Temperature");
    expect(sensorTypeName(0x05)).toBe("Physical Security");
    expect(sensorTypeName(0x23)).toBe("Watchdog 2");
    expect(sensorTypeName(0x2c)).toBe("FRU State");
  });

  it("marks reserved and OEM ranges", () => {
    for (const code of [0x00, 0x2d, 0x80, 0xbf]) expect(sensorTypeName(code)).toBe("Reserved");
    for (const code of [0xc0, 0xd7, 0xff]) expect(sensorTypeName(code)).toBe("OEM Reserved");
  });
});

describe("event/reading types (Tables 42-1, 42-2)", () => {
  it("classifies the code ranges", () => {
    expect(eventReadingClass(0x00)).toBe("unspecified");
    expect(eventReadingClass(0x01)).toBe("threshold");
    for (const t of range(0x02, 0x0c)) expect(eventReadingClass(t)).toBe("generic");
    expect(eventReadingClass(0x0d)).toBe("reserved");
    expect(eventReadingClass(0x6f)).toBe("sensor-specific");
    for (const t of range(0x70, 0x7f)) expect(eventReadingClass(t)).toBe("oem");
    expect(eventReadingClass(0x80)).toBe("reserved");
  });

  it("names the types", () => {
    expect(eventReadingTypeName(0x01)).toBe("Threshold");
    expect(eventReadingTypeName(0x02)).toBe("Discrete Usage State");
    expect(eventReadingTypeName(0x6f)).toBe("Sensor-specific");
    expect(eventReadingTypeName(0x75)).toBe("OEM");
    expect(eventReadingTypeName(0x40)).toBe("Reserved");
  });

  it("has offset 0 text for every generic type and all 12 threshold offsets", () => {
    for (const t of range(0x01, 0x0c))
      expect(genericOffsetText(t, 0), `type 0x${t.toString(16)}`).toBeDefined();
    for (const o of range(0x00, 0x0b))
      expect(genericOffsetText(0x01, o)).toMatch(/^(Lower|Upper) .* - going (low|high)$/);
    expect(genericOffsetText(0x01, 0x0c)).toBeUndefined();
  });

  it("words offsets as FreeIPMI does", () => {
    expect(genericOffsetText(0x01, 0x00)).toBe("Lower Non-critical - going low");
    expect(genericOffsetText(0x01, 0x09)).toBe("Upper Critical - going high");
    expect(genericOffsetText(0x07, 0x08)).toBe("Informational");
    expect(genericOffsetText(0x0a, 0x08)).toBe("Install Error");
    expect(genericOffsetText(0x0b, 0x00)).toBe("Fully Redundant");
    expect(genericOffsetText(0x0c, 0x03)).toBe("D3 Power State");
    expect(genericOffsetText(0x0c, 0x04)).toBeUndefined();
    expect(genericOffsetText(0x6f, 0x00)).toBeUndefined();
  });
});

describe("sensor-specific offsets (Table 42-3)", () => {
  const expectedCounts: Record<number, number> = {
    5: 7,
    6: 6,
    7: 13,
    8: 8,
    9: 8,
    12: 11,
    13: 9,
    15: 3,
    16: 7,
    17: 8,
    18: 6,
    19: 12,
    20: 5,
    25: 2,
    27: 2,
    29: 8,
    30: 5,
    31: 11,
    32: 6,
    33: 10,
    34: 15,
    35: 5,
    36: 4,
    37: 3,
    39: 2,
    40: 6,
    41: 3,
    42: 4,
    43: 8,
    44: 8,
  };

  it("defines exactly the spec's offsets for each sensor type", () => {
    for (const type of range(0x00, 0xff)) {
      const defined = range(0x00, 0x0f).filter((o) => sensorSpecificOffsetText(type, o) !== undefined);
      expect(defined.length, `sensor type 0x${type.toString(16)}`).toBe(expectedCounts[type] ?? 0);
    }
  });

  it("spot-checks texts", () => {
    expect(sensorSpecificOffsetText(0x05, 0x00)).toBe("General Chassis Intrusion");
    expect(sensorSpecificOffsetText(0x05, 0x04)).toBe("LAN Leash Lost");
    expect(sensorSpecificOffsetText(0x0c, 0x00)).toBe("Correctable memory error");
    expect(sensorSpecificOffsetText(0x0c, 0x0a)).toBe("Critical Overtemperature");
    expect(sensorSpecificOffsetText(0x19, 0x01)).toBe("Thermal Trip");
    expect(sensorSpecificOffsetText(0x1d, 0x07)).toBe("System Restart");
    expect(sensorSpecificOffsetText(0x22, 0x0e)).toBe("Unknown");
    expect(sensorSpecificOffsetText(0x23, 0x08)).toBe("Timer interrupt");
    expect(sensorSpecificOffsetText(0x2c, 0x07)).toBe("FRU Communication Lost");
  });

  it("leaves reserved offsets undefined", () => {
    for (const o of [0x04, 0x05, 0x06, 0x07]) expect(sensorSpecificOffsetText(0x23, o)).toBeUndefined();
    expect(sensorSpecificOffsetText(0x05, 0x07)).toBeUndefined();
    expect(sensorSpecificOffsetText(0x01, 0x00)).toBeUndefined();
  });
});

describe("event data 2/3 (§29.7, Table 42-3)", () => {
  it("shows threshold trigger reading and threshold raw", () => {
    expect(ed(0x01, 0x01, 0x09, [0x59, 0x60, 0x70])).toEqual({
      eventData2: "trigger reading 0x60",
      eventData3: "trigger threshold 0x70",
    });
  });

  it("omits unspecified bytes", () => {
    expect(ed(0x01, 0x01, 0x09, [0x09, 0xff, 0xff])).toEqual({});
    expect(ed(0x0c, 0x6f, 0x00, [0xf0, 0xff, 0xff])).toEqual({});
    expect(ed(0x01, 0x01, 0x09, [0x59, 0xff, 0x70])).toEqual({ eventData3: "trigger threshold 0x70" });
  });

  it("shows OEM codes", () => {
    expect(ed(0x05, 0x6f, 0x00, [0xa0, 0x12, 0x34])).toEqual({
      eventData2: "OEM code 0x12",
      eventData3: "OEM code 0x34",
    });
  });

  it("decodes previous state and severity", () => {
    expect(ed(0x0c, 0x6f, 0x01, [0x41, 0x20, 0xff])).toEqual({
      eventData2:
        "Previous state = Correctable memory error; Severity = transition to Critical from less severe",
    });
    expect(ed(0x07, 0x03, 0x01, [0x41, 0xf0, 0xff])).toEqual({
      eventData2: "Previous state = State Deasserted",
    });
    expect(ed(0x07, 0x03, 0x01, [0x41, 0x7f, 0xff])).toEqual({ eventData2: "Severity = Monitor" });
  });

  it("ignores the reserved discrete byte 3 encoding", () => {
    expect(ed(0x07, 0x03, 0x01, [0x11, 0xff, 0x05])).toEqual({});
  });

  it("decodes POST errors and progress codes (0x0F)", () => {
    expect(ed(0x0f, 0x6f, 0x00, [0xc0, 0x01, 0xff]).eventData2).toMatch(/^No system memory/);
    expect(ed(0x0f, 0x6f, 0x00, [0xc0, 0x0d, 0xff]).eventData2).toBe("CPU speed matching failure");
    expect(ed(0x0f, 0x6f, 0x02, [0xc2, 0x19, 0xff]).eventData2).toBe("Primary processor initialization");
    expect(ed(0x0f, 0x6f, 0x01, [0xc1, 0x01, 0xff]).eventData2).toBe("Memory initialization");
    expect(ed(0x0f, 0x6f, 0x02, [0xc2, 0x15, 0xff]).eventData2).toBe("reserved progress code 0x15");
  });

  it("decodes memory module and power supply error type", () => {
    expect(ed(0x0c, 0x6f, 0x00, [0x30, 0xff, 0x03])).toEqual({ eventData3: "Memory module/device 3" });
    expect(ed(0x08, 0x6f, 0x06, [0x36, 0xff, 0x02])).toEqual({
      eventData3: "Processor missing or unexpected/unsupported condition",
    });
    expect(ed(0x05, 0x6f, 0x04, [0xc4, 0x02, 0xff])).toEqual({ eventData2: "Network controller #2" });
  });

  it("decodes event logging disabled (0x10)", () => {
    expect(ed(0x10, 0x6f, 0x01, [0xf1, 0x01, 0x37])).toEqual({
      eventData2: "Event/Reading Type Code #1",
      eventData3: "Event Offset 7; assertion event; logging has been disabled for all events of given type",
    });
    expect(ed(0x10, 0x6f, 0x05, [0x35, 0xff, 0x5a])).toEqual({ eventData3: "90% full" });
    expect(ed(0x10, 0x6f, 0x00, [0xc0, 0x04, 0xff])).toEqual({ eventData2: "Memory module/device 4" });
  });

  it("decodes system event (0x12)", () => {
    expect(ed(0x12, 0x6f, 0x03, [0xc3, 0x12, 0xff]).eventData2).toBe(
      "Log entry action = entry added because event did not map to standard IPMI event; Log type = OEM2",
    );
    expect(ed(0x12, 0x6f, 0x04, [0xc4, 0x05, 0xff]).eventData2).toBe("PEF actions = Alert, reset");
    expect(ed(0x12, 0x6f, 0x05, [0xc5, 0x81, 0xff]).eventData2).toBe(
      "SDR Timestamp Clock updated; event is second of pair",
    );
  });

  it("decodes chip set power states (0x19)", () => {
    expect(ed(0x19, 0x6f, 0x00, [0xf0, 0x05, 0x00])).toEqual({
      eventData2: 'Requested power state = S5/G2 "soft-off"',
      eventData3: 'Power state at time of request = S0/G0 "working"',
    });
  });

  it("decodes restart cause and channel (0x1D)", () => {
    expect(ed(0x1d, 0x6f, 0x07, [0xf7, 0x07, 0x01])).toEqual({
      eventData2:
        "automatic power-up on AC being applied due to 'restore previous power state' power restore policy",
      eventData3: "Channel number used to deliver command that generated restart = 1",
    });
    expect(ed(0x1d, 0x6f, 0x07, [0xc7, 0x0a, 0xff]).eventData2).toBe("soft reset (e.g. CTRL-ALT-DEL)");
  });

  it("decodes slot type and number (0x21)", () => {
    expect(ed(0x21, 0x6f, 0x09, [0xf9, 0x09, 0x04])).toEqual({
      eventData2: "Slot/Connector Type = PCI Express",
      eventData3: "Slot/Connector #4",
    });
    expect(ed(0x21, 0x6f, 0x00, [0xc0, 0x0c, 0xff]).eventData2).toBe("Slot/Connector Type = USB");
  });

  it("decodes watchdog 2 timer use and interrupt (0x23)", () => {
    expect(ed(0x23, 0x6f, 0x01, [0xc1, 0x12, 0xff]).eventData2).toBe(
      "Timer use at expiration = BIOS/POST; Interrupt type = SMI",
    );
  });

  it("decodes management subsystem health (0x28)", () => {
    expect(ed(0x28, 0x6f, 0x04, [0xc4, 0x30, 0xff])).toEqual({ eventData2: "Sensor Number #48" });
    expect(ed(0x28, 0x6f, 0x05, [0xf5, 0x8d, 0x44])).toEqual({
      eventData2:
        "device is logical FRU Device (accessed via FRU commands to mgmt. controller); LUN for Master Write-Read command or FRU Command #1; Private bus ID #5",
      eventData3: "FRU Device ID/Slave Address #68",
    });
  });

  it("decodes session audit (0x2A)", () => {
    expect(ed(0x2a, 0x6f, 0x01, [0xf1, 0x05, 0x21])).toEqual({
      eventData2: "User ID for user that activated session = 5",
      eventData3: "Channel number that session was activated/deactivated = 1; Session deactivated by timeout",
    });
    expect(ed(0x2a, 0x6f, 0x00, [0xc0, 0x00, 0xff])).toEqual({
      eventData2: "User ID for user that activated session = Unspecified",
    });
  });

  it("decodes version change type and FRU state (0x2B, 0x2C)", () => {
    expect(ed(0x2b, 0x6f, 0x07, [0xc7, 0x09, 0xff]).eventData2).toBe(
      "Version change type = system firmware (EFI/BIOS) change",
    );
    expect(ed(0x2c, 0x6f, 0x07, [0xc7, 0x54, 0xff]).eventData2).toBe(
      "Previous state = FRU Active; Cause of state change = Communication Lost",
    );
  });

  it("falls back to the raw code where the spec defines no extension", () => {
    expect(ed(0x07, 0x6f, 0x00, [0xc0, 0x42, 0xff])).toEqual({ eventData2: "sensor-specific code 0x42" });
  });
});

describe("entity IDs (Table 43-13)", () => {
  it("names the spec table", () => {
    expect(entityName(0x00)).toBe("Unspecified");
    expect(entityName(0x03)).toBe("Processor");
    expect(entityName(0x07)).toBe("System Board");
    expect(entityName(0x1d)).toBe("Fan/Cooling Device");
    expect(entityName(0x35)).toBe("Real Time Clock");
    expect(entityName(0x42)).toBe("Baseboard/Main System Board");
    for (const id of range(0x00, 0x35)) expect(entityName(id)).not.toBe("Reserved");
  });

  it("marks reserved and vendor ranges", () => {
    for (const id of [0x36, 0x38, 0x3f, 0x43, 0x8f]) expect(entityName(id)).toBe("Reserved");
    expect(entityName(0x90)).toBe("Chassis-specific");
    expect(entityName(0xaf)).toBe("Chassis-specific");
    expect(entityName(0xb0)).toBe("Board-set specific");
    expect(entityName(0xcf)).toBe("Board-set specific");
    expect(entityName(0xd0)).toBe("OEM System Integrator defined");
    expect(entityName(0xff)).toBe("OEM System Integrator defined");
  });
});

describe("manufacturers (IANA enterprise numbers)", () => {
  it("names BMC vendors as FreeIPMI does", () => {
    expect(manufacturerName(674)).toBe("Dell Inc.");
    expect(manufacturerName(4753)).toBe("MontaVista Software, Inc.");
    expect(manufacturerName(10876)).toBe("Super Micro Computer Inc.");
    expect(manufacturerName(20301)).toBe("IBM eServer X");
    expect(manufacturerName(2)).toBe("IBM");
    expect(manufacturerName(47196)).toBe("Hewlett Packard Enterprise");
    expect(manufacturerName(19046)).toBe("Lenovo Enterprise Business Group");
  });

  it("knows at least 40 vendors", () => {
    expect(range(0, 60000).filter((n) => manufacturerName(n) !== undefined).length).toBeGreaterThanOrEqual(
      40,
    );
  });

  it("returns undefined for unknown numbers, including Supermicro's byte-swapped ID", () => {
    expect(manufacturerName(99999)).toBeUndefined();
    expect(manufacturerName(2083127296)).toBeUndefined();
  });
});

describe("PET severity (PET 1.0 Table 3-2)", () => {
  const all: PetSeverity[] = [
    "unspecified",
    "monitor",
    "information",
    "ok",
    "non-critical",
    "critical",
    "non-recoverable",
  ];

  it("maps the seven codes", () => {
    expect(all.map(petSeverityCode)).toEqual([0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20]);
  });

  it("round-trips", () => {
    for (const s of all) expect(petSeverity(petSeverityCode(s))).toBe(s);
  });

  it("rejects undefined codes", () => {
    for (const code of [0x03, 0x05, 0x40, 0x80, 0xff]) expect(petSeverity(code)).toBeUndefined();
  });
});
