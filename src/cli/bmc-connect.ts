import { readFileSync } from "node:fs";
import { IpmiClient } from "../ipmi/client/client.js";
import { PrivilegeLevel } from "../ipmi/commands/app.js";
import { parseHostPort } from "../net/address.js";
import { UsageError } from "./usage.js";

/** Connection options every `petgate bmc` subcommand takes, in ipmitool's letters where it has them. */
export const CONNECT_OPTIONS = {
  host: { type: "string", short: "H" },
  user: { type: "string", short: "U" },
  "password-env": { type: "string" },
  "password-file": { type: "string" },
  "cipher-suite": { type: "string", short: "C" },
  kg: { type: "string", short: "k" },
  "kg-hex": { type: "string" },
  privilege: { type: "string", short: "L" },
  timeout: { type: "string" },
  "allow-insecure": { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const CONNECT_HELP = `connection:
  -H HOST[:PORT]          the BMC (UDP 623 unless given)
  -U USER                 user name
  --password-env VAR      the password is in environment variable VAR
  --password-file FILE    the password is the file's first line
                          (neither: asked for on the terminal; never a plain argument)
  -C N                    cipher suite: 17 (default), 16, 15, 3, 2, 1
  -k KEY | --kg-hex HEX   the BMC key K_g, as text or hex
  -L LEVEL                ADMINISTRATOR (default), OPERATOR or USER
  --timeout MS            deadline of each call (default 5000)
  --allow-insecure        permit cipher suite 0 (no authentication at all)
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
  const kg =
    values["kg-hex"] !== undefined
      ? hexKey(values["kg-hex"])
      : values.kg !== undefined
        ? Buffer.from(values.kg, "latin1")
        : undefined;
  return new IpmiClient({
    host,
    port,
    username: values.user,
    password: await password(values),
    ...(kg && { kg }),
    cipherSuite: Number(values["cipher-suite"] ?? 17),
    privilege,
    allowInsecure: values["allow-insecure"] === true,
    deadlineMs: Number(values.timeout ?? 5000),
    keepAliveMs: 0,
  });
}

function privilegeName(text: string): "Administrator" | "Operator" | "User" {
  const name = { ADMINISTRATOR: "Administrator", ADMIN: "Administrator", OPERATOR: "Operator", USER: "User" }[
    text.toUpperCase()
  ];
  if (!name) throw new UsageError(`-L ${text}: expected ADMINISTRATOR, OPERATOR or USER`);
  return name as "Administrator" | "Operator" | "User";
}

function hexKey(text: string): Buffer {
  const digits = text.replace(/^0x/i, "");
  if (!/^([0-9a-f]{2}){1,20}$/i.test(digits))
    throw new UsageError("--kg-hex: expected up to 20 bytes of hex");
  return Buffer.from(digits, "hex");
}

async function password(values: ConnectValues): Promise<string> {
  if (values["password-env"] !== undefined) {
    const value = process.env[values["password-env"]];
    if (value === undefined) throw new UsageError(`--password-env: ${values["password-env"]} is not set`);
    return value;
  }
  if (values["password-file"] !== undefined) {
    try {
      return readFileSync(values["password-file"], "utf8").split(/\r?\n/)[0] ?? "";
    } catch (err) {
      throw new UsageError(
        `--password-file: cannot read ${values["password-file"]} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  }
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
