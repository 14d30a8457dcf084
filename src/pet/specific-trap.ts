import { PetDecodeError } from "./errors.js";

/**
 * The PET specific-trap number (PET 1.0 §3.2; PROTOCOL.md §1):
 * sensorType<<16 | eventReadingType<<8 | deassert<<7 | offset. Bits 31:24 and 6:4 are reserved (0).
 */
export interface SpecificTrap {
  sensorType: number;
  eventReadingType: number;
  deassertion: boolean;
  offset: number;
}

const RESERVED_BITS = 0xff000070;

export function decodeSpecificTrap(n: number): SpecificTrap {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PetDecodeError("bad-specific-trap", `specific trap ${n} is not a 32-bit unsigned integer`);
  }
  if ((n & RESERVED_BITS) !== 0) {
    const hex = `0x${n.toString(16).padStart(8, "0")}`;
    throw new PetDecodeError(
      "bad-specific-trap",
      `specific trap ${n} (${hex}) sets reserved bits 31:24 or 6:4`,
    );
  }
  return {
    sensorType: (n >>> 16) & 0xff,
    eventReadingType: (n >>> 8) & 0xff,
    deassertion: (n & 0x80) !== 0,
    offset: n & 0x0f,
  };
}

export function encodeSpecificTrap(t: SpecificTrap): number {
  return (
    ((t.sensorType & 0xff) << 16) |
    ((t.eventReadingType & 0xff) << 8) |
    (t.deassertion ? 0x80 : 0) |
    (t.offset & 0x0f)
  );
}
