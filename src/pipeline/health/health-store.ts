import type { Notification } from "../alerting/notification.js";
import type { RedisConnection } from "../queues.js";
import { type BmcHealth, withIncidentStart } from "./health.js";

/**
 * BMC health states in Redis, for processes that do not probe (the HTTP role): hash
 * `<prefix>:bmc-health`, field = BMC name, value = the BmcHealth as JSON.
 */
export function healthKey(prefix: string): string {
  return `${prefix}:bmc-health`;
}

/** Every BMC's last published health, by name. */
export async function readHealth(redis: RedisConnection, prefix: string): Promise<BmcHealth[]> {
  const fields = await redis.hgetall(healthKey(prefix));
  return Object.keys(fields)
    .sort()
    .map((name) => JSON.parse(fields[name] as string) as BmcHealth);
}

/**
 * Publishes a monitor's states. Writes are coalesced: only the newest state of each BMC waits, so
 * while Redis is down what is held is one entry per BMC, sent when the connection is ready again.
 * The connection should fail fast (createRedis "producer"); a failed write is logged once per outage.
 */
export class HealthStore {
  private readonly dirty = new Map<string, string>();
  private flushing: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly log: (message: string) => void,
  ) {
    redis.on("ready", () => void this.flush());
  }

  write(health: BmcHealth): void {
    this.dirty.set(health.name, JSON.stringify(health));
    void this.flush();
  }

  /** Resolves when what was written so far has been sent, or has failed (and waits for 'ready'). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.dirty.size === 0) return;
    const batch = new Map(this.dirty);
    this.dirty.clear();
    this.flushing = this.redis.hset(healthKey(this.prefix), Object.fromEntries(batch)).then(
      () => {
        this.failing = false;
      },
      (err: unknown) => {
        // Keep what was not written unless a newer state has come in since.
        for (const [name, value] of batch) if (!this.dirty.has(name)) this.dirty.set(name, value);
        if (!this.failing) this.log(`BMC health states not published: ${(err as Error).message}`);
        this.failing = true;
      },
    );
    await this.flushing;
    this.flushing = undefined;
  }
}

/*
 * One start per incident, whichever monitor reports it (the lease moves between worker processes,
 * and a monitor that takes over may not have seen the incident begin):
 *   <prefix>:bmc-incident   hash   BMC name → start (ISO-8601), with "|resolved" once resolved
 * A firing notification takes the recorded start of an open incident, else records its own; a
 * resolved one takes the open incident's start, and the incident is marked resolved only once the
 * resolution is routed (markResolved): a worker that dies in between leaves it open, and the next
 * lease holder adopts it (openIncidents), so its next probe sends the recovery. Ids follow the start
 * (withIncidentStart), so every copy of the alert is one alert at the receivers.
 */
const FIRING_START = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and not string.find(current, '|resolved', 1, true) then return current end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`;

const RESOLVED_SUFFIX = "|resolved";
const incidentKey = (prefix: string) => `${prefix}:bmc-incident`;

/** `n` (a "BMC unresponsive" notification) dated from its incident's shared start. */
export async function sharedIncidentStart(
  redis: RedisConnection,
  prefix: string,
  n: Notification,
): Promise<Notification> {
  let start: string;
  if (n.status === "firing") {
    start = (await redis.eval(FIRING_START, 1, incidentKey(prefix), n.bmc.name, n.startsAt)) as string;
  } else {
    const current = await redis.hget(incidentKey(prefix), n.bmc.name);
    start = current === null ? n.startsAt : current.replace(RESOLVED_SUFFIX, "");
  }
  return start === n.startsAt ? n : withIncidentStart(n, start);
}

/** Marks the incident `resolved` (a resolved notification, once routed) as resolved. */
export async function markResolved(
  redis: RedisConnection,
  prefix: string,
  resolved: Notification,
): Promise<void> {
  await redis.hset(incidentKey(prefix), resolved.bmc.name, `${resolved.startsAt}${RESOLVED_SUFFIX}`);
}

/** The open incidents (not yet resolved): BMC name → start (ISO-8601). */
export async function openIncidents(redis: RedisConnection, prefix: string): Promise<Map<string, string>> {
  const all = await redis.hgetall(incidentKey(prefix));
  return new Map(Object.entries(all).filter(([, v]) => !v.endsWith(RESOLVED_SUFFIX)));
}
