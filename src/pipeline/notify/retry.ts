import type { DeliveryResult, NotificationGroup, Sink } from "../../sinks/sink.js";

export interface RetryOptions {
  /** Total tries, the first included. */
  attempts?: number;
  /** Backoff before the second try; doubles each time. */
  baseMs?: number;
  /** Cap on any single wait, Retry-After included. */
  maxMs?: number;
  /** Full jitter: wait a uniform random fraction of the backoff. */
  jitter?: boolean;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests; returns [0, 1). */
  random?: () => number;
}

export interface RetryOutcome {
  /** The last attempt's result: delivered, permanent, or retryable when the attempts ran out. */
  result: DeliveryResult;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The wait before try `retry + 1` (retry counts from 1): exponential backoff with full jitter
 * (AWS Architecture Blog, "Exponential Backoff And Jitter"), raised to the receiver's Retry-After,
 * both capped at maxMs.
 */
export function backoffMs(
  retry: number,
  retryAfterMs: number | undefined,
  o: { baseMs: number; maxMs: number; jitter: boolean; random: () => number },
): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** (retry - 1));
  const backoff = o.jitter ? Math.floor(o.random() * exp) : exp;
  return Math.min(o.maxMs, Math.max(backoff, retryAfterMs ?? 0));
}

/**
 * The one retry policy for every sink, per group send: sinks only say whether retrying can help.
 * Stops at once on delivered or permanent; otherwise backs off and tries again until the attempts
 * run out. The caller dead-letters an exhausted retryable result.
 */
export async function deliverWithRetries(
  sink: Sink,
  group: NotificationGroup,
  options: RetryOptions = {},
): Promise<RetryOutcome> {
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError(`attempts must be ≥ 1, not ${attempts}`);
  const policy = {
    baseMs: options.baseMs ?? 500,
    maxMs: options.maxMs ?? 60_000,
    jitter: options.jitter ?? true,
    random: options.random ?? Math.random,
  };
  const sleep = options.sleep ?? defaultSleep;

  let result: DeliveryResult = { outcome: "retryable", reason: "not attempted" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    result = await sendOnce(sink, group);
    if (result.outcome !== "retryable" || attempt === attempts) return { result, attempts: attempt };
    await sleep(backoffMs(attempt, result.retryAfterMs, policy));
  }
  return { result, attempts };
}

/** Sinks report failures as results; one that throws anyway is treated as a transient failure. */
async function sendOnce(sink: Sink, group: NotificationGroup): Promise<DeliveryResult> {
  try {
    return await sink.send(group);
  } catch (err) {
    return {
      outcome: "retryable",
      reason: `sink ${sink.name} threw: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}
