import { hash } from "node:crypto";
import type { BmcTarget } from "../../config/inventory.js";
import type { Config } from "../../config/schema.js";
import { highestSeverity, matchEventFilters, type NumberedFilter } from "../../ipmi/pef-match.js";
import { decodeSelRecord, type SystemEventRecord } from "../../ipmi/sel.js";
import { DEFAULT_FILTERS } from "../../pef/default-filters.js";
import { filterConfigs, filterEntry } from "../../pef/desired.js";
import { buildPet } from "../../pet/build.js";
import { decodePet } from "../../pet/event.js";
import { type PetSeverity, petSeverityCode } from "../../pet/tables/severity.js";
import { encodePetVarbind, PET_ENTERPRISE_OID } from "../../pet/varbind.js";
import type { QueuedEvent } from "../intake/event.js";

/** Which SEL records should have sent a PET, and at what severity. */
export interface SelAlerting {
  /** The provisioned filters (config `pef.filters`), none when PEF is off or not configured. */
  filters: readonly NumberedFilter[];
  /** Records no provisioned filter matches alert too at this severity or above (config `sel.min_severity`). */
  minSeverity?: PetSeverity;
}

const DEFAULT_TABLE: readonly NumberedFilter[] = numbered(DEFAULT_FILTERS.map(filterEntry));

export function selAlerting(config: Pick<Config, "pef" | "sel">): SelAlerting {
  const pef = config.pef;
  return {
    filters: pef?.enable ? numbered(filterConfigs(pef.filters).map(filterEntry)) : [],
    ...(config.sel.min_severity !== undefined && { minSeverity: config.sel.min_severity }),
  };
}

function numbered(entries: ReturnType<typeof filterEntry>[]): NumberedFilter[] {
  return entries.map((entry, i) => ({ number: i + 1, entry }));
}

/**
 * The PEF severity code (IPMI 2.0 Table 17-2 byte 4) a record's PET carries, or undefined when it
 * should have sent none: the provisioned filters it matches (IPMI 2.0 §17.7) give the PET's severity
 * as the BMC's PEF does; a record none matches alerts only when `minSeverity` is set and the
 * severity petgate's default filter table (`filters: default`) gives it is at least that.
 */
export function alertSeverity(record: SystemEventRecord, alerting: SelAlerting): number | undefined {
  const provisioned = matchEventFilters(alerting.filters, record).filter((f) => f.entry.actions.alert);
  if (provisioned.length > 0) return highestSeverity(provisioned);
  if (alerting.minSeverity === undefined) return undefined;
  const severity = highestSeverity(matchEventFilters(DEFAULT_TABLE, record));
  return severity > 0 && severity >= petSeverityCode(alerting.minSeverity) ? severity : undefined;
}

/** Deterministic per BMC and record bytes: a record read again (a restart, a retry) is the same event. */
export function selEventId(bmc: string, record: string): string {
  return hash("sha256", `sel|${bmc}|${record}`).slice(0, 32);
}

/**
 * A SEL record as an event of the events path: the PET the BMC should have sent for it (its PEF
 * severity, its GUID when known, the record ID as the PET sequence number, PET 1.0 §3.1), decoded as
 * a received PET is, from the BMC's own address, and marked as read from the SEL.
 */
export function selEvent(
  target: BmcTarget,
  entry: { recordId: number; record: string; severity: number },
  guid: Buffer | undefined,
  readAt: Date,
): QueuedEvent {
  const record = decodeSystemRecord(entry.record);
  const { specificTrap, varbind } = buildPet(
    record,
    { severity: entry.severity, guid: guid ?? Buffer.alloc(16) },
    { manufacturerId: 0, systemId: 0 },
    entry.recordId,
  );
  const octets = encodePetVarbind(varbind);
  const decoded = decodePet(specificTrap, octets);
  if (!decoded.ok) throw decoded.error;
  return {
    id: selEventId(target.name, entry.record),
    trap: {
      kind: "pet",
      pet: decoded.event,
      varbind: octets.toString("hex"),
      receivedAt: readAt.toISOString(),
      source: { address: target.host, port: target.port },
      snmp: {
        version: "v1",
        pdu: "trap",
        enterprise: PET_ENTERPRISE_OID,
        trapOid: `${PET_ENTERPRISE_OID}.0.${specificTrap}`,
      },
    },
    sel: { bmc: target.name, recordId: entry.recordId, record: entry.record },
  };
}

/** A stored record (hex) that alerting chose, hence a system event record. */
export function decodeSystemRecord(hex: string): SystemEventRecord {
  const record = decodeSelRecord(Buffer.from(hex, "hex"));
  if (record.kind !== "system") throw new Error(`SEL record ${hex} is not a system event record`);
  return record;
}
