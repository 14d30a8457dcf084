import { loadConfig } from "../config/load.js";
import { requireConfigFile } from "../config/path.js";
import { configuredRoutes, routesFor } from "../pipeline/alerting/route.js";
import { parseCommandArgs, subcommand, UsageError } from "./usage.js";

const HELP = `usage: petgate route test [--config FILE] [--verify-receivers R1,R2] LABEL=VALUE...

Prints the receivers a notification with these labels reaches through petgate.yml's routes, comma
separated, as amtool config routes test does. The labels are those routes match on (README: Alert
pipeline), e.g. severity=critical bmc=bmc-07 sensor_type=Temperature label_rack=r12; a label not
given is the empty string, as in Alertmanager.

  --config             petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml)
  --verify-receivers   exit 1 unless exactly these receivers are reached (in this order)`;

export async function routeCommand(argv: string[]): Promise<number> {
  const command = subcommand(argv, ["test"], HELP);
  if (!command) return 0;
  const { rest } = command;
  const { values, positionals } = parseCommandArgs(
    rest,
    { config: { type: "string" }, "verify-receivers": { type: "string" } },
    HELP,
  );
  const labels: Record<string, string> = {};
  for (const arg of positionals) {
    const eq = arg.indexOf("=");
    if (eq < 1) throw new UsageError(`${JSON.stringify(arg)}: give labels as LABEL=VALUE`);
    labels[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  const config = loadConfig(requireConfigFile(values.config));
  const receivers = [...new Set(routesFor(configuredRoutes(config.routes), labels).map((r) => r.receiver))];
  process.stdout.write(`${receivers.join(",")}\n`);
  const expected = values["verify-receivers"];
  if (expected === undefined) return 0;
  if (
    expected
      .split(",")
      .map((r) => r.trim())
      .join(",") === receivers.join(",")
  )
    return 0;
  process.stderr.write(`petgate route test: expected ${expected}, reached ${receivers.join(",")}\n`);
  return 1;
}
