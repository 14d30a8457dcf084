import type { IpmiClient } from "../ipmi/client/client.js";
import {
  coldReset,
  getDeviceId,
  getSelfTestResults,
  getSystemGuid,
  SELF_TEST_FAILURE_NAMES,
  SELF_TEST_RESULT_NAMES,
  type SelfTestResult,
} from "../ipmi/commands/app.js";
import { getChassisStatus } from "../ipmi/commands/chassis.js";
import type { Execute } from "../ipmi/commands/command.js";
import { getPefCapabilities, readPefParameter } from "../ipmi/commands/sensor-event.js";
import { getSelInfo } from "../ipmi/commands/storage.js";
import {
  decodeLanParameter,
  getLanConfigurationParameters,
  type LanParameter,
} from "../ipmi/commands/transport.js";
import { completionCodeName } from "../ipmi/completion-codes.js";
import { fruIdentity } from "../ipmi/fru.js";
import { readFru } from "../ipmi/fru-read.js";
import { readSdrRepository, readSelEntries } from "../ipmi/sdr/read.js";
import { formatSelTime, formatSkew, readSelClock, syncSelClock } from "../ipmi/sel-time.js";
import { readSensors } from "../ipmi/sensors.js";
import { describeFilter, describePolicy } from "../pef/describe.js";
import { eventReadingClass, genericOffsetText } from "../pet/tables/event-reading-types.js";
import { manufacturerName } from "../pet/tables/manufacturers.js";
import { sensorSpecificOffsetText } from "../pet/tables/sensor-specific.js";
import { sensorTypeName } from "../pet/tables/sensor-types.js";
import { formatGuid } from "../pet/varbind.js";
import { CONNECT_HELP, CONNECT_OPTIONS, connect } from "./bmc-connect.js";
import { fruPrintText } from "./fru-print.js";
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
  sel: { summary: "the System Event Log, decoded", run: sel },
  time: {
    summary: "time get|sync: the SEL clock and its skew; sync sets it to this machine's clock",
    run: selTime,
  },
  sdr: { summary: "the SDR repository: every record, decoded", run: sdr },
  fru: { summary: "the FRU inventory of device 0 (as ipmitool fru print)", run: fru },
  sensors: {
    summary: "every sensor: reading, unit, status, thresholds (as ipmitool sensor list)",
    run: sensors,
  },
  pef: { summary: "PEF capabilities, control, event filters and alert policies, in words", run: pef },
  "lan-alerts": {
    summary: "lan-alerts [CHANNEL]: community and alert destinations (LAN parameters 16-19)",
    run: lanAlerts,
  },
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
      ["Self Test", selfTest ? selfTestText(selfTest) : "not answered"],
    ]),
  };
}

/** Get Self Test Results in words (IPMI 2.0 §20.4), with the failed devices when byte 1 is 57h. */
function selfTestText(t: SelfTestResult): string {
  if (t.result !== "corruptedOrInaccessible") return SELF_TEST_RESULT_NAMES[t.result];
  const failed = (Object.keys(t.failures) as (keyof typeof t.failures)[]).filter((k) => t.failures[k]);
  return `${SELF_TEST_RESULT_NAMES[t.result]}: ${failed.map((k) => SELF_TEST_FAILURE_NAMES[k]).join(", ")}`;
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

function executor(client: IpmiClient): Execute {
  return (command, request) => client.execute(command, request);
}

async function sel(client: IpmiClient): Promise<Output> {
  const info = await client.execute(getSelInfo, undefined);
  const records = await readSelEntries(executor(client));
  const text = records.map((r) => {
    if (r.kind !== "system") return `${hex4(r.recordId)} | ${r.kind} record`;
    const kind = eventReadingClass(r.eventType);
    const offset = r.eventData[0] & 0x0f;
    const event =
      (kind === "sensor-specific"
        ? sensorSpecificOffsetText(r.sensorType, offset)
        : genericOffsetText(r.eventType, offset)) ?? `offset ${offset}`;
    const when = r.timestamp <= 0x20000000 ? "pre-init" : new Date(r.timestamp * 1000).toISOString();
    const direction = r.eventDirection === "assertion" ? "Asserted" : "Deasserted";
    return `${hex4(r.recordId)} | ${when} | ${sensorTypeName(r.sensorType)} #0x${hex2(r.sensorNumber)} | ${event} | ${direction}`;
  });
  return {
    json: { info, records },
    text: [`${info.entries} entries, ${info.freeBytes} bytes free`, ...text].join("\n"),
  };
}

/** As ipmitool's sel time get / set, sync setting the SEL clock to this machine's (IPMI 2.0 §31.10-31.11). */
async function selTime(client: IpmiClient, args: string[]): Promise<Output> {
  const [action] = args;
  if (action !== "get" && action !== "sync") throw new UsageError("time: expected get or sync");
  const execute = executor(client);
  const before = await readSelClock(execute);
  const set = action === "sync" ? await syncSelClock(execute) : undefined;
  const text = (c: typeof before) =>
    `SEL time : ${formatSelTime(c.bmcTime)}\nSkew     : ${formatSkew(c.skewSeconds)}`;
  if (set === undefined) return { json: before, text: text(before) };
  const after = await readSelClock(execute);
  return {
    json: { before, set, after },
    text: `Set to   : ${formatSelTime(set)}\n${text(after)}\nWas off  : ${formatSkew(before.skewSeconds)}`,
  };
}

async function sdr(client: IpmiClient): Promise<Output> {
  const records = await readSdrRepository(executor(client));
  const text = records.map((r) => {
    const name = "idString" in r ? r.idString : "";
    const number = "sensorNumber" in r ? ` #${r.sensorNumber}` : "";
    return `${hex4(r.recordId)} | ${r.kind.padEnd(12)} | ${name}${number}`;
  });
  return { json: records, text: text.join("\n") };
}

async function fru(client: IpmiClient): Promise<Output> {
  const { size, byWords, bytes, inventory } = await readFru(executor(client));
  return {
    json: { size, byWords, raw: bytes.toString("hex"), inventory, identity: fruIdentity(inventory) },
    text: fruPrintText(inventory),
  };
}

async function sensors(client: IpmiClient): Promise<Output> {
  const execute = executor(client);
  const views = await readSensors(execute, await readSdrRepository(execute));
  const cell = (v: number | undefined | null) => (v === undefined || v === null ? "na" : v.toFixed(3));
  const text = views.map((s) =>
    [
      s.name.padEnd(16),
      (s.eventReadingType === 1
        ? cell(s.value)
        : s.states === null
          ? "na"
          : `0x${s.states.toString(16)}`
      ).padEnd(10),
      (s.value === null && s.eventReadingType === 1 ? "" : s.unit).padEnd(10),
      (s.status === "ns" ? "na" : s.status).padEnd(5),
      ...(["lnr", "lcr", "lnc", "unc", "ucr", "unr"] as const).map((k) => cell(s.thresholds[k]).padEnd(9)),
    ].join(" | "),
  );
  return { json: views, text: text.join("\n") };
}

async function pef(client: IpmiClient): Promise<Output> {
  const execute = executor(client);
  const capabilities = await client.execute(getPefCapabilities, undefined);
  const control = await readPefParameter(execute, 1);
  const actions = await readPefParameter(execute, 2);
  const filters = [];
  for (let n = 1; n <= capabilities.filterTableSize; n++) {
    // Some BMCs advertise more filters than they serve (ipmi_sim: 16 of 15); show what answers.
    const p = await readPefParameter(execute, 6, n).catch(() => undefined);
    if (p?.parameter === "eventFilter")
      filters.push({ number: n, entry: p.entry, text: describeFilter(p.entry) });
  }
  const policyCount = await readPefParameter(execute, 8);
  const policies = [];
  const count = policyCount.parameter === "numberOfAlertPolicyEntries" ? policyCount.count : 0;
  for (let n = 1; n <= count; n++) {
    const p = await readPefParameter(execute, 9, n).catch(() => undefined);
    if (p?.parameter === "alertPolicy")
      policies.push({ number: n, entry: p.entry, text: describePolicy(p.entry) });
  }
  const enabled = control.parameter === "pefControl" && control.enable;
  return {
    json: { capabilities, control, actions, filters, policies },
    text: [
      `PEF ${enabled ? "enabled" : "disabled"}, ${capabilities.filterTableSize} filters, ${count} policy entries`,
      ...filters.map((f) => `filter ${String(f.number).padStart(2)}: ${f.text}`),
      ...policies
        .filter((p) => p.entry.enabled)
        .map((p) => `entry ${String(p.number).padStart(3)}: ${p.text}`),
    ].join("\n"),
  };
}

async function lanAlerts(client: IpmiClient, args: string[]): Promise<Output> {
  const channel = Number(args[0] ?? 1);
  if (!Number.isInteger(channel) || channel < 0 || channel > 15)
    throw new UsageError(`lan-alerts: channel "${args[0]}" is not 0-15`);
  const read = async (selector: number, set = 0): Promise<LanParameter> => {
    const r = await client.execute(getLanConfigurationParameters, {
      revisionOnly: false,
      channel,
      selector,
      setSelector: set,
      blockSelector: 0,
    });
    return decodeLanParameter(selector, r.data);
  };
  const community = await read(16);
  const count = await read(17);
  const destinations = [];
  const n = count.parameter === "destinationCount" ? count.count : 0;
  for (let set = 1; set <= n; set++) {
    destinations.push({ set, type: await read(18, set), address: await read(19, set) });
  }
  const text = [
    `channel ${channel}: community "${community.parameter === "community" ? community.community : "?"}", ${n} destinations`,
    ...destinations.map(({ set, type, address }) => {
      const t =
        type.parameter === "destinationType"
          ? `${type.type}${type.acknowledge ? `, ack ${type.ackTimeoutSeconds}s × ${type.retries}` : ""}`
          : "?";
      const a = address.parameter === "destinationAddress" ? `${address.ip} (${address.mac})` : "?";
      return `destination ${set}: ${t} → ${a}`;
    }),
  ];
  return { json: { channel, community, destinations }, text: text.join("\n") };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
