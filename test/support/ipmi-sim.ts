import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const START = fileURLToPath(new URL("../interop/ipmi_sim/start", import.meta.url));

/** A running OpenIPMI ipmi_sim (users admin/secret, operator/opsecret), on a free loopback UDP port. */
export interface IpmiSim {
  port: number;
  pid: number;
  /** SIGSTOP: the BMC hangs, as a wedged one does. */
  freeze(): void;
  thaw(): void;
  stop(): void;
  /** `ipmitool -I lanplus` against it, returning standard output. */
  ipmitool(...args: string[]): Promise<string>;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startIpmiSim(): Promise<IpmiSim> {
  const state = mkdtempSync(join(tmpdir(), "petgate-ipmi-sim-"));
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort();
    try {
      const { stdout } = await run(START, [String(port), state]);
      const pid = Number(stdout.trim());
      return {
        port,
        pid,
        freeze: () => process.kill(pid, "SIGSTOP"),
        thaw: () => process.kill(pid, "SIGCONT"),
        stop: () => {
          try {
            process.kill(pid, "SIGCONT");
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
          rmSync(state, { recursive: true, force: true });
        },
        ipmitool: async (...args: string[]) =>
          (
            await run(
              "ipmitool",
              [
                "-I",
                "lanplus",
                "-H",
                "127.0.0.1",
                "-p",
                String(port),
                "-U",
                "admin",
                "-P",
                "secret",
                "-C",
                "3",
                ...args,
              ],
              { timeout: 20_000 },
            )
          ).stdout,
      };
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}
