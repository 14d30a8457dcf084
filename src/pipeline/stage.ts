import type { Notification } from "./alerting/notification.js";
import type { Enrichment } from "./enrich/enrich.js";
import type { QueuedEvent } from "./intake/event.js";
import type { Verdict } from "./interpret/types.js";

/*
 * The events path as a list of stages over a batch, after Alertmanager's notify.go (`Stage`,
 * `MultiStage`): each stage takes the batch's items still going on and returns those that go on
 * further; an item a stage stops carries why (its outcome). A stage does its Redis work for the whole
 * batch at once (one script, pipeline or transaction), never per item.
 */

/**
 * "sent" = admitted to grouping; the others say which stage stopped it: "dropped" and "logged" by a
 * trap rule's action (interpret), "unchanged" by alert state, then inhibit, silence and storm.
 */
export type EventOutcome = "sent" | "dropped" | "logged" | "unchanged" | "inhibited" | "silenced" | "storm";

/** One event on its way through the stages, or a notification made in this process (no event). */
export interface Item {
  readonly event?: QueuedEvent;
  enrichment?: Enrichment;
  /** Time its batch's enrichment took (RMCP+ reads, bounded by the deadline). */
  enrichMs?: number;
  /** What the trap rules decided (interpret stage). */
  verdict?: Verdict;
  notification?: Notification;
  outcome?: EventOutcome;
  /** The receivers of the routes it was grouped under. */
  receivers?: string[];
}

/** The event of an item of an INGEST batch (a notification made in process enters past them). */
export function eventOf(item: Item): QueuedEvent {
  if (!item.event) throw new Error("an item without an event reached a stage of events");
  return item.event;
}

/** The notification of an item past the alert state stage (every item from there on has one). */
export function notificationOf(item: Item): Notification {
  if (!item.notification) throw new Error("an item reached a stage past alert state without a notification");
  return item.notification;
}

/** Whose batch this is: the INGEST job id ("" for a notification made in process). */
export interface StageContext {
  readonly batchId: string;
}

export interface Stage {
  readonly name: string;
  exec(items: Item[], context: StageContext): Promise<Item[]> | Item[];
}

/** Runs `stages` over `items` in order; returns what went through all of them. */
export async function runStages(
  stages: readonly Stage[],
  items: Item[],
  context: StageContext,
): Promise<Item[]> {
  let going = items;
  for (const stage of stages) going = await stage.exec(going, context);
  return going;
}

/**
 * Orders work across batches: each call's `overlapping` part runs at once (enrichment of several
 * batches overlaps), its `inOrder` part only once that of every earlier call is done, in the order
 * of the calls. A call that fails does not hold up the later ones.
 */
export class Sequencer {
  private tail: Promise<void> = Promise.resolve();

  async run<A, B>(overlapping: () => Promise<A>, inOrder: (a: A) => Promise<B>): Promise<B> {
    const previous = this.tail;
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.tail = previous.then(() => mine);
    try {
      const a = await overlapping();
      await previous;
      return await inOrder(a);
    } finally {
      release();
    }
  }
}
