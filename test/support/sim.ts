import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promisify } from "node:util";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";

const run = promisify(execFile);
export const SIM_PASSWORD = "sim-Secret-1";

async function freeUdpPort(host = "127.0.0.1"): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, host, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Starts simulated BMCs on a free loopback port (or the given address:port). */
export async function startSims(
  options: { count?: number; listen?: string; trapPort?: number; rebootMs?: number } = {},
) {
  const listen = options.listen ?? `127.0.0.1:${await freeUdpPort()}`;
  const config = simConfigSchema.parse({
    listen,
    count: options.count ?? 1,
    spread: "port",
    trapPort: options.trapPort ?? 162,
    rebootMs: options.rebootMs ?? 500,
    users: [
      { name: "admin", password: SIM_PASSWORD },
      { name: "viewer", password: "viewer-pass", privilege: "user" },
    ],
  });
  const fleet = await SimulatorFleet.start(config);
  const first = fleet.simulators[0]?.address ?? { host: "127.0.0.1", port: 623 };
  return {
    fleet,
    sim: fleet.simulators[0],
    host: first.host,
    port: first.port,
    /** `ipmitool -I lanplus` against the first BMC. */
    ipmitool: async (suite: string, ...args: string[]) =>
      (
        await run(
          "ipmitool",
          [
            "-I",
            "lanplus",
            "-H",
            first.host,
            "-p",
            String(first.port),
            "-U",
            "admin",
            "-P",
            SIM_PASSWORD,
            "-C",
            suite,
            ...args,
          ],
          { timeout: 30_000 },
        )
      ).stdout,
    /** A FreeIPMI tool against the first BMC, suite 17, no workaround flags. */
    freeipmi: async (tool: string, ...args: string[]) =>
      (
        await run(
          tool,
          [
            "-h",
            `${first.host}:${first.port}`,
            "-u",
            "admin",
            "-p",
            SIM_PASSWORD,
            "-D",
            "LAN_2_0",
            "-I",
            "17",
            "-l",
            "ADMIN",
            ...args,
          ],
          { timeout: 30_000 },
        )
      ).stdout,
  };
}
