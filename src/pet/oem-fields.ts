import { PetDecodeError } from "./errors.js";

/**
 * PET OEM custom fields: FRU-style type/length bytes (Platform Management FRU Information Storage
 * Definition §13) — [7:6] type, [5:0] length — ended by 0xC1.
 */
export type OemFieldType = "binary" | "bcd-plus" | "6-bit-ascii" | "8-bit";

export interface OemField {
  type: OemFieldType;
  data: Buffer;
}

const TYPES: readonly OemFieldType[] = ["binary", "bcd-plus", "6-bit-ascii", "8-bit"];
export const END_OF_FIELDS = 0xc1;

export function decodeOemFields(buf: Buffer): OemField[] {
  const fields: OemField[] = [];
  let at = 0;
  while (at < buf.length) {
    const typeLength = buf[at] as number;
    // Bytes after the end marker, if any, are padding the spec gives no meaning.
    if (typeLength === END_OF_FIELDS) return fields;
    const length = typeLength & 0x3f;
    const end = at + 1 + length;
    if (end > buf.length) {
      throw new PetDecodeError(
        "oem-overrun",
        `OEM custom field at varbind offset ${46 + at} declares ${length} byte(s), only ${buf.length - at - 1} left`,
      );
    }
    fields.push({ type: TYPES[typeLength >>> 6] as OemFieldType, data: buf.subarray(at + 1, end) });
    at = end;
  }
  // No 0xC1 although the fields fill the varbind exactly: some BMCs omit it, and ipmi-pet accepts it.
  return fields;
}

export function encodeOemFields(fields: readonly OemField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const typeLength = (TYPES.indexOf(f.type) << 6) | f.data.length;
    if (f.data.length > 0x3f || typeLength === END_OF_FIELDS) {
      throw new RangeError(`an OEM ${f.type} field cannot hold ${f.data.length} byte(s)`);
    }
    parts.push(Buffer.of(typeLength), f.data);
  }
  parts.push(Buffer.of(END_OF_FIELDS));
  return Buffer.concat(parts);
}

const BCD_PLUS = "0123456789 -.???";

/** The field as text: characters for the text types, hex for binary. */
export function oemFieldText(f: OemField): string {
  switch (f.type) {
    case "binary":
      return f.data.toString("hex");
    case "bcd-plus":
      return [...f.data].map((b) => `${BCD_PLUS[b >>> 4]}${BCD_PLUS[b & 0xf]}`).join("");
    case "6-bit-ascii":
      return unpackSixBitAscii(f.data);
    case "8-bit":
      return f.data.toString("latin1");
  }
}

// 6-bit ASCII packs four characters (code + 0x20) into three bytes, least significant bits first.
function unpackSixBitAscii(data: Buffer): string {
  let bits = 0;
  let count = 0;
  let out = "";
  for (const b of data) {
    bits |= b << count;
    count += 8;
    while (count >= 6) {
      out += String.fromCharCode((bits & 0x3f) + 0x20);
      bits >>>= 6;
      count -= 6;
    }
  }
  return out;
}
