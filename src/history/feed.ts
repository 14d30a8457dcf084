import type { DeliveryOutcome } from "../pipeline/notify/deliver.js";
import type { HistoryDelivery, HistoryEvent } from "./store.js";

/*
 * The workers feed history through a Redis stream, so that the process keeping the history file
 * (history/writer.ts) may run on another host than they do: each recent-events write (one per turn
 * of the workers' event loop) adds its entries and delivery outcomes to it, in stream entries of at
 * most FEED_EVENTS_MAX events, one XADD each in the same round trip.
 *
 *   <prefix>:history   stream   field "batch": { events: HistoryEvent[], deliveries: HistoryDelivery[] }
 *
 * The stream is capped (MAXLEN ~ FEED_ENTRIES_MAX), and that is all that trims it: each history
 * keeper reads it as a group of its own, so a keeper stopped for longer than the last
 * FEED_ENTRIES_MAX entries misses what is older.
 */

export const FEED_EVENTS_MAX = 50;
export const FEED_ENTRIES_MAX = 1000;

export interface FeedBatch {
  events: HistoryEvent[];
  deliveries: HistoryDelivery[];
}

export function historyStreamKey(prefix: string): string {
  return `${prefix}:history`;
}

/** The delivery state a delivery worker's outcome stands for. */
export function deliveryStatus(outcome: DeliveryOutcome): HistoryDelivery["status"] {
  return outcome === "delivered" || outcome === "already-delivered" ? "delivered" : "dead-lettered";
}

/** The stream entries (JSON) for these events and outcomes: FEED_EVENTS_MAX events an entry. */
export function feedEntries(
  events: readonly HistoryEvent[],
  deliveries: readonly HistoryDelivery[],
): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length || (i === 0 && deliveries.length > 0); i += FEED_EVENTS_MAX)
    out.push(
      JSON.stringify({ events: events.slice(i, i + FEED_EVENTS_MAX), deliveries: i === 0 ? deliveries : [] }),
    );
  return out;
}
