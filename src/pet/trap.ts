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
      varbinds: VarbindJson[];
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

/** Turns a received SNMP notification into a PET event, or a generic trap event for anything else. */
export function trapEventFrom(n: ReceivedNotification, lookupSensor?: SensorLookup): TrapEvent {
  const { pdu } = n;
  const isV1 = pdu.type === snmp.PduType.Trap;
  const varbinds = isV1 ? pdu.varbinds : pdu.varbinds.filter((vb) => !V2_HEADER_OIDS.has(vb.oid));
  const trapOid = isV1 ? v1TrapOid(pdu) : String(varbindValue(pdu.varbinds, SNMP_TRAP_OID) ?? "");
  const snmpContext: SnmpContext = {
    version: isV1 ? "v1" : pdu.user !== undefined ? "v3" : "v2c",
    pdu: pdu.type === snmp.PduType.InformRequest ? "inform" : "trap",
    ...(pdu.community !== undefined && { community: pdu.community }),
    ...(pdu.user !== undefined && { user: pdu.user }),
    trapOid,
  };
  const agentAddress = isV1 ? pdu.agentAddr : varbindValue(pdu.varbinds, SNMP_TRAP_ADDRESS_OID);
  const enterprise = isV1 ? pdu.enterprise : varbindValue(pdu.varbinds, SNMP_TRAP_ENTERPRISE_OID);
  const uptime = isV1 ? pdu.upTime : varbindValue(pdu.varbinds, SYS_UPTIME_OID);
  if (typeof agentAddress === "string") snmpContext.agentAddress = agentAddress;
  if (typeof enterprise === "string") snmpContext.enterprise = enterprise;
  if (typeof uptime === "number") snmpContext.uptime = uptime;
  const envelope: TrapEnvelope = {
    receivedAt: new Date().toISOString(),
    source: { address: n.rinfo.address, port: n.rinfo.port },
    snmp: snmpContext,
  };

  const specific = petSpecificTrap(trapOid);
  const octets = varbindValue(varbinds, PET_VARBIND_OID);
  if (specific !== undefined && Buffer.isBuffer(octets)) {
    const decoded = decodePet(specific, octets, lookupSensor);
    if (decoded.ok) return { ...envelope, kind: "pet", pet: decoded.event, varbind: octets.toString("hex") };
    const { code, message } = decoded.error;
    return { ...envelope, kind: "trap", varbinds: varbinds.map(varbindJson), petError: { code, message } };
  }
  return { ...envelope, kind: "trap", varbinds: varbinds.map(varbindJson) };
}

const V2_HEADER_OIDS = new Set([
  SYS_UPTIME_OID,
  SNMP_TRAP_OID,
  SNMP_TRAP_ADDRESS_OID,
  SNMP_TRAP_ENTERPRISE_OID,
]);

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

function varbindValue(varbinds: ReceivedNotification["pdu"]["varbinds"], oid: string): unknown {
  return varbinds.find((vb) => vb.oid === oid)?.value;
}

function varbindJson(vb: ReceivedNotification["pdu"]["varbinds"][number]): VarbindJson {
  const type = snmp.ObjectType[vb.type] ?? String(vb.type);
  if (Buffer.isBuffer(vb.value)) {
    const printable = /^[\x20-\x7e\t\r\n]*$/.test(vb.value.toString("latin1"));
    return {
      oid: vb.oid,
      type,
      value: printable ? vb.value.toString("latin1") : null,
      hex: vb.value.toString("hex"),
    };
  }
  const { value } = vb;
  if (typeof value === "number" || typeof value === "string") return { oid: vb.oid, type, value };
  if (typeof value === "bigint") return { oid: vb.oid, type, value: value.toString() };
  return { oid: vb.oid, type, value: null };
}
