import { Agent, request } from "undici";

/*
 * The HTTP POST both HTTP receivers (webhook, Alertmanager) make: undici's request() — a fraction of
 * fetch's cost per call — on the receiver's own keep-alive pool with a bounded number of connections;
 * AbortSignal.timeout bounds connect, headers and body together. Redirects are not followed.
 */

/**
 * Connections to one receiver at once; further requests wait for one. A delivery job sends its
 * groups at once, so without a bound a burst of one-alert groups (group_by ['...']) opened a
 * connection per request: their set-up cost more CPU than the requests.
 */
const RECEIVER_CONNECTIONS = 64;

/** A receiver's keep-alive pool; close it with the sink. */
export function receiverAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: RECEIVER_CONNECTIONS });
}

export type PostOutcome =
  | { answered: true; status: number; text: string; retryAfterMs: number | undefined }
  /** No answer: "no answer within N ms", or "network error: ECONNREFUSED" (the system error code). */
  | { answered: false; reason: string };

export async function post(
  agent: Agent,
  url: string | URL,
  headers: Record<string, string>,
  body: Buffer | string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, { method: "POST", headers, body, signal, dispatcher: agent });
    const text = await res.body.text();
    const retryAfter = res.headers["retry-after"];
    const value = Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null);
    return { answered: true, status: res.statusCode, text, retryAfterMs: parseRetryAfter(value) };
  } catch (err) {
    if (signal.aborted) return { answered: false, reason: `no answer within ${timeoutMs} ms` };
    return { answered: false, reason: `network error: ${networkCause(err)}` };
  }
}

/** RFC 9110 §15: statuses where the same request may succeed later. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds, or undefined
 * when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A receiver's answer for a reason: whitespace runs as one space, at most `max` characters. */
export function snippet(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** The system error code of a failed request (ECONNREFUSED, ECONNRESET, …), else its message. */
function networkCause(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  return err instanceof Error ? err.message : String(err);
}
