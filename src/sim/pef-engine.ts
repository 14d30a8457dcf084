import type { AlertPolicyEntry } from "../ipmi/pef.js";
import type { NumberedFilter } from "../ipmi/pef-match.js";

/**
 * Platform Event Filtering as the BMC runs it (IPMI 2.0 §17): the filters an event matches
 * (src/ipmi/pef-match.ts), then which alert destinations the selected alert policy sets send to
 * (§17.11). No I/O: delivering an alert is the caller's, passed in as a function.
 */

/** An Alert Policy Table entry with its entry number (PEF parameter 9). */
export interface NumberedPolicy {
  number: number;
  entry: AlertPolicyEntry;
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
