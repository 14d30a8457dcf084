import { randomUUID } from "node:crypto";
import { type Matcher, MatcherError, parseMatcher } from "../../config/matchers.js";
import type { RedisConnection } from "../queues.js";
import { notificationOf, type Stage } from "../stage.js";
import type { Notification } from "./notification.js";
import { allMatch, notificationLabels } from "./route.js";

/*
 * Silences after Alertmanager's silence/silence.go: a set of matchers and a time range; a
 * notification all of whose labels (notificationLabels, route.ts) satisfy every matcher of a silence
 * active at that time is not sent. Expiring a silence ends it now; an expired silence is kept for
 * `retentionMs` (Alertmanager's --data.retention, 120h by default) so that `list --all` shows it,
 * then dropped.
 *
 * Redis keys (one prefix, like the queues):
 *   <prefix>:silences        hash    id → the silence as JSON
 *   <prefix>:silences:ends   zset    id scored by endsAt (ms), to find what is past retention
 */

export interface Silence {
  id: string;
  /** Matcher strings as given, `bmc="bmc-07"`; all must match. */
  matchers: string[];
  /** ISO-8601. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  updatedAt: string;
}

export type SilenceState = "pending" | "active" | "expired";

export type SilenceErrorCode =
  | "invalid-matcher"
  | "matches-everything"
  | "invalid-time"
  | "missing-field"
  | "not-found"
  | "already-expired";

export class SilenceError extends Error {
  override name = "SilenceError";
  constructor(
    readonly code: SilenceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface NewSilence {
  matchers: string[];
  /** ms since the epoch; default now. */
  startsAt?: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export const SILENCE_RETENTION_MS = 120 * 3_600_000;

export function silenceState(s: Silence, now: number): SilenceState {
  if (Date.parse(s.endsAt) <= now) return "expired";
  return Date.parse(s.startsAt) > now ? "pending" : "active";
}

/**
 * The matchers of a silence, checked: each parses, and not all of them match a notification with
 * no labels at all (Alertmanager's rule: such a silence would mute everything).
 */
export function silenceMatchers(texts: readonly string[]): Matcher[] {
  if (texts.length === 0) throw new SilenceError("missing-field", "a silence needs at least one matcher");
  const matchers = texts.map((t) => {
    try {
      return parseMatcher(t);
    } catch (err) {
      if (err instanceof MatcherError) throw new SilenceError("invalid-matcher", err.message);
      throw err;
    }
  });
  if (allMatch(matchers, {}))
    throw new SilenceError(
      "matches-everything",
      "every matcher matches the empty string: the silence would mute every notification",
    );
  return matchers;
}

/** The silences (from `silences`) that mute `n` at `now`. Pure: for a snapshot from list(). */
export function silencedBy(silences: readonly Silence[], n: Notification, now: number): Silence[] {
  const labels = notificationLabels(n);
  return silences.filter(
    (s) => silenceState(s, now) === "active" && allMatch(s.matchers.map(parseMatcher), labels),
  );
}

export class SilenceStore {
  private readonly hashKey: string;
  private readonly endsKey: string;
  private readonly retentionMs: number;
  /** The read of the silences in flight, shared by its callers meanwhile. */
  private reading: Promise<Silence[]> | undefined;

  /** On a connection the caller owns (and closes). */
  constructor(
    private readonly redis: RedisConnection,
    options: { prefix?: string; retentionMs?: number } = {},
  ) {
    const prefix = options.prefix ?? "petgate";
    this.hashKey = `${prefix}:silences`;
    this.endsKey = `${prefix}:silences:ends`;
    this.retentionMs = options.retentionMs ?? SILENCE_RETENTION_MS;
  }

  async add(input: NewSilence, now: number): Promise<Silence> {
    silenceMatchers(input.matchers);
    if (input.createdBy.trim() === "") throw new SilenceError("missing-field", "a silence needs an author");
    if (input.comment.trim() === "") throw new SilenceError("missing-field", "a silence needs a comment");
    const startsAt = Math.max(input.startsAt ?? now, now);
    if (!representable(input.endsAt) || !representable(startsAt))
      throw new SilenceError(
        "invalid-time",
        `start and end must be valid times, no later than ${iso(MAX_TIME_MS)} (the latest a date can be)`,
      );
    if (input.endsAt <= startsAt)
      throw new SilenceError("invalid-time", "the silence would end before it starts (or now)");
    const silence: Silence = {
      id: randomUUID(),
      matchers: [...input.matchers],
      startsAt: iso(startsAt),
      endsAt: iso(input.endsAt),
      createdBy: input.createdBy,
      comment: input.comment,
      updatedAt: iso(now),
    };
    await this.write(silence);
    await this.purge(now);
    return silence;
  }

  async get(id: string): Promise<Silence | undefined> {
    const json = await this.redis.hget(this.hashKey, id);
    return json === null ? undefined : (JSON.parse(json) as Silence);
  }

  /** Pending and active silences; with `all`, also the expired ones still retained. Ordered by end. */
  async list(now: number, options: { all?: boolean } = {}): Promise<Silence[]> {
    await this.purge(now);
    return (await this.all())
      .filter((s) => options.all === true || silenceState(s, now) !== "expired")
      .sort((a, b) => Date.parse(a.endsAt) - Date.parse(b.endsAt) || a.id.localeCompare(b.id));
  }

  /** Every stored silence, as read (silencedBy tells the active ones apart). */
  private async all(): Promise<Silence[]> {
    return Object.values(await this.redis.hgetall(this.hashKey)).map((j) => JSON.parse(j) as Silence);
  }

  /** Ends a silence now (a pending one never starts). */
  async expire(id: string, now: number): Promise<Silence> {
    const silence = await this.get(id);
    if (!silence) throw new SilenceError("not-found", `no silence ${id}`);
    if (silenceState(silence, now) === "expired")
      throw new SilenceError("already-expired", `silence ${id} already expired at ${silence.endsAt}`);
    const expired: Silence = {
      ...silence,
      startsAt: iso(Math.min(Date.parse(silence.startsAt), now)),
      endsAt: iso(now),
      updatedAt: iso(now),
    };
    await this.write(expired);
    return expired;
  }

  async isSilenced(n: Notification, now: number): Promise<boolean> {
    return (await this.muting(now))(n);
  }

  /**
   * Whether a notification is muted at `now`, over one read of the silences, their matchers parsed
   * once: an events worker asks once per batch, not per notification.
   */
  async muting(now: number): Promise<(n: Notification) => boolean> {
    const active = (await this.read())
      .filter((s) => silenceState(s, now) === "active")
      .map((s) => s.matchers.map(parseMatcher));
    if (active.length === 0) return () => false;
    return (n) => {
      const labels = notificationLabels(n);
      return active.some((matchers) => allMatch(matchers, labels));
    };
  }

  /** Every stored silence; callers asking while a read is in flight share it. */
  private read(): Promise<Silence[]> {
    this.reading ??= this.all().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async write(s: Silence): Promise<void> {
    await this.redis
      .multi()
      .hset(this.hashKey, s.id, JSON.stringify(s))
      .zadd(this.endsKey, Date.parse(s.endsAt), s.id)
      .exec();
  }

  /** Drops the silences that expired more than retentionMs ago. */
  private async purge(now: number): Promise<void> {
    const old = await this.redis.zrangebyscore(this.endsKey, "-inf", `(${now - this.retentionMs}`);
    if (old.length === 0) return;
    await this.redis
      .multi()
      .hdel(this.hashKey, ...old)
      .zrem(this.endsKey, ...old)
      .exec();
  }
}

/** ECMA-262 §21.4.1.1: a time value is at most 8.64e15 ms either side of the epoch. */
const MAX_TIME_MS = 8.64e15;

/**
 * Silences, read once per batch (one HGETALL, none for a batch with nothing left to silence): a
 * silence added or expired applies from the next batch on, with no cache to invalidate. A muted
 * notification stops here ("silenced").
 */
export function silenceStage(silences: SilenceStore, clock: () => number = Date.now): Stage {
  return {
    name: "silence",
    async exec(items) {
      if (items.length === 0) return items;
      const muted = await silences.muting(clock());
      return items.filter((item) => {
        if (!muted(notificationOf(item))) return true;
        item.outcome = "silenced";
        return false;
      });
    },
  };
}

function representable(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
