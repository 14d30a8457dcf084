import { once } from "node:events";
import { ConfigError, loadYaml, SecretError } from "../config/load.js";
import { parseHostPort } from "../net/address.js";
import { PRIVILEGES, type SimConfig, simConfigSchema } from "../sim/config.js";
import { startControlApi } from "../sim/control.js";
import { SimulatorFleet } from "../sim/fleet.js";
import { StateDirError } from "../sim/state-file.js";
import { atMostOne, secretFromEnv, secretFromFile, warnCommandLineSecret } from "./secrets.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate sim [options]

Simulated BMCs that speak RMCP+ (IPMI 2.0) and IPMI 1.5 sessions (MD5, straight password) well
enough for ipmitool, FreeIPMI and ipmiutil, keep a SEL, run PEF, and send PETs when a filter matches.

  --listen HOST:PORT     first BMC (default 127.0.0.1:623; a fleet starts at 127.1.0.1)
  --count N              how many BMCs (default 1)
  --spread port          a fleet on consecutive ports instead of consecutive loopback addresses
  --password-env VAR     password of the default user admin, from environment variable VAR
  --password-file FILE   … from the file's first line
  --user NAME[:PRIV] --password-env VAR | --password-file FILE
                         a user (repeatable; PRIV user|operator|admin[istrator], default administrator):
                         the password flag right after a --user is that user's
  --user NAME:PASSWORD[:PRIV]   the same with the password on the command line, where ps shows it:
                         for loopback demos only (warns)
  --kg-env VAR | --kg-file FILE   BMC key K_g in hex (--kg HEX on the command line warns)
  --guid HEX             system GUID of the first BMC
  --sdr default|FILE     SDR repository (JSON file)
  --state-dir DIR        keep SEL, PEF and LAN settings across restarts (0700; users are not kept:
                         they come from these options at every start)
  --trap-port P          where PETs go (default 162)
  --control HOST:PORT    HTTP control API
  --control-token-env VAR   the control API wants Authorization: Bearer with the token in VAR
  --reboot-ms MS         how long a cold reset keeps a BMC silent (default 3000)
  --sel-capacity N       SEL records a BMC holds before it logs no more (default 1024)
  --config FILE          the same options from YAML (flags win)`;

export async function simCommand(argv: string[]): Promise<number> {
  const { values, tokens } = parseCommandArgs(
    argv,
    {
      listen: { type: "string" },
      count: { type: "string" },
      spread: { type: "string" },
      user: { type: "string", multiple: true },
      "password-env": { type: "string", multiple: true },
      "password-file": { type: "string", multiple: true },
      kg: { type: "string" },
      "kg-env": { type: "string" },
      "kg-file": { type: "string" },
      guid: { type: "string" },
      sdr: { type: "string" },
      "state-dir": { type: "string" },
      "trap-port": { type: "string" },
      control: { type: "string" },
      "control-token-env": { type: "string" },
      "reboot-ms": { type: "string" },
      "sel-capacity": { type: "string" },
      config: { type: "string" },
    },
    HELP,
  );
  const { users, adminPassword } = userFlags(tokens);
  atMostOne({ "--kg": values.kg, "--kg-env": values["kg-env"], "--kg-file": values["kg-file"] });
  if (values.kg !== undefined) warnCommandLineSecret("sim", "--kg", "--kg-env VAR or --kg-file FILE");
  const kg =
    values["kg-env"] !== undefined
      ? secretFromEnv("--kg-env", values["kg-env"])
      : values["kg-file"] !== undefined
        ? secretFromFile("--kg-file", values["kg-file"])
        : values.kg;
  let config: SimConfig;
  try {
    const file = values.config === undefined ? {} : loadYaml(simConfigSchema.partial(), values.config);
    const flags = {
      ...(values.listen !== undefined && { listen: values.listen }),
      ...(values.count !== undefined && { count: Number(values.count) }),
      ...(values.spread !== undefined && { spread: values.spread }),
      ...(users.length > 0 && { users }),
      ...(kg !== undefined && { kg: kg.trim() }),
      ...(values.guid !== undefined && { guid: values.guid }),
      ...(values.sdr !== undefined && { sdr: values.sdr }),
      ...(values["state-dir"] !== undefined && { stateDir: values["state-dir"] }),
      ...(values["trap-port"] !== undefined && { trapPort: Number(values["trap-port"]) }),
      ...(values.control !== undefined && { control: values.control }),
      ...(values["control-token-env"] !== undefined && { controlTokenEnv: values["control-token-env"] }),
      ...(values["reboot-ms"] !== undefined && { rebootMs: Number(values["reboot-ms"]) }),
      ...(values["sel-capacity"] !== undefined && { selCapacity: Number(values["sel-capacity"]) }),
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
  const controlToken =
    config.controlTokenEnv === undefined
      ? undefined
      : secretFromEnv("--control-token-env", config.controlTokenEnv);
  if (controlToken === "") throw new UsageError("--control-token-env: the token is empty");
  let fleet: SimulatorFleet;
  try {
    fleet = await SimulatorFleet.start(config, {
      ...(adminPassword !== undefined && { adminPassword }),
      log: (line) => process.stderr.write(`petgate sim: ${line}\n`),
    });
  } catch (err) {
    // What the operator can fix (a password not found, the state directory): one line, no trace.
    if (err instanceof RangeError || err instanceof SecretError || err instanceof StateDirError) {
      process.stderr.write(`petgate sim: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const first = fleet.simulators[0]?.address;
  const last = fleet.simulators.at(-1)?.address;
  // Handlers before the line that says it is up: a signal sent on that line ends it cleanly.
  const stopped = Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
  process.stderr.write(
    `petgate sim: ${fleet.simulators.length} BMC(s) on udp ${first?.host}:${first?.port}` +
      `${fleet.simulators.length > 1 ? ` … ${last?.host}:${last?.port}` : ""}; PETs to port ${config.trapPort}\n`,
  );
  const control =
    config.control === undefined
      ? undefined
      : await startControlApi(fleet, parseHostPort(config.control, { host: "127.0.0.1", port: 8623 }), {
          ...(controlToken !== undefined && { token: controlToken }),
        });
  if (control) process.stderr.write(`petgate sim: control API on http://${config.control}/bmcs\n`);
  await stopped;
  control?.close();
  await fleet.stop();
  process.stderr.write(`petgate sim: stopped; counters ${JSON.stringify(fleet.counters())}\n`);
  return 0;
}

type UserConfig = NonNullable<SimConfig["users"]>[number];

/**
 * Users from `--user` in command-line order. `--user NAME[:PRIV]` takes its password from the
 * --password-env or --password-file right after it; such a flag anywhere else is the default admin's.
 * `--user NAME:PASSWORD[:PRIV]`, the password in plain sight, still works with a warning.
 */
function userFlags(tokens: readonly { kind: string; name?: string; value?: string | undefined }[]): {
  users: UserConfig[];
  adminPassword?: string;
} {
  const users: UserConfig[] = [];
  let adminPassword: string | undefined;
  let waiting: { name: string; privilege: string } | undefined;
  const noPassword = (u: { name: string }) =>
    new UsageError(
      `--user ${u.name}: no password; follow it with --password-env VAR or --password-file FILE`,
    );
  for (const token of tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (token.name === "user") {
      if (waiting) throw noPassword(waiting);
      const [name = "", second, third, ...rest] = token.value.split(":");
      if (!name || rest.length > 0)
        throw new UsageError(`--user: expected NAME[:PRIV] or NAME:PASSWORD[:PRIV]`);
      if (second === undefined || (third === undefined && Object.hasOwn(PRIVILEGES, second))) {
        waiting = { name, privilege: second ?? "administrator" };
        continue;
      }
      warnCommandLineSecret("sim", `--user ${name}:PASSWORD`, `--user ${name} --password-env VAR`);
      users.push({
        name,
        password: second,
        privilege: (third ?? "administrator") as UserConfig["privilege"],
      });
      continue;
    }
    if (token.name !== "password-env" && token.name !== "password-file") continue;
    const flag = `--${token.name}`;
    const password =
      token.name === "password-env" ? secretFromEnv(flag, token.value) : secretFromFile(flag, token.value);
    if (waiting) {
      users.push({ ...waiting, password } as UserConfig);
      waiting = undefined;
    } else if (adminPassword !== undefined) {
      throw new UsageError("a second --password-env or --password-file that follows no --user NAME");
    } else {
      adminPassword = password;
    }
  }
  if (waiting) throw noPassword(waiting);
  return { users, ...(adminPassword !== undefined && { adminPassword }) };
}
