import { createHash } from "node:crypto";
import type { TrapEvent } from "../../pet/trap.js";

/** One received trap on its way through the pipeline, under its deterministic id. */
export interface QueuedEvent {
  id: string;
  trap: TrapEvent;
}

/**
 * The id of a trap: the same for every copy of the same event, so PET retransmissions and copies
 * received by several listeners become one job. A PET is identified by what its BMC puts in it (GUID,
 * sequence, local timestamp, specific trap, event data: PET 1.0 §3.1); any other trap by its source,
 * trap OID, uptime and all its varbinds, also those not kept (their digest).
 */
export function eventId(trap: TrapEvent): string {
  const h = createHash("sha256");
  if (trap.kind === "pet") {
    const p = trap.pet;
    h.update(["pet", p.guid, p.sequence, p.localTimestamp, p.specificTrap ?? "NA", p.eventData].join("|"));
  } else {
    h.update(
      ["trap", trap.source.address, trap.snmp.trapOid, trap.snmp.uptime ?? "", trap.varbindsDigest].join("|"),
    );
  }
  return h.digest("hex").slice(0, 32);
}
