import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import snmp from "net-snmp";
import { parseConfig } from "../../src/config/load.js";
import { loadMibs } from "../../src/mib/load.js";
import type { MibStore } from "../../src/mib/store.js";
import { type ReceivedNotification, type TrapEvent, trapEventFrom } from "../../src/pet/trap.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { compileTrapRules, type TrapRules } from "../../src/pipeline/interpret/rules.js";

/** The example MIBs (ACME-PDU-MIB, EXAMPLE-BMC-MIB) beside the ones net-snmp ships (IF-MIB, SNMPv2-MIB). */
export const EXAMPLE_MIBS = fileURLToPath(new URL("../../examples/mibs", import.meta.url));

export async function exampleStore(): Promise<MibStore> {
  const { store, problems } = await loadMibs({ dirs: [EXAMPLE_MIBS] });
  if (problems.length > 0) throw new Error(`MIB problems: ${JSON.stringify(problems)}`);
  return store;
}

/** The alert key a rule gives a generic trap, written out: "trap:" + sha256 of [rule, bmc, ...values], 32 hex. */
export function alertKeyOf(rule: string, bmc: string, ...values: string[]): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([rule, bmc, ...values]))
    .digest("hex");
  return `trap:${digest.slice(0, 32)}`;
}

/** `traps:` rules as petgate.yml gives them (through the config schema), compiled. */
export function rulesFrom(yaml: string, store: MibStore): TrapRules {
  return compileTrapRules(parseConfig(yaml, "petgate.yml").traps, store);
}

export const IF_INDEX = "1.3.6.1.2.1.2.2.1.1";
export const IF_DESCR = "1.3.6.1.2.1.2.2.1.2";
export const IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7";
export const IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8";
export const IF_NAME = "1.3.6.1.2.1.31.1.1.1.1";
export const LINK_DOWN = "1.3.6.1.6.3.1.1.5.3";
export const LINK_UP = "1.3.6.1.6.3.1.1.5.4";
export const ACME_PDU = "1.3.6.1.4.1.32473.1";
export const OUTLET_INDEX = `${ACME_PDU}.1.2.1.1`;
export const OUTLET_NAME = `${ACME_PDU}.1.2.1.2`;
export const OUTLET_STATE = `${ACME_PDU}.1.2.1.3`;

type Varbind = ReceivedNotification["pdu"]["varbinds"][number];

/** A varbind as net-snmp's receiver decodes it. */
export function vb(
  oid: string,
  type: "Integer" | "OctetString" | "OID" | "Gauge",
  value: number | string,
): Varbind {
  return {
    oid,
    type: snmp.ObjectType[type],
    value: type === "OctetString" ? Buffer.from(String(value), "latin1") : value,
  };
}

/** An SNMPv2c trap as the listener turns it into an event (trapEventFrom). */
export function v2cTrap(trapOid: string, varbinds: Varbind[], address = "192.0.2.7"): QueuedEvent {
  return queued({
    pdu: {
      type: snmp.PduType.TrapV2,
      community: "public",
      varbinds: [
        { oid: "1.3.6.1.2.1.1.3.0", type: snmp.ObjectType.TimeTicks, value: 4200 },
        { oid: "1.3.6.1.6.3.1.1.4.1.0", type: snmp.ObjectType.OID, value: trapOid },
        ...varbinds,
      ],
    },
    rinfo: { address, port: 40162 },
  });
}

/** An SNMPv1 enterprise-specific trap (generic 6) as the listener turns it into an event. */
export function v1Trap(
  enterprise: string,
  specific: number,
  varbinds: Varbind[],
  address = "192.0.2.7",
): QueuedEvent {
  return queued({
    pdu: {
      type: snmp.PduType.Trap,
      community: "public",
      enterprise,
      agentAddr: address,
      generic: 6,
      specific,
      upTime: 4200,
      varbinds,
    },
    rinfo: { address, port: 40162 },
  });
}

export function queued(n: ReceivedNotification): QueuedEvent {
  const result = trapEventFrom(n);
  if (!result.ok) throw new Error(result.error.message);
  return { id: eventId(result.event), trap: result.event };
}

export function queuedEvent(trap: TrapEvent): QueuedEvent {
  return { id: eventId(trap), trap };
}
