import { userInfo } from "node:os";
import { formatDuration, parseDuration } from "../pipeline/alerting/route.js";
import {
  type Silence,
  SilenceError,
  SilenceStore,
  silenceMatchers,
  silenceState,
} from "../pipeline/alerting/silence.js";
import { commandRedis, connectForCommand, REDIS_HELP, REDIS_OPTIONS } from "./redis.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate silence add --matcher MATCHER [--matcher MATCHER...] --duration DURATION --comment TEXT
                           [--author NAME] [--json]
       petgate silence list [--all] [--json]
       petgate silence expire ID...

add     mutes every notification that all the matchers match, from now for DURATION ("30m", "2h",
        "1d"); prints the silence's id. Matchers are Alertmanager's: bmc="bmc-07", severity!="ok",
        sensor_type=~"Fan|Temperature", label_rack!~"r[12]" (regexes anchored), on the labels
        severity, status, sensor_type, sensor_number, event, direction, bmc, instance and label_<name>.
        --author defaults to the user name.
list    pending and active silences; --all also those expired in the last 5 days
expire  ends silences now

common options:
${REDIS_HELP}`;

const CONNECT_TIMEOUT_MS = 3_000;

export async function silenceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      matcher: { type: "string", short: "m", multiple: true },
      duration: { type: "string", short: "d" },
      comment: { type: "string", short: "c" },
      author: { type: "string", short: "a" },
      all: { type: "boolean" },
      json: { type: "boolean" },
      ...REDIS_OPTIONS,
    },
    HELP,
  );
  const [action, ...ids] = positionals;
  const run = planAction(action, ids, values);
  const { target, endpoint, prefix } = commandRedis(values);
  const redis = await connectForCommand("silence", target, endpoint, CONNECT_TIMEOUT_MS);
  if (!redis) return 1;
  try {
    const store = new SilenceStore(redis, { prefix });
    return await run(store, Date.now());
  } catch (err) {
    if (err instanceof SilenceError) {
      process.stderr.write(`petgate silence ${action}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}

type Values = {
  matcher?: string[];
  duration?: string;
  comment?: string;
  author?: string;
  all?: boolean;
  json?: boolean;
};

/** Checks the arguments before Redis is reached; returns what to do with the store. */
function planAction(
  action: string | undefined,
  ids: string[],
  values: Values,
): (store: SilenceStore, now: number) => Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  switch (action) {
    case "add": {
      if (ids.length > 0) throw new UsageError(`add takes no positional arguments\n${HELP}`);
      const matchers = values.matcher ?? [];
      try {
        silenceMatchers(matchers);
      } catch (err) {
        if (err instanceof SilenceError) throw new UsageError(`${err.message} (--matcher)`);
        throw err;
      }
      if (values.duration === undefined) throw new UsageError("add needs --duration (e.g. 2h)");
      let durationMs: number;
      try {
        durationMs = parseDuration(values.duration);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (durationMs <= 0) throw new UsageError("--duration must be more than 0");
      const comment = values.comment;
      if (comment === undefined || comment.trim() === "")
        throw new UsageError("add needs --comment (why the silence)");
      const createdBy = values.author ?? process.env.USER ?? userInfo().username;
      return async (store, now) => {
        const s = await store.add({ matchers, endsAt: now + durationMs, createdBy, comment }, now);
        out(values.json ? JSON.stringify({ ...s, state: silenceState(s, now) }) : s.id);
        return 0;
      };
    }
    case "list":
      if (ids.length > 0) throw new UsageError(`list takes no positional arguments\n${HELP}`);
      return async (store, now) => {
        const silences = await store.list(now, { all: values.all === true });
        if (values.json) out(JSON.stringify(silences.map((s) => ({ ...s, state: silenceState(s, now) }))));
        else out(table(silences, now));
        return 0;
      };
    case "expire":
      if (ids.length === 0) throw new UsageError(`expire needs the id of a silence\n${HELP}`);
      return async (store, now) => {
        let failed = 0;
        for (const id of ids) {
          try {
            await store.expire(id, now);
            out(`expired ${id}`);
          } catch (err) {
            if (!(err instanceof SilenceError)) throw err;
            process.stderr.write(`petgate silence expire: ${err.message}\n`);
            failed++;
          }
        }
        return failed > 0 ? 1 : 0;
      };
    default:
      throw new UsageError(`expected add, list or expire\n${HELP}`);
  }
}

function table(silences: readonly Silence[], now: number): string {
  if (silences.length === 0) return "no silences";
  const rows = [
    ["ID", "STATE", "ENDS", "CREATED BY", "MATCHERS", "COMMENT"],
    ...silences.map((s) => {
      const state = silenceState(s, now);
      const ends = Date.parse(s.endsAt);
      const when =
        state === "expired"
          ? s.endsAt
          : `${s.endsAt} (in ${formatDuration(Math.ceil((ends - now) / 1000) * 1000)})`;
      return [s.id, state, when, s.createdBy, s.matchers.join(" "), s.comment];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
