import type { Notification } from "./notification.js";
import {
  alertFingerprint,
  isOneShot,
  notificationLabels,
  type Route,
  routeMuted,
  routesFor,
  STATUS_LABELS,
} from "./route.js";

/*
 * Aggregation groups after Alertmanager's dispatch/dispatch.go: a route's notifications are split
 * into groups by the values of its group_by labels, and each group is sent as one batch.
 *   - A new group waits group_wait for more notifications before its first batch.
 *   - Then it is looked at every group_interval: if anything changed since its last batch (a new
 *     alert, an alert resolved), the changes go out. Alertmanager resends the whole group; petgate's
 *     sinks take one notification at a time, so a batch carries only what the receiver was not sent
 *     (resending the rest would only collapse into delivered markers, at a Redis round trip each).
 *   - If nothing changed, its firing alerts are resent once repeat_interval has passed since the
 *     last batch (so at the first group_interval tick after that).
 *   - A resolved notification replaces its alert's firing one (same alertFingerprint), is sent, and
 *     leaves the group; a group left empty is gone, and the next notification for it starts a new
 *     group (with group_wait again). It is not sent when it replaced the firing one here before that
 *     went out: the receiver never heard the alert fire. A group only knows what its own process
 *     sent, so a resolved notification whose firing one another worker process sent is sent.
 *   - A one-shot (a generic trap without a rule's key: nothing resolves it) is sent once and then
 *     leaves the group, as a resolved notification does: it is never repeated.
 *   - While the group's route is muted (its mute_time_intervals, or outside its
 *     active_time_intervals: routeMuted), a flush sends nothing, as Alertmanager's time mute stages
 *     stop its pipeline. Its firing alerts wait, and go out at the first flush after the mute ends;
 *     so do resolved ones whose firing was sent before it. An alert that fired and resolved within
 *     the mute is never sent, nor is a one-shot that came during it; no repeat is sent while muted.
 * Pure: no timers. The caller calls due(now) at nextDue() (or on any tick) and sends what it returns.
 * Groups wait in a binary heap by when they are next due, so due() and nextDue() cost what is due, not
 * what is held: with group_by ['...'] every alert is a group, and firing ones stay. A group with
 * nothing changed and nothing muted rests until the tick at which its repeat falls due, instead of
 * being looked at every group_interval to find nothing (held a million alerts under a 1 s
 * group_interval, that alone took more than a core); a notification added to it brings it back to
 * its next tick. The heap is lazy: a group's earlier entry is skipped once it has a newer one.
 */

/** What one receiver is sent for one group at once. */
export interface Batch {
  readonly receiver: string;
  readonly route: Route;
  /** The route and the group label values: stable across the group's batches. */
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  /**
   * The alerts that changed since the group's last batch (fired, or resolved after the receiver was
   * told they fired), oldest first; on a repeat, every firing alert.
   */
  readonly notifications: readonly Notification[];
}

/**
 * Where a notification goes under one route that takes it: the group, by its labels and key. Worked
 * out once per notification and route (placements), for flushAt and add.
 */
export interface Placement {
  readonly route: Route;
  readonly key: string;
  readonly labels: Record<string, string>;
}

/** The routes that take `n` (matchRoutes), each with the group `n` joins under it. */
export function placements(tree: Route, n: Notification): Placement[] {
  const labels = notificationLabels(n);
  // group_by ['...'] gives every route that has it the same labels: sorted once.
  let all: { values: Record<string, string>; json: string } | undefined;
  return routesFor(tree, labels).map((route) => {
    if (!route.groupByAll) {
      const values = groupLabels(route, labels);
      return { route, labels: values, key: `${route.id}:${JSON.stringify(values)}` };
    }
    if (!all) {
      const values = groupLabels(route, labels);
      all = { values, json: JSON.stringify(values) };
    }
    return { route, labels: all.values, key: `${route.id}:${all.json}` };
  });
}

/** One notification for one receiver (held in the outbox, or discarded by a group). */
export interface Delivery {
  readonly receiver: string;
  readonly notification: Notification;
}

interface Group {
  readonly key: string;
  readonly route: Route;
  readonly labels: Record<string, string>;
  /** The latest notification of each alert, by alertFingerprint. */
  readonly alerts: Alerts;
  /*
   * These two are there only while they have members (mark/unmark): most groups hold a sent firing
   * alert and wait for its repeat, and an empty Set costs as much heap as the rest of such a group.
   */
  /** Alerts whose firing notification a resolved one replaced before it went out (never to be sent). */
  unsentFiring: Set<string> | undefined;
  /** Alerts whose latest notification the receiver has not been sent. */
  changed: Set<string> | undefined;
  nextFlushAt: number;
  /** Its live entry in the heap (an older one there is stale). */
  entry: DueEntry | undefined;
  /** When due() last looked at it: its group_interval ticks count from there. */
  lookedAt: number | undefined;
  lastSentAt: number | undefined;
}

/** A group in the heap, due at `at`. */
interface DueEntry {
  readonly group: Group;
  readonly at: number;
}

export class Grouper {
  private readonly groups = new Map<string, Group>();
  private readonly waiting = new DueHeap();
  private discarded: Delivery[] = [];
  private mutedHeld: Delivery[] = [];

  /**
   * When the group `notification` would join under `route` is next looked at (ms): now + group_wait
   * for a new group. At or before now: due() would send it at once. The caller's `now`, so that a
   * millisecond passing between its clock read and ours never makes a group_wait 0 group wait.
   */
  flushAt({ route, key }: Placement, now: number): number {
    const group = this.groups.get(key);
    if (!group) return now + route.groupWaitMs;
    return Math.min(group.nextFlushAt, nextTick(group, now));
  }

  /**
   * Puts a notification into its group under a route (one of its placements), arrived at `now` (the
   * caller's, the same it asked flushAt with: a new group is due at now + group_wait).
   */
  add(notification: Notification, { route, labels, key }: Placement, now: number): void {
    let group = this.groups.get(key);
    if (!group) {
      group = {
        key,
        route,
        labels,
        alerts: new Alerts(),
        unsentFiring: undefined,
        changed: undefined,
        nextFlushAt: now + route.groupWaitMs,
        entry: undefined,
        lookedAt: undefined,
        lastSentAt: undefined,
      };
      this.groups.set(key, group);
      this.schedule(group);
    }
    const fingerprint = alertFingerprint(notification);
    const held = group.alerts.get(fingerprint);
    if (held?.id === notification.id) return; // a redelivery changes nothing
    const receiver = route.receiver;
    // A late copy of the firing notification must not undo its resolution.
    if (
      held?.status === "resolved" &&
      notification.status === "firing" &&
      held.startsAt === notification.startsAt
    ) {
      this.discarded.push({ receiver, notification });
      return;
    }
    // Replaced before its batch went out: `held` never will.
    if (held && group.changed?.has(fingerprint)) {
      this.discarded.push({ receiver, notification: held });
      if (held.status === "firing" && notification.status === "resolved")
        mark(group, "unsentFiring", fingerprint);
    }
    if (notification.status === "firing") unmark(group, "unsentFiring", fingerprint);
    group.alerts.set(fingerprint, notification);
    mark(group, "changed", fingerprint);
    // A resting group is looked at again at its next tick.
    const tick = nextTick(group, now);
    if (tick < group.nextFlushAt) {
      group.nextFlushAt = tick;
      this.schedule(group);
    }
  }

  /** The batches due at `now`, in the order their groups fell due. */
  due(now: number): Batch[] {
    // Taken out first, put back after: a group_interval of 0 must not make a group due twice.
    const ready: Group[] = [];
    for (let e = this.waiting.peek(); e && e.at <= now; e = this.waiting.peek()) {
      this.waiting.pop();
      if (e.group.entry === e) ready.push(e.group);
    }
    const batches: Batch[] = [];
    for (const group of ready) {
      const batch = this.flush(group, now);
      if (batch) batches.push(batch);
      group.lookedAt = now;
      if (group.alerts.size === 0) {
        this.groups.delete(group.key);
        group.entry = undefined;
        continue;
      }
      // Nothing changed, nothing held by a mute: it rests until its repeat.
      const repeatAt =
        group.lastSentAt === undefined ? undefined : group.lastSentAt + group.route.repeatIntervalMs;
      const resting =
        repeatAt !== undefined && group.changed === undefined && routeMuted(group.route, now) === undefined;
      group.nextFlushAt = resting ? nextTick(group, repeatAt) : now + group.route.groupIntervalMs;
      this.schedule(group);
    }
    return batches;
  }

  private schedule(group: Group): void {
    const entry = { group, at: group.nextFlushAt };
    group.entry = entry;
    this.waiting.push(entry);
  }

  /**
   * What every group holds that its receiver has not been sent, at once, whenever the groups would
   * fall due (a closing worker hands them over). No repeats: what was sent is not sent again.
   */
  drain(now: number): Batch[] {
    const groups = [...this.groups.values()].sort((a, b) => a.nextFlushAt - b.nextFlushAt);
    return groups.flatMap((group) => this.flush(group, now, false) ?? []);
  }

  private flush(group: Group, now: number, repeats = true): Batch | undefined {
    if (routeMuted(group.route, now) !== undefined) {
      this.holdMuted(group);
      return undefined;
    }
    const alerts = group.alerts.entries();
    const firing = alerts.filter(([, n]) => n.status === "firing");
    const repeat =
      repeats &&
      group.lastSentAt !== undefined &&
      now - group.lastSentAt >= group.route.repeatIntervalMs &&
      firing.length > 0;
    const { changed, unsentFiring } = group;
    if (!changed && !repeat) return undefined;
    const send = alerts.filter(
      ([fp, n]) => (repeat || changed?.has(fp)) && (n.status === "firing" || !unsentFiring?.has(fp)),
    );
    for (const [fp, n] of alerts) {
      if (n.status === "firing" && !isOneShot(n)) continue;
      // Resolved, and not sent because the receiver never heard it fire: dropped.
      if (unsentFiring?.has(fp) && changed?.has(fp))
        this.discarded.push({ receiver: group.route.receiver, notification: n });
      group.alerts.delete(fp);
      unmark(group, "unsentFiring", fp);
    }
    group.changed = undefined;
    if (send.length === 0) return undefined;
    group.lastSentAt = now;
    return {
      receiver: group.route.receiver,
      route: group.route,
      groupKey: group.key,
      groupLabels: group.labels,
      notifications: send
        .map(([, n]) => n)
        .sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id)),
    };
  }

  /** A muted flush: what must never go out is dropped, the rest of what changed waits. */
  private holdMuted(group: Group): void {
    const receiver = group.route.receiver;
    for (const fp of group.changed ?? []) {
      const n = group.alerts.get(fp) as Notification;
      if (isOneShot(n) || (n.status === "resolved" && group.unsentFiring?.has(fp))) {
        this.discarded.push({ receiver, notification: n });
        group.alerts.delete(fp);
        unmark(group, "unsentFiring", fp);
        unmark(group, "changed", fp);
      } else {
        this.mutedHeld.push({ receiver, notification: n });
      }
    }
  }

  /** What muted flushes kept waiting since the last call (to be held where a crash cannot lose it). */
  takeMuted(): Delivery[] {
    const out = this.mutedHeld;
    this.mutedHeld = [];
    return out;
  }

  /**
   * The notifications that will never go out to their receiver (replaced by a newer one of the same
   * alert before their batch, resolved before the receiver heard them fire, a late copy of a firing
   * already resolved), since the last call.
   */
  takeDiscarded(): Delivery[] {
    const out = this.discarded;
    this.discarded = [];
    return out;
  }

  /** When due() next has something to look at (ms), or undefined with no groups. */
  nextDue(): number | undefined {
    // Stale entries on top would wake the caller for nothing.
    for (let e = this.waiting.peek(); e && e.group.entry !== e; e = this.waiting.peek()) this.waiting.pop();
    return this.waiting.peek()?.at;
  }

  /** Groups currently held. */
  get size(): number {
    return this.groups.size;
  }
}

/**
 * The first of the group's group_interval ticks, counted from when due() last looked at it, at or
 * after `at`; one group_interval after that look at the soonest. A group due() never looked at is due
 * at the end of its group_wait.
 */
function nextTick(group: Group, at: number): number {
  if (group.lookedAt === undefined) return group.nextFlushAt;
  const interval = group.route.groupIntervalMs;
  if (interval <= 0) return Math.max(at, group.lookedAt);
  return group.lookedAt + interval * Math.max(1, Math.ceil((at - group.lookedAt) / interval));
}

function mark(group: Group, set: "changed" | "unsentFiring", fingerprint: string): void {
  const members = group[set] ?? new Set();
  members.add(fingerprint);
  group[set] = members;
}

function unmark(group: Group, set: "changed" | "unsentFiring", fingerprint: string): void {
  const members = group[set];
  if (members?.delete(fingerprint) && members.size === 0) group[set] = undefined;
}

/**
 * A group's alerts by fingerprint, in the order they came: one held in place, more in a Map. With
 * group_by ['...'] a group has one alert, and a Map of one would cost more heap than the alert's
 * group does without it.
 */
class Alerts {
  private fingerprint: string | undefined;
  private notification: Notification | undefined;
  private map: Map<string, Notification> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.fingerprint === undefined ? 0 : 1;
  }

  get(fingerprint: string): Notification | undefined {
    if (this.map) return this.map.get(fingerprint);
    return fingerprint === this.fingerprint ? this.notification : undefined;
  }

  set(fingerprint: string, notification: Notification): void {
    if (this.map) this.map.set(fingerprint, notification);
    else if (this.fingerprint === undefined || this.fingerprint === fingerprint) {
      this.fingerprint = fingerprint;
      this.notification = notification;
    } else {
      this.map = new Map([
        [this.fingerprint, this.notification as Notification],
        [fingerprint, notification],
      ]);
      this.fingerprint = undefined;
      this.notification = undefined;
    }
  }

  delete(fingerprint: string): void {
    if (this.map) this.map.delete(fingerprint);
    else if (fingerprint === this.fingerprint) {
      this.fingerprint = undefined;
      this.notification = undefined;
    }
  }

  /** A copy: the caller may delete while it walks them. */
  entries(): [string, Notification][] {
    if (this.map) return [...this.map];
    return this.fingerprint === undefined ? [] : [[this.fingerprint, this.notification as Notification]];
  }
}

/** Groups by when they are next due, then by key (a stable order among groups due at once). */
class DueHeap {
  private readonly heap: DueEntry[] = [];

  peek(): DueEntry | undefined {
    return this.heap[0];
  }

  push(entry: DueEntry): void {
    const heap = this.heap;
    heap.push(entry);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as DueEntry, heap[parent] as DueEntry)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): DueEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let first = i;
      if (left < heap.length && before(heap[left] as DueEntry, heap[first] as DueEntry)) first = left;
      if (right < heap.length && before(heap[right] as DueEntry, heap[first] as DueEntry)) first = right;
      if (first === i) break;
      this.swap(i, first);
      i = first;
    }
    return top;
  }

  private swap(i: number, j: number): void {
    const heap = this.heap;
    [heap[i], heap[j]] = [heap[j] as DueEntry, heap[i] as DueEntry];
  }
}

function before(a: DueEntry, b: DueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.group.key < b.group.key);
}

function groupLabels(route: Route, labels: Record<string, string>): Record<string, string> {
  if (route.groupByAll)
    return Object.fromEntries(
      Object.entries(labels)
        .filter(([k]) => !STATUS_LABELS.has(k))
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  return Object.fromEntries(route.groupBy.map((k) => [k, labels[k] ?? ""]));
}
