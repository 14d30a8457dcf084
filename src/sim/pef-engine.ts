import type { AlertPolicyEntry, EventDataFilter, EventFilterEntry } from "../ipmi/pef.js";
import type { SystemEventRecord } from "../ipmi/sel.js";

/**
 * Platform Event Filtering as the BMC runs it (IPMI 2.0 §17): which event filters an event matches
 * (§17.7, Table 17-2), then which alert destinations the selected alert policy sets send to (§17.11).
 * No I/O: delivering an alert is the caller's, passed in as a function.
 */

/** An Event Filter Table entry with its filter number (PEF parameter 6). */
export interface NumberedFilter {
  number: number;
  entry: EventFilterEntry;
}

/** An Alert Policy Table entry with its entry number (PEF parameter 9). */
export interface NumberedPolicy {
  number: number;
  entry: AlertPolicyEntry;
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

/** Where one alert policy entry sends: a channel and its LAN parameter 18/19 destination selector. */
export interface AlertDestination {
  channel: number;
  destinationSelector: number;
}

/** One alert the policies ask for. */
export interface AlertRequest extends AlertDestination {
  policyNumber: number;
  entryNumber: number;
  /** The matched filters whose alert action selected this policy set. */
  filters: NumberedFilter[];
}

export interface AlertAttempt extends AlertRequest {
  delivered: boolean;
}

export interface AlertPolicyOptions {
  /**
   * Sends one alert; true when it succeeded. For a PET that is "sent" when the destination needs no
   * acknowledgement, and "acknowledged" (before the retries ran out) when it does.
   */
  deliver: (alert: AlertRequest) => Promise<boolean> | boolean;
  /** A destination's type (LAN parameter 18: PET, OEM 1, OEM 2), for policy type 4; default: all alike. */
  destinationType?: (d: AlertDestination) => string;
}

/**
 * Runs the alert policy sets that the matched filters with the alert action select (IPMI 2.0 §17.11;
 * policy types as ALERT_POLICY_TYPES names them), set by set in ascending policy number, each set's
 * enabled entries in entry order, each delivery awaited before the next entry is considered:
 * - type 0: always sent, even after a type 2 stopped the set;
 * - types 1-4: skipped when an alert to an earlier destination of this set succeeded, and then
 *   1 goes on with the next entry, 2 stops the set, 3 goes on with the next entry on another channel,
 *   4 with the next entry of another destination type (reserved types 5-7 act as 1). Otherwise the
 *   alert is sent and the set goes on with the next entry.
 * Returns every attempt made, in order.
 */
export async function runAlertPolicies(
  matched: readonly NumberedFilter[],
  policies: readonly NumberedPolicy[],
  options: AlertPolicyOptions,
): Promise<AlertAttempt[]> {
  const bySet = new Map<number, NumberedFilter[]>();
  for (const f of matched) {
    if (!f.entry.actions.alert) continue;
    const set = bySet.get(f.entry.alertPolicyNumber) ?? [];
    set.push(f);
    bySet.set(f.entry.alertPolicyNumber, set);
  }
  const attempts: AlertAttempt[] = [];
  for (const [policyNumber, filters] of [...bySet].sort(([a], [b]) => a - b)) {
    const entries = policies
      .filter((p) => p.entry.enabled && p.entry.policyNumber === policyNumber)
      .sort((a, b) => a.number - b.number);
    attempts.push(...(await runPolicySet(policyNumber, filters, entries, options)));
  }
  return attempts;
}

async function runPolicySet(
  policyNumber: number,
  filters: NumberedFilter[],
  entries: NumberedPolicy[],
  options: AlertPolicyOptions,
): Promise<AlertAttempt[]> {
  const typeOf = options.destinationType ?? (() => "");
  const attempts: AlertAttempt[] = [];
  let succeeded = false;
  let stopped = false;
  /** Set by a skipped type 3/4 entry: entries it matches are passed over (type 0 excepted). */
  let passOver: ((p: AlertPolicyEntry) => boolean) | undefined;

  for (const { number, entry } of entries) {
    const alwaysSend = entry.policyType === 0;
    if (!alwaysSend) {
      if (stopped || passOver?.(entry)) continue;
      passOver = undefined;
      if (succeeded) {
        if (entry.policyType === 2) stopped = true;
        else if (entry.policyType === 3) passOver = (p) => p.channel === entry.channel;
        else if (entry.policyType === 4) passOver = (p) => typeOf(p) === typeOf(entry);
        continue;
      }
    }
    const request: AlertRequest = {
      policyNumber,
      entryNumber: number,
      channel: entry.channel,
      destinationSelector: entry.destinationSelector,
      filters,
    };
    const delivered = await options.deliver(request);
    attempts.push({ ...request, delivered });
    succeeded ||= delivered;
  }
  return attempts;
}
