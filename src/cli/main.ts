import { ConfigError, SecretError } from "../config/load.js";
import { bmcCommand } from "./bmc.js";
import { configCommand } from "./config.js";
import { decodeCommand } from "./decode.js";
import { dlqCommand } from "./dlq.js";
import { eventCommand } from "./event.js";
import { historyCommand } from "./history.js";
import { listenCommand } from "./listen.js";
import { mibCommand } from "./mib.js";
import { pefCommand } from "./pef.js";
import { routeCommand } from "./route.js";
import { serveCommand } from "./serve.js";
import { silenceCommand } from "./silence.js";
import { simCommand } from "./sim.js";
import { trapsCommand } from "./traps.js";
import { UsageError } from "./usage.js";

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  decode: decodeCommand,
  serve: serveCommand,
  listen: listenCommand,
  bmc: bmcCommand,
  sim: simCommand,
  pef: pefCommand,
  event: eventCommand,
  silence: silenceCommand,
  dlq: dlqCommand,
  history: historyCommand,
  mib: mibCommand,
  traps: trapsCommand,
  config: configCommand,
  route: routeCommand,
  "config-reference": () => configCommand(["reference"]),
};

const USAGE = `usage: petgate COMMAND [options]

commands:
  decode SPECIFIC_TRAP|NA HEX...   decode a Platform Event Trap varbind (as FreeIPMI ipmi-pet)
  serve                            the gateway: listener, workers and HTTP API (--role to split, --demo to try)
  listen                           receive SNMP traps, decode PETs, write NDJSON
  bmc SUBCOMMAND -H HOST -U USER   talk to one BMC over RMCP+ (info, sel, sdr, sensors, raw, …)
  pef plan|apply|show              fleet PEF provisioning from petgate.yml (plan, apply, verify)
  event test [--all|BMC...] [1|2|3]  prove each BMC's alert path with a test event and its PET
  silence add|list|expire          silences in Redis: mute notifications matching Alertmanager matchers
  dlq list|replay|purge            dead-lettered deliveries
  history [filters] [WORD...]      search the alert history (every event, notification and delivery)
  mib convert|translate|check      trap rule stubs from MIB files; OID <-> MODULE::name; MIB problems
  traps test ARGS|--ndjson FILE    what the trap rules make of a trap given as snmptrap takes it (sends nothing)
  config check                     every problem petgate.yml would meet at start-up (schema, secrets, receivers, MIBs)
  route test LABEL=VALUE...        the receivers a notification with these labels reaches (as amtool)
  sim                              simulated BMCs (RMCP+, SEL, SDR, PEF, PETs) for tests and demos
  config-reference                 print the petgate.yml reference (Markdown)

petgate COMMAND --help for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`petgate: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`petgate ${name}: ${err.message}\n`);
      return 2;
    }
    // A config that cannot be used names its file, line and path: that is the whole message.
    if (err instanceof ConfigError || err instanceof SecretError) {
      process.stderr.write(`petgate ${name}: ${err.message}\n`);
      return 1;
    }
    // A file the command could not use ("EACCES: permission denied, open '/x'"): the line says it all.
    const { syscall, path } = err as NodeJS.ErrnoException;
    if (syscall !== undefined && path !== undefined) {
      process.stderr.write(`petgate ${name}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
