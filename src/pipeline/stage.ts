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

/** A call of Sequencer.run: its items once its overlapping part is done, and how it ends. */
interface Call {
  readonly stages: readonly Stage[];
  readonly context: StageContext;
  items?: Item[];
  /** Its overlapping part failed (the call has ended). */
  failed?: boolean;
  resolve(items: Item[]): void;
  reject(error: unknown): void;
}

/**
 * Orders work across batches: each call's overlapping part runs at once (enrichment of several
 * batches overlaps), its in-order `stages` only once those of every earlier call are done, in the
 * order of the calls. Calls of the same stages whose overlapping part ended while an earlier run was
 * in flight are run as one, their items in call order: under load the stages' Redis work is per
 * several batches (and so is the flush that follows them), where it would be per batch. A call that
 * fails does not hold up the later ones; a merged run that fails fails each of its calls.
 */
export class Sequencer {
  private readonly calls: Call[] = [];
  private running = false;

  run(overlapping: () => Promise<Item[]>, stages: readonly Stage[], context: StageContext): Promise<Item[]> {
    return new Promise((resolve, reject) => {
      const call: Call = { stages, context, resolve, reject };
      this.calls.push(call);
      overlapping().then(
        (items) => {
          call.items = items;
          void this.pump();
        },
        (error: unknown) => {
          // Nothing of it runs in order: it ends now, and the calls after it need not wait for it.
          call.failed = true;
          reject(error);
          void this.pump();
        },
      );
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let first = this.ready(); first; first = this.ready()) {
        if (first.failed) continue;
        const merged = [first];
        for (let next = this.ready(first.stages); next; next = this.ready(first.stages)) merged.push(next);
        const items = merged.flatMap((call) => call.items ?? []);
        const context = { batchId: merged.map((call) => call.context.batchId).join("+") };
        try {
          await runStages(first.stages, items, context);
          for (const call of merged) call.resolve(call.items ?? []);
        } catch (error) {
          for (const call of merged) call.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** The first call, taken, once its overlapping part is done (and, given `stages`, it succeeded with those). */
  private ready(stages?: readonly Stage[]): Call | undefined {
    const call = this.calls[0];
    if (!call || (call.items === undefined && !call.failed)) return undefined;
    if (stages && (call.failed || call.stages !== stages)) return undefined;
    return this.calls.shift();
  }
}
