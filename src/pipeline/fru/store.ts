import type { BmcFru } from "../../ipmi/fru.js";
import type { RedisConnection } from "../queues.js";

/*
 * FRU identities in Redis, read by the health lease holder and shown by every process:
 *   <prefix>:bmc-fru   hash   BMC name → CachedFru as JSON
 */

export interface CachedFru {
  fru: BmcFru;
  /** When the whole inventory was last read (ISO-8601). */
  readAt: string;
  /** What tells a changed layout cheaply: Get FRU Inventory Area Info's size and the common header (hex). */
  size: number;
  header: string;
  /** What the decoder kept raw or skipped. */
  warnings: string[];
}

export const fruKey = (prefix: string) => `${prefix}:bmc-fru`;

export async function writeFru(
  redis: RedisConnection,
  prefix: string,
  bmc: string,
  cached: CachedFru,
): Promise<void> {
  await redis.hset(fruKey(prefix), bmc, JSON.stringify(cached));
}

/** The cached FRUs of `bmcs` (one HMGET), or of every BMC (HGETALL) when not given. */
export async function readFrus(
  redis: RedisConnection,
  prefix: string,
  bmcs?: readonly string[],
): Promise<Map<string, CachedFru>> {
  if (bmcs === undefined) {
    const all = await redis.hgetall(fruKey(prefix));
    return new Map(Object.entries(all).map(([name, json]) => [name, JSON.parse(json) as CachedFru]));
  }
  const unique = [...new Set(bmcs)];
  if (unique.length === 0) return new Map();
  const values = await redis.hmget(fruKey(prefix), ...unique);
  const out = new Map<string, CachedFru>();
  unique.forEach((name, i) => {
    const json = values[i];
    if (json) out.set(name, JSON.parse(json) as CachedFru);
  });
  return out;
}
