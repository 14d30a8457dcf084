import { createRedis, type RedisTarget } from "../pipeline/queues.js";

/** Start-up stopped by a signal: what had started was stopped again (the spool flushed). */
export class StartAborted extends Error {
  override name = "StartAborted";
  constructor() {
    super("stopped during start-up");
  }
}

/**
 * How long a step stopped by a signal may take to settle and stop before start-up gives up on it:
 * serve then stops the rest, releases the data dir and the process exits, ending the step with it.
 */
export const ABORT_GRACE_MS = 5_000;

/**
 * A start-up step that gives way to a signal: once `signal` aborts, what the step still makes is
 * handed to `stop`, and only when that is done (or after `graceMs`) does it reject with
 * StartAborted — so that serve stops the rest, and releases the data dir, after the step, not while
 * it still runs (an intake replaying the spool).
 */
export function untilAborted<T>(
  step: Promise<T>,
  signal: AbortSignal | undefined,
  stop: (started: T) => Promise<unknown>,
  graceMs = ABORT_GRACE_MS,
): Promise<T> {
  if (!signal) return step;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((given) => {
        timer = setTimeout(given, graceMs);
      });
      const stopped = step.then(stop).catch(() => undefined);
      void Promise.race([stopped, grace]).then(() => {
        clearTimeout(timer);
        reject(new StartAborted());
      });
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    // Once aborted, the outcome is onAbort's: the step's value goes to `stop`, its error nowhere.
    step
      .then(
        (value) => signal.aborted || resolve(value),
        (err: unknown) => signal.aborted || reject(err),
      )
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Resolves once Redis answers. While it does not, says once what it waits for (`endpoint` is shown
 * as given: the caller passes it without a password) and why, e.g. "connect ECONNREFUSED".
 */
export async function waitForRedis(
  target: RedisTarget,
  endpoint: string,
  signal: AbortSignal | undefined,
  log: (message: string) => void,
): Promise<void> {
  const redis = createRedis(target, "producer");
  let said = false;
  redis.on("error", (err: Error) => {
    if (said) return;
    said = true;
    log(`waiting for Redis at ${endpoint} (${err.message}): the workers and HTTP start when it answers`);
  });
  // Nothing to wait for on a signal: the connection below is all there is to stop.
  let aborted: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    redis.once("ready", () => resolve());
    aborted = () => reject(new StartAborted());
  });
  if (signal?.aborted) aborted();
  signal?.addEventListener("abort", aborted, { once: true });
  try {
    await ready;
    if (said) log(`Redis at ${endpoint} answers`);
  } finally {
    signal?.removeEventListener("abort", aborted);
    redis.disconnect();
  }
}
