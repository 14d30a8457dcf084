import { ByteReader, ByteWriter, bit, flag, TruncatedError } from "../bytes.js";
import { IpmiDecodeError } from "../errors.js";
import type { GeneratorId } from "../sel.js";
import { MODIFIER_UNITS, RATE_UNITS, type UnitFields } from "./units.js";

/** Every SDR starts with record ID (2, LE), SDR version (51h), record type and body length (IPMI 2.0 §43). */
export const SDR_HEADER_LENGTH = 5;
export const SDR_VERSION = 0x51;

export interface SdrHeader {
  recordId: number;
  sdrVersion: number;
  recordType: number;
  /** Bytes after the header. */
  recordLength: number;
}

export function decodeSdrHeader(bytes: Uint8Array): SdrHeader {
  if (bytes.length < SDR_HEADER_LENGTH) {
    throw new IpmiDecodeError("SDR header", `is ${bytes.length} bytes, needs ${SDR_HEADER_LENGTH}`);
  }
  const r = new ByteReader(bytes);
  return { recordId: r.u16le(), sdrVersion: r.u8(), recordType: r.u8(), recordLength: r.u8() };
}

// ---- ID strings (IPMI 2.0 §43.15) -------------------------------------------------------------

/** Type/length byte [7:6]: 00 Unicode, 01 BCD plus, 10 6-bit packed ASCII, 11 8-bit ASCII + Latin-1. */
export type IdStringType = "unicode" | "bcdPlus" | "ascii6" | "ascii8";
const ID_STRING_TYPES: readonly IdStringType[] = ["unicode", "bcdPlus", "ascii6", "ascii8"];
const BCD_PLUS = "0123456789 -.:,_";
/** Sensor records hold at most 16 ID string bytes (§43.1 bytes 49:64). */
export const MAX_ID_STRING_BYTES = 16;

/**
 * Decodes an ID string's bytes. BCD plus is read high nibble first (unconfirmed: implementations
 * differ); 6-bit ASCII packs characters (+20h) least-significant bits first, 4 per 3 bytes; Unicode
 * (whose encoding the spec leaves open) and 8-bit strings map byte for byte (Latin-1).
 */
export function decodeIdString(type: IdStringType, bytes: Uint8Array): string {
  switch (type) {
    case "ascii8":
    case "unicode":
      return Buffer.from(bytes).toString("latin1");
    case "bcdPlus": {
      let s = "";
      for (const b of bytes) s += `${BCD_PLUS[b >> 4]}${BCD_PLUS[b & 0x0f]}`;
      return s;
    }
    case "ascii6": {
      let s = "";
      const chars = Math.floor((bytes.length * 8) / 6);
      for (let i = 0; i < chars; i++) {
        const bit = i * 6;
        const lo = bytes[bit >> 3] ?? 0;
        const hi = bytes[(bit >> 3) + 1] ?? 0;
        const v = (((hi << 8) | lo) >> (bit & 7)) & 0x3f;
        s += String.fromCharCode(v + 0x20);
      }
      return s;
    }
  }
}

/** Encodes an ID string's bytes (without the type/length byte); an odd BCD-plus string is padded with a space. */
export function encodeIdStringBytes(type: IdStringType, text: string): Buffer {
  switch (type) {
    case "ascii8":
    case "unicode":
      for (const ch of text) {
        if (ch.charCodeAt(0) > 0xff || ch.length > 1) throw new RangeError(`"${text}" is not Latin-1`);
      }
      return Buffer.from(text, "latin1");
    case "bcdPlus": {
      const padded = text.length % 2 ? `${text} ` : text;
      const out = Buffer.alloc(padded.length / 2);
      for (let i = 0; i < padded.length; i++) {
        const nibble = BCD_PLUS.indexOf(padded[i] as string);
        if (nibble < 0) throw new RangeError(`"${text}" has a character BCD plus cannot hold`);
        out[i >> 1] = (out[i >> 1] as number) | (i % 2 ? nibble : nibble << 4);
      }
      return out;
    }
    case "ascii6": {
      const out = Buffer.alloc(Math.ceil((text.length * 6) / 8));
      for (let i = 0; i < text.length; i++) {
        const v = text.charCodeAt(i) - 0x20;
        if (v < 0 || v > 0x3f) throw new RangeError(`"${text}" has a character 6-bit ASCII cannot hold`);
        const bit = i * 6;
        const at = bit >> 3;
        const shifted = v << (bit & 7);
        out[at] = (out[at] as number) | (shifted & 0xff);
        if (shifted > 0xff) out[at + 1] = (out[at + 1] as number) | (shifted >> 8);
      }
      return out;
    }
  }
}

function readIdString(r: ByteReader): { idStringType: IdStringType; idString: string } {
  const typeLength = r.u8();
  const idStringType = ID_STRING_TYPES[typeLength >> 6] as IdStringType;
  return { idStringType, idString: decodeIdString(idStringType, r.bytes(typeLength & 0x1f)) };
}

function writeIdString(w: ByteWriter, type: IdStringType, text: string): ByteWriter {
  const bytes = encodeIdStringBytes(type, text);
  if (bytes.length > MAX_ID_STRING_BYTES) {
    throw new RangeError(`ID string "${text}" needs ${bytes.length} bytes; SDRs hold ${MAX_ID_STRING_BYTES}`);
  }
  return w.u8((ID_STRING_TYPES.indexOf(type) << 6) | bytes.length).bytes(bytes);
}

// ---- Sensor record fields (IPMI 2.0 §43.1-43.3) ---------------------------------------------------

/** Sensor initialization, byte 11. */
export interface SensorInitialization {
  /** [7] Accepts Set Sensor Reading and Event Status. */
  settable: boolean;
  initScanning: boolean;
  initEvents: boolean;
  initThresholds: boolean;
  initHysteresis: boolean;
  initSensorType: boolean;
  /** [1] Event generation enabled at power-up. */
  eventGenerationEnabled: boolean;
  /** [0] Sensor scanning enabled at power-up. */
  sensorScanningEnabled: boolean;
}

export type HysteresisSupport = "none" | "readable" | "readableSettable" | "fixed";
export type ThresholdAccess = "none" | "readable" | "readableSettable" | "fixed";
export type EventMessageControl = "perThresholdOrState" | "entireSensor" | "globalDisable" | "none";
const ACCESS = ["none", "readable", "readableSettable", "fixed"] as const;
const EVENT_CONTROL: readonly EventMessageControl[] = [
  "perThresholdOrState",
  "entireSensor",
  "globalDisable",
  "none",
];

/** Sensor capabilities, byte 12. */
export interface SensorCapabilities {
  ignoreSensor: boolean;
  autoRearm: boolean;
  hysteresisSupport: HysteresisSupport;
  thresholdAccess: ThresholdAccess;
  eventMessageControl: EventMessageControl;
}

/** Sensor units 1, [7:6]: how raw readings are signed; "none" = no analog (numeric) reading. */
export type AnalogDataFormat = "unsigned" | "onesComplement" | "twosComplement" | "none";
const ANALOG_FORMATS: readonly AnalogDataFormat[] = ["unsigned", "onesComplement", "twosComplement", "none"];

/** Sensor units 1-3, bytes 21-23. */
export interface SensorUnits extends UnitFields {
  analogDataFormat: AnalogDataFormat;
}

/** The event and reading masks, bytes 15-20, each LE. Use thresholdMasks() to read them for threshold sensors. */
export interface SensorMasks {
  /** Assertion event mask; for threshold sensors also the lower threshold reading mask in [14:12]. */
  assertionMask: number;
  /** Deassertion event mask; for threshold sensors also the upper threshold reading mask in [14:12]. */
  deassertionMask: number;
  /** Discrete reading mask; for threshold sensors [5:0] readable and [13:8] settable thresholds. */
  readingMask: number;
}

export interface Thresholds<T> {
  unr: T;
  ucr: T;
  unc: T;
  lnr: T;
  lcr: T;
  lnc: T;
}

/** Bit order of the threshold masks (IPMI 2.0 §43.1 bytes 19-20, §35.20). */
const THRESHOLD_BITS: readonly (keyof Thresholds<boolean>)[] = ["lnc", "lcr", "lnr", "unc", "ucr", "unr"];

function bitsToThresholds(bits: number): Thresholds<boolean> {
  const t = {} as Thresholds<boolean>;
  THRESHOLD_BITS.forEach((name, i) => {
    t[name] = ((bits >> i) & 1) === 1;
  });
  return t;
}

function thresholdsToBits(t: Thresholds<boolean>): number {
  return THRESHOLD_BITS.reduce((bits, name, i) => bits | (t[name] ? 1 << i : 0), 0);
}

/** The masks of a threshold-based sensor (event/reading type 01h), field by field. */
export interface ThresholdMaskView {
  /** Bit n = threshold event offset n (0 LNC going low … 11 UNR going high). */
  assertionEvents: number;
  deassertionEvents: number;
  /** Thresholds whose comparison Get Sensor Reading returns (lower ones from the assertion mask, upper from the deassertion mask). */
  readingComparisons: Thresholds<boolean>;
  readable: Thresholds<boolean>;
  settable: Thresholds<boolean>;
}

export function thresholdMasks(masks: SensorMasks): ThresholdMaskView {
  return {
    assertionEvents: masks.assertionMask & 0x0fff,
    deassertionEvents: masks.deassertionMask & 0x0fff,
    readingComparisons: bitsToThresholds(
      ((masks.assertionMask >> 12) & 0x7) | (((masks.deassertionMask >> 12) & 0x7) << 3),
    ),
    readable: bitsToThresholds(masks.readingMask & 0x3f),
    settable: bitsToThresholds((masks.readingMask >> 8) & 0x3f),
  };
}

export function thresholdMasksToRaw(view: ThresholdMaskView): SensorMasks {
  const comparisons = thresholdsToBits(view.readingComparisons);
  return {
    assertionMask: (view.assertionEvents & 0x0fff) | ((comparisons & 0x7) << 12),
    deassertionMask: (view.deassertionEvents & 0x0fff) | ((comparisons >> 3) << 12),
    readingMask: thresholdsToBits(view.readable) | (thresholdsToBits(view.settable) << 8),
  };
}

/** Compact and event-only sensor record sharing (§43.2 bytes 24-25, §43.3 bytes 13-14). */
export interface RecordSharing {
  idStringInstanceModifierType: "numeric" | "alpha";
  /** Sensors sharing this record; 0 and 1 both mean one. */
  shareCount: number;
  /** Entity instance increments with each shared sensor (else the same for all). */
  entityInstanceIncrements: boolean;
  idStringInstanceModifierOffset: number;
}

export type SensorDirection = "unspecified" | "input" | "output" | "reserved";
const DIRECTIONS: readonly SensorDirection[] = ["unspecified", "input", "output", "reserved"];

interface RecordBase {
  recordId: number;
  /** 51h. */
  sdrVersion: number;
}

interface SensorKeys extends RecordBase {
  /** Sensor owner ID and owner LUN (bytes 6-7). */
  owner: GeneratorId;
  sensorNumber: number;
  entityId: number;
  /** Byte 10 [6:0]. */
  entityInstance: number;
  /** Byte 10 [7]: logical container entity (else physical). */
  logicalEntity: boolean;
}

interface SensorCommon extends SensorKeys, SensorMasks {
  initialization: SensorInitialization;
  capabilities: SensorCapabilities;
  sensorType: number;
  /** Event/reading type code: 01h threshold, 02h-0Ch generic, 6Fh sensor-specific. */
  eventReadingType: number;
  units: SensorUnits;
}

interface IdStringFields {
  oem: number;
  idStringType: IdStringType;
  idString: string;
}

/** Record type 01h, full sensor record (IPMI 2.0 §43.1, Table 43-1). Readings and thresholds are raw. */
export interface FullSensorRecord extends SensorCommon, IdStringFields {
  kind: "full";
  /** 0 linear, 1-0Bh ln/log10/log2/e/exp10/exp2/1/x/sqr/cube/sqrt/cube root, 70h-7Fh non-linear. */
  linearization: number;
  /** 10-bit two's complement. */
  m: number;
  /** 6 bits, in +/- half raw counts. */
  tolerance: number;
  /** 10-bit two's complement. */
  b: number;
  /** 10 bits, in 0.01 % units, scaled by 10^accuracyExp. */
  accuracy: number;
  accuracyExp: number;
  sensorDirection: SensorDirection;
  /** Signed 4-bit. */
  rExp: number;
  /** Signed 4-bit. */
  bExp: number;
  nominalReadingSpecified: boolean;
  normalMaximumSpecified: boolean;
  normalMinimumSpecified: boolean;
  nominalReading: number;
  normalMaximum: number;
  normalMinimum: number;
  sensorMaximum: number;
  sensorMinimum: number;
  /** Raw threshold values, bytes 37-42 (UNR, UCR, UNC, LNR, LCR, LNC). */
  thresholds: Thresholds<number>;
  positiveHysteresis: number;
  negativeHysteresis: number;
}

/** Record type 02h, compact sensor record (IPMI 2.0 §43.2, Table 43-2). */
export interface CompactSensorRecord extends SensorCommon, IdStringFields {
  kind: "compact";
  recordSharing: RecordSharing;
  positiveHysteresis: number;
  negativeHysteresis: number;
}

/** Record type 03h, event-only record (IPMI 2.0 §43.3, Table 43-3). */
export interface EventOnlySensorRecord extends SensorKeys, IdStringFields {
  kind: "eventOnly";
  /** Byte 7 [3:2]: LUN of the FRU inventory device the sensor is associated with. */
  fruOwnerLun: number;
  sensorType: number;
  eventReadingType: number;
  recordSharing: RecordSharing;
}

/** Record type 11h, FRU device locator (IPMI 2.0 §43.8, Table 43-7). */
export interface FruDeviceLocatorRecord extends RecordBase, IdStringFields {
  kind: "fruDeviceLocator";
  /** Byte 6 [7:1], as an 8-bit slave address (bit 0 clear): the controller that holds the FRU. */
  deviceAccessAddress: number;
  /** Byte 7: a logical FRU device ID, or for a non-logical FRU its 8-bit slave address. */
  fruDeviceId: number;
  /** Byte 8 [7]: logical FRU device, accessed with FRU commands. */
  logical: boolean;
  /** Byte 8 [4:3]. */
  accessLun: number;
  /** Byte 8 [2:0]. */
  privateBusId: number;
  /** Byte 9 [7:4]. */
  channel: number;
  deviceType: number;
  deviceTypeModifier: number;
  entityId: number;
  entityInstance: number;
}

/** Management controller device locator byte 8 [1:0]. */
export type EventMessageGeneration = "enable" | "disable" | "doNotInitialize" | "reserved";
const EVENT_GENERATION: readonly EventMessageGeneration[] = [
  "enable",
  "disable",
  "doNotInitialize",
  "reserved",
];

export interface DeviceCapabilities {
  chassisDevice: boolean;
  bridge: boolean;
  ipmbEventGenerator: boolean;
  ipmbEventReceiver: boolean;
  fruInventoryDevice: boolean;
  selDevice: boolean;
  sdrRepositoryDevice: boolean;
  sensorDevice: boolean;
}
const CAPABILITY_BITS: readonly (keyof DeviceCapabilities)[] = [
  "sensorDevice",
  "sdrRepositoryDevice",
  "selDevice",
  "fruInventoryDevice",
  "ipmbEventReceiver",
  "ipmbEventGenerator",
  "bridge",
  "chassisDevice",
];

/** Record type 12h, management controller device locator (IPMI 2.0 §43.9, Table 43-8). */
export interface McDeviceLocatorRecord extends RecordBase, IdStringFields {
  kind: "mcDeviceLocator";
  /** Byte 6 [7:1], as an 8-bit slave address (bit 0 clear). */
  deviceSlaveAddress: number;
  /** Byte 7 [3:0]. */
  channel: number;
  acpiSystemPowerStateNotificationRequired: boolean;
  acpiDevicePowerStateNotificationRequired: boolean;
  /** Byte 8 [5], kept for IPMI 1.0 compatibility: 1 = static controller, 0 = dynamic. */
  staticController: boolean;
  /** Byte 8 [3]. */
  logsInitializationAgentErrors: boolean;
  /** Byte 8 [2]: log initialization agent errors accessing this controller. */
  logInitializationAgentErrorsAccessing: boolean;
  eventMessageGeneration: EventMessageGeneration;
  capabilities: DeviceCapabilities;
  entityId: number;
  entityInstance: number;
}

/** Any other record type (or a record that would not decode), kept as it came. */
export interface UnknownSdrRecord extends RecordBase {
  kind: "unknown";
  recordType: number;
  body: Buffer;
  /** Why a known type was kept raw, when that is the reason. */
  decodeError?: string;
}

export type SdrRecord =
  | FullSensorRecord
  | CompactSensorRecord
  | EventOnlySensorRecord
  | FruDeviceLocatorRecord
  | McDeviceLocatorRecord
  | UnknownSdrRecord;

export const SDR_RECORD_TYPES = {
  full: 0x01,
  compact: 0x02,
  eventOnly: 0x03,
  fruDeviceLocator: 0x11,
  mcDeviceLocator: 0x12,
} as const;

/** Sign-extends the low `bits` bits of v. */
export function signExtend(v: number, bits: number): number {
  const sign = 1 << (bits - 1);
  return (v & (sign - 1)) - (v & sign);
}

function twosComplement(v: number, bits: number, what: string): number {
  const min = -(1 << (bits - 1));
  if (!Number.isInteger(v) || v < min || v > -min - 1) {
    throw new RangeError(`${what} ${v} does not fit ${bits}-bit two's complement`);
  }
  return v & ((1 << bits) - 1);
}

function readKeys(r: ByteReader, base: RecordBase): SensorKeys & { lunByte: number } {
  const id = r.u8();
  const lunByte = r.u8();
  const sensorNumber = r.u8();
  const entityId = r.u8();
  const instance = r.u8();
  return {
    ...base,
    owner: { id, channel: lunByte >> 4, lun: lunByte & 0x03 },
    sensorNumber,
    entityId,
    entityInstance: instance & 0x7f,
    logicalEntity: bit(instance, 7),
    lunByte,
  };
}

function writeKeys(w: ByteWriter, k: SensorKeys, extraLunBits = 0): ByteWriter {
  return w
    .u8(k.owner.id)
    .u8((k.owner.channel << 4) | extraLunBits | (k.owner.lun & 0x03))
    .u8(k.sensorNumber)
    .u8(k.entityId)
    .u8(flag(k.logicalEntity, 7) | (k.entityInstance & 0x7f));
}

function readCommon(r: ByteReader, base: RecordBase): SensorCommon {
  const { lunByte: _, ...keys } = readKeys(r, base);
  const init = r.u8();
  const caps = r.u8();
  const sensorType = r.u8();
  const eventReadingType = r.u8();
  const assertionMask = r.u16le();
  const deassertionMask = r.u16le();
  const readingMask = r.u16le();
  const units1 = r.u8();
  const baseUnit = r.u8();
  const modifierUnitCode = r.u8();
  return {
    ...keys,
    initialization: {
      settable: bit(init, 7),
      initScanning: bit(init, 6),
      initEvents: bit(init, 5),
      initThresholds: bit(init, 4),
      initHysteresis: bit(init, 3),
      initSensorType: bit(init, 2),
      eventGenerationEnabled: bit(init, 1),
      sensorScanningEnabled: bit(init, 0),
    },
    capabilities: {
      ignoreSensor: bit(caps, 7),
      autoRearm: bit(caps, 6),
      hysteresisSupport: ACCESS[(caps >> 4) & 3] as HysteresisSupport,
      thresholdAccess: ACCESS[(caps >> 2) & 3] as ThresholdAccess,
      eventMessageControl: EVENT_CONTROL[caps & 3] as EventMessageControl,
    },
    sensorType,
    eventReadingType,
    assertionMask,
    deassertionMask,
    readingMask,
    units: {
      analogDataFormat: ANALOG_FORMATS[units1 >> 6] as AnalogDataFormat,
      rateUnit: RATE_UNITS[(units1 >> 3) & 7] as SensorUnits["rateUnit"],
      modifierUnit: MODIFIER_UNITS[(units1 >> 1) & 3] as SensorUnits["modifierUnit"],
      percentage: bit(units1, 0),
      baseUnit,
      modifierUnitCode,
    },
  };
}

function writeCommon(w: ByteWriter, s: SensorCommon): ByteWriter {
  const i = s.initialization;
  const c = s.capabilities;
  const u = s.units;
  return writeKeys(w, s)
    .u8(
      flag(i.settable, 7) |
        flag(i.initScanning, 6) |
        flag(i.initEvents, 5) |
        flag(i.initThresholds, 4) |
        flag(i.initHysteresis, 3) |
        flag(i.initSensorType, 2) |
        flag(i.eventGenerationEnabled, 1) |
        flag(i.sensorScanningEnabled, 0),
    )
    .u8(
      flag(c.ignoreSensor, 7) |
        flag(c.autoRearm, 6) |
        (ACCESS.indexOf(c.hysteresisSupport) << 4) |
        (ACCESS.indexOf(c.thresholdAccess) << 2) |
        EVENT_CONTROL.indexOf(c.eventMessageControl),
    )
    .u8(s.sensorType)
    .u8(s.eventReadingType)
    .u16le(s.assertionMask)
    .u16le(s.deassertionMask)
    .u16le(s.readingMask)
    .u8(
      (ANALOG_FORMATS.indexOf(u.analogDataFormat) << 6) |
        (RATE_UNITS.indexOf(u.rateUnit) << 3) |
        (MODIFIER_UNITS.indexOf(u.modifierUnit) << 1) |
        flag(u.percentage, 0),
    )
    .u8(u.baseUnit)
    .u8(u.modifierUnitCode);
}

function readSharing(r: ByteReader): RecordSharing {
  const b1 = r.u8();
  const b2 = r.u8();
  const modifierType = (b1 >> 4) & 3;
  if (modifierType > 1) {
    throw new IpmiDecodeError(
      "SDR record sharing",
      `ID string instance modifier type ${modifierType} is reserved`,
    );
  }
  return {
    idStringInstanceModifierType: modifierType === 1 ? "alpha" : "numeric",
    shareCount: b1 & 0x0f,
    entityInstanceIncrements: bit(b2, 7),
    idStringInstanceModifierOffset: b2 & 0x7f,
  };
}

function writeSharing(w: ByteWriter, s: RecordSharing): ByteWriter {
  return w
    .u8(((s.idStringInstanceModifierType === "alpha" ? 1 : 0) << 4) | (s.shareCount & 0x0f))
    .u8(flag(s.entityInstanceIncrements, 7) | (s.idStringInstanceModifierOffset & 0x7f));
}

function decodeFull(r: ByteReader, base: RecordBase): FullSensorRecord {
  const common = readCommon(r, base);
  const linearization = r.u8();
  const mLow = r.u8();
  const mHighTolerance = r.u8();
  const bLow = r.u8();
  const bHighAccuracy = r.u8();
  const accuracyHighExpDirection = r.u8();
  const exps = r.u8();
  const analogFlags = r.u8();
  const nominalReading = r.u8();
  const normalMaximum = r.u8();
  const normalMinimum = r.u8();
  const sensorMaximum = r.u8();
  const sensorMinimum = r.u8();
  const thresholds = { unr: r.u8(), ucr: r.u8(), unc: r.u8(), lnr: r.u8(), lcr: r.u8(), lnc: r.u8() };
  const positiveHysteresis = r.u8();
  const negativeHysteresis = r.u8();
  r.bytes(2); // reserved
  const oem = r.u8();
  return {
    kind: "full",
    ...common,
    linearization,
    m: signExtend(((mHighTolerance >> 6) << 8) | mLow, 10),
    tolerance: mHighTolerance & 0x3f,
    b: signExtend(((bHighAccuracy >> 6) << 8) | bLow, 10),
    accuracy: (bHighAccuracy & 0x3f) | ((accuracyHighExpDirection >> 4) << 6),
    accuracyExp: (accuracyHighExpDirection >> 2) & 0x03,
    sensorDirection: DIRECTIONS[accuracyHighExpDirection & 0x03] as SensorDirection,
    rExp: signExtend(exps >> 4, 4),
    bExp: signExtend(exps & 0x0f, 4),
    nominalReadingSpecified: bit(analogFlags, 0),
    normalMaximumSpecified: bit(analogFlags, 1),
    normalMinimumSpecified: bit(analogFlags, 2),
    nominalReading,
    normalMaximum,
    normalMinimum,
    sensorMaximum,
    sensorMinimum,
    thresholds,
    positiveHysteresis,
    negativeHysteresis,
    oem,
    ...readIdString(r),
  };
}

function encodeFull(w: ByteWriter, s: FullSensorRecord): ByteWriter {
  const m = twosComplement(s.m, 10, "M");
  const b = twosComplement(s.b, 10, "B");
  if (s.accuracy < 0 || s.accuracy > 0x3ff)
    throw new RangeError(`accuracy ${s.accuracy} does not fit 10 bits`);
  const t = s.thresholds;
  writeCommon(w, s)
    .u8(s.linearization)
    .u8(m & 0xff)
    .u8(((m >> 8) << 6) | (s.tolerance & 0x3f))
    .u8(b & 0xff)
    .u8(((b >> 8) << 6) | (s.accuracy & 0x3f))
    .u8(((s.accuracy >> 6) << 4) | ((s.accuracyExp & 3) << 2) | DIRECTIONS.indexOf(s.sensorDirection))
    .u8((twosComplement(s.rExp, 4, "R exponent") << 4) | twosComplement(s.bExp, 4, "B exponent"))
    .u8(
      flag(s.normalMinimumSpecified, 2) |
        flag(s.normalMaximumSpecified, 1) |
        flag(s.nominalReadingSpecified, 0),
    )
    .u8(s.nominalReading)
    .u8(s.normalMaximum)
    .u8(s.normalMinimum)
    .u8(s.sensorMaximum)
    .u8(s.sensorMinimum)
    .bytes([t.unr, t.ucr, t.unc, t.lnr, t.lcr, t.lnc])
    .u8(s.positiveHysteresis)
    .u8(s.negativeHysteresis)
    .u16le(0)
    .u8(s.oem);
  return writeIdString(w, s.idStringType, s.idString);
}

function decodeCompact(r: ByteReader, base: RecordBase): CompactSensorRecord {
  const common = readCommon(r, base);
  const recordSharing = readSharing(r);
  const positiveHysteresis = r.u8();
  const negativeHysteresis = r.u8();
  r.bytes(3); // reserved
  const oem = r.u8();
  return {
    kind: "compact",
    ...common,
    recordSharing,
    positiveHysteresis,
    negativeHysteresis,
    oem,
    ...readIdString(r),
  };
}

function encodeCompact(w: ByteWriter, s: CompactSensorRecord): ByteWriter {
  writeSharing(writeCommon(w, s), s.recordSharing)
    .u8(s.positiveHysteresis)
    .u8(s.negativeHysteresis)
    .bytes([0, 0, 0])
    .u8(s.oem);
  return writeIdString(w, s.idStringType, s.idString);
}

function decodeEventOnly(r: ByteReader, base: RecordBase): EventOnlySensorRecord {
  const { lunByte, ...keys } = readKeys(r, base);
  const sensorType = r.u8();
  const eventReadingType = r.u8();
  const recordSharing = readSharing(r);
  r.u8(); // reserved
  const oem = r.u8();
  return {
    kind: "eventOnly",
    ...keys,
    fruOwnerLun: (lunByte >> 2) & 0x03,
    sensorType,
    eventReadingType,
    recordSharing,
    oem,
    ...readIdString(r),
  };
}

function encodeEventOnly(w: ByteWriter, s: EventOnlySensorRecord): ByteWriter {
  writeKeys(w, s, (s.fruOwnerLun & 0x03) << 2)
    .u8(s.sensorType)
    .u8(s.eventReadingType);
  writeSharing(w, s.recordSharing).u8(0).u8(s.oem);
  return writeIdString(w, s.idStringType, s.idString);
}

function decodeFruLocator(r: ByteReader, base: RecordBase): FruDeviceLocatorRecord {
  const deviceAccessAddress = r.u8() & 0xfe;
  const fruDeviceId = r.u8();
  const access = r.u8();
  const channel = r.u8() >> 4;
  r.u8(); // reserved
  return {
    kind: "fruDeviceLocator",
    ...base,
    deviceAccessAddress,
    fruDeviceId,
    logical: bit(access, 7),
    accessLun: (access >> 3) & 0x03,
    privateBusId: access & 0x07,
    channel,
    deviceType: r.u8(),
    deviceTypeModifier: r.u8(),
    entityId: r.u8(),
    entityInstance: r.u8(),
    oem: r.u8(),
    ...readIdString(r),
  };
}

function encodeFruLocator(w: ByteWriter, s: FruDeviceLocatorRecord): ByteWriter {
  w.u8(s.deviceAccessAddress & 0xfe)
    .u8(s.fruDeviceId)
    .u8(flag(s.logical, 7) | ((s.accessLun & 3) << 3) | (s.privateBusId & 7))
    .u8((s.channel & 0x0f) << 4)
    .u8(0)
    .u8(s.deviceType)
    .u8(s.deviceTypeModifier)
    .u8(s.entityId)
    .u8(s.entityInstance)
    .u8(s.oem);
  return writeIdString(w, s.idStringType, s.idString);
}

function decodeMcLocator(r: ByteReader, base: RecordBase): McDeviceLocatorRecord {
  const deviceSlaveAddress = r.u8() & 0xfe;
  const channel = r.u8() & 0x0f;
  const power = r.u8();
  const caps = r.u8();
  r.bytes(3); // reserved
  const capabilities = {} as DeviceCapabilities;
  CAPABILITY_BITS.forEach((name, i) => {
    capabilities[name] = bit(caps, i);
  });
  return {
    kind: "mcDeviceLocator",
    ...base,
    deviceSlaveAddress,
    channel,
    acpiSystemPowerStateNotificationRequired: bit(power, 7),
    acpiDevicePowerStateNotificationRequired: bit(power, 6),
    staticController: bit(power, 5),
    logsInitializationAgentErrors: bit(power, 3),
    logInitializationAgentErrorsAccessing: bit(power, 2),
    eventMessageGeneration: EVENT_GENERATION[power & 3] as EventMessageGeneration,
    capabilities,
    entityId: r.u8(),
    entityInstance: r.u8(),
    oem: r.u8(),
    ...readIdString(r),
  };
}

function encodeMcLocator(w: ByteWriter, s: McDeviceLocatorRecord): ByteWriter {
  w.u8(s.deviceSlaveAddress & 0xfe)
    .u8(s.channel & 0x0f)
    .u8(
      flag(s.acpiSystemPowerStateNotificationRequired, 7) |
        flag(s.acpiDevicePowerStateNotificationRequired, 6) |
        flag(s.staticController, 5) |
        flag(s.logsInitializationAgentErrors, 3) |
        flag(s.logInitializationAgentErrorsAccessing, 2) |
        EVENT_GENERATION.indexOf(s.eventMessageGeneration),
    )
    .u8(CAPABILITY_BITS.reduce((b, name, i) => b | flag(s.capabilities[name], i), 0))
    .bytes([0, 0, 0])
    .u8(s.entityId)
    .u8(s.entityInstance)
    .u8(s.oem);
  return writeIdString(w, s.idStringType, s.idString);
}

const DECODERS: Readonly<Record<number, (r: ByteReader, base: RecordBase) => SdrRecord>> = {
  [SDR_RECORD_TYPES.full]: decodeFull,
  [SDR_RECORD_TYPES.compact]: decodeCompact,
  [SDR_RECORD_TYPES.eventOnly]: decodeEventOnly,
  [SDR_RECORD_TYPES.fruDeviceLocator]: decodeFruLocator,
  [SDR_RECORD_TYPES.mcDeviceLocator]: decodeMcLocator,
};

/**
 * Decodes one whole SDR: the 5-byte header and exactly `recordLength` body bytes. Types without a
 * decoder come back as kind "unknown". Bytes after the ID string (padding) are not kept.
 */
export function decodeSdr(bytes: Uint8Array): SdrRecord {
  const header = decodeSdrHeader(bytes);
  const total = SDR_HEADER_LENGTH + header.recordLength;
  if (bytes.length !== total) {
    throw new IpmiDecodeError(
      "SDR",
      `record ${header.recordId} is ${bytes.length} bytes; its header says ${total}`,
    );
  }
  const base: RecordBase = { recordId: header.recordId, sdrVersion: header.sdrVersion };
  const decode = DECODERS[header.recordType];
  const r = new ByteReader(bytes);
  r.offset = SDR_HEADER_LENGTH;
  if (!decode) return { kind: "unknown", ...base, recordType: header.recordType, body: r.rest() };
  try {
    return decode(r, base);
  } catch (err) {
    if (err instanceof TruncatedError) {
      throw new IpmiDecodeError(
        `SDR type ${header.recordType.toString(16).padStart(2, "0")}h`,
        `record ${header.recordId}: ${err.message}`,
      );
    }
    throw err;
  }
}

/** Encodes a record back to its bytes, header included (record length computed). */
export function encodeSdr(record: SdrRecord): Buffer {
  const w = new ByteWriter();
  let recordType: number;
  switch (record.kind) {
    case "full":
      encodeFull(w, record);
      recordType = SDR_RECORD_TYPES.full;
      break;
    case "compact":
      encodeCompact(w, record);
      recordType = SDR_RECORD_TYPES.compact;
      break;
    case "eventOnly":
      encodeEventOnly(w, record);
      recordType = SDR_RECORD_TYPES.eventOnly;
      break;
    case "fruDeviceLocator":
      encodeFruLocator(w, record);
      recordType = SDR_RECORD_TYPES.fruDeviceLocator;
      break;
    case "mcDeviceLocator":
      encodeMcLocator(w, record);
      recordType = SDR_RECORD_TYPES.mcDeviceLocator;
      break;
    case "unknown":
      w.bytes(record.body);
      recordType = record.recordType;
      break;
  }
  const body = w.flush();
  if (body.length > 0xff) throw new RangeError(`SDR body is ${body.length} bytes; the length byte holds 255`);
  return Buffer.concat([
    new ByteWriter().u16le(record.recordId).u8(record.sdrVersion).u8(recordType).u8(body.length).flush(),
    body,
  ]);
}
