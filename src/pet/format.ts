import { hexByte } from "../ipmi/bytes.js";
import type { PetEvent } from "./event.js";

/** One human line for a PET, the fields in the order an operator reads them. */
export function formatPetLine(e: PetEvent): string {
  const time =
    e.time === null ? "time unspecified" : e.timeBasis === "utc" ? e.time : `${e.time} (BMC local)`;
  const what = [e.event ?? `offset ${e.eventOffset}`, e.eventData2Text, e.eventData3Text]
    .filter(Boolean)
    .join("; ");
  const sensor = `${e.sensorTypeName ?? "N/A"} sensor #${e.sensorNumber}`;
  const entity = e.entityId === 0 ? "" : ` on ${e.entityName} ${e.entityInstance}`;
  const vendor = e.manufacturerName ?? `manufacturer ${e.manufacturerId}`;
  const severity =
    e.severity === "unknown" ? `UNKNOWN SEVERITY ${hexByte(e.severityRaw)}h` : e.severity.toUpperCase();
  return `${time} ${severity} ${sensor}${entity}: ${what} (${e.eventDirection}) | ${vendor}, system ID ${e.systemId}, GUID ${e.guid}, seq ${e.sequence}`;
}
