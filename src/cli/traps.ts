import { readFileSync } from "node:fs";
import { bmcHostPort } from "../config/inventory.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { findConfigFile } from "../config/path.js";
import { type Config, configSchema } from "../config/schema.js";
import type { MibStore } from "../mib/store.js";
import { type TrapEvent, trapEventFrom } from "../pet/trap.js";
import { buildNotification } from "../pipeline/alerting/notification.js";
import { matchBmc } from "../pipeline/bmc/bmc-pool.js";
import { eventId } from "../pipeline/intake/event.js";
import type { BmcFacts } from "../pipeline/interpret/facts.js";
import { loadTrapRules, trapRuleProblem } from "../pipeline/interpret/load.js";
import { TrapRuleError, type TrapRules } from "../pipeline/interpret/rules.js";
import { notificationFromArgs } from "./snmptrap-args.js";
import { parseCommandArgs, subcommand, UsageError } from "./usage.js";

const HELP = `usage: petgate traps test [--config FILE] [--from ADDRESS] [-v 1|2c|3] [-c COMMUNITY]
                          [-u USER -l LEVEL -a PROTO -A PASS -x PROTO -X PASS] HOST
                            v1:     ENTERPRISE AGENT GENERIC SPECIFIC UPTIME [OID TYPE VALUE]...
                            v2c/v3: UPTIME TRAPOID [OID TYPE VALUE]...
       petgate traps test [--config FILE] --ndjson FILE|-

Shows what petgate.yml's trap rules make of a trap, sending nothing: the rule that applies, its
action and what the notification says. The trap is given as snmptrap(1) takes it (names such as
IF-MIB::ifIndex.3 resolved through the MIBs; TYPE one of i u c t a o s x d b n U I F D; "" for
UPTIME is 0, for ENTERPRISE net-snmp's default), or as lines written by petgate listen.

  --config   petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml when present)
  --from     the address the trap comes from (default 127.0.0.1): inventory BMCs and source= see it
  --ndjson   TrapEvent lines (petgate listen's output) from FILE, or standard input for -
  -v -c -u   SNMP version (default 2c), community (default public), SNMPv3 user;
             -l -a -A -x -X are accepted and ignored (nothing is sent or encrypted)`;

export async function trapsCommand(argv: string[]): Promise<number> {
  const command = subcommand(argv, ["test"], HELP);
  if (!command) return 0;
  const { rest } = command;
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      config: { type: "string" },
      from: { type: "string", default: "127.0.0.1" },
      ndjson: { type: "string" },
      version: { type: "string", short: "v", default: "2c" },
      community: { type: "string", short: "c", default: "public" },
      user: { type: "string", short: "u" },
      level: { type: "string", short: "l" },
      "auth-protocol": { type: "string", short: "a" },
      "auth-pass": { type: "string", short: "A" },
      "priv-protocol": { type: "string", short: "x" },
      "priv-pass": { type: "string", short: "X" },
    },
    HELP,
  );
  const version = values.version;
  if (version !== "1" && version !== "2c" && version !== "3")
    throw new UsageError(`-v ${version}: 1, 2c or 3`);
  if (version === "3" && values.user === undefined) throw new UsageError("-v 3 needs -u USER");
  if (values.ndjson !== undefined && positionals.length > 0)
    throw new UsageError("give either --ndjson or a trap as snmptrap takes it, not both");

  let config: Config;
  let rules: TrapRules;
  const file = findConfigFile(values.config);
  try {
    config = file === undefined ? configSchema.parse({}) : loadConfig(file);
    rules = await loadTrapRules(config, { log: (line) => process.stderr.write(`petgate: ${line}\n`) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`petgate traps: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TrapRuleError) {
      process.stderr.write(
        `petgate traps: ${file === undefined ? err.message : trapRuleProblem(file, err)}\n`,
      );
      return 1;
    }
    throw err;
  }

  const traps =
    values.ndjson === undefined
      ? [
          fromArgs(rules.store, {
            version,
            community: values.community,
            ...(values.user !== undefined && { user: values.user }),
            from: values.from,
            positionals,
          }),
        ]
      : fromNdjson(values.ndjson);
  let failed = 0;
  for (const trap of traps) {
    if ("error" in trap) {
      process.stderr.write(`petgate traps: ${trap.error}\n`);
      failed++;
      continue;
    }
    const bmc = inventoryBmc(config, trap);
    const event = { id: eventId(trap), trap };
    const verdict = rules.interpret(event, bmc);
    const name = verdict.trap?.name ?? trap.snmp.trapOid;
    const lines = [
      `trap ${name} (${trap.snmp.trapOid}) from ${trap.source.address}${bmc ? ` (bmc ${bmc.name})` : ""}`,
      `rule: ${verdict.rule ?? "none (the catch-all)"}`,
      `action: ${verdict.action}`,
    ];
    if (verdict.alert) lines.push(`alert: ${verdict.alert.key} ${verdict.alert.direction}`);
    if (verdict.alert?.direction === "deassertion") {
      // What it sends depends on the alert book: the firing notification's resolved one, or nothing.
      lines.push("notification: none of its own (resolves the alert's firing notification, if any)");
    } else if (verdict.action !== "drop") {
      const facts = { status: "none" as const, ...(bmc && { bmc: { ...bmc, labels: { ...bmc.labels } } }) };
      const n = buildNotification(event, facts, {
        verdict,
        unknownSeverity: config.listener.unknownSeverity,
      });
      lines.push(`notification: ${JSON.stringify(n, null, 2)}`);
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return failed > 0 ? 1 : 0;
}

function fromArgs(
  store: MibStore,
  args: Parameters<typeof notificationFromArgs>[0],
): TrapEvent | { error: string } {
  const result = trapEventFrom(notificationFromArgs(args, store));
  return result.ok ? result.event : { error: result.error.message };
}

/** Lines of petgate listen's output; a line that is not a trap event is reported by its number. */
function fromNdjson(file: string): (TrapEvent | { error: string })[] {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  return text.split("\n").flatMap((line, i): (TrapEvent | { error: string })[] => {
    if (line.trim() === "") return [];
    try {
      const event = JSON.parse(line) as TrapEvent;
      if (
        (event.kind === "pet" || event.kind === "trap") &&
        typeof event.snmp?.trapOid === "string" &&
        typeof event.source?.address === "string" &&
        (event.kind === "pet" ? typeof event.pet === "object" : Array.isArray(event.varbinds))
      )
        return [event];
    } catch {}
    return [{ error: `${file}:${i + 1}: not a trap event as petgate listen writes it` }];
  });
}

/** The inventory BMC that sent the trap, found as enrichment finds it (matchBmc), without its secrets. */
function inventoryBmc(config: Config, trap: TrapEvent): BmcFacts | undefined {
  const inventory = config.bmcs.map((b) => ({
    name: b.name,
    host: bmcHostPort(b.host).host,
    labels: { ...config.defaults.labels, ...b.labels },
  }));
  const target = matchBmc(trap, inventory)?.target;
  return target && { name: target.name, address: target.host, labels: target.labels };
}
