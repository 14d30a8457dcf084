import snmp from "net-snmp";
import type { MibStore } from "../mib/store.js";
import type { ReceivedNotification } from "../pet/trap.js";
import { UsageError } from "./usage.js";

type Varbind = ReceivedNotification["pdu"]["varbinds"][number];

/** What snmptrap(1) takes after its options: HOST, the trap header, then OID TYPE VALUE triples. */
export interface SnmptrapArgs {
  version: "1" | "2c" | "3";
  community: string;
  /** -u: the SNMPv3 user (security name). */
  user?: string;
  /** The positionals from HOST on. */
  positionals: readonly string[];
  /** The address the trap is taken to come from. */
  from: string;
}

/** net-snmp's default SNMPv1 enterprise when snmptrap is given "" (snmptrap.c objid_enterprise). */
const DEFAULT_ENTERPRISE = "1.3.6.1.4.1.3.1.1";
const SYS_UPTIME_OID = "1.3.6.1.2.1.1.3.0";
const SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0";

/**
 * The notification net-snmp's receiver would hand over for the trap snmptrap would send with these
 * arguments; names (IF-MIB::ifIndex.3, linkDown) are resolved through the loaded MIBs, an "" uptime
 * is 0.
 */
export function notificationFromArgs(args: SnmptrapArgs, store: MibStore): ReceivedNotification {
  const [, ...header] = args.positionals;
  if (args.positionals.length === 0) throw new UsageError("HOST missing");
  const v1 = args.version === "1";
  const headerLength = v1 ? 5 : 2;
  if (header.length < headerLength)
    throw new UsageError(
      v1 ? "SNMPv1 needs ENTERPRISE AGENT GENERIC SPECIFIC UPTIME" : "SNMPv2c/v3 need UPTIME TRAPOID",
    );
  const triples = header.slice(headerLength);
  if (triples.length % 3 !== 0) throw new UsageError("varbinds come as OID TYPE VALUE triples");
  const varbinds: Varbind[] = [];
  for (let i = 0; i < triples.length; i += 3)
    varbinds.push(varbindOf(triples[i] as string, triples[i + 1] as string, triples[i + 2] as string, store));
  const rinfo = { address: args.from, port: 162 };
  const auth = args.version === "3" ? { user: args.user as string } : { community: args.community };
  if (v1) {
    const [enterprise = "", agent = "", generic = "", specific = "", uptime = ""] = header;
    return {
      pdu: {
        type: snmp.PduType.Trap,
        enterprise: enterprise === "" ? DEFAULT_ENTERPRISE : oidOf(enterprise, store),
        agentAddr: agent === "" ? args.from : ipv4(agent),
        generic: integer(generic, 0, 6, "GENERIC"),
        specific: integer(specific, 0, 2 ** 31 - 1, "SPECIFIC"),
        upTime: uptime === "" ? 0 : integer(uptime, 0, 2 ** 32 - 1, "UPTIME"),
        varbinds,
        ...auth,
      },
      rinfo,
    };
  }
  const [uptime = "", trapOid = ""] = header;
  // RFC 3416 §4.2.6: sysUpTime.0 and snmpTrapOID.0 first.
  const head: Varbind[] = [
    {
      oid: SYS_UPTIME_OID,
      type: snmp.ObjectType.TimeTicks,
      value: uptime === "" ? 0 : integer(uptime, 0, 2 ** 32 - 1, "UPTIME"),
    },
    { oid: SNMP_TRAP_OID, type: snmp.ObjectType.OID, value: oidOf(trapOid, store) },
  ];
  return { pdu: { type: snmp.PduType.TrapV2, varbinds: [...head, ...varbinds], ...auth }, rinfo };
}

/**
 * One varbind, by snmptrap's type letters (net-snmp snmp_add_var): i u c t a o s x d b n U I F D.
 * Values are what net-snmp's receiver decodes from the BER snmptrap sends: numbers, strings for IP
 * addresses and OIDs, Buffers for OCTET STRING and Opaque (U, I, F and D are net-snmp's Opaque-wrapped
 * types, not Counter64).
 */
function varbindOf(name: string, letter: string, text: string, store: MibStore): Varbind {
  const oid = oidOf(name, store);
  const T = snmp.ObjectType;
  switch (letter) {
    case "i":
      return { oid, type: T.Integer, value: enumOrInteger(oid, text, store) };
    case "u":
      return { oid, type: T.Gauge, value: integer(text, 0, 2 ** 32 - 1, name) };
    case "c":
      return { oid, type: T.Counter, value: integer(text, 0, 2 ** 32 - 1, name) };
    case "t":
      return { oid, type: T.TimeTicks, value: integer(text, 0, 2 ** 32 - 1, name) };
    case "a":
      return { oid, type: T.IpAddress, value: ipv4(text) };
    case "o":
      return { oid, type: T.OID, value: oidOf(text, store) };
    case "s":
      return { oid, type: T.OctetString, value: Buffer.from(text, "utf8") };
    case "x":
      return { oid, type: T.OctetString, value: hexBytes(text) };
    case "d":
      return { oid, type: T.OctetString, value: Buffer.from(numbers(text, 255, "d")) };
    case "b":
      return { oid, type: T.OctetString, value: bits(numbers(text, 65535, "b")) };
    case "n":
      return { oid, type: T.Null, value: null };
    case "U":
      return {
        oid,
        type: T.Opaque,
        value: opaque(0x7b, unsignedBytes(bigInteger(text, 0n, 2n ** 64n - 1n, name))),
      };
    case "I":
      return {
        oid,
        type: T.Opaque,
        value: opaque(0x7a, signedBytes(bigInteger(text, -(2n ** 63n), 2n ** 63n - 1n, name))),
      };
    case "F":
    case "D": {
      const n = Number(text);
      if (text.trim() === "" || Number.isNaN(n)) throw new UsageError(`${name}: ${letter} needs a number`);
      const bytes = Buffer.alloc(letter === "F" ? 4 : 8);
      if (letter === "F") bytes.writeFloatBE(n);
      else bytes.writeDoubleBE(n);
      return { oid, type: T.Opaque, value: opaque(letter === "F" ? 0x78 : 0x79, bytes) };
    }
    default:
      throw new UsageError(`${name}: unknown type "${letter}" (one of i u c t a o s x d b n U I F D)`);
  }
}

function oidOf(text: string, store: MibStore): string {
  const oid = store.oid(text);
  if (oid === undefined) throw new UsageError(`${text}: no loaded MIB defines it`);
  return oid;
}

/** `i down` as snmptrap takes it: an enumeration label of the object (RFC 2578 §7.1.1). */
function enumOrInteger(oid: string, text: string, store: MibStore): number {
  const enums = store.object(oid)?.enums ?? {};
  const label = Object.entries(enums).find(([, l]) => l === text);
  return label ? Number(label[0]) : integer(text, -(2 ** 31), 2 ** 31 - 1, text);
}

function integer(text: string, min: number, max: number, what: string): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || n < min || n > max)
    throw new UsageError(`${what}: expected an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

function bigInteger(text: string, min: bigint, max: bigint, what: string): bigint {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${what}: expected an integer, got "${text}"`);
  const n = BigInt(text.trim());
  if (n < min || n > max) throw new UsageError(`${what}: ${text} is out of range`);
  return n;
}

function ipv4(text: string): string {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new UsageError(`"${text}" is not an IPv4 address`);
  return text;
}

/** x: hex octets, spaces or colons between them allowed ("00 1b 21", "00:1b:21"). */
function hexBytes(text: string): Buffer {
  const hex = text.replace(/[\s:]/g, "").replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError(`"${text}" is not hex octets`);
  return Buffer.from(hex, "hex");
}

function numbers(text: string, max: number, letter: string): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== "");
  return parts.map((p) => integer(p, 0, max, `${letter} value`));
}

/** BITS (RFC 2578 §7.1.4): bit 0 is the most significant bit of the first octet. */
function bits(numbered: readonly number[]): Buffer {
  const bytes = Buffer.alloc(numbered.length === 0 ? 0 : Math.floor(Math.max(...numbered) / 8) + 1);
  for (const n of numbered) bytes[n >> 3] = (bytes[n >> 3] as number) | (0x80 >> (n & 7));
  return bytes;
}

/** An unsigned BER integer's content octets (X.690 §8.3): a leading 0 where the top bit is set. */
function unsignedBytes(n: bigint): Buffer {
  const hex = n.toString(16);
  const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
  // BER: a leading 1 bit would make it negative.
  return (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/** Two's complement, as few octets as hold the value (X.690 §8.3.2). */
function signedBytes(n: bigint): Buffer {
  let length = 1;
  while (n < -(1n << BigInt(8 * length - 1)) || n >= 1n << BigInt(8 * length - 1)) length++;
  const bytes = Buffer.alloc(length);
  let v = BigInt.asUintN(8 * length, n);
  for (let i = length - 1; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}

/** net-snmp's Opaque-wrapped float, double, int64 and uint64 (asn1.h ASN_OPAQUE_TAG1 0x9f, then 0x78-0x7b). */
function opaque(tag: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x9f, tag, bytes.length]), bytes]);
}
