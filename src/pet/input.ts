import { PetDecodeError } from "./errors.js";

/** One PET as ipmi-pet takes it: the specific trap (or "NA") and the varbind octets. */
export interface PetInput {
  specificTrap: number | "NA";
  octets: Buffer;
}

/**
 * Parses ipmi-pet's argument form: `SPECIFIC_TRAP|NA HEX...`, where HEX is bytes such as `0x44 0x45`
 * or one or more runs of hex digits (`44454c4c…`), optionally with ':' separators.
 */
export function parsePetInput(tokens: readonly string[]): PetInput {
  const [first, ...rest] = tokens;
  if (first === undefined)
    throw new PetDecodeError("bad-input", "expected SPECIFIC_TRAP|NA followed by hex bytes");
  let specificTrap: number | "NA";
  if (/^na$/i.test(first)) specificTrap = "NA";
  else if (/^(0x[0-9a-f]+|\d+)$/i.test(first)) specificTrap = Number(first);
  else throw new PetDecodeError("bad-input", `specific trap "${first}" is neither a number nor NA`);
  if (rest.length === 0)
    throw new PetDecodeError("bad-input", "no PET varbind bytes after the specific trap");
  const hex = rest.map((t, i) => {
    const digits = t.replace(/^0x/i, "").replaceAll(":", "");
    if (!/^([0-9a-f]{2})+$/i.test(digits) && !/^[0-9a-f]$/i.test(digits)) {
      throw new PetDecodeError("bad-input", `"${t}" (hex argument ${i + 1}) is not hex bytes`);
    }
    return digits.length === 1 ? `0${digits}` : digits;
  });
  return { specificTrap, octets: Buffer.from(hex.join(""), "hex") };
}

/** Splits a line the way ipmi-pet reads a trap file: whitespace-separated, '#' starts a comment. */
export function tokenizeLine(line: string): string[] {
  return line.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
}
