// OpenIPMI ipmi_sim BMC simulators for the IPMI bench, on 127.0.0.1. Set up exactly as
// test/interop/ipmi_sim/start does (its lan.conf.in, bmc.emu and sdrs.txt), but started as children of
// the bench rather than through start's `setsid … &`: so killAll() from receivers.ts stops them, the
// bench reaps them, and no re-parented ipmi_sim or zombie is left for ps to find.
import { execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { loopbackSocket } from "./kernel.js";
import { track } from "./receivers.js";

export interface Sim {
  port: number;
  pid: number | undefined;
  /** ipmi_sim exited (it should not during the bench). */
  exited(): boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address();
  s.close();
  return port;
}

/** Starts one ipmi_sim on 127.0.0.1:port with its state under `state`; resolves once it has bound. */
export async function startSim(simDir: string, port: number, state: string): Promise<Sim> {
  const name = `sim${port}`;
  mkdirSync(join(state, "ipmi_sim", name), { recursive: true });
  const conf = readFileSync(join(simDir, "lan.conf.in"), "utf8")
    .replaceAll("@NAME@", name)
    .replaceAll("@ADDR@", "127.0.0.1")
    .replaceAll("@PORT@", String(port));
  writeFileSync(join(state, "lan.conf"), conf);
  await promisify(execFile)(
    "sdrcomp",
    ["-o", join(state, "ipmi_sim", name, "sdr.20.main"), join(simDir, "sdrs.txt")],
    { timeout: 10_000 },
  );
  const logFile = join(state, "ipmi_sim.log");
  const log = openSync(logFile, "w");
  const args = ["-c", join(state, "lan.conf"), "-f", join(simDir, "bmc.emu"), "-s", state, "-n"];
  const child = track(spawn("ipmi_sim", args, { stdio: ["ignore", log, log] }));
  closeSync(log);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + 5000;
  while (loopbackSocket(port) === undefined) {
    if (exited() || Date.now() > deadline) {
      child.kill("SIGKILL");
      const why = readFileSync(logFile, "utf8").trim();
      throw new Error(`ipmi_sim did not bind 127.0.0.1:${port}${why ? `: ${why}` : ""}`);
    }
    await sleep(20);
  }
  return { port, pid: child.pid, exited };
}

/** ipmi_sim processes whose command line names `marker` (the bench's scratch dir), per ps. */
export async function simsLeft(marker: string): Promise<string[]> {
  const ps = await promisify(execFile)("ps", ["-C", "ipmi_sim", "-o", "pid=,stat=,args="], {
    timeout: 5000,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" })); // exit 1: none running
  return ps.stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.includes(marker));
}
