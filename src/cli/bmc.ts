import type { IpmiClient } from "../ipmi/client/client.js";
import { coldReset, getDeviceId, getSelfTestResults, getSystemGuid } from "../ipmi/commands/app.js";
import { getChassisStatus } from "../ipmi/commands/chassis.js";
import { completionCodeName } from "../ipmi/completion-codes.js";
import { manufacturerName } from "../pet/tables/manufacturers.js";
import { formatGuid } from "../pet/varbind.js";
import { CONNECT_HELP, CONNECT_OPTIONS, connect } from "./bmc-connect.js";
import { parseCommandArgs, UsageError } from "./usage.js";

/** What a subcommand found: the JSON value, and the same for a person. */
interface Output {
  json: unknown;
  text: string;
}

type Subcommand = (client: IpmiClient, args: string[]) => Promise<Output>;

const SUBCOMMANDS: Record<string, { summary: string; run: Subcommand }> = {
  info: { summary: "Get Device ID and self test (as ipmitool mc info)", run: info },
  guid: { summary: "Get System GUID", run: guid },
  chassis: { summary: "Get Chassis Status", run: chassis },
  "reset-cold": { summary: "Cold Reset: reboot the BMC (remedy for a wedged one)", run: resetCold },
  raw: { summary: "raw NETFN CMD [DATA...]: any command, bytes in hex", run: raw },
};

function help(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  const list = Object.entries(SUBCOMMANDS)
    .map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`)
    .join("\n");
  return `usage: petgate bmc SUBCOMMAND -H HOST[:PORT] -U USER [options] [arguments]\n\nsubcommands:\n${list}\n\n${CONNECT_HELP}`;
}

export async function bmcCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, CONNECT_OPTIONS, help());
  const [name, ...args] = positionals;
  const sub = name === undefined ? undefined : SUBCOMMANDS[name];
  if (!sub)
    throw new UsageError(
      name === undefined ? `a subcommand is required\n${help()}` : `unknown subcommand "${name}"\n${help()}`,
    );
  const client = await connect(values);
  try {
    const out = await sub.run(client, args);
    process.stdout.write(`${values.json ? JSON.stringify(out.json, jsonBuffers) : out.text}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (values.json)
      process.stdout.write(`${JSON.stringify({ error: { name: (err as Error).name, message } })}\n`);
    process.stderr.write(`petgate bmc ${name}: ${message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

/** Buffers as hex strings in JSON output. */
function jsonBuffers(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && (value as { type?: string }).type === "Buffer") {
    return Buffer.from((value as { data: number[] }).data).toString("hex");
  }
  return value;
}

/** "Key : value" lines, aligned, as ipmitool prints. */
function lines(rows: [string, string | number | boolean][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)} : ${v}`).join("\n");
}

async function info(client: IpmiClient): Promise<Output> {
  const id = await client.execute(getDeviceId, undefined);
  const selfTest = await client.execute(getSelfTestResults, undefined).catch(() => undefined);
  const supported = Object.entries(id.additionalDeviceSupport)
    .filter(([, on]) => on)
    .map(([k]) => k);
  return {
    json: {
      ...id,
      manufacturerName: manufacturerName(id.manufacturerId) ?? null,
      selfTest: selfTest ?? null,
    },
    text: lines([
      ["Device ID", id.deviceId],
      ["Device Revision", id.deviceRevision],
      ["Firmware Revision", `${id.firmwareMajor}.${String(id.firmwareMinor).padStart(2, "0")}`],
      ["IPMI Version", `${id.ipmiVersion.major}.${id.ipmiVersion.minor}`],
      ["Manufacturer ID", id.manufacturerId],
      ["Manufacturer Name", manufacturerName(id.manufacturerId) ?? "Unknown"],
      ["Product ID", `${id.productId} (0x${id.productId.toString(16).padStart(4, "0")})`],
      ["Provides SDRs", id.providesSdrs],
      ["Additional Device Support", supported.join(", ")],
      ["Self Test", selfTest ? selfTest.result : "not answered"],
    ]),
  };
}

async function guid(client: IpmiClient): Promise<Output> {
  const { guid: bytes } = await client.execute(getSystemGuid, undefined);
  // Wire order, as PETs carry it; vendors disagree on the byte order of the fields (PROTOCOL.md §1.2).
  return {
    json: { guid: formatGuid(bytes), raw: Buffer.from(bytes).toString("hex") },
    text: `System GUID : ${formatGuid(bytes)}`,
  };
}

async function chassis(client: IpmiClient): Promise<Output> {
  const s = await client.execute(getChassisStatus, undefined);
  return {
    json: s,
    text: lines([
      ["System Power", s.currentPowerState.powerOn ? "on" : "off"],
      ["Power Overload", s.currentPowerState.overload],
      ["Power Interlock", s.currentPowerState.interlock ? "active" : "inactive"],
      ["Main Power Fault", s.currentPowerState.fault],
      ["Power Control Fault", s.currentPowerState.controlFault],
      ["Power Restore Policy", s.currentPowerState.restorePolicy],
      ["Chassis Intrusion", s.miscChassisState.intrusion ? "active" : "inactive"],
      ["Front-Panel Lockout", s.miscChassisState.frontPanelLockout ? "active" : "inactive"],
      ["Drive Fault", s.miscChassisState.driveFault],
      ["Cooling/Fan Fault", s.miscChassisState.coolingFault],
    ]),
  };
}

async function resetCold(client: IpmiClient): Promise<Output> {
  // The BMC may reboot before it answers: a timeout here is not a failure of the reset.
  const answered = await client.execute(coldReset, undefined, { deadlineMs: 3000 }).then(
    () => true,
    (err: Error) => {
      if (err.name === "IpmiTimeoutError") return false;
      throw err;
    },
  );
  return {
    json: { sent: true, answered },
    text: answered
      ? "Cold reset accepted; the BMC is rebooting"
      : "Cold reset sent; the BMC went silent (rebooting)",
  };
}

async function raw(client: IpmiClient, args: string[]): Promise<Output> {
  const bytes = args.map((a, i) => {
    const n = Number.parseInt(a.replace(/^0x/i, ""), 16);
    if (!/^(0x)?[0-9a-f]{1,2}$/i.test(a) || Number.isNaN(n))
      throw new UsageError(`raw: argument ${i + 1} "${a}" is not a hex byte`);
    return n;
  });
  const [netFn, cmd, ...data] = bytes;
  if (netFn === undefined || cmd === undefined) throw new UsageError("raw: NETFN and CMD are required");
  const response = await client.raw(netFn, cmd, Buffer.from(data));
  const hex = [...response.data].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return {
    json: { completionCode: response.completionCode, data: response.data.toString("hex") },
    text:
      response.completionCode === 0
        ? hex
        : `completion code ${response.completionCode.toString(16).padStart(2, "0")}h (${completionCodeName(response.completionCode)})${hex ? `: ${hex}` : ""}`,
  };
}
