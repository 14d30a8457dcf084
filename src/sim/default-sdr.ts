import { readFile } from "node:fs/promises";
import { BMC_ADDRESS } from "../ipmi/message.js";
import { type ConversionFactors, valueToRaw } from "../ipmi/sdr/conversion.js";
import {
  type AnalogDataFormat,
  type CompactSensorRecord,
  decodeSdr,
  type EventOnlySensorRecord,
  encodeSdr,
  type FullSensorRecord,
  type McDeviceLocatorRecord,
  type RecordSharing,
  SDR_VERSION,
  type SdrRecord,
  type SensorCapabilities,
  type SensorInitialization,
  type SensorUnits,
  type Thresholds,
  thresholdMasksToRaw,
} from "../ipmi/sdr/records.js";

/** What a simulated BMC's sensors start from: its SDRs and the initial states of discrete sensors. */
export interface SensorRepository {
  records: SdrRecord[];
  /** Sensor number → asserted states, bit N = offset N. Threshold sensors start at their nominal reading. */
  initialStates: ReadonlyMap<number, number>;
}

/** Entity IDs (IPMI 2.0 §43.14, Table 43-13). */
const Entity = {
  Processor: 0x03,
  DiskBay: 0x04,
  SystemManagementModule: 0x06,
  SystemBoard: 0x07,
  PowerSupply: 0x0a,
  SystemChassis: 0x17,
  Fan: 0x1d,
  MemoryDevice: 0x20,
  AirInlet: 0x37,
} as const;

/** Sensor unit codes (IPMI 2.0 §43.17, Table 43-15). */
const Unit = { DegreesC: 1, Volts: 4, Rpm: 18 } as const;

const SENSOR_SPECIFIC = 0x6f;
const BMC_OWNER = { id: BMC_ADDRESS, channel: 0, lun: 0 };
const SINGLE: RecordSharing = {
  idStringInstanceModifierType: "numeric",
  shareCount: 1,
  entityInstanceIncrements: false,
  idStringInstanceModifierOffset: 0,
};
const INITIALIZATION: SensorInitialization = {
  settable: false,
  initScanning: true,
  initEvents: true,
  initThresholds: false,
  initHysteresis: false,
  initSensorType: false,
  eventGenerationEnabled: true,
  sensorScanningEnabled: true,
};
const THRESHOLD_CAPABILITIES: SensorCapabilities = {
  ignoreSensor: false,
  autoRearm: true,
  hysteresisSupport: "readable",
  thresholdAccess: "readable",
  eventMessageControl: "perThresholdOrState",
};
const DISCRETE_CAPABILITIES: SensorCapabilities = {
  ...THRESHOLD_CAPABILITIES,
  hysteresisSupport: "none",
  thresholdAccess: "none",
};
/** Event offset of each threshold's event: going low for lower, going high for upper (§42.1). */
const THRESHOLD_OFFSETS: Thresholds<number> = { lnc: 0, lcr: 2, lnr: 4, unc: 7, ucr: 9, unr: 11 };

type ThresholdName = keyof Thresholds<number>;
const THRESHOLD_NAMES: readonly ThresholdName[] = ["lnc", "lcr", "lnr", "unc", "ucr", "unr"];

function perThreshold<T>(f: (name: ThresholdName) => T): Thresholds<T> {
  return { unr: f("unr"), ucr: f("ucr"), unc: f("unc"), lnr: f("lnr"), lcr: f("lcr"), lnc: f("lnc") };
}

interface ThresholdSensorSpec {
  sensorNumber: number;
  name: string;
  sensorType: number;
  entityId: number;
  entityInstance: number;
  baseUnit: number;
  format: AnalogDataFormat;
  /** y = M·x·10^Rexp (B = 0). */
  m: number;
  rExp: number;
  nominal: number;
  normal: [min: number, max: number];
  /** In engineering units; absent thresholds are not readable and raise no events. */
  thresholds: Partial<Thresholds<number>>;
  /** Raw counts, both directions. */
  hysteresis: number;
}

/** The fields every sensor record here shares: its key, owner (the BMC, LUN 0) and ASCII ID string. */
function sensorHeader(recordId: number, s: Omit<DiscreteSensorSpec, "offsets">) {
  return {
    recordId,
    sdrVersion: SDR_VERSION,
    owner: { ...BMC_OWNER },
    sensorNumber: s.sensorNumber,
    entityId: s.entityId,
    entityInstance: s.entityInstance,
    logicalEntity: false,
    sensorType: s.sensorType,
    oem: 0,
    idStringType: "ascii8" as const,
    idString: s.name,
  };
}

/** Sensor units (IPMI 2.0 §43.1 byte 21) with a base unit only. */
function plainUnits(analogDataFormat: SensorUnits["analogDataFormat"], baseUnit: number): SensorUnits {
  return {
    analogDataFormat,
    rateUnit: "none",
    modifierUnit: "none",
    percentage: false,
    baseUnit,
    modifierUnitCode: 0,
  };
}

/** A full threshold sensor record (IPMI 2.0 §43.1) with values given in engineering units. */
function thresholdSensor(recordId: number, s: ThresholdSensorSpec): FullSensorRecord {
  const units = plainUnits(s.format, s.baseUnit);
  const factors: ConversionFactors = { m: s.m, b: 0, bExp: 0, rExp: s.rExp, linearization: 0, units };
  const raw = (value: number): number => {
    const r = valueToRaw(factors, value);
    if (r === null) throw new RangeError(`${s.name}: ${value} has no raw value`);
    return r;
  };
  const has = perThreshold((n) => s.thresholds[n] !== undefined);
  const events = THRESHOLD_NAMES.reduce((m, n) => m | (has[n] ? 1 << THRESHOLD_OFFSETS[n] : 0), 0);
  const thresholds = perThreshold((n) => {
    const value = s.thresholds[n];
    return value === undefined ? 0 : raw(value);
  });
  const signed = s.format === "twosComplement";
  return {
    kind: "full",
    ...sensorHeader(recordId, s),
    initialization: { ...INITIALIZATION },
    capabilities: { ...THRESHOLD_CAPABILITIES },
    eventReadingType: 0x01,
    ...thresholdMasksToRaw({
      assertionEvents: events,
      deassertionEvents: events,
      readingComparisons: has,
      readable: has,
      settable: perThreshold(() => false),
    }),
    units,
    linearization: 0,
    m: s.m,
    tolerance: 0,
    b: 0,
    accuracy: 0,
    accuracyExp: 0,
    sensorDirection: "input",
    rExp: s.rExp,
    bExp: 0,
    nominalReadingSpecified: true,
    normalMaximumSpecified: true,
    normalMinimumSpecified: true,
    nominalReading: raw(s.nominal),
    normalMaximum: raw(s.normal[1]),
    normalMinimum: raw(s.normal[0]),
    sensorMaximum: signed ? 0x7f : 0xff,
    sensorMinimum: signed ? 0x80 : 0x00,
    thresholds,
    positiveHysteresis: s.hysteresis,
    negativeHysteresis: s.hysteresis,
  };
}

interface DiscreteSensorSpec {
  sensorNumber: number;
  name: string;
  sensorType: number;
  entityId: number;
  entityInstance: number;
  /** Sensor-specific offsets (PROTOCOL.md §2) that are read and raise events. */
  offsets: number[];
}

/** A compact sensor-specific (6Fh) sensor record (IPMI 2.0 §43.2). */
function discreteSensor(recordId: number, s: DiscreteSensorSpec): CompactSensorRecord {
  const mask = s.offsets.reduce((m, o) => m | (1 << o), 0);
  return {
    kind: "compact",
    ...sensorHeader(recordId, s),
    initialization: { ...INITIALIZATION },
    capabilities: { ...DISCRETE_CAPABILITIES },
    eventReadingType: SENSOR_SPECIFIC,
    assertionMask: mask,
    deassertionMask: mask,
    readingMask: mask,
    units: plainUnits("none", 0),
    recordSharing: { ...SINGLE },
    positiveHysteresis: 0,
    negativeHysteresis: 0,
  };
}

/** An event-only record (IPMI 2.0 §43.3): events, no reading. */
function eventOnlySensor(recordId: number, s: Omit<DiscreteSensorSpec, "offsets">): EventOnlySensorRecord {
  return {
    kind: "eventOnly",
    ...sensorHeader(recordId, s),
    fruOwnerLun: 0,
    eventReadingType: SENSOR_SPECIFIC,
    recordSharing: { ...SINGLE },
  };
}

/** The BMC's own management controller device locator (IPMI 2.0 §43.9). */
function bmcLocator(recordId: number): McDeviceLocatorRecord {
  return {
    kind: "mcDeviceLocator",
    recordId,
    sdrVersion: SDR_VERSION,
    deviceSlaveAddress: BMC_ADDRESS,
    channel: 0,
    acpiSystemPowerStateNotificationRequired: false,
    acpiDevicePowerStateNotificationRequired: false,
    staticController: false,
    logsInitializationAgentErrors: false,
    logInitializationAgentErrorsAccessing: false,
    eventMessageGeneration: "enable",
    capabilities: {
      chassisDevice: true,
      bridge: false,
      ipmbEventGenerator: false,
      ipmbEventReceiver: true,
      fruInventoryDevice: false,
      selDevice: true,
      sdrRepositoryDevice: true,
      sensorDevice: true,
    },
    entityId: Entity.SystemManagementModule,
    entityInstance: 1,
    oem: 0,
    idStringType: "ascii8",
    idString: "BMC",
  };
}

const cpuTemp = (sensorNumber: number, instance: number): ThresholdSensorSpec => ({
  sensorNumber,
  name: `CPU${instance} Temp`,
  sensorType: 0x01,
  entityId: Entity.Processor,
  entityInstance: instance,
  baseUnit: Unit.DegreesC,
  format: "twosComplement",
  m: 1,
  rExp: 0,
  nominal: 45,
  normal: [10, 80],
  thresholds: { unc: 85, ucr: 90, unr: 95 },
  hysteresis: 2,
});

/** A voltage rail with raw 200 = nominal and thresholds at ±5 % (NC), ±10 % (CR), ±15 % (NR). */
const rail = (
  sensorNumber: number,
  name: string,
  nominal: number,
  m: number,
  rExp: number,
): ThresholdSensorSpec => ({
  sensorNumber,
  name,
  sensorType: 0x02,
  entityId: Entity.SystemBoard,
  entityInstance: 1,
  baseUnit: Unit.Volts,
  format: "unsigned",
  m,
  rExp,
  nominal,
  normal: [nominal * 0.97, nominal * 1.03],
  thresholds: {
    lnr: nominal * 0.85,
    lcr: nominal * 0.9,
    lnc: nominal * 0.95,
    unc: nominal * 1.05,
    ucr: nominal * 1.1,
    unr: nominal * 1.15,
  },
  hysteresis: 2,
});

const fan = (sensorNumber: number, instance: number): ThresholdSensorSpec => ({
  sensorNumber,
  name: `FAN${instance}`,
  sensorType: 0x04,
  entityId: Entity.Fan,
  entityInstance: instance,
  baseUnit: Unit.Rpm,
  format: "unsigned",
  m: 100,
  rExp: 0,
  nominal: 6000,
  normal: [3000, 12000],
  thresholds: { lnr: 300, lcr: 600, lnc: 1000 },
  hysteresis: 1,
});

/**
 * Sensor numbers 30h (temperature), 60h (voltage) and 53h (memory) are the ones `ipmitool event 1`,
 * `2` and `3` name (PROTOCOL.md §5), so their canned events land on CPU1 Temp, 12V and Memory ECC.
 */
export const SensorNumber = {
  Cpu1Temp: 0x30,
  Cpu2Temp: 0x31,
  InletTemp: 0x32,
  Fan1: 0x40,
  Fan2: 0x41,
  Fan3: 0x42,
  Fan4: 0x43,
  MemoryEcc: 0x53,
  ChassisIntrusion: 0x55,
  Rail12V: 0x60,
  Rail5V: 0x61,
  Rail3V3: 0x62,
  Psu1Status: 0x70,
  Psu2Status: 0x71,
  Watchdog: 0x80,
  SystemEvent: 0x81,
  Cpu1Status: 0x90,
  DriveSlot0: 0xa0,
} as const;

/**
 * A small two-socket server: BMC locator; CPU, inlet, rail and fan threshold sensors (full records);
 * power supplies, memory, intrusion, CPU and drive status (compact, sensor-specific); watchdog and
 * system event (event-only). Fresh objects on every call.
 */
export function defaultSensorRepository(): SensorRepository {
  const S = SensorNumber;
  const specs: ((recordId: number) => SdrRecord)[] = [
    bmcLocator,
    (id) => thresholdSensor(id, cpuTemp(S.Cpu1Temp, 1)),
    (id) => thresholdSensor(id, cpuTemp(S.Cpu2Temp, 2)),
    (id) =>
      thresholdSensor(id, {
        ...cpuTemp(S.InletTemp, 1),
        name: "Inlet Temp",
        entityId: Entity.AirInlet,
        nominal: 23,
        normal: [10, 35],
        thresholds: { lnr: 0, lcr: 5, lnc: 10, unc: 40, ucr: 45, unr: 50 },
      }),
    // 12 V at 0.06 V per count, 5 V at 0.025 V, 3.3 V at 0.0165 V: raw 200 is the nominal voltage.
    (id) => thresholdSensor(id, rail(S.Rail12V, "12V", 12, 6, -2)),
    (id) => thresholdSensor(id, rail(S.Rail5V, "5V", 5, 25, -3)),
    (id) => thresholdSensor(id, rail(S.Rail3V3, "3.3V", 3.3, 165, -4)),
    (id) => thresholdSensor(id, fan(S.Fan1, 1)),
    (id) => thresholdSensor(id, fan(S.Fan2, 2)),
    (id) => thresholdSensor(id, fan(S.Fan3, 3)),
    (id) => thresholdSensor(id, fan(S.Fan4, 4)),
    // Power supply: presence, failure, predictive failure, input lost.
    ...[S.Psu1Status, S.Psu2Status].map(
      (sensorNumber, i) => (id: number) =>
        discreteSensor(id, {
          sensorNumber,
          name: `PSU${i + 1} Status`,
          sensorType: 0x08,
          entityId: Entity.PowerSupply,
          entityInstance: i + 1,
          offsets: [0, 1, 2, 3],
        }),
    ),
    // Memory: correctable ECC, uncorrectable ECC, correctable logging limit reached.
    (id) =>
      discreteSensor(id, {
        sensorNumber: S.MemoryEcc,
        name: "Memory ECC",
        sensorType: 0x0c,
        entityId: Entity.MemoryDevice,
        entityInstance: 1,
        offsets: [0, 1, 5],
      }),
    (id) =>
      discreteSensor(id, {
        sensorNumber: S.ChassisIntrusion,
        name: "Intrusion", // "Chassis Intrusion" is 17 bytes; SDR ID strings hold 16
        sensorType: 0x05,
        entityId: Entity.SystemChassis,
        entityInstance: 1,
        offsets: [0],
      }),
    (id) =>
      eventOnlySensor(id, {
        sensorNumber: S.Watchdog,
        name: "Watchdog",
        sensorType: 0x23,
        entityId: Entity.SystemManagementModule,
        entityInstance: 1,
      }),
    (id) =>
      eventOnlySensor(id, {
        sensorNumber: S.SystemEvent,
        name: "System Event",
        sensorType: 0x12,
        entityId: Entity.SystemBoard,
        entityInstance: 1,
      }),
    // Processor: IERR, thermal trip, presence, throttled.
    (id) =>
      discreteSensor(id, {
        sensorNumber: S.Cpu1Status,
        name: "CPU1 Status",
        sensorType: 0x07,
        entityId: Entity.Processor,
        entityInstance: 1,
        offsets: [0, 1, 7, 10],
      }),
    // Drive slot: presence, fault, predictive failure, rebuild in progress.
    (id) =>
      discreteSensor(id, {
        sensorNumber: S.DriveSlot0,
        name: "Drive Slot 0",
        sensorType: 0x0d,
        entityId: Entity.DiskBay,
        entityInstance: 1,
        offsets: [0, 1, 2, 7],
      }),
  ];
  return {
    records: specs.map((make, i) => make(i + 1)),
    initialStates: new Map([
      [S.Psu1Status, 1 << 0],
      [S.Psu2Status, 1 << 0],
      [S.Cpu1Status, 1 << 7],
      [S.DriveSlot0, 1 << 0],
    ]),
  };
}

const FILE_KINDS = new Set(["full", "compact", "eventOnly", "fruDeviceLocator", "mcDeviceLocator"]);

/**
 * Reads a `--sdr FILE`: JSON `{ "records": SdrRecord[], "initialStates": { "<sensor number>": states } }`,
 * records in the shape of src/ipmi/sdr/records.ts (kinds full, compact, eventOnly, fruDeviceLocator,
 * mcDeviceLocator; raw values; JSON.stringify(defaultSensorRepository().records) is an example).
 * Each record goes through encodeSdr/decodeSdr, so what loads is what Get SDR will serve.
 */
export async function loadSensorRepository(file: string): Promise<SensorRepository> {
  const json = JSON.parse(await readFile(file, "utf8")) as {
    records?: unknown;
    initialStates?: Record<string, number>;
  };
  if (!Array.isArray(json.records)) throw new Error(`${file}: "records" must be an array of SDR records`);
  const ids = new Set<number>();
  const records = json.records.map((r: SdrRecord, i): SdrRecord => {
    if (!FILE_KINDS.has(r?.kind)) throw new Error(`${file}: record ${i} has no supported "kind"`);
    let record: SdrRecord;
    try {
      record = decodeSdr(encodeSdr(r));
    } catch (err) {
      throw new Error(`${file}: record ${i}: ${(err as Error).message}`);
    }
    if (ids.has(record.recordId)) throw new Error(`${file}: record ID ${record.recordId} appears twice`);
    ids.add(record.recordId);
    return record;
  });
  const initialStates = new Map(
    Object.entries(json.initialStates ?? {}).map(([n, states]) => [Number(n), states] as [number, number]),
  );
  return { records, initialStates };
}
