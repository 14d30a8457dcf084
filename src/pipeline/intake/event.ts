import { hash } from "node:crypto";
import type { TrapEvent } from "../../pet/trap.js";

/** One received trap on its way through the pipeline, under its deterministic id. */
export interface QueuedEvent {
  id: string;
  trap: TrapEvent;
  /**
   * Set for a record read from a BMC's SEL whose PET never arrived (src/pipeline/sel/): `trap` is
   * then the PET the BMC should have sent for it, as from the BMC's address.
   */
  sel?: SelOrigin;
}

/** Which BMC's SEL, and which record (its ID and 16 bytes, hex). */
export interface SelOrigin {
  bmc: string;
  recordId: number;
  record: string;
}

/**
 * The id of a trap: the same for every copy of the same event, so PET retransmissions and copies
 * received by several listeners become one job. A PET is identified by what its BMC puts in it (GUID,
 * sequence, local timestamp, specific trap, event data: PET 1.0 §3.1); any other trap by its source,
 * trap OID, uptime and all its varbinds, also those not kept (their digest).
 */
export function eventId(trap: TrapEvent): string {
  const identity =
    trap.kind === "pet"
      ? `pet|${trap.pet.guid}|${trap.pet.sequence}|${trap.pet.localTimestamp}|${trap.pet.specificTrap ?? "NA"}|${trap.pet.eventData}`
      : `trap|${trap.source.address}|${trap.snmp.trapOid}|${trap.snmp.uptime ?? ""}|${trap.varbindsDigest}`;
  // One-shot hash: a third of createHash's cost, on the listener's path for every trap.
  return hash("sha256", identity).slice(0, 32);
}
