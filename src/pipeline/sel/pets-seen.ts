import type { SystemEventRecord } from "../../ipmi/sel.js";
import type { PetEvent } from "../../pet/event.js";
import { PET_EPOCH_UNIX } from "../../pet/varbind.js";
import type { RedisConnection } from "../queues.js";
import type { Stage } from "../stage.js";

/*
 * The PETs each BMC's events carried, so that a SEL record whose PET did arrive is not alerted again
 * (reconciliation, sweep.ts):
 *   <prefix>:sel-pets:<bmc>   sorted set, score = when received (ms), member = the PET's fields
 * kept PETS_SEEN_MS and at most MAX_PETS_SEEN per BMC. Each PET answers for one record: a matched
 * member is removed (consume), so two records of the same event have to have two PETs.
 */

/** As long as an event's claim (queues.ts EVENT_DEDUP_WINDOW_MS): a SEL read after a day-long outage still matches. */
export const PETS_SEEN_MS = 24 * 3600 * 1000;
/** A BMC sending more PETs than this within PETS_SEEN_MS keeps the newest. */
export const MAX_PETS_SEEN = 10_000;

export function petsSeenKey(prefix: string, bmc: string): string {
  return `${prefix}:sel-pets:${bmc}`;
}

/**
 * What a PET says of its SEL record (PET 1.0 §3.1): sensor device (the record's generator ID),
 * sensor number, sensor type and event/reading type (null for "NA"), direction, event data 1-3,
 * local timestamp (0 = unspecified) and sequence number; the receive time keeps two copies of one
 * event two members.
 */
export function petMember(pet: PetEvent, receivedAtMs: number): string {
  return [
    pet.sensorDevice,
    pet.sensorNumber,
    pet.sensorType ?? "",
    pet.eventReadingType ?? "",
    pet.eventDirection === "deassertion" ? "d" : "a",
    pet.eventData.slice(0, 6),
    pet.localTimestamp,
    pet.sequence,
    receivedAtMs,
  ].join(":");
}

/**
 * Which of a BMC's PET members is the PET of `record`, if any: the same event (sensor, type when
 * the PET names it, direction, event data 1-3) at the same time, or without a time (0); among
 * those, first one whose sequence number is the record ID (PET 1.0 §3.1 "sequence # / record ID").
 */
export function petOf(members: readonly string[], record: SystemEventRecord): string | undefined {
  const hexData = Buffer.from(record.eventData).toString("hex");
  const direction = record.eventDirection === "deassertion" ? "d" : "a";
  let best: string | undefined;
  for (const member of members) {
    const [device, sensor, type, readingType, dir, data, time, sequence] = member.split(":");
    const localTimestamp = Number(time);
    if (
      Number(device) !== record.generatorId.id ||
      Number(sensor) !== record.sensorNumber ||
      (type !== "" && Number(type) !== record.sensorType) ||
      (readingType !== "" && Number(readingType) !== record.eventType) ||
      dir !== direction ||
      data !== hexData ||
      (localTimestamp !== 0 && localTimestamp + PET_EPOCH_UNIX !== record.timestamp)
    )
      continue;
    if (Number(sequence) === record.recordId) return member;
    best ??= member;
  }
  return best;
}

/**
 * KEYS: the BMCs' sets; ARGV: the oldest score kept, MAX_PETS_SEEN, PETS_SEEN_MS, then per key its
 * member count and its (score, member) pairs. Each set gets its members, loses what is too old or
 * too many, and lives PETS_SEEN_MS more.
 */
const REMEMBER_COMMAND = "petgateRememberPets";
const REMEMBER = `
local a = 4
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[a])
  redis.call('ZADD', key, unpack(ARGV, a + 1, a + 2 * n))
  a = a + 2 * n + 1
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[1])
  redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[2]) - 1)
  redis.call('PEXPIRE', key, ARGV[3])
end
`;
type RememberCommand = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * Remembers the PETs of a batch by the BMC enrichment named (one script call per batch, whatever
 * its BMCs): a PET whose sender is not in the inventory has no SEL petgate reads, and a SEL record's
 * own event is no PET.
 */
export function petsSeenStage(redis: RedisConnection, prefix: string, now: () => number = Date.now): Stage {
  if (!(REMEMBER_COMMAND in redis)) redis.defineCommand(REMEMBER_COMMAND, { lua: REMEMBER });
  const remember = (redis as unknown as Record<typeof REMEMBER_COMMAND, RememberCommand>)[REMEMBER_COMMAND];
  return {
    name: "pets seen",
    async exec(items) {
      const byBmc = new Map<string, (string | number)[]>();
      const at = now();
      for (const item of items) {
        const trap = item.event?.trap;
        const bmc = item.enrichment?.bmc?.name;
        if (trap?.kind !== "pet" || item.event?.sel || bmc === undefined) continue;
        const receivedAt = Date.parse(trap.receivedAt) || at;
        const pairs = byBmc.get(bmc) ?? [];
        pairs.push(receivedAt, petMember(trap.pet, receivedAt));
        byBmc.set(bmc, pairs);
      }
      if (byBmc.size === 0) return items;
      const keys = [...byBmc.keys()].map((bmc) => petsSeenKey(prefix, bmc));
      const args = [...byBmc.values()].flatMap((pairs) => [pairs.length / 2, ...pairs]);
      await remember.call(
        redis,
        keys.length,
        ...keys,
        at - PETS_SEEN_MS,
        MAX_PETS_SEEN,
        PETS_SEEN_MS,
        ...args,
      );
      return items;
    },
  };
}
