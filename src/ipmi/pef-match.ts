import type { EventDataFilter, EventFilterEntry } from "./pef.js";
import type { SystemEventRecord } from "./sel.js";

/**
 * Which Event Filter Table entries a system event matches (IPMI 2.0 §17.7, Table 17-2), as the BMC
 * decides it: the simulator's PEF, `event test`'s expectations and SEL reconciliation's "should this
 * record have alerted" share it.
 */

/** An Event Filter Table entry with its filter number (PEF parameter 6). */
export interface NumberedFilter {
  number: number;
  entry: EventFilterEntry;
}

/** FFh in generator ID, sensor type, sensor number and event trigger = match any (Table 17-2 bytes 5-9). */
const ANY = 0xff;

function matchesField(filterValue: number, eventValue: number): boolean {
  return filterValue === ANY || filterValue === eventValue;
}

/**
 * One event data byte against its AND mask / Compare 1 / Compare 2 (Table 17-2 bytes 12-20).
 * Bits cleared in the AND mask are ignored. Of the rest, bits set in Compare 1 are exact: each must
 * equal its Compare 2 bit. Bits clear in Compare 1 are "one or more": if there are any, at least one
 * of them must equal its Compare 2 bit. So an all-zero AND mask matches anything.
 * Source: OpenIPMI doc/IPMI.ltx, "PEF Table Entry", byte 12 — AND 0Fh, Compare 1 0Ch, Compare 2 0Ah
 * matches when (bit0 == 0 || bit1 == 1) && bit2 == 0 && bit3 == 1.
 */
export function eventDataMatches(value: number, filter: EventDataFilter): boolean {
  const exact = filter.andMask & filter.compare1;
  const oneOrMore = filter.andMask & ~filter.compare1 & 0xff;
  if ((value & exact) !== (filter.compare2 & exact)) return false;
  return oneOrMore === 0 || (~(value ^ filter.compare2) & oneOrMore) !== 0;
}

/**
 * Whether one enabled filter matches a system event record (IPMI 2.0 §17.7).
 *
 * The event trigger is compared with the whole event direction / event type byte (SEL byte 13), so
 * 01h matches threshold assertions only and 81h their deassertions; FFh matches both. Source:
 * OpenIPMI doc/IPMI.ltx "PEF Table Entry" byte 8 ("the event direction and event type byte …
 * must be an exact match"); ipmiutil's `-k` adds separate trigger-81h filters for deassertions
 * (PROTOCOL.md §6). The offset mask (bit N = offset N) is then tested with event data 1 [3:0]
 * whatever the direction: a mask of 0 matches no offset.
 */
function filterMatches(f: EventFilterEntry, event: SystemEventRecord): boolean {
  const [ed1, ed2, ed3] = event.eventData;
  const g = event.generatorId;
  const trigger = (event.eventDirection === "deassertion" ? 0x80 : 0) | event.eventType;
  return (
    f.enabled &&
    matchesField(f.generatorId1, g.id) &&
    matchesField(f.generatorId2, (g.channel << 4) | g.lun) &&
    matchesField(f.sensorType, event.sensorType) &&
    matchesField(f.sensorNumber, event.sensorNumber) &&
    matchesField(f.eventTrigger, trigger) &&
    ((f.eventData1OffsetMask >> (ed1 & 0x0f)) & 1) === 1 &&
    eventDataMatches(ed1, f.eventData1) &&
    eventDataMatches(ed2, f.eventData2) &&
    eventDataMatches(ed3, f.eventData3)
  );
}

/** The enabled filters an event matches, in table order (IPMI 2.0 §17.7: every entry is scanned). */
export function matchEventFilters(
  filters: readonly NumberedFilter[],
  event: SystemEventRecord,
): NumberedFilter[] {
  return [...filters].sort((a, b) => a.number - b.number).filter((f) => filterMatches(f.entry, event));
}

/**
 * The most severe of the filters' severities, for the PET's severity byte: the codes are single bits
 * rising with severity (01h monitor … 20h non-recoverable, Table 17-2 byte 4); 0 = unspecified.
 */
export function highestSeverity(filters: readonly NumberedFilter[]): number {
  return filters.reduce((max, f) => Math.max(max, f.entry.severity), 0);
}
