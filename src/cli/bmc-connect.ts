import { IpmiClient } from "../ipmi/client/client.js";
import { PrivilegeLevel } from "../ipmi/commands/app.js";
import { parseHostPort } from "../net/address.js";
import { atMostOne, secretFromEnv, secretFromFile, warnCommandLineSecret } from "./secrets.js";
import { UsageError } from "./usage.js";

/** Connection options every `petgate bmc` subcommand takes, in ipmitool's letters where it has them. */
export const CONNECT_OPTIONS = {
  interface: { type: "string", short: "I" },
  host: { type: "string", short: "H" },
  user: { type: "string", short: "U" },
  "password-env": { type: "string" },
  "password-file": { type: "string" },
  "cipher-suite": { type: "string", short: "C" },
  "auth-type": { type: "string", short: "A" },
  kg: { type: "string", short: "k" },
  "kg-hex": { type: "string" },
  "kg-env": { type: "string" },
  "kg-file": { type: "string" },
  privilege: { type: "string", short: "L" },
  timeout: { type: "string" },
  "allow-insecure": { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const CONNECT_HELP = `connection:
  -I lanplus|lan          IPMI 2.0 RMCP+ (lanplus) or IPMI 1.5 (lan); default: RMCP+ when the BMC
                          offers it, else 1.5
  -H HOST[:PORT]          the BMC (UDP 623 unless given)
  -U USER                 user name
  --password-env VAR      the password is in environment variable VAR
  --password-file FILE    the password is the file's first line
                          (neither: asked for on the terminal; never a plain argument)
  -C N                    cipher suite: 17 (default), 16, 15, 3, 2, 1
  -A MD5|PASSWORD         IPMI 1.5 auth type (default: MD5 if offered, else PASSWORD; weak both)
  --kg-env VAR            the BMC key K_g, in hex, is in environment variable VAR
  --kg-file FILE          the BMC key K_g, in hex, is the file's first line
  -k KEY | --kg-hex HEX   the same as text or hex on the command line (shown by ps: warns)
  -L LEVEL                ADMINISTRATOR (default), OPERATOR or USER
  --timeout MS            deadline of each call (default 5000)
  --allow-insecure        permit cipher suite 0 or 1.5 auth type NONE (no authentication at all)
  --json                  machine-readable output`;

type ConnectValues = {
  [K in keyof typeof CONNECT_OPTIONS]?: (typeof CONNECT_OPTIONS)[K]["type"] extends "boolean"
    ? boolean
    : string;
};

export async function connect(values: ConnectValues): Promise<IpmiClient> {
  if (!values.host) throw new UsageError("-H HOST is required");
  if (!values.user) throw new UsageError("-U USER is required");
  const { host, port } = parseHostPort(values.host, { host: "", port: 623 });
  const privilege = PrivilegeLevel[privilegeName(values.privilege ?? "ADMINISTRATOR")];
  const kg = bmcKey(values);
  return new IpmiClient({
    host,
    port,
    username: values.user,
    password: await password(values),
    ...(kg && { kg }),
    cipherSuite: Number(values["cipher-suite"] ?? 17),
    ipmi: ipmiVersion(values.interface),
    ...(values["auth-type"] !== undefined && { authType: authType(values["auth-type"]) }),
    privilege,
    allowInsecure: values["allow-insecure"] === true,
    deadlineMs: Number(values.timeout ?? 5000),
    keepAliveMs: 0,
  });
}

/** ipmitool's -I names: lanplus is RMCP+ (IPMI 2.0), lan the IPMI 1.5 session. */
function ipmiVersion(text: string | undefined): "auto" | "2.0" | "1.5" {
  if (text === undefined) return "auto";
  const version = { lanplus: "2.0", lan: "1.5" } as const;
  const v = version[text.toLowerCase() as keyof typeof version];
  if (!v) throw new UsageError(`-I ${text}: expected lanplus or lan`);
  return v;
}

/** ipmitool's -A names of the IPMI 1.5 auth types petgate speaks. */
function authType(text: string): "md5" | "password" | "none" {
  const names = { MD5: "md5", PASSWORD: "password", NONE: "none" } as const;
  const name = names[text.toUpperCase() as keyof typeof names];
  if (!name) throw new UsageError(`-A ${text}: expected MD5, PASSWORD or NONE (MD2 is not supported)`);
  return name;
}

function privilegeName(text: string): "Administrator" | "Operator" | "User" {
  const name = { ADMINISTRATOR: "Administrator", ADMIN: "Administrator", OPERATOR: "Operator", USER: "User" }[
    text.toUpperCase()
  ];
  if (!name) throw new UsageError(`-L ${text}: expected ADMINISTRATOR, OPERATOR or USER`);
  return name as "Administrator" | "Operator" | "User";
}

/** The BMC key K_g (IPMI 2.0 §13.31), from the environment or a file; -k and --kg-hex still work, with a warning. */
function bmcKey(values: ConnectValues): Buffer | undefined {
  atMostOne({
    "-k": values.kg,
    "--kg-hex": values["kg-hex"],
    "--kg-env": values["kg-env"],
    "--kg-file": values["kg-file"],
  });
  if (values["kg-env"] !== undefined) return hexKey("--kg-env", secretFromEnv("--kg-env", values["kg-env"]));
  if (values["kg-file"] !== undefined)
    return hexKey("--kg-file", secretFromFile("--kg-file", values["kg-file"]));
  const instead = "--kg-env VAR or --kg-file FILE";
  if (values["kg-hex"] !== undefined) {
    warnCommandLineSecret("bmc", "--kg-hex", instead);
    return hexKey("--kg-hex", values["kg-hex"]);
  }
  if (values.kg === undefined) return undefined;
  warnCommandLineSecret("bmc", "-k", instead);
  return Buffer.from(values.kg, "latin1");
}

function hexKey(flag: string, text: string): Buffer {
  const digits = text.trim().replace(/^0x/i, "");
  if (!/^([0-9a-f]{2}){1,20}$/i.test(digits)) throw new UsageError(`${flag}: expected up to 20 bytes of hex`);
  return Buffer.from(digits, "hex");
}

async function password(values: ConnectValues): Promise<string> {
  atMostOne({ "--password-env": values["password-env"], "--password-file": values["password-file"] });
  if (values["password-env"] !== undefined) return secretFromEnv("--password-env", values["password-env"]);
  if (values["password-file"] !== undefined)
    return secretFromFile("--password-file", values["password-file"]);
  if (!process.stdin.isTTY)
    throw new UsageError("no password: give --password-env VAR or --password-file FILE");
  return promptHidden("Password: ");
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let typed = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new UsageError("cancelled"));
        if (ch === "\u007f") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}
