import { deliverQueue } from "../pipeline/notify/deliver.js";
import { type DeadLetter, DeadLetterQueue } from "../pipeline/notify/dlq.js";
import { escapeControls } from "../sinks/escape.js";
import { commandRedis, connectForCommand, REDIS_HELP, REDIS_OPTIONS } from "./redis.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate dlq list   [--json] [--limit N]       [--redis URL|SOCKET] [--prefix P] [--config FILE]
       petgate dlq replay (ID...|--all)               [--redis URL|SOCKET] [--prefix P] [--config FILE]
       petgate dlq purge  (ID...|--all)               [--redis URL|SOCKET] [--prefix P] [--config FILE]

The dead-letter queue: group sends that failed after their retries (permanent errors, exhausted
retries, unknown receivers), each with the notifications it carried. An ID is
<idempotency key>@<receiver>, as list shows it.

  list     oldest first (default at most 100; --limit); --json prints a JSON array of entries
  replay   put entries back into delivery with a fresh retry budget; a receiver is sent only the
           notifications of an entry it has not got yet
  purge    delete entries for good

${REDIS_HELP}`;

const CONNECT_TIMEOUT_MS = 5_000;

export async function dlqCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      json: { type: "boolean" },
      limit: { type: "string" },
      all: { type: "boolean" },
      ...REDIS_OPTIONS,
    },
    HELP,
  );
  const [action, ...ids] = positionals;
  if (action !== "list" && action !== "replay" && action !== "purge") {
    throw new UsageError(
      `${action === undefined ? "missing subcommand" : `unknown subcommand "${action}"`}\n${HELP}`,
    );
  }
  let limit = 100;
  if (action === "list") {
    if (ids.length > 0 || values.all) throw new UsageError(`list takes no ids and no --all\n${HELP}`);
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit ${values.limit}: expected N ≥ 1`);
    }
  } else {
    if (values.json || values.limit !== undefined)
      throw new UsageError(`--json and --limit are for list\n${HELP}`);
    const all = values.all === true;
    if (all === ids.length > 0) throw new UsageError(`${action} takes either IDs or --all\n${HELP}`);
  }
  const { target, endpoint, prefix } = commandRedis(values);
  const redis = await connectForCommand("dlq", target, endpoint, CONNECT_TIMEOUT_MS);
  if (!redis) return 1;
  try {
    const dlq = new DeadLetterQueue(redis, prefix);
    if (action === "list") {
      const [entries, total] = await Promise.all([dlq.list(limit), dlq.size()]);
      if (values.json) process.stdout.write(`${JSON.stringify(entries)}\n`);
      else process.stdout.write(listText(entries, total));
      return 0;
    }
    const selection = values.all === true ? "all" : ids;
    if (action === "purge") {
      const { purged, missing } = await dlq.purge(selection);
      process.stdout.write(`purged ${purged.length} entr${purged.length === 1 ? "y" : "ies"}\n`);
      return notFound(missing);
    }
    const queue = deliverQueue(redis, prefix);
    try {
      const { replayed, missing } = await dlq.replay(selection, queue);
      process.stdout.write(`replayed ${replayed.length} entr${replayed.length === 1 ? "y" : "ies"}\n`);
      return notFound(missing);
    } finally {
      await queue.close();
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function notFound(missing: string[]): number {
  for (const id of missing) process.stderr.write(`petgate dlq: no entry ${id}\n`);
  return missing.length > 0 ? 1 : 0;
}

function listText(entries: DeadLetter[], total: number): string {
  if (total === 0) return "dead-letter queue is empty\n";
  const lines = entries.map(
    (e) =>
      `${e.id}  ${e.deadLetteredAt}  ${e.outcome} after ${e.attempts} attempt(s): ${oneLine(e.reason)}\n` +
      e.notifications.map((n) => `    ${oneLine(n.summary)}`).join("\n"),
  );
  const more = total > entries.length ? `\n(${entries.length} of ${total} shown; --limit for more)` : "";
  return `${lines.join("\n")}${more}\n`;
}

/** One terminal line: white space collapsed, any other control (an ESC in a sensor name) escaped. */
function oneLine(text: string): string {
  return escapeControls(text.replace(/\s+/g, " ").trim());
}
