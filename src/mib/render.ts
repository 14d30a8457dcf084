/*
 * A varbind's value as a person reads it: enumeration label, DISPLAY-HINT (RFC 2579 §3.1), an
 * InetAddress (RFC 4001) as an address, an OID by its name; otherwise the value as received.
 */
import type { VarbindJson } from "../pet/trap.js";
import { compileIntegerHint, compileOctetHint } from "./display-hint.js";
import type { MibObject } from "./types.js";

export type ValueRenderer = (vb: VarbindJson) => string;

/**
 * Hints of textual conventions that older modules define without one (RFC 1213's DisplayString and
 * PhysAddress are plain OCTET STRINGs); SNMPv2-TC gives these very hints (RFC 2579 §2).
 */
const DEFAULT_HINTS: Readonly<Record<string, string>> = {
  DisplayString: "255a",
  PhysAddress: "1x:",
  MacAddress: "1x:",
};

/** RFC 4001 §3: an InetAddress's length says its type when InetAddressType is not at hand. */
const INET_ADDRESS_TCS = new Set(["InetAddress", "InetAddressIPv4", "InetAddressIPv6"]);

/**
 * The value as received: text when net-snmp gave printable text, else the octets in hex marked 0x
 * (the octets 00 1b 21 are not the text "001b21"); nothing for a Null.
 */
export function receivedValue(vb: VarbindJson): string {
  if (vb.value !== null) return String(vb.value);
  return vb.hex === undefined ? "" : `0x${vb.hex}`;
}

export function valueRenderer(
  object: MibObject,
  nameOid: (oid: string) => string | undefined,
): ValueRenderer {
  const { enums } = object;
  const hint = object.displayHint ?? (object.tc === undefined ? undefined : DEFAULT_HINTS[object.tc]);
  const octetHint = hint === undefined ? undefined : compileOctetHint(hint);
  const integerHint = hint === undefined ? undefined : compileIntegerHint(hint);
  const inet = object.tc !== undefined && INET_ADDRESS_TCS.has(object.tc);
  const bits = object.syntax === "BITS";
  return (vb) => {
    if (typeof vb.value === "number") {
      if (enums !== undefined && !bits) return enums[vb.value] ?? String(vb.value);
      return integerHint === undefined ? String(vb.value) : integerHint(vb.value);
    }
    if (vb.hex !== undefined) {
      const octets = Buffer.from(vb.hex, "hex");
      if (bits && enums !== undefined) return bitLabels(octets, enums);
      if (inet && (octets.length === 4 || octets.length === 16)) return inetAddressText(octets);
      if (octetHint !== undefined) return octetHint(octets);
    }
    if (vb.type === "OID" && typeof vb.value === "string") return nameOid(vb.value) ?? vb.value;
    return receivedValue(vb);
  };
}

/** RFC 2578 §7.1.4: bit 0 is the most significant bit of the first octet. */
function bitLabels(octets: Buffer, labels: Readonly<Record<number, string>>): string {
  const set: string[] = [];
  for (let bit = 0; bit < octets.length * 8; bit++) {
    if (((octets[bit >> 3] as number) >> (7 - (bit & 7))) & 1) set.push(labels[bit] ?? String(bit));
  }
  return set.join(" ");
}

/** IPv4 dotted quad; IPv6 as RFC 5952 §4 text (lower case, the longest run of zero groups as "::"). */
function inetAddressText(octets: Buffer): string {
  if (octets.length === 4) return octets.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(octets.readUInt16BE(i));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at === -1) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`;
}
