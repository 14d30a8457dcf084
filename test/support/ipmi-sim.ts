import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { IpmiClient, type IpmiClientOptions } from "../../src/ipmi/client/client.js";
import { lan, lanplus } from "./login.js";
import { freeUdpPort } from "./ports.js";

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
  /** Kills it and starts a new one on the same port and state: a BMC reset that forgets its sessions. */
  restart(): Promise<void>;
  /** `ipmitool -I lanplus` against it, returning standard output. */
  ipmitool(...args: string[]): Promise<string>;
  /** `ipmitool -I lan -A AUTHTYPE` (IPMI 1.5) against it, returning standard output. */
  ipmitoolLan(authType: string, ...args: string[]): Promise<string>;
  /** A petgate RMCP+ client logging in as admin with cipher suite 3, no keep-alive; the caller closes it. */
  client(options?: Partial<IpmiClientOptions>): IpmiClient;
}

export async function startIpmiSim(): Promise<IpmiSim> {
  const state = mkdtempSync(join(tmpdir(), "petgate-ipmi-sim-"));
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort();
    try {
      let pid = await launch(port, state);
      const kill = () => {
        try {
          process.kill(pid, "SIGCONT");
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      };
      return {
        port,
        get pid() {
          return pid;
        },
        freeze: () => process.kill(pid, "SIGSTOP"),
        thaw: () => process.kill(pid, "SIGCONT"),
        stop: () => {
          kill();
          rmSync(state, { recursive: true, force: true });
        },
        restart: async () => {
          kill();
          pid = await launch(port, state);
        },
        client: (options = {}) =>
          new IpmiClient({
            host: "127.0.0.1",
            port,
            username: "admin",
            password: "secret",
            cipherSuite: 3,
            keepAliveMs: 0,
            ...options,
          }),
        ipmitool: async (...args: string[]) =>
          (
            await run("ipmitool", [...lanplus({ port, password: "secret", suite: "3" }), ...args], {
              timeout: 20_000,
            })
          ).stdout,
        ipmitoolLan: async (authType: string, ...args: string[]) =>
          (
            await run("ipmitool", [...lan({ port, password: "secret", authType }), ...args], {
              timeout: 20_000,
            })
          ).stdout,
      };
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}

async function launch(port: number, state: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await run(START, [String(port), state]);
      return Number(stdout.trim());
    } catch (err) {
      // A killed simulator's port can take a moment to be free again.
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
