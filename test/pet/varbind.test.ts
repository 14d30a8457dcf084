import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PetDecodeError } from "../../src/pet/errors.js";
import { decodePetVarbind, encodePetVarbind, formatGuid, type PetVarbind } from "../../src/pet/varbind.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "./vectors.js";

const arbVarbind: fc.Arbitrary<PetVarbind> = fc.record({
  guid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
  sequence: fc.integer({ min: 0, max: 0xffff }),
  localTimestamp: fc.integer({ min: 0, max: 0xffffffff }),
  utcOffsetMinutes: fc.option(
    fc.integer({ min: -1440, max: 1440 }).filter((m) => m !== -1),
    { nil: null },
  ),
  trapSourceType: fc.integer({ min: 0, max: 255 }),
  eventSourceType: fc.integer({ min: 0, max: 255 }),
  severityCode: fc.integer({ min: 0, max: 255 }),
  sensorDevice: fc.integer({ min: 0, max: 255 }),
  sensorNumber: fc.integer({ min: 0, max: 255 }),
  entityId: fc.integer({ min: 0, max: 255 }),
  entityInstance: fc.integer({ min: 0, max: 255 }),
  eventData: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
  languageCode: fc.integer({ min: 0, max: 255 }),
  manufacturerId: fc.integer({ min: 0, max: 0xffffffff }),
  systemId: fc.integer({ min: 0, max: 0xffff }),
  oemFields: fc
    .array(
      fc.record({
        type: fc.constantFrom("binary", "bcd-plus", "6-bit-ascii", "8-bit" as const),
        data: fc.uint8Array({ minLength: 0, maxLength: 20 }).map((a) => Buffer.from(a)),
      }),
      { maxLength: 3 },
    )
    .filter((fs) => fs.every((f) => !(f.type === "8-bit" && f.data.length === 1))),
});

describe("PET varbind codec", () => {
  it("decodes the Dell vector field by field (big-endian, 1998 epoch)", () => {
    const v = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
    expect(formatGuid(v.guid)).toBe("44454c4c-5000-1059-8043-b2c04f333358");
    expect(v).toMatchObject({
      sequence: 2,
      localTimestamp: 0x19e87e26,
      utcOffsetMinutes: null,
      trapSourceType: 0x20,
      eventSourceType: 0x20,
      severityCode: 0x04,
      sensorDevice: 0x20,
      sensorNumber: 0x73,
      entityId: 0x18,
      entityInstance: 0,
      languageCode: 0x19,
      manufacturerId: 674,
      systemId: 256,
      oemFields: [],
    });
    expect(v.eventData.toString("hex")).toBe("8001ff0000000000");
  });

  it("encodes the Dell vector back to the same bytes", () => {
    const bytes = hexBytes(DELL_CHASSIS_INTRUSION.hex);
    expect(encodePetVarbind(decodePetVarbind(bytes)).equals(bytes)).toBe(true);
  });

  it("reads OEM custom fields up to the 0xC1 end marker", () => {
    const bytes = hexBytes(`${DELL_CHASSIS_INTRUSION.hex.slice(0, -2)}c568656c6c6f0201ffc1`);
    const v = decodePetVarbind(bytes);
    expect(v.oemFields.map((f) => [f.type, f.data.toString("hex")])).toEqual([
      ["8-bit", "68656c6c6f"],
      ["binary", "01ff"],
    ]);
  });

  it("accepts OEM fields that fill the varbind without the 0xC1 end marker, as ipmi-pet does", () => {
    const v = decodePetVarbind(hexBytes(`${DELL_CHASSIS_INTRUSION.hex.slice(0, -2)}c24142`));
    expect(v.oemFields.map((f) => f.data.toString("latin1"))).toEqual(["AB"]);
  });

  it("refuses to encode a UTC offset of -1 min, whose bytes would mean unspecified", () => {
    const v = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
    expect(() => encodePetVarbind({ ...v, utcOffsetMinutes: -1 })).toThrow(/0xFFFF means unspecified/);
  });

  it("round-trips any varbind it can encode", () => {
    fc.assert(
      fc.property(arbVarbind, (v) => {
        const bytes = encodePetVarbind(v);
        fc.pre(bytes.length <= 110);
        expect(encodePetVarbind(decodePetVarbind(bytes)).equals(bytes)).toBe(true);
        expect(decodePetVarbind(bytes)).toEqual(v);
      }),
    );
  });

  it.each([
    [
      "46 bytes (no end marker)",
      DELL_CHASSIS_INTRUSION.hex.slice(0, 92),
      "too-short",
      /46 byte\(s\); at least 47/,
    ],
    ["10 bytes", DELL_CHASSIS_INTRUSION.hex.slice(0, 20), "too-short", /10 byte/],
    [
      "111 bytes",
      `${DELL_CHASSIS_INTRUSION.hex.slice(0, -2)}3f${"00".repeat(63)}c1`,
      "too-long",
      /111 bytes/,
    ],
    [
      "an OEM field overrunning the end",
      `${DELL_CHASSIS_INTRUSION.hex.slice(0, -2)}c8414243c1`,
      "oem-overrun",
      /declares 8 byte/,
    ],
    [
      "a UTC offset beyond a day",
      DELL_CHASSIS_INTRUSION.hex.replace("19e87e26ffff", "19e87e267fff"),
      "bad-utc-offset",
      /32767 min/,
    ],
  ])("rejects %s with a PetDecodeError saying so", (_name, hex, code, message) => {
    let caught: unknown;
    try {
      decodePetVarbind(hexBytes(hex));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PetDecodeError);
    expect((caught as PetDecodeError).code).toBe(code);
    expect((caught as PetDecodeError).message).toMatch(message);
  });
});
