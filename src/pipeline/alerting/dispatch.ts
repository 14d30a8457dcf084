import { type DeliverQueue, deliveryId, enqueueFlush, type FlushGroup } from "../notify/deliver.js";
import type { Outbox } from "../notify/outbox.js";
import { type Item, notificationOf, type Stage } from "../stage.js";
import { type Batch, type Delivery, Grouper, placements } from "./group.js";
import type { Notification } from "./notification.js";
import { matchRoutes, type Route, routeMuted } from "./route.js";

/*
 * Routing and aggregation, after Alertmanager's dispatch/dispatch.go: the route/group stage puts each
 * notification into its group under every route that takes it (alerting/group.ts), and whatever is
 * due goes to the DELIVER queue as one flush (notify/deliver.ts enqueueFlush: one job per receiver).
 *
 * Groups are in process memory. A group that waits (group_wait, group_interval) has its deliveries
 * held in the outbox (notify/outbox.ts) before the batch's stages end, so a crash loses nothing; a
 * group due at once is on the DELIVER queue before they end and needs no outbox. A flush that could
 * not be enqueued (Redis down) is kept and enqueued with the next one.
 *
 * A muted route (time intervals: alerting/group.ts) holds its deliveries in the outbox too, and each
 * of its flushes refreshes them there, so that a mute longer than the sweep's staleness is not taken
 * for a stopped worker's; the sweep leaves a stopped worker's deliveries held while every route
 * that sends them to their receiver is muted.
 */

export interface DispatcherOptions {
  tree: Route;
  outbox: Outbox;
  deliver: DeliverQueue;
  /** Held by a stopped worker once held this long (ms): swept onto the DELIVER queue. */
  staleAfterMs: number;
  /** How often held deliveries of stopped workers are looked for (ms). */
  sweepEveryMs: number;
  /** The clock of grouping and time intervals; default Date.now. */
  clock?: () => number;
  log: (message: string) => void;
}

export class Dispatcher {
  readonly grouper = new Grouper();
  /**
   * Deliveries enqueued (notifications × receivers, a copy of one counted again), groups flushed, and
   * deliveries muted routes held back (at each of their flushes).
   */
  readonly counts = { deliveries: 0, batches: 0, mutedHeld: 0 };
  /** Delivery ids this process holds in the outbox (those of groups that wait). */
  private readonly held = new Set<string>();
  /** Outbox entries to release (kept until a release succeeds). */
  private readonly unheld: string[] = [];
  /** Groups due but not yet enqueued. */
  private readonly pending: Batch[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private lastSweep = 0;
  readonly clock: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Route/group: each notification into its groups (held first where a group waits); outcome "sent". */
  readonly groupStage: Stage = {
    name: "route/group",
    exec: async (items) => {
      const now = this.clock();
      const placed = items.map((item) => {
        const n = notificationOf(item);
        const groups = placements(this.options.tree, n);
        const waiting = groups.filter(
          (g) => this.grouper.flushAt(g, now) > now || routeMuted(g.route, now) !== undefined,
        );
        return {
          item,
          n,
          groups,
          holds: receiversOf(waiting.map((g) => g.route)).map((receiver) => ({ receiver, notification: n })),
        };
      });
      const ids = await this.options.outbox.hold(placed.flatMap((p) => p.holds));
      for (const id of ids) this.held.add(id);
      for (const { item, n, groups } of placed) {
        for (const g of groups) this.grouper.add(n, g, now);
        item.outcome = "sent";
        item.receivers = receiversOf(groups.map((g) => g.route));
      }
      return items;
    },
  };

  /**
   * Enqueue: the groups due now (a group_wait 0 group just made) go out before the batch ends. It runs
   * after the in-order stages, so the next batch is grouped while this flush is in flight and the
   * flush after it (which takes what is due when it starts) carries both: under load fewer, larger
   * DELIVER jobs, each a BullMQ life cycle less. A batch that grouped anything awaits a flush even when
   * nothing is due any more: another flush (a tick's, an earlier batch's) may have taken its groups
   * and still be enqueueing them, and flushes complete in order, so this one ends after that one.
   */
  readonly enqueueStage: Stage = {
    name: "enqueue",
    exec: async (items: Item[]) => {
      if (items.some((item) => item.outcome === "sent")) await this.flush(this.clock());
      return items;
    },
  };

  /** Whether a group is due at `now`. */
  due(now: number): boolean {
    return (this.grouper.nextDue() ?? Number.POSITIVE_INFINITY) <= now;
  }

  /**
   * Enqueues the groups due at `now` and any left over from a failed flush, in order, in one round
   * trip, and releases what the outbox held for them. One flush at a time: two would both send what
   * is pending (close's final flush can meet a tick), and a flush awaited by a batch must include the
   * groups due before it.
   */
  flush(now: number): Promise<void> {
    return this.flushOut(() => this.grouper.due(now));
  }

  /** Enqueues everything the groups hold unsent (Grouper.drain): a closing worker's last flush. */
  drain(): Promise<void> {
    return this.flushOut(() => this.grouper.drain(this.clock()));
  }

  private flushOut(take: () => Batch[]): Promise<void> {
    const flush = this.flushing.then(async () => {
      this.pending.push(...take());
      if (this.pending.length > 0) {
        const ids = await this.enqueue(this.pending);
        this.counts.batches += this.pending.length;
        this.pending.length = 0;
        this.unheld.push(...ids.filter((id) => this.held.delete(id)));
      }
      const muted = this.grouper.takeMuted();
      if (muted.length > 0) for (const id of await this.options.outbox.refresh(muted)) this.held.add(id);
      this.counts.mutedHeld += muted.length;
      // Held deliveries the groups dropped (superseded before their flush): never to be sent.
      const discarded = this.grouper.takeDiscarded().map((d) => deliveryId(d.notification.id, d.receiver));
      this.unheld.push(...discarded.filter((id) => this.held.delete(id)));
      await this.options.outbox.release(this.unheld);
      this.unheld.length = 0;
    });
    this.flushing = flush.catch(() => undefined);
    return flush;
  }

  /**
   * Straight to the DELIVER queue, ungrouped (storm summaries): one group of one per receiver; not to
   * a receiver whose routes are muted now (a summary is news of the moment: it does not wait).
   */
  async sendNow(notifications: readonly Notification[]): Promise<void> {
    const now = this.clock();
    const sending = (r: Route) => routeMuted(r, now) === undefined;
    await this.enqueue(
      notifications.flatMap((n) =>
        receiversOf(matchRoutes(this.options.tree, n).filter(sending)).map((receiver) => ({
          receiver,
          groupKey: `storm:${n.bmc.name}`,
          groupLabels: { bmc: n.bmc.name },
          notifications: [n],
        })),
      ),
    );
  }

  /** Enqueues the deliveries a stopped worker held (see notify/outbox.ts); every sweepEveryMs. */
  async sweep(now: number): Promise<void> {
    if (now - this.lastSweep < this.options.sweepEveryMs) return;
    this.lastSweep = now;
    const { ids, deliveries } = await this.options.outbox.stale(now - this.options.staleAfterMs);
    const at = this.clock();
    const muted = (d: Delivery) => {
      const routes = matchRoutes(this.options.tree, d.notification).filter((r) => r.receiver === d.receiver);
      return routes.length > 0 && routes.every((r) => routeMuted(r, at) !== undefined);
    };
    const kept: Delivery[] = [];
    const send: Delivery[] = [];
    for (const d of deliveries) (muted(d) ? kept : send).push(d);
    await this.options.outbox.refresh(kept);
    await this.enqueue(outboxGroups(this.options.tree, send));
    const keptIds = new Set(kept.map((d) => deliveryId(d.notification.id, d.receiver)));
    await this.options.outbox.release(ids.filter((id) => !keptIds.has(id)));
    if (send.length > 0)
      this.options.log(`outbox: ${send.length} held delivery(ies) of a stopped worker enqueued`);
  }

  private async enqueue(groups: readonly FlushGroup[]): Promise<string[]> {
    if (groups.length === 0) return [];
    const ids = await enqueueFlush(this.options.deliver, groups);
    this.counts.deliveries += ids.length;
    return ids;
  }
}

/**
 * Swept deliveries in the groups they were held for: under its receiver, the group the notification's
 * route puts it in, as the stopped worker's flush would have sent it; a group of its own when no route
 * sends it to that receiver any more. One group of everything swept made one email of hundreds of
 * alerts, which a relay may refuse for good (552).
 */
function outboxGroups(tree: Route, deliveries: readonly Delivery[]): FlushGroup[] {
  const groups = new Map<string, FlushGroup & { notifications: Notification[] }>();
  for (const { receiver, notification } of deliveries) {
    const at = placements(tree, notification).find((p) => p.route.receiver === receiver);
    const groupKey = at?.key ?? `outbox:${notification.id}`;
    const id = `${receiver}\u0000${groupKey}`;
    const group = groups.get(id);
    if (group) group.notifications.push(notification);
    else groups.set(id, { receiver, groupKey, groupLabels: at?.labels ?? {}, notifications: [notification] });
  }
  return [...groups.values()];
}

/** The distinct receivers of the matched routes. */
function receiversOf(routes: readonly Route[]): string[] {
  return [...new Set(routes.map((r) => r.receiver))];
}
