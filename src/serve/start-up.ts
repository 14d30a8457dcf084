import { createRedis, type RedisTarget } from "../pipeline/queues.js";

/** Start-up stopped by a signal: what had started was stopped again (the spool flushed). */
export class StartAborted extends Error {
  override name = "StartAborted";
  constructor() {
    super("stopped during start-up");
  }
}

/**
 * A start-up step that gives way to a signal: rejects with StartAborted once `signal` aborts. What
 * the step still makes after that is handed to `stop`, so that nothing started is left running.
 */
export function untilAborted<T>(
  step: Promise<T>,
  signal: AbortSignal | undefined,
  stop: (started: T) => Promise<unknown>,
): Promise<T> {
  if (!signal) return step;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(new StartAborted());
      step.then(stop).catch(() => undefined);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    step.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
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
  const ready = new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  try {
    await untilAborted(ready, signal, async () => undefined);
    if (said) log(`Redis at ${endpoint} answers`);
  } finally {
    redis.disconnect();
  }
}
