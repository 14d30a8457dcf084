/*
 * RFC 2579 §3.1 DISPLAY-HINT: octet-format hints ("1x:", "255a", "2d-1d-1d,1d:1d:1d.1d,1a1d:1d") for
 * OCTET STRING textual conventions, integer-format hints ("d-2", "x") for INTEGER ones. A hint is
 * compiled once per textual convention; a hint that does not parse, or asks for more than any value
 * can have, renders nothing (undefined): the value is then shown as received.
 */

/** RFC 2578 §7.1.2: an OCTET STRING has at most 65535 octets, so no octet spec takes more. */
const MAX_OCTET_LENGTH = 65535;
/** An Integer32 has at most 10 digits: more implied decimals would only pad with zeros. */
const MAX_DECIMALS = 10;

interface OctetSpec {
  /** '*': the first octet of each application is a repeat count. */
  repeat: boolean;
  length: number;
  format: "x" | "d" | "o" | "a" | "t";
  separator?: string;
  terminator?: string;
}

export type OctetRenderer = (octets: Buffer) => string;
export type IntegerRenderer = (value: number) => string;

const OCTET_SPEC = /(\*?)(\d+)([xdoat])([^\d*]?)/y;

export function compileOctetHint(hint: string): OctetRenderer | undefined {
  const specs: OctetSpec[] = [];
  OCTET_SPEC.lastIndex = 0;
  while (OCTET_SPEC.lastIndex < hint.length) {
    const m = OCTET_SPEC.exec(hint);
    if (m === null) return undefined;
    const spec: OctetSpec = {
      repeat: m[1] === "*",
      length: Number(m[2]),
      format: m[3] as OctetSpec["format"],
    };
    if (m[4]) spec.separator = m[4];
    // RFC 2579 §3.1: with '*', a second character after the separator terminates the repetitions.
    if (spec.repeat && spec.separator !== undefined && !/[\d*]/.test(hint[OCTET_SPEC.lastIndex] ?? "0")) {
      spec.terminator = hint[OCTET_SPEC.lastIndex];
      OCTET_SPEC.lastIndex++;
    }
    if (spec.length === 0 || spec.length > MAX_OCTET_LENGTH) return undefined;
    specs.push(spec);
  }
  if (specs.length === 0) return undefined;
  return (octets) => applyOctetHint(specs, octets);
}

/** Each spec in turn, the last one repeated until the octets run out. */
function applyOctetHint(specs: readonly OctetSpec[], octets: Buffer): string {
  let out = "";
  let at = 0;
  for (let i = 0; at < octets.length; i = Math.min(i + 1, specs.length - 1)) {
    const spec = specs[i] as OctetSpec;
    const count = spec.repeat ? (octets[at++] as number) : 1;
    for (let r = 0; r < count && at < octets.length; r++) {
      const take = octets.subarray(at, at + spec.length);
      at += take.length;
      out += formatOctets(spec.format, take);
      const last = at >= octets.length;
      if (spec.terminator !== undefined && r === count - 1) {
        if (!last) out += spec.terminator;
      } else if (spec.separator !== undefined && !last) out += spec.separator;
    }
  }
  return out;
}

/** Control characters a trap's text may carry, shown as U+FFFD: a value never moves a reader's cursor. */
const CONTROL = /(?![\t\n\r])\p{Cc}/gu;

function formatOctets(format: OctetSpec["format"], octets: Buffer): string {
  if (format === "a") return octets.toString("latin1").replace(CONTROL, "\uFFFD");
  if (format === "t") return octets.toString("utf8").replace(CONTROL, "\uFFFD");
  let n = 0n;
  for (const octet of octets) n = (n << 8n) | BigInt(octet);
  return n.toString(format === "x" ? 16 : format === "o" ? 8 : 10);
}

/** RFC 2579 §3.1 integer format: "d" with an optional "-n" implied decimal point, "x", "o", "b". */
export function compileIntegerHint(hint: string): IntegerRenderer | undefined {
  const m = /^([dxob])(?:-(\d+))?$/.exec(hint);
  if (m === null) return undefined;
  const [, format, decimals] = m;
  if (format === "d" && decimals !== undefined) {
    const places = Number(decimals);
    if (places > MAX_DECIMALS) return undefined;
    return (value) => {
      const digits = Math.abs(value)
        .toString()
        .padStart(places + 1, "0");
      const sign = value < 0 ? "-" : "";
      return places === 0
        ? `${sign}${digits}`
        : `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}`;
    };
  }
  const radix = format === "x" ? 16 : format === "o" ? 8 : format === "b" ? 2 : 10;
  return (value) => value.toString(radix);
}
