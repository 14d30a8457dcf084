import type { RedisConnection } from "../queues.js";
import type { SelCursor } from "./read.js";

/*
 * Reconciliation state in Redis, so that a restart or another lease holder goes on where the last
 * sweep stopped:
 *   <prefix>:sel-cursor   hash   BMC name → SelProgress as JSON (the cursor and the records pending)
 *   <prefix>:bmc-sel      hash   BMC name → SelState as JSON (what /api/bmcs and /metrics show)
 */

/** A record that should have alerted, waiting for its PET until `dueAt`. */
export interface PendingRecord {
  recordId: number;
  /** Its 16 bytes, hex. */
  record: string;
  /** The PEF severity code its PET carries (record-event.ts alertSeverity). */
  severity: number;
  /** When it was read (ms): `dueAt` is that plus `sel.pet_grace`. */
  readAt: number;
  dueAt: number;
}

export interface SelProgress {
  cursor: SelCursor;
  pending: PendingRecord[];
}

/**
 * One BMC's SEL as /api/bmcs shows it under `sel`: records alerted from the SEL because their PET
 * never arrived, the newest record read and when; SEL health (sel/health.ts) adds its fill fields.
 */
export interface SelState {
  petsMissed: number;
  lastRecordId?: number;
  /** ISO-8601. */
  lastReadAt?: string;
  [fill: string]: unknown;
}

const progressKey = (prefix: string) => `${prefix}:sel-cursor`;
export const selStateKey = (prefix: string) => `${prefix}:bmc-sel`;

export async function readProgress(
  redis: RedisConnection,
  prefix: string,
  bmc: string,
): Promise<{ progress: SelProgress | undefined; state: SelState }> {
  const [progress, state] = await Promise.all([
    redis.hget(progressKey(prefix), bmc),
    redis.hget(selStateKey(prefix), bmc),
  ]);
  return {
    progress: progress === null ? undefined : (JSON.parse(progress) as SelProgress),
    state: state === null ? { petsMissed: 0 } : (JSON.parse(state) as SelState),
  };
}

/** Both at once (MULTI): a cursor is never ahead of the count of what it passed. */
export async function writeProgress(
  redis: RedisConnection,
  prefix: string,
  bmc: string,
  progress: SelProgress,
  state: SelState,
): Promise<void> {
  await redis
    .multi()
    .hset(progressKey(prefix), bmc, JSON.stringify(progress))
    .hset(selStateKey(prefix), bmc, JSON.stringify(state))
    .exec();
}

/** Every BMC's SEL state, by name (for processes that do not sweep: HTTP, metrics). */
export async function readSelStates(redis: RedisConnection, prefix: string): Promise<Map<string, SelState>> {
  const all = await redis.hgetall(selStateKey(prefix));
  return new Map(Object.entries(all).map(([name, json]) => [name, JSON.parse(json) as SelState]));
}
