import { readFileSync } from "node:fs";
import { PetDecodeError } from "../pet/errors.js";
import { decodePet, type PetDecodeResult } from "../pet/event.js";
import { formatPetLine } from "../pet/format.js";
import { parsePetInput, tokenizeLine } from "../pet/input.js";
import { parseCommandArgs } from "./usage.js";

const HELP = `usage: petgate decode [--json] SPECIFIC_TRAP|NA HEX...
       petgate decode [--json] --file FILE      one trap per line, as ipmi-pet reads them
       petgate decode [--json] < FILE           the same from standard input

HEX is the PET varbind (OID 1.3.6.1.4.1.3183.1.1.1) as bytes (0x44 0x45 ...) or one hex string.
Exit status 1 when any trap is malformed; the others still decode.`;

export async function decodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: "boolean" }, file: { type: "string" } },
    HELP,
  );
  const lines =
    positionals.length > 0
      ? [positionals]
      : (values.file === undefined ? readFileSync(0, "utf8") : readFileSync(values.file, "utf8"))
          .split("\n")
          .map(tokenizeLine)
          .filter((tokens) => tokens.length > 0);
  let failures = 0;
  for (const [index, tokens] of lines.entries()) {
    const result = decodeTokens(tokens);
    const where = lines.length > 1 ? `line ${index + 1}: ` : "";
    if (result.ok) {
      process.stdout.write(`${values.json ? JSON.stringify(result.event) : formatPetLine(result.event)}\n`);
      continue;
    }
    failures++;
    const { code, message } = result.error;
    if (values.json)
      process.stdout.write(`${JSON.stringify({ error: { code, message, line: index + 1 } })}\n`);
    else process.stderr.write(`petgate decode: ${where}${message}\n`);
  }
  return failures === 0 ? 0 : 1;
}

function decodeTokens(tokens: string[]): PetDecodeResult {
  try {
    const input = parsePetInput(tokens);
    return decodePet(input.specificTrap, input.octets);
  } catch (err) {
    if (err instanceof PetDecodeError) return { ok: false, error: err };
    throw err;
  }
}
