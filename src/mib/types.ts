/*
 * What a loaded set of MIB modules (SMIv1 RFC 1155/1212/1215, SMIv2 RFC 2578/2579/2580) answers about
 * OIDs. The store is built by load.ts from parsed modules; these are the shapes its users see.
 */

/** A MIB that did not parse or load: where, and why. `line` is 1-based, 0 when the file as a whole. */
export interface MibProblem {
  file: string;
  line: number;
  /** The module the problem is in, when known. */
  module?: string;
  message: string;
  /** The module it imports from that no directory holds, when that is the problem. */
  missing?: string;
}

/** An OID named by the longest prefix a module defines: IF-MIB::ifIndex + index ".3". */
export interface OidName {
  module: string;
  name: string;
  /** The defined node's numeric OID. */
  oid: string;
  /** What follows that node in the OID asked about, with its leading dot (".3"), or "". */
  index: string;
}

/** An OBJECT-TYPE (RFC 2578 §7) as far as rendering its values needs. */
export interface MibObject extends OidName {
  /** The base type after textual conventions: INTEGER, OCTET STRING, OBJECT IDENTIFIER, IpAddress, … */
  syntax: string;
  /** The textual convention named in SYNTAX, when one: "DisplayString", "MacAddress", … */
  tc?: string;
  /** Enumerated INTEGER / BITS labels by number: { 1: "up", 2: "down" }. */
  enums?: Readonly<Record<number, string>>;
  /** RFC 2579 §3.1 DISPLAY-HINT of the object's textual convention. */
  displayHint?: string;
  description?: string;
}

/** A NOTIFICATION-TYPE (RFC 2578 §8) or an SNMPv1 TRAP-TYPE (RFC 1215), under its SNMPv2 OID (RFC 3584 §3.1.2). */
export interface MibNotification extends OidName {
  kind: "NOTIFICATION-TYPE" | "TRAP-TYPE";
  /** OBJECTS / VARIABLES, as object names ("ifIndex"), in the MIB's order. */
  objects: readonly string[];
  description?: string;
  /** Where it is defined. */
  file: string;
  line: number;
}

/** A varbind as a person reads it. */
export interface RenderedVarbind {
  oid: string;
  /** The object's name ("ifIndex") and module, when a loaded MIB defines it. */
  name?: string;
  module?: string;
  /** Instance part after the object's OID (".3"), "" when none or not known. */
  index: string;
  /** Enumeration label, display hint or the value as received, as text. */
  value: string;
  /** The SNMP type as received ("Integer", "OctetString", …). */
  type: string;
}
