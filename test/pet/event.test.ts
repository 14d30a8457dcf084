import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PetDecodeError } from "../../src/pet/errors.js";
import { decodePet, type PetEvent } from "../../src/pet/event.js";
import { DELL_CHASSIS_INTRUSION, hexBytes, IBM_IMM2_CORRECTABLE_ECC } from "./vectors.js";

function decoded(specificTrap: number | "NA", hex: string): PetEvent {
  const r = decodePet(specificTrap, hexBytes(hex));
  if (!r.ok) throw r.error;
  return r.event;
}

/** The IBM vector (local 2012-05-07 19:11:50) with another UTC offset and timestamp. */
const ibmWith = (timestamp: string, offset: string) =>
  IBM_IMM2_CORRECTABLE_ECC.hex.replace("1afd41f6ffff", `${timestamp}${offset}`);

describe("decodePet", () => {
  it("decodes the IBM IMM2 correctable-ECC vector", () => {
    expect(decoded(IBM_IMM2_CORRECTABLE_ECC.specificTrap, IBM_IMM2_CORRECTABLE_ECC.hex)).toMatchObject({
      sensorType: 0x0c,
      sensorTypeName: "Memory",
      eventReadingType: 0x6f,
      event: "Correctable memory error",
      eventDirection: "assertion",
      severity: "information",
      manufacturerId: 20301,
      manufacturerName: "IBM eServer X",
      systemId: 0x0161,
      sensorNumber: 0x53,
      guid: "e7eb938e-074d-11e1-a56c-5cf3fc304624",
    });
  });

  it("gives UTC time when the BMC sends its offset: UTC = local − offset (IPMI 2.0 §31.11a)", () => {
    expect(decoded(814848, ibmWith("1afd41f6", "003c"))).toMatchObject({
      time: "2012-05-07T18:11:50Z",
      timeBasis: "utc",
      utcOffsetMinutes: 60,
    });
    expect(decoded(814848, ibmWith("1afd41f6", "fed4"))).toMatchObject({
      time: "2012-05-08T00:11:50Z",
      utcOffsetMinutes: -300,
    });
  });

  it("marks time as BMC-local without an offset, and as unspecified when the timestamp is 0", () => {
    expect(decoded(814848, ibmWith("1afd41f6", "ffff"))).toMatchObject({
      time: "2012-05-07T19:11:50",
      timeBasis: "bmc-local",
      utcOffsetMinutes: null,
    });
    expect(decoded(814848, ibmWith("00000000", "003c"))).toMatchObject({
      time: null,
      timeBasis: "unspecified",
    });
  });

  it("takes type, direction and offset from the specific trap, not from event data 1", () => {
    // Temperature threshold trap saying UCR going high (offset 9) while event data 1 says offset 0.
    const e = decoded(0x010189, IBM_IMM2_CORRECTABLE_ECC.hex.replace("00ffff0000000000", "50a5900000000000"));
    expect(e).toMatchObject({
      sensorTypeName: "Temperature",
      event: "Upper Critical - going high",
      eventDirection: "deassertion",
      eventOffset: 9,
      eventData2Text: expect.stringMatching(/A5/i),
      eventData3Text: expect.stringMatching(/90/),
    });
  });

  it('resolves "NA" through an SDR lookup, with the offset from event data 1, as an assertion', () => {
    const lookup = (device: number, sensor: number) =>
      device === 0x20 && sensor === 0x73 ? { sensorType: 0x05, eventReadingType: 0x6f } : undefined;
    const withSdr = decodePet("NA", hexBytes(DELL_CHASSIS_INTRUSION.hex), lookup);
    expect(withSdr.ok && withSdr.event).toMatchObject({
      specificTrap: null,
      sensorTypeName: "Physical Security",
      event: "General Chassis Intrusion",
      eventDirection: "assertion",
    });
    const without = decodePet("NA", hexBytes(DELL_CHASSIS_INTRUSION.hex));
    expect(without.ok && without.event).toMatchObject({
      sensorType: null,
      sensorTypeName: null,
      event: null,
    });
  });

  it("decodes OEM custom fields as text", () => {
    const hex = `${DELL_CHASSIS_INTRUSION.hex.slice(0, -2)}c568656c6c6f8329dca6c1`;
    expect(decoded(356224, hex).oemFields).toEqual([
      { type: "8-bit", hex: "68656c6c6f", text: "hello" },
      { type: "6-bit-ascii", hex: "29dca6", text: "IPMI" },
    ]);
  });

  it("decodes a PET whose severity byte is outside PET 1.0 Table 3-2, as unknown with the byte kept", () => {
    for (const byte of ["03", "0c", "40"]) {
      const hex = DELL_CHASSIS_INTRUSION.hex.replace("202004207318", `2020${byte}207318`);
      expect(decoded(356224, hex)).toMatchObject({
        severity: "unknown",
        severityRaw: Number.parseInt(byte, 16),
        event: "General Chassis Intrusion",
        sensorTypeName: "Physical Security",
        manufacturerName: "Dell Inc.",
      });
    }
    expect(decoded(356224, DELL_CHASSIS_INTRUSION.hex)).toMatchObject({ severity: "ok", severityRaw: 0x04 });
  });

  it('names a threshold offset Table 42-2 does not define (0Ch–0Eh) as ipmi-pet does: "Event Offset = 0Ch"', () => {
    const upperCriticalHigh = decoded(0x01010c, IBM_IMM2_CORRECTABLE_ECC.hex);
    expect(upperCriticalHigh).toMatchObject({ eventOffset: 0x0c, event: "Event Offset = 0Ch" });
    expect(decoded(0x01010e, IBM_IMM2_CORRECTABLE_ECC.hex).event).toBe("Event Offset = 0Eh");
    expect(decoded(0x01700e, IBM_IMM2_CORRECTABLE_ECC.hex).event).toBe("OEM Event Offset = 0Eh");
  });

  it("never throws: any bytes and any specific trap give an event or a PetDecodeError", () => {
    const specific = fc.oneof(fc.constant("NA" as const), fc.integer({ min: -10, max: 2 ** 32 + 10 }));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 130 }),
      // Mutations of a real varbind reach far deeper than random bytes.
      fc
        .tuple(fc.array(fc.tuple(fc.nat(46), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(64))
        .map(([flips, extra]) => {
          const b = Buffer.concat([
            hexBytes(DELL_CHASSIS_INTRUSION.hex).subarray(0, 46),
            Buffer.alloc(extra, 0xc3),
          ]);
          for (const [at, value] of flips) b[at] = value;
          return b;
        }),
    );
    fc.assert(
      fc.property(specific, bytes, (trap, octets) => {
        const r = decodePet(trap, octets);
        if (r.ok)
          expect(r.event.guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        else expect(r.error).toBeInstanceOf(PetDecodeError);
      }),
      { numRuns: 20_000 },
    );
  });
});
