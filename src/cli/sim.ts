import { once } from "node:events";
import { ConfigError, loadYaml } from "../config/load.js";
import { parseHostPort } from "../net/address.js";
import { type SimConfig, simConfigSchema } from "../sim/config.js";
import { startControlApi } from "../sim/control.js";
import { SimulatorFleet } from "../sim/fleet.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate sim [options]

Simulated BMCs that speak RMCP+ (IPMI 2.0) well enough for ipmitool, FreeIPMI and ipmiutil, keep a
SEL, run PEF, and send PETs when a filter matches.

  --listen HOST:PORT     first BMC (default 127.0.0.1:623; a fleet starts at 127.1.0.1)
  --count N              how many BMCs (default 1)
  --spread port          a fleet on consecutive ports instead of consecutive loopback addresses
  --user NAME:PASSWORD[:PRIV]   a user (repeatable; PRIV user|operator|administrator)
  --password-env VAR     password of the default user admin
  --kg HEX               BMC key K_g
  --guid HEX             system GUID of the first BMC
  --sdr default|FILE     SDR repository (JSON file)
  --state-dir DIR        keep SEL, PEF, LAN and users across restarts
  --trap-port P          where PETs go (default 162)
  --control HOST:PORT    HTTP control API
  --reboot-ms MS         how long a cold reset keeps a BMC silent (default 3000)
  --config FILE          the same options from YAML (flags win)`;

export async function simCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      listen: { type: "string" },
      count: { type: "string" },
      spread: { type: "string" },
      user: { type: "string", multiple: true },
      "password-env": { type: "string" },
      kg: { type: "string" },
      guid: { type: "string" },
      sdr: { type: "string" },
      "state-dir": { type: "string" },
      "trap-port": { type: "string" },
      control: { type: "string" },
      "reboot-ms": { type: "string" },
      config: { type: "string" },
    },
    HELP,
  );
  let config: SimConfig;
  try {
    const file = values.config === undefined ? {} : loadYaml(simConfigSchema.partial(), values.config);
    const flags = {
      ...(values.listen !== undefined && { listen: values.listen }),
      ...(values.count !== undefined && { count: Number(values.count) }),
      ...(values.spread !== undefined && { spread: values.spread }),
      ...(values.user !== undefined && { users: values.user.map(userFlag) }),
      ...(values.kg !== undefined && { kg: values.kg }),
      ...(values.guid !== undefined && { guid: values.guid }),
      ...(values.sdr !== undefined && { sdr: values.sdr }),
      ...(values["state-dir"] !== undefined && { stateDir: values["state-dir"] }),
      ...(values["trap-port"] !== undefined && { trapPort: Number(values["trap-port"]) }),
      ...(values.control !== undefined && { control: values.control }),
      ...(values["reboot-ms"] !== undefined && { rebootMs: Number(values["reboot-ms"]) }),
    };
    const parsed = simConfigSchema.safeParse({ ...file, ...flags });
    if (!parsed.success)
      throw new UsageError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    config = parsed.data;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`petgate sim: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const adminPassword =
    values["password-env"] === undefined ? undefined : process.env[values["password-env"]];
  const fleet = await SimulatorFleet.start(config, {
    ...(adminPassword !== undefined && { adminPassword }),
    log: (line) => process.stderr.write(`petgate sim: ${line}\n`),
  });
  const first = fleet.simulators[0]?.address;
  const last = fleet.simulators.at(-1)?.address;
  process.stderr.write(
    `petgate sim: ${fleet.simulators.length} BMC(s) on udp ${first?.host}:${first?.port}` +
      `${fleet.simulators.length > 1 ? ` … ${last?.host}:${last?.port}` : ""}; PETs to port ${config.trapPort}\n`,
  );
  const control =
    config.control === undefined
      ? undefined
      : await startControlApi(fleet, parseHostPort(config.control, { host: "127.0.0.1", port: 8623 }));
  if (control) process.stderr.write(`petgate sim: control API on http://${config.control}/bmcs\n`);
  await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
  control?.close();
  await fleet.stop();
  process.stderr.write(`petgate sim: stopped; counters ${JSON.stringify(fleet.counters())}\n`);
  return 0;
}

function userFlag(text: string) {
  const [name, password, privilege = "administrator"] = text.split(":");
  if (!name || password === undefined) throw new UsageError(`--user ${text}: expected NAME:PASSWORD[:PRIV]`);
  return { name, password, privilege };
}
