import { loadConfig } from "../config/load.js";
import { requireConfigFile } from "../config/path.js";
import { configuredRoutes, routeMuted, routesFor } from "../pipeline/alerting/route.js";
import { parseCommandArgs, subcommand, UsageError } from "./usage.js";

const HELP = `usage: petgate route test [--config FILE] [--verify-receivers R1,R2] [--at TIME] LABEL=VALUE...

Prints the receivers a notification with these labels reaches through petgate.yml's routes, comma
separated, as amtool config routes test does. The labels are those routes match on (README: Alert
pipeline), e.g. severity=critical bmc=bmc-07 sensor_type=Temperature label_rack=r12; a label not
given is the empty string, as in Alertmanager. A route muted at that moment by its
mute_time_intervals or active_time_intervals is named on standard error.

  --config             petgate.yml (default: $PETGATE_CONFIG, else ./petgate.yml)
  --verify-receivers   exit 1 unless exactly these receivers are reached (in this order)
  --at                 the moment time intervals are read at, ISO-8601 (default: now)`;

export async function routeCommand(argv: string[]): Promise<number> {
  const command = subcommand(argv, ["test"], HELP);
  if (!command) return 0;
  const { rest } = command;
  const { values, positionals } = parseCommandArgs(
    rest,
    { config: { type: "string" }, "verify-receivers": { type: "string" }, at: { type: "string" } },
    HELP,
  );
  const labels: Record<string, string> = {};
  for (const arg of positionals) {
    const eq = arg.indexOf("=");
    if (eq < 1) throw new UsageError(`${JSON.stringify(arg)}: give labels as LABEL=VALUE`);
    labels[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  const at = values.at === undefined ? Date.now() : Date.parse(values.at);
  if (Number.isNaN(at)) throw new UsageError(`--at ${JSON.stringify(values.at)}: not an ISO-8601 time`);
  const config = loadConfig(requireConfigFile(values.config));
  const routes = routesFor(configuredRoutes(config), labels);
  const receivers = [...new Set(routes.map((r) => r.receiver))];
  process.stdout.write(`${receivers.join(",")}\n`);
  for (const route of routes) {
    const why = routeMuted(route, at);
    if (why !== undefined)
      process.stderr.write(`route ${route.id} to ${route.receiver} is muted at that moment: ${why}\n`);
  }
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
