import { eachAtMost } from "../../io/each.js";
import { DEFAULT_DEADLINE_MS, type EnrichContext } from "./enrich.js";

/** BMCs readied at once. */
const WARM_CONCURRENCY = 8;

export interface Warmed {
  /** Inventory BMCs whose SDR repository is cached now. */
  warmed: number;
  of: number;
  ms: number;
}

/**
 * Readies enrichment for the first storm after a start: each inventory BMC's session is opened and
 * its SDR repository read, WARM_CONCURRENCY BMCs at a time. Without it the first PET of each BMC
 * waits for both (a session set-up, a few dozen Get SDR), and a storm right after a start queues
 * behind a hundred of them: seconds. Best effort: a
 * BMC that does not answer within an event's deadline (the repository read has SdrCache's own
 * budget) is left to the events, and the breaker is not told; `stopped` ends it early.
 */
export async function warmEnrichment(ctx: EnrichContext, stopped: () => boolean): Promise<Warmed> {
  const started = performance.now();
  let warmed = 0;
  await eachAtMost(ctx.inventory, WARM_CONCURRENCY, async (target) => {
    if (stopped() || !ctx.breaker.allow(target.name)) return;
    const client = ctx.pool.get(target);
    const deadline = Date.now() + (ctx.deadlineMs ?? DEFAULT_DEADLINE_MS);
    try {
      await ctx.sdr.records(target.name, client, deadline);
      warmed++;
    } catch {
      // Not there now: its first event asks again.
    }
  });
  return { warmed, of: ctx.inventory.length, ms: Math.round(performance.now() - started) };
}
