import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PetDecodeError } from "../../src/pet/errors.js";
import { decodeSpecificTrap, encodeSpecificTrap } from "../../src/pet/specific-trap.js";

describe("PET specific trap", () => {
  it.each([
    [65801, { sensorType: 0x01, eventReadingType: 0x01, deassertion: false, offset: 9 }],
    [65929, { sensorType: 0x01, eventReadingType: 0x01, deassertion: true, offset: 9 }],
    [356224, { sensorType: 0x05, eventReadingType: 0x6f, deassertion: true, offset: 0 }],
    [814848, { sensorType: 0x0c, eventReadingType: 0x6f, deassertion: false, offset: 0 }],
    [0, { sensorType: 0, eventReadingType: 0, deassertion: false, offset: 0 }],
  ])("%i decodes as the bmclanpet.mib numbering says", (n, fields) => {
    expect(decodeSpecificTrap(n)).toEqual(fields);
    expect(encodeSpecificTrap(fields)).toBe(n);
  });

  it("rejects reserved bits 31:24 and 6:4, naming the number", () => {
    expect(() => decodeSpecificTrap(0x01010109)).toThrow(/16843017 \(0x01010109\) sets reserved bits/);
    expect(() => decodeSpecificTrap(0x010119)).toThrow(PetDecodeError);
    expect(() => decodeSpecificTrap(-1)).toThrow(/not a 32-bit/);
  });

  it("round-trips every valid combination", () => {
    fc.assert(
      fc.property(
        fc.record({
          sensorType: fc.integer({ min: 0, max: 255 }),
          eventReadingType: fc.integer({ min: 0, max: 255 }),
          deassertion: fc.boolean(),
          offset: fc.integer({ min: 0, max: 15 }),
        }),
        (t) => {
          expect(decodeSpecificTrap(encodeSpecificTrap(t))).toEqual(t);
        },
      ),
    );
  });
});
