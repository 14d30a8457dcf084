import { ByteWriter, hexByte } from "./bytes.js";

/*
 * FRU inventory: IPMI Platform Management FRU Information Storage Definition v1.0, rev 1.3 (§ numbers
 * below are that document's). Decoding is liberal: a bad checksum, an area past the end or a field
 * that cannot be decoded still yields what can be read, with the raw bytes kept and a warning.
 */

/** Common header and area format version (§8, §10-12). */
export const FRU_FORMAT_VERSION = 0x01;
/** Type/length byte C1h ends an area's fields (§13). */
const END_OF_FIELDS = 0xc1;
/** Area offsets and lengths count 8-byte multiples (§8). */
const MULTIPLE = 8;
/** At most this many custom fields are read from an area: an area of 2040 bytes could hold 1,000 empty ones. */
const MAX_CUSTOM_FIELDS = 32;
/** The board's manufacturing date counts minutes from 1996-01-01 00:00 UTC (§11): Unix seconds of it. */
const FRU_EPOCH = 820_454_400;
/** Language codes 0 and 25 mean English (§15): type 11b is then 8-bit ASCII + Latin 1 (§13.1). */
const ENGLISH = new Set([0, 25]);
/** BCD plus digits 0h-Ch (§13.1.1); Dh-Fh are reserved. */
const BCD_PLUS = "0123456789 -.";

/** The type code of a type/length byte, bits 7:6 (§13.1). "text" is 11b: Latin 1 or UCS-2 by language. */
export type FruFieldType = "binary" | "bcdPlus" | "ascii6" | "text";
const FIELD_TYPES: readonly FruFieldType[] = ["binary", "bcdPlus", "ascii6", "text"];

export interface FruField {
  type: FruFieldType;
  raw: Buffer;
  /** The field as text (binary as lower-case hex, as ipmitool shows it); absent when undecodable. */
  value?: string;
}

/** Byte offsets of the areas (0 = absent), from the common header (§8). */
export interface FruCommonHeader {
  formatVersion: number;
  internalUse: number;
  chassis: number;
  board: number;
  product: number;
  multiRecord: number;
}

/** Chassis Info Area (§10). */
export interface FruChassisArea {
  /** SMBIOS System Enclosure or Chassis Type. */
  chassisType: number;
  partNumber?: FruField;
  serialNumber?: FruField;
  custom: FruField[];
}

/** Board Info Area (§11). */
export interface FruBoardArea {
  language: number;
  /** Unix seconds; null when unspecified (0). */
  mfgDate: number | null;
  manufacturer?: FruField;
  productName?: FruField;
  serialNumber?: FruField;
  partNumber?: FruField;
  fruFileId?: FruField;
  custom: FruField[];
}

/** Product Info Area (§12). */
export interface FruProductArea {
  language: number;
  manufacturer?: FruField;
  name?: FruField;
  partNumber?: FruField;
  version?: FruField;
  serialNumber?: FruField;
  assetTag?: FruField;
  fruFileId?: FruField;
  custom: FruField[];
}

export interface FruInventory {
  header: FruCommonHeader;
  chassis?: FruChassisArea;
  board?: FruBoardArea;
  product?: FruProductArea;
  /** What was wrong and skipped or kept raw ("board area: checksum 3Fh, expected zero sum"). */
  warnings: string[];
}

/** Thrown when the bytes are no FRU inventory at all (no common header to start from). */
export class FruFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FruFormatError";
  }
}

const BOARD_FIELDS = ["manufacturer", "productName", "serialNumber", "partNumber", "fruFileId"] as const;
const PRODUCT_FIELDS = [
  "manufacturer",
  "name",
  "partNumber",
  "version",
  "serialNumber",
  "assetTag",
  "fruFileId",
] as const;
const CHASSIS_FIELDS = ["partNumber", "serialNumber"] as const;

function zeroSum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** The checksum byte that makes `bytes` plus it sum to zero (§16.2). */
function zeroChecksum(bytes: Uint8Array): number {
  return (0x100 - zeroSum(bytes)) & 0xff;
}

/** The common header (§8): 8 bytes, area offsets in multiples of 8, a zero checksum. */
export function decodeFruHeader(bytes: Uint8Array, warnings: string[] = []): FruCommonHeader {
  if (bytes.length < MULTIPLE)
    throw new FruFormatError(`a FRU common header is 8 bytes, got ${bytes.length}`);
  const h = bytes.subarray(0, MULTIPLE);
  if ((h[0] as number) !== FRU_FORMAT_VERSION)
    throw new FruFormatError(`FRU common header format version ${h[0]}, not 1`);
  if (zeroSum(h) !== 0) warnings.push(`common header: checksum ${hex(h[7] as number)}, not a zero sum`);
  const at = (i: number) => (h[i] as number) * MULTIPLE;
  return {
    formatVersion: h[0] as number,
    internalUse: at(1),
    chassis: at(2),
    board: at(3),
    product: at(4),
    multiRecord: at(5),
  };
}

/** Decodes a FRU inventory from its first byte; what is past the areas (multirecords) is not read. */
export function decodeFru(bytes: Uint8Array): FruInventory {
  const warnings: string[] = [];
  const header = decodeFruHeader(bytes, warnings);
  const inventory: FruInventory = { header, warnings };
  const chassis = area(bytes, header.chassis, "chassis", warnings);
  if (chassis) {
    const fields = new FieldReader(chassis, 3, 0, "chassis", warnings);
    inventory.chassis = {
      chassisType: chassis[2] ?? 0,
      ...fields.named(CHASSIS_FIELDS),
      custom: fields.custom(),
    };
  }
  const board = area(bytes, header.board, "board", warnings);
  if (board) {
    const language = board[2] ?? 0;
    const minutes = (board[3] ?? 0) | ((board[4] ?? 0) << 8) | ((board[5] ?? 0) << 16);
    const fields = new FieldReader(board, 6, language, "board", warnings);
    inventory.board = {
      language,
      mfgDate: minutes === 0 ? null : FRU_EPOCH + minutes * 60,
      ...fields.named(BOARD_FIELDS),
      custom: fields.custom(),
    };
  }
  const product = area(bytes, header.product, "product", warnings);
  if (product) {
    const language = product[2] ?? 0;
    const fields = new FieldReader(product, 3, language, "product", warnings);
    inventory.product = { language, ...fields.named(PRODUCT_FIELDS), custom: fields.custom() };
  }
  return inventory;
}

/** An area's bytes (version, length, ..., checksum), cut to what `bytes` holds; undefined when absent. */
function area(bytes: Uint8Array, offset: number, name: string, warnings: string[]): Uint8Array | undefined {
  if (offset === 0) return undefined;
  if (offset + 2 > bytes.length) {
    warnings.push(`${name} area: offset ${offset} is past the ${bytes.length} bytes read`);
    return undefined;
  }
  const version = bytes[offset] as number;
  if (version !== FRU_FORMAT_VERSION) warnings.push(`${name} area: format version ${version}, not 1`);
  const length = (bytes[offset + 1] as number) * MULTIPLE;
  if (length === 0) {
    warnings.push(`${name} area: length 0`);
    return undefined;
  }
  const end = offset + length;
  if (end > bytes.length) {
    warnings.push(
      `${name} area: ${length} bytes from offset ${offset} run past the ${bytes.length} bytes read`,
    );
    return bytes.subarray(offset);
  }
  const body = bytes.subarray(offset, end);
  if (zeroSum(body) !== 0)
    warnings.push(`${name} area: checksum ${hex(body[length - 1] as number)}, not a zero sum`);
  return body;
}

/** Walks an area's type/length fields (§13) from `start`, up to C1h or the area's end. */
class FieldReader {
  private at: number;
  private ended = false;

  constructor(
    private readonly body: Uint8Array,
    start: number,
    private readonly language: number,
    private readonly name: string,
    private readonly warnings: string[],
  ) {
    this.at = start;
  }

  /** The predefined fields, in order; those missing (C1h or the end came first) are absent. */
  named<K extends string>(keys: readonly K[]): Partial<Record<K, FruField>> {
    const out: Partial<Record<K, FruField>> = {};
    for (const key of keys) {
      const field = this.next();
      if (!field) {
        this.warnings.push(`${this.name} area: ends before its ${key} field`);
        break;
      }
      out[key] = field;
    }
    return out;
  }

  /** Custom fields up to C1h, at most MAX_CUSTOM_FIELDS. */
  custom(): FruField[] {
    const out: FruField[] = [];
    for (let field = this.next(); field; field = this.next()) {
      if (out.length === MAX_CUSTOM_FIELDS) {
        this.warnings.push(
          `${this.name} area: more than ${MAX_CUSTOM_FIELDS} custom fields; the rest not read`,
        );
        break;
      }
      out.push(field);
    }
    if (!this.ended) this.warnings.push(`${this.name} area: no end-of-fields marker (C1h)`);
    return out;
  }

  private next(): FruField | undefined {
    if (this.ended) return undefined;
    // The last byte is the checksum: fields end before it.
    const end = this.body.length - 1;
    if (this.at >= end) return undefined;
    const tl = this.body[this.at] as number;
    if (tl === END_OF_FIELDS) {
      this.ended = true;
      return undefined;
    }
    const length = tl & 0x3f;
    const start = this.at + 1;
    this.at = start + length;
    const raw = Buffer.from(this.body.subarray(start, Math.min(this.at, end)));
    const type = FIELD_TYPES[tl >> 6] as FruFieldType;
    if (raw.length < length) {
      this.warnings.push(`${this.name} area: a ${length}-byte field runs past the area's end`);
      return { type, raw };
    }
    const value = decodeFieldValue(type, raw, this.language);
    if (value === undefined)
      this.warnings.push(`${this.name} area: ${type} field ${raw.toString("hex")} cannot be decoded`);
    return value === undefined ? { type, raw } : { type, raw, value };
  }
}

/** A field's bytes as text by its type code (§13.1); undefined when they are not valid for it. */
function decodeFieldValue(type: FruFieldType, raw: Buffer, language: number): string | undefined {
  switch (type) {
    case "binary":
      return raw.toString("hex");
    case "bcdPlus": {
      let out = "";
      for (const b of raw) {
        const digits = [b >> 4, b & 0x0f].map((d) => BCD_PLUS[d]);
        if (digits.includes(undefined)) return undefined;
        out += digits.join("");
      }
      return out;
    }
    case "ascii6":
      return decodeAscii6(raw);
    case "text":
      if (ENGLISH.has(language)) return raw.toString("latin1");
      // Another language: 2-byte Unicode, least significant byte first (§13.1).
      return raw.length % 2 === 0 ? raw.toString("utf16le") : undefined;
  }
}

/**
 * 6-bit packed ASCII (§13.1.2): characters 20h-5Fh as 0-3Fh, packed from bit 0 of the first byte,
 * four characters to three bytes; a last partial group holds as many whole characters as its bits.
 */
function decodeAscii6(raw: Buffer): string {
  const count = Math.floor((raw.length * 8) / 6);
  let out = "";
  for (let i = 0; i < count; i++) {
    const bit = i * 6;
    const pair = (raw[bit >> 3] as number) | ((raw[(bit >> 3) + 1] ?? 0) << 8);
    out += String.fromCharCode(((pair >> (bit & 7)) & 0x3f) + 0x20);
  }
  return out;
}

/** What the simulator writes (and tests round-trip): each text field as 8-bit ASCII + Latin 1. */
export interface FruContents {
  chassis?: { chassisType: number; partNumber?: string; serialNumber?: string; custom?: string[] };
  board?: {
    /** Unix seconds, whole minutes from 1996; null = unspecified. */
    mfgDate: number | null;
    manufacturer?: string;
    productName?: string;
    serialNumber?: string;
    partNumber?: string;
    fruFileId?: string;
    custom?: string[];
  };
  product?: {
    manufacturer?: string;
    name?: string;
    partNumber?: string;
    version?: string;
    serialNumber?: string;
    assetTag?: string;
    fruFileId?: string;
    custom?: string[];
  };
}

/** Longest field a type/length byte can give (§13: bits 5:0). */
export const MAX_FIELD_LENGTH = 63;

/**
 * A type 11b field (absent: C0h, empty); RangeError past 63 bytes or outside Latin 1, and for one
 * character: 11b needs two bytes at least, C1h being the end-of-fields marker (§13.1).
 */
function textField(w: ByteWriter, text: string | undefined): void {
  const bytes = Buffer.from(text ?? "", "latin1");
  if (bytes.length > MAX_FIELD_LENGTH || bytes.toString("latin1") !== (text ?? ""))
    throw new RangeError(`FRU field "${text}" is not at most ${MAX_FIELD_LENGTH} Latin-1 characters`);
  if (bytes.length === 1)
    throw new RangeError(`FRU field "${text}": one character would read as C1h, the end of fields`);
  w.u8(0xc0 | bytes.length).bytes(bytes);
}

/** Version, length, `body`, C1h, zero padding to a multiple of 8 and the checksum (§10-12). */
function encodeArea(body: ByteWriter): Buffer {
  const fields = body.u8(END_OF_FIELDS).flush();
  const length = Math.ceil((fields.length + 3) / MULTIPLE) * MULTIPLE;
  if (length > 255 * MULTIPLE) throw new RangeError(`a FRU area of ${length} bytes exceeds 2040`);
  const out = Buffer.alloc(length);
  out[0] = FRU_FORMAT_VERSION;
  out[1] = length / MULTIPLE;
  fields.copy(out, 2);
  out[length - 1] = zeroChecksum(out.subarray(0, length - 1));
  return out;
}

/** A FRU inventory: common header, then the chassis, board and product areas present. */
export function encodeFru(contents: FruContents): Buffer {
  const areas: [number, Buffer][] = [];
  const { chassis, board, product } = contents;
  if (chassis) {
    const w = new ByteWriter().u8(chassis.chassisType);
    for (const t of [chassis.partNumber, chassis.serialNumber, ...(chassis.custom ?? [])]) textField(w, t);
    areas.push([2, encodeArea(w)]);
  }
  if (board) {
    const minutes = board.mfgDate === null ? 0 : Math.floor((board.mfgDate - FRU_EPOCH) / 60);
    if (minutes < 0 || minutes > 0xffffff) throw new RangeError("board mfgDate is outside 1996-2027");
    const w = new ByteWriter()
      .u8(25)
      .u8(minutes)
      .u8(minutes >> 8)
      .u8(minutes >> 16);
    for (const key of BOARD_FIELDS) textField(w, board[key]);
    for (const t of board.custom ?? []) textField(w, t);
    areas.push([3, encodeArea(w)]);
  }
  if (product) {
    const w = new ByteWriter().u8(25);
    for (const key of PRODUCT_FIELDS) textField(w, product[key]);
    for (const t of product.custom ?? []) textField(w, t);
    areas.push([4, encodeArea(w)]);
  }
  const header = Buffer.alloc(MULTIPLE);
  header[0] = FRU_FORMAT_VERSION;
  let offset = MULTIPLE;
  for (const [slot, bytes] of areas) {
    header[slot] = offset / MULTIPLE;
    offset += bytes.length;
  }
  header[7] = zeroChecksum(header.subarray(0, 7));
  return Buffer.concat([header, ...areas.map(([, bytes]) => bytes)]);
}

/**
 * What identifies a BMC's machine for an operator filing an RMA: the FRU's text fields, each with
 * control characters removed, trimmed, at most MAX_IDENTITY_LENGTH characters; empty ones absent.
 */
export interface BmcFru {
  boardManufacturer?: string;
  boardProduct?: string;
  boardSerial?: string;
  boardPartNumber?: string;
  productManufacturer?: string;
  productName?: string;
  productPartNumber?: string;
  productVersion?: string;
  productSerial?: string;
  assetTag?: string;
  chassisSerial?: string;
  chassisPartNumber?: string;
}

/** A 63-byte binary field is 126 hex digits. */
export const MAX_IDENTITY_LENGTH = 128;
const CONTROLS = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

function identityText(field: FruField | undefined): string | undefined {
  const text = field?.value?.replace(CONTROLS, "").trim().slice(0, MAX_IDENTITY_LENGTH);
  return text ? text : undefined;
}

export function fruIdentity(inventory: FruInventory): BmcFru {
  const { chassis, board, product } = inventory;
  const all: Record<keyof BmcFru, FruField | undefined> = {
    boardManufacturer: board?.manufacturer,
    boardProduct: board?.productName,
    boardSerial: board?.serialNumber,
    boardPartNumber: board?.partNumber,
    productManufacturer: product?.manufacturer,
    productName: product?.name,
    productPartNumber: product?.partNumber,
    productVersion: product?.version,
    productSerial: product?.serialNumber,
    assetTag: product?.assetTag,
    chassisSerial: chassis?.serialNumber,
    chassisPartNumber: chassis?.partNumber,
  };
  const out: BmcFru = {};
  for (const [key, field] of Object.entries(all) as [keyof BmcFru, FruField | undefined][]) {
    const text = identityText(field);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

function hex(n: number): string {
  return `${hexByte(n)}h`;
}
