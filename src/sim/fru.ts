import { z } from "zod";
import { encodeFru, MAX_FIELD_LENGTH } from "../ipmi/fru.js";

/** Leaves room for "{n}" to grow into the BMC's number within a 63-byte field. */
const text = z
  .string()
  .max(MAX_FIELD_LENGTH - 6)
  .regex(/^[\x20-\x7e\xa0-\xff]*$/, "printable Latin-1 characters only")
  .refine(
    (s) => s.length !== 1,
    "none or at least two characters (one would read as C1h, the end of fields)",
  );

/**
 * The simulated BMC's FRU inventory (device 0), as `fru:` in the sim's YAML. "{n}" in a value
 * becomes the BMC's number in the fleet (1, 2, …), so each BMC has serial numbers of its own.
 */
export const simFruSchema = z
  .object({
    chassisType: z
      .number()
      .int()
      .min(0)
      .max(255)
      .default(23)
      .describe("SMBIOS chassis type (23: Rack Mount)"),
    chassisPartNumber: text.default("PG-CH-1U"),
    chassisSerial: text.default("SIMC{n}"),
    boardMfgDate: z.iso
      .datetime({ offset: true })
      .default("2024-01-15T08:30:00Z")
      .describe("board manufacturing date (kept to the minute)"),
    boardManufacturer: text.default("petgate"),
    boardProduct: text.default("Simulated BMC board"),
    boardSerial: text.default("SIMB{n}"),
    boardPartNumber: text.default("PG-MB-0001"),
    productManufacturer: text.default("petgate"),
    productName: text.default("petgate sim"),
    productPartNumber: text.default("PG-SIM-1"),
    productVersion: text.default("1.0"),
    productSerial: text.default("SIMP{n}"),
    assetTag: text.default("ASSET{n}"),
  })
  .strict();

export type SimFru = z.infer<typeof simFruSchema>;

/** The FRU inventory bytes of the fleet's BMC number `n` (from 1). */
export function simFruBytes(fru: SimFru, n: number): Buffer {
  const v = (s: string) => s.replaceAll("{n}", String(n));
  return encodeFru({
    chassis: {
      chassisType: fru.chassisType,
      partNumber: v(fru.chassisPartNumber),
      serialNumber: v(fru.chassisSerial),
    },
    board: {
      mfgDate: Math.floor(Date.parse(fru.boardMfgDate) / 60_000) * 60,
      manufacturer: v(fru.boardManufacturer),
      productName: v(fru.boardProduct),
      serialNumber: v(fru.boardSerial),
      partNumber: v(fru.boardPartNumber),
      fruFileId: "",
    },
    product: {
      manufacturer: v(fru.productManufacturer),
      name: v(fru.productName),
      partNumber: v(fru.productPartNumber),
      version: v(fru.productVersion),
      serialNumber: v(fru.productSerial),
      assetTag: v(fru.assetTag),
      fruFileId: "",
    },
  });
}
