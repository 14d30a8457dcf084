import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config/load.js";
import { findConfigFile } from "../config/path.js";
import { HISTORY_PAGE_MAX, type HistoryFilter, type HistoryPage, HistoryStore } from "../history/store.js";
import { parseDuration } from "../pipeline/alerting/route.js";
import { escapeControls } from "../sinks/escape.js";
import { DEFAULT_DATA_DIR } from "./serve.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate history [--file FILE | --config FILE] [filters] [WORD...]

Searches the alert history petgate serve keeps (every event, its notification and each receiver's
delivery), newest first: one line per event, or --json (the page as GET /api/history answers it).
WORDs must all appear (each as a word prefix) in some field.

  --file         the history file (default: history.path of petgate.yml, else .petgate/history.sqlite)
  --config       petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml, else /etc/petgate/petgate.yml)
  --bmc          only this BMC's events
  --label        NAME=VALUE, repeatable: a label routes match on ("label_rack=r12")
  --sensor-type  "Temperature", "Fan", …
  --severity     critical, non-critical, …
  --status       firing or resolved
  --since        ISO-8601 time, or a duration back from now ("24h", "7d")
  --until        the same: events processed before it
  --limit        at most this many (default 50, at most ${HISTORY_PAGE_MAX})
  --cursor       the "next" a previous page printed
  --json         the page as JSON`;

export async function historyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      file: { type: "string" },
      config: { type: "string" },
      bmc: { type: "string" },
      label: { type: "string", multiple: true },
      "sensor-type": { type: "string" },
      severity: { type: "string" },
      status: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
      json: { type: "boolean" },
    },
    HELP,
  );
  const file = values.file ?? historyFile(values.config);
  if (!existsSync(file)) throw new UsageError(`no history file at ${file} (give --file or --config)`);
  const store = new HistoryStore(file, { readonly: true });
  try {
    const page = store.query(filterOf(values, positionals));
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ ...page, next: page.next === null ? null : String(page.next) })}\n`,
      );
    else process.stdout.write(lines(page));
    return 0;
  } finally {
    store.close();
  }
}

function historyFile(named: string | undefined): string {
  const config = findConfigFile(named);
  const path = config !== undefined && existsSync(config) ? loadConfig(config).history.path : undefined;
  return path ?? join(DEFAULT_DATA_DIR, "history.sqlite");
}

type Values = Partial<
  Record<"bmc" | "sensor-type" | "severity" | "status" | "since" | "until" | "limit" | "cursor", string>
> & {
  label?: string[];
};

function filterOf(values: Values, words: string[]): HistoryFilter {
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const eq = l.indexOf("=");
    if (eq < 1) throw new UsageError(`--label ${JSON.stringify(l)}: give NAME=VALUE`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  if (values.status !== undefined && values.status !== "firing" && values.status !== "resolved")
    throw new UsageError(`--status ${JSON.stringify(values.status)}: firing or resolved`);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX)
    throw new UsageError(`--limit ${JSON.stringify(values.limit)}: 1 to ${HISTORY_PAGE_MAX}`);
  if (values.cursor !== undefined && !/^\d{1,16}$/.test(values.cursor))
    throw new UsageError(`--cursor ${JSON.stringify(values.cursor)}: the "next" of a previous page`);
  return {
    ...(values.bmc !== undefined && { bmc: values.bmc }),
    ...(Object.keys(labels).length > 0 && { labels }),
    ...(values["sensor-type"] !== undefined && { sensorType: values["sensor-type"] }),
    ...(values.severity !== undefined && { severity: values.severity }),
    ...(values.status !== undefined && { status: values.status as "firing" | "resolved" }),
    ...(values.since !== undefined && { since: instant("--since", values.since) }),
    ...(values.until !== undefined && { until: instant("--until", values.until) }),
    ...(words.length > 0 && { text: words.join(" ") }),
    ...(values.cursor !== undefined && { cursor: Number(values.cursor) }),
    limit,
  };
}

/** An ISO-8601 time, or a duration back from now. */
function instant(option: string, text: string): number {
  const at = Date.parse(text);
  if (!Number.isNaN(at)) return at;
  try {
    return Date.now() - parseDuration(text);
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(text)}: an ISO-8601 time or a duration ("24h")`);
  }
}

/** One line per event; the text a BMC or trap supplied is shown with its control characters escaped. */
function lines(page: HistoryPage): string {
  const out = page.events.map((e) => {
    const deliveries = Object.entries(e.deliveries)
      .map(([receiver, d]) => `${receiver}: ${d.status}`)
      .join(", ");
    return [
      e.processedAt,
      e.bmc,
      e.severity,
      e.status ?? e.outcome,
      [e.sensor, e.event].filter((x) => x !== null).join(": "),
      deliveries ? `→ ${deliveries}` : "",
    ]
      .map((f) => escapeControls(f))
      .join("  ")
      .trimEnd();
  });
  if (page.next !== null) out.push(`(more: --cursor ${page.next})`);
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
