import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Every command Redis ran while `work` did, by MONITOR (commands that scripts run included). MONITOR
 * lines arrive after the replies, so it waits for a marker ECHO sent once `work` is done.
 */
export async function commandsDuring(redis: Redis, work: () => Promise<unknown>): Promise<string[][]> {
  const monitor = await redis.monitor();
  const marker = `end-of-work-${randomUUID()}`;
  const commands: string[][] = [];
  const ended = new Promise<void>((resolve) =>
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === "echo" && args[1] === marker) resolve();
      else commands.push(args);
    }),
  );
  try {
    await work();
    await redis.echo(marker);
    await ended;
    return commands;
  } finally {
    monitor.disconnect();
  }
}

/**
 * The fields of hash `key` those commands read: HGET and HMGET name theirs, a command that reads the
 * whole hash (HGETALL, HVALS, HKEYS, HSCAN) counts as "*".
 */
export function hashFieldsRead(commands: string[][], key: string): string[] {
  return commands.flatMap(([command = "", k, ...fields]) => {
    if (k !== key) return [];
    const c = command.toLowerCase();
    if (c === "hget" || c === "hmget") return fields;
    return ["hgetall", "hvals", "hkeys", "hscan"].includes(c) ? ["*"] : [];
  });
}
