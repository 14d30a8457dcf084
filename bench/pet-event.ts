import type { SystemEventRecord } from "../src/ipmi/sel.js";
import { buildPet } from "../src/pet/build.js";
import { decodePet } from "../src/pet/event.js";
import type { TrapEvent } from "../src/pet/trap.js";
import { encodePetVarbind, PET_ENTERPRISE_OID } from "../src/pet/varbind.js";
import { eventId, type QueuedEvent } from "../src/pipeline/intake/event.js";

/**
 * The PET a BMC sends for SEL `record` (src/sim/pet-sender.ts), as the listener hands it on: an
 * SNMPv1 trap from `from`, severity critical, entity 3.1.
 */
export function queuedPetEvent(
  record: SystemEventRecord,
  o: {
    guid: Buffer;
    sequence: number;
    from: { address: string; agentAddress?: string };
    manufacturerId?: number;
    systemId?: number;
  },
): QueuedEvent {
  const { specificTrap, varbind } = buildPet(
    record,
    { severity: 0x10, guid: o.guid, entityId: 3, entityInstance: 1 },
    { manufacturerId: o.manufacturerId ?? 0, systemId: o.systemId ?? 0 },
    o.sequence,
  );
  const octets = encodePetVarbind(varbind);
  const decoded = decodePet(specificTrap, octets);
  if (!decoded.ok) throw decoded.error;
  const trap: TrapEvent = {
    kind: "pet",
    receivedAt: new Date().toISOString(),
    source: { address: o.from.address, port: 40_000 },
    snmp: {
      version: "v1",
      pdu: "trap",
      community: "public",
      ...(o.from.agentAddress !== undefined && { agentAddress: o.from.agentAddress }),
      trapOid: `${PET_ENTERPRISE_OID}.0.${specificTrap}`,
    },
    pet: decoded.event,
    varbind: octets.toString("hex"),
  };
  return { id: eventId(trap), trap };
}
