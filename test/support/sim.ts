import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promisify } from "node:util";
import type { BmcTarget } from "../../src/config/inventory.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { freeipmiLan20, lanplus } from "./login.js";
import { freeUdpPort } from "./ports.js";

const run = promisify(execFile);
export const SIM_PASSWORD = "sim-Secret-1";

/** Starts simulated BMCs on a free loopback port (or the given address:port). */
export async function startSims(
  options: {
    count?: number;
    listen?: string;
    trapPort?: number;
    rebootMs?: number;
    selCapacity?: number;
  } = {},
) {
  const listen = options.listen ?? `127.0.0.1:${await freeUdpPort()}`;
  const config = simConfigSchema.parse({
    listen,
    count: options.count ?? 1,
    spread: "port",
    trapPort: options.trapPort ?? 162,
    rebootMs: options.rebootMs ?? 500,
    ...(options.selCapacity !== undefined && { selCapacity: options.selCapacity }),
    users: [
      { name: "admin", password: SIM_PASSWORD },
      { name: "viewer", password: "viewer-pass", privilege: "user" },
    ],
  });
  const fleet = await SimulatorFleet.start(config);
  const first = fleet.simulators[0]?.address ?? { host: "127.0.0.1", port: 623 };
  const target: BmcTarget = {
    name: "bmc-1",
    host: first.host,
    port: first.port,
    username: "admin",
    password: SIM_PASSWORD,
    cipherSuite: 17,
    allowCipherFallback: false,
    labels: {},
  };
  return {
    fleet,
    sim: fleet.simulators[0],
    host: first.host,
    port: first.port,
    /** The first BMC as an inventory target: admin, cipher suite 17. */
    target,
    /** `ipmitool -I lanplus` against the first BMC. */
    ipmitool: async (suite: string, ...args: string[]) =>
      (
        await run(
          "ipmitool",
          [...lanplus({ host: first.host, port: first.port, password: SIM_PASSWORD, suite }), ...args],
          { timeout: 30_000 },
        )
      ).stdout,
    /** A FreeIPMI tool against the first BMC, suite 17, no workaround flags. */
    freeipmi: async (tool: string, ...args: string[]) =>
      (
        await run(
          tool,
          [...freeipmiLan20({ host: first.host, port: first.port, password: SIM_PASSWORD }), ...args],
          { timeout: 30_000 },
        )
      ).stdout,
  };
}

/** `a | b | c` table rows (ipmitool's and FreeIPMI's listings), cells trimmed, blank lines dropped. */
export function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("|").map((c) => c.trim()));
}

/** `Key : value` lines (ipmitool mc info, lan print; FreeIPMI bmc-info) as a map, first occurrence wins. */
export function keyValues(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([^:]*?)\s*:\s(.*)$/.exec(line);
    if (m?.[1] && !map.has(m[1])) map.set(m[1], (m[2] ?? "").trim());
  }
  return map;
}

/**
 * A session-less Get Channel Authentication Capabilities request (IPMI 1.5 packet, auth type none,
 * channel E = this one, administrator): the first thing every console sends.
 */
export const GET_CHANNEL_AUTH_CAPABILITIES = Buffer.from(
  "0600ff07000000000000000000092018c88100388e04b5",
  "hex",
);

/** Sends one datagram from a fresh socket and collects what comes back until `settled` resolves. */
export async function udpExchange(
  host: string,
  port: number,
  packet: Buffer,
  settled: () => Promise<unknown>,
): Promise<Buffer[]> {
  const socket = dgram.createSocket("udp4");
  const replies: Buffer[] = [];
  socket.on("message", (m) => replies.push(m));
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(packet, port, host, (err) => (err ? reject(err) : resolve())),
    );
    await settled();
    return replies;
  } finally {
    socket.close();
  }
}

/**
 * PEF set up with ipmitool as an operator would by hand: destination 1 → 127.0.0.1, filter 1 alerting
 * on any threshold event of `sensorType` (FFh = any) through policy 1, alerts and PEF enabled.
 */
export async function provisionPefWithIpmitool(
  ipmitool: (...args: string[]) => Promise<unknown>,
  options: { sensorType?: number; ack?: { timeoutSeconds: number; retries: number } } = {},
): Promise<void> {
  await ipmitool("lan", "alert", "set", "1", "1", "ipaddr", "127.0.0.1");
  if (options.ack) {
    await ipmitool("lan", "alert", "set", "1", "1", "ack", "on");
    await ipmitool("lan", "alert", "set", "1", "1", "time", String(options.ack.timeoutSeconds));
    await ipmitool("lan", "alert", "set", "1", "1", "retry", String(options.ack.retries));
  }
  const type = `0x${(options.sensorType ?? 0xff).toString(16)}`;
  // PEF parameter 6, filter 1: enabled, alert, policy 1, critical, any generator, sensor type, any
  // sensor, threshold trigger, offsets 0A95h (IPMI 2.0 Table 17-2).
  const filter = [
    "0x80",
    "0x01",
    "0x01",
    "0x10",
    "0xff",
    "0xff",
    type,
    "0xff",
    "0x01",
    "0x95",
    "0x0a",
    ...Array(9).fill("0x00"),
  ];
  await ipmitool("raw", "0x04", "0x12", "0x06", "0x01", ...filter);
  await ipmitool("raw", "0x04", "0x12", "0x09", "0x01", "0x18", "0x11", "0x00"); // policy 1 → channel 1, destination 1
  await ipmitool("raw", "0x04", "0x12", "0x02", "0x01"); // global action: alert
  await ipmitool("raw", "0x04", "0x12", "0x01", "0x01"); // PEF enabled
}
