import type { NotificationBmc } from "../alerting/notification.js";
import type { RedisConnection } from "../queues.js";
import type { Item, Stage } from "../stage.js";
import { readFrus } from "./store.js";

/**
 * Puts each item's BMC's cached FRU identity on it (`bmc.fru`): on an event's enrichment, before
 * the notification is built, or on a notification made in process (health). One HMGET per batch,
 * never an IPMI request: a BMC whose FRU was not read yet has no `fru`.
 */
export function fruStage(redis: RedisConnection, prefix: string): Stage {
  const bmcOf = (item: Item): NotificationBmc | undefined =>
    item.event ? item.enrichment?.bmc : item.notification?.bmc;
  return {
    name: "fru",
    async exec(items) {
      const names = items.map(bmcOf).flatMap((b) => (b ? [b.name] : []));
      const cached = await readFrus(redis, prefix, names);
      for (const item of items) {
        const bmc = bmcOf(item);
        const fru = bmc && cached.get(bmc.name)?.fru;
        if (!bmc || !fru) continue;
        const withFru: NotificationBmc = { ...bmc, fru };
        if (item.event && item.enrichment) item.enrichment = { ...item.enrichment, bmc: withFru };
        else if (item.notification) item.notification = { ...item.notification, bmc: withFru };
      }
      return items;
    },
  };
}
