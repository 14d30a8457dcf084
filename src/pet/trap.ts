import { createHash } from "node:crypto";
import snmp from "net-snmp";
import type { PetDecodeErrorCode } from "./errors.js";
import { decodePet, type PetEvent, type SensorLookup } from "./event.js";
import { PET_ENTERPRISE_OID, PET_VARBIND_OID } from "./varbind.js";

/** RFC 3584 §3.1: SNMPv2 trap varbinds that carry what an SNMPv1 Trap-PDU had in its header. */
const SYS_UPTIME_OID = "1.3.6.1.2.1.1.3.0";
const SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0";
const SNMP_TRAP_ADDRESS_OID = "1.3.6.1.6.3.18.1.3.0";
const SNMP_TRAP_ENTERPRISE_OID = "1.3.6.1.6.3.1.1.4.3.0";
/**
 * RFC 3584 §3.1.2: an SNMPv1 enterprise-specific trap becomes enterprise ".0." specific. Some senders
 * leave out the ".0"; the PET varbind being present, the last arc is the specific trap either way.
 */
const PET_V2_TRAP_OID = new RegExp(`^${PET_ENTERPRISE_OID.replaceAll(".", "\\.")}\\.(?:0\\.)?(\\d+)$`);

/** RFC 2578 §3.5: an OBJECT IDENTIFIER has at most 128 sub-identifiers. */
const MAX_OID_ARCS = 128;
/** Varbinds of a generic trap kept; the rest are only counted (varbindsLeftOut). */
export const MAX_VARBINDS = 32;
/**
 * Bytes of an OCTET STRING value kept (characters of another string value): twice a DisplayString's
 * 255 (RFC 2579), so text is whole, while a trap cannot make a stored event as large as its datagram
 * times the hex and text it is kept as.
 */
export const MAX_VALUE_BYTES = 512;

export interface TrapSource {
  address: string;
  port: number;
}

export interface SnmpContext {
  version: "v1" | "v2c" | "v3";
  pdu: "trap" | "inform";
  community?: string;
  user?: string;
  /** SNMPv1 agent-addr or SNMPv2 snmpTrapAddress.0: the address the BMC claims (it may sit behind NAT). */
  agentAddress?: string;
  enterprise?: string;
  /** sysUpTime / time-stamp in hundredths of a second. */
  uptime?: number;
  /** SNMPv2 snmpTrapOID.0, or its RFC 3584 equivalent for an SNMPv1 trap. */
  trapOid: string;
}

export interface VarbindJson {
  oid: string;
  type: string;
  value: string | number | null;
  /** Raw bytes of an OCTET STRING, hex. */
  hex?: string;
  /** Set when the value was cut to MAX_VALUE_BYTES: its length as received. */
  truncatedFrom?: number;
}

interface TrapEnvelope {
  receivedAt: string;
  source: TrapSource;
  snmp: SnmpContext;
}

export type TrapEvent =
  | (TrapEnvelope & {
      kind: "pet";
      pet: PetEvent;
      /** The PET varbind octets as received, hex: for audit, re-decoding and PET Acknowledge. */
      varbind: string;
    })
  | (TrapEnvelope & {
      kind: "trap";
      /** At most MAX_VARBINDS. */
      varbinds: VarbindJson[];
      /**
       * SHA-256 of every varbind as received, before any was cut (hex): traps that differ only past
       * MAX_VARBINDS or MAX_VALUE_BYTES are still different events.
       */
      varbindsDigest: string;
      /** Varbinds past MAX_VARBINDS, not kept. */
      varbindsLeftOut?: number;
      /** Set when the trap claims to be a PET but its varbind would not decode; the trap is kept. */
      petError?: { code: PetDecodeErrorCode; message: string };
    });

/** The shape net-snmp's receiver hands over (with includeAuthentication). */
export interface ReceivedNotification {
  pdu: {
    type: number;
    enterprise?: string;
    agentAddr?: string;
    generic?: number;
    specific?: number;
    upTime?: number;
    varbinds: { oid: string; type: number; value: unknown }[];
    community?: string;
    user?: string;
  };
  rinfo: { address: string; port: number };
}

/** Why a notification net-snmp could parse is still no trap petgate can name. */
export type MalformedTrapCode = "trap-oid-missing" | "trap-oid-type" | "oid-too-long";

export interface MalformedTrap {
  code: MalformedTrapCode;
  message: string;
}

export type TrapResult = { ok: true; event: TrapEvent } | { ok: false; error: MalformedTrap };

type Varbind = ReceivedNotification["pdu"]["varbinds"][number];

/**
 * Turns a received SNMP notification into a PET event, or a generic trap event for anything else;
 * a notification without a trap OID (RFC 3416 §4.2.6) is malformed.
 */
export function trapEventFrom(n: ReceivedNotification, lookupSensor?: SensorLookup): TrapResult {
  const { pdu } = n;
  const isV1 = pdu.type === snmp.PduType.Trap;
  const trapOid = isV1 ? v1TrapOid(pdu) : v2TrapOid(pdu.varbinds);
  if (typeof trapOid !== "string") return { ok: false, error: trapOid };
  const enterprise = isV1 ? pdu.enterprise : typedValue(pdu.varbinds, SNMP_TRAP_ENTERPRISE_OID, "OID");
  const tooLong = longOid(trapOid, pdu.varbinds, enterprise);
  if (tooLong !== undefined) {
    const message = `an OID has ${oidArcs(tooLong)} sub-identifiers; at most ${MAX_OID_ARCS} (RFC 2578 §3.5)`;
    return { ok: false, error: { code: "oid-too-long", message } };
  }
  const varbinds = isV1 ? pdu.varbinds : pdu.varbinds.filter((vb) => !V2_HEADER_OIDS.has(vb.oid));
  const snmpContext: SnmpContext = {
    version: isV1 ? "v1" : pdu.user !== undefined ? "v3" : "v2c",
    pdu: pdu.type === snmp.PduType.InformRequest ? "inform" : "trap",
    ...(pdu.community !== undefined && { community: pdu.community }),
    ...(pdu.user !== undefined && { user: pdu.user }),
    trapOid,
  };
  const agentAddress = isV1 ? pdu.agentAddr : typedValue(pdu.varbinds, SNMP_TRAP_ADDRESS_OID, "IpAddress");
  const uptime = isV1 ? pdu.upTime : varbindValue(pdu.varbinds, SYS_UPTIME_OID);
  if (typeof agentAddress === "string") snmpContext.agentAddress = agentAddress;
  if (typeof enterprise === "string") snmpContext.enterprise = enterprise;
  if (typeof uptime === "number") snmpContext.uptime = uptime;
  const receivedAt = isoNow();
  const source = { address: n.rinfo.address, port: n.rinfo.port };

  const specific = petSpecificTrap(trapOid);
  const octets = varbindValue(varbinds, PET_VARBIND_OID);
  let petError: { code: PetDecodeErrorCode; message: string } | undefined;
  if (specific !== undefined && Buffer.isBuffer(octets)) {
    const decoded = decodePet(specific, octets, lookupSensor);
    if (decoded.ok) {
      return {
        ok: true,
        event: {
          receivedAt,
          source,
          snmp: snmpContext,
          kind: "pet",
          pet: decoded.event,
          varbind: octets.toString("hex"),
        },
      };
    }
    petError = { code: decoded.error.code, message: decoded.error.message };
  }
  const left = varbinds.length - MAX_VARBINDS;
  const event: TrapEvent = {
    receivedAt,
    source,
    snmp: snmpContext,
    kind: "trap",
    varbinds: varbinds.slice(0, MAX_VARBINDS).map(varbindJson),
    varbindsDigest: digest(varbinds),
    ...(left > 0 && { varbindsLeftOut: left }),
    ...(petError && { petError }),
  };
  return { ok: true, event };
}

const V2_HEADER_OIDS = new Set([
  SYS_UPTIME_OID,
  SNMP_TRAP_OID,
  SNMP_TRAP_ADDRESS_OID,
  SNMP_TRAP_ENTERPRISE_OID,
]);

/**
 * RFC 3416 §4.2.6: snmpTrapOID.0, an OBJECT IDENTIFIER, is the second varbind. It is looked for by
 * name wherever it is (a sender that puts it elsewhere still names its trap unambiguously); the
 * first one counts.
 */
function v2TrapOid(varbinds: readonly Varbind[]): string | MalformedTrap {
  const vb = varbinds.find((v) => v.oid === SNMP_TRAP_OID);
  if (vb === undefined) {
    return { code: "trap-oid-missing", message: "no snmpTrapOID.0 varbind (RFC 3416 §4.2.6)" };
  }
  if (vb.type !== snmp.ObjectType.OID || typeof vb.value !== "string") {
    const type = snmp.ObjectType[vb.type] ?? String(vb.type);
    const message = `snmpTrapOID.0 is ${type}, not an OBJECT IDENTIFIER (RFC 3416 §4.2.6)`;
    return { code: "trap-oid-type", message };
  }
  return vb.value;
}

/** The first OID of the notification (trap OID, varbinds, enterprise) longer than RFC 2578 allows. */
function longOid(trapOid: string, varbinds: readonly Varbind[], enterprise: unknown): string | undefined {
  if (oidArcs(trapOid) > MAX_OID_ARCS) return trapOid;
  for (const { oid } of varbinds) if (oidArcs(oid) > MAX_OID_ARCS) return oid;
  if (typeof enterprise === "string" && oidArcs(enterprise) > MAX_OID_ARCS) return enterprise;
  return undefined;
}

/**
 * The time as ISO-8601. A burst receives dozens of traps in one millisecond: they share one string
 * rather than each formatting a Date.
 */
let lastMs = 0;
let lastIso = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) [lastMs, lastIso] = [ms, new Date(ms).toISOString()];
  return lastIso;
}

function oidArcs(oid: string): number {
  let arcs = 1;
  for (let i = oid.indexOf("."); i !== -1; i = oid.indexOf(".", i + 1)) arcs++;
  return arcs;
}

/** RFC 3584 §3.1.2 mapping of an SNMPv1 trap header to an snmpTrapOID. */
function v1TrapOid(pdu: ReceivedNotification["pdu"]): string {
  if (pdu.generic === 6) return `${pdu.enterprise}.0.${pdu.specific}`;
  return `1.3.6.1.6.3.1.1.5.${(pdu.generic ?? 0) + 1}`;
}

/** The specific-trap number of a PET trap OID ("…3183.1.1.0.N"), or undefined for other traps. */
function petSpecificTrap(trapOid: string): number | undefined {
  const specific = PET_V2_TRAP_OID.exec(trapOid)?.[1];
  return specific === undefined ? undefined : Number(specific);
}

function varbindValue(varbinds: readonly Varbind[], oid: string): unknown {
  return varbinds.find((vb) => vb.oid === oid)?.value;
}

/** A header varbind's value when it has the type RFC 3584 §3.1 gives it; else it is left out. */
function typedValue(varbinds: readonly Varbind[], oid: string, type: "OID" | "IpAddress"): unknown {
  const vb = varbinds.find((v) => v.oid === oid);
  return vb?.type === snmp.ObjectType[type] ? vb.value : undefined;
}

function digest(varbinds: readonly Varbind[]): string {
  const h = createHash("sha256");
  for (const { oid, type, value } of varbinds) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), "utf8");
    h.update(`${oid}|${type}|${typeof value}|${bytes.length}|`).update(bytes);
  }
  return h.digest("hex");
}

function varbindJson(vb: Varbind): VarbindJson {
  const type = snmp.ObjectType[vb.type] ?? String(vb.type);
  const { value } = vb;
  const cut = (length: number) => (length > MAX_VALUE_BYTES ? { truncatedFrom: length } : {});
  if (Buffer.isBuffer(value)) {
    const kept = value.subarray(0, MAX_VALUE_BYTES);
    const printable = /^[\x20-\x7e\t\r\n]*$/.test(kept.toString("latin1"));
    return {
      oid: vb.oid,
      type,
      value: printable ? kept.toString("latin1") : null,
      hex: kept.toString("hex"),
      ...cut(value.length),
    };
  }
  if (typeof value === "string") {
    return { oid: vb.oid, type, value: value.slice(0, MAX_VALUE_BYTES), ...cut(value.length) };
  }
  if (typeof value === "number") return { oid: vb.oid, type, value };
  if (typeof value === "bigint") return { oid: vb.oid, type, value: value.toString() };
  return { oid: vb.oid, type, value: null };
}
