import type { Execute } from "./commands/command.js";
import { getSelTime, setSelTime } from "./commands/storage.js";

/** SEL times up to 20000000h count seconds from BMC initialization, not from 1970 (IPMI 2.0 §37). */
const PRE_INIT_MAX = 0x20000000;

/** A BMC's SEL clock against petgate's. */
export interface SelClock {
  /** What Get SEL Time answered (IPMI 2.0 §31.10). */
  bmcTime: number;
  /** BMC minus petgate, whole seconds: positive = the BMC runs ahead. */
  skewSeconds: number;
}

/** Reads the SEL clock; petgate's clock is taken halfway through the exchange. */
export async function readSelClock(execute: Execute, now: () => number = Date.now): Promise<SelClock> {
  const sent = now();
  const { time } = await execute(getSelTime, undefined);
  const halfway = (sent + now()) / 2;
  return { bmcTime: time, skewSeconds: Math.round(time - halfway / 1000) };
}

/** Set SEL Time to petgate's clock (IPMI 2.0 §31.11); resolves with the time set. */
export async function syncSelClock(execute: Execute, now: () => number = Date.now): Promise<number> {
  const time = Math.round(now() / 1000);
  await execute(setSelTime, { time });
  return time;
}

/** A SEL time for people: ISO 8601 UTC, or seconds since initialization for a clock never set. */
export function formatSelTime(time: number): string {
  if (time <= PRE_INIT_MAX) return `${time} s after BMC initialization (clock not set)`;
  return new Date(time * 1000).toISOString().replace(".000Z", "Z");
}

/** A skew for people: "+3600 s (BMC ahead)", "-2 s (BMC behind)", "0 s". */
export function formatSkew(skewSeconds: number): string {
  if (skewSeconds === 0) return "0 s";
  return skewSeconds > 0 ? `+${skewSeconds} s (BMC ahead)` : `${skewSeconds} s (BMC behind)`;
}
