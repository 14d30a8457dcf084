import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promisify } from "node:util";
import { type ListenerOptions, type ListenerStats, TrapListener } from "../../src/pet/listener.js";
import type { TrapEvent } from "../../src/pet/trap.js";

const run = promisify(execFile);

export interface RunningListener {
  listener: TrapListener;
  events: TrapEvent[];
  target: string;
  close(): Promise<void>;
}

/** A listener on a free loopback port taking v1/v2c community "public" from anyone, 1 MiB buffer. */
export function testListenerOptions(overrides: Partial<ListenerOptions> = {}): ListenerOptions {
  return {
    bind: { host: "127.0.0.1", port: 0 },
    communities: ["public"],
    allowSources: [],
    users: [],
    receiveBufferBytes: 1 << 20,
    ...overrides,
  };
}

export async function startListener(overrides: Partial<ListenerOptions> = {}): Promise<RunningListener> {
  const events: TrapEvent[] = [];
  const listener = await TrapListener.start(testListenerOptions(overrides), (e) => events.push(e));
  return {
    listener,
    events,
    target: `udp:127.0.0.1:${listener.address().port}`,
    close: () => listener.close(),
  };
}

/** Runs a net-snmp command-line tool (snmptrap, snmpinform) with no config files of the host's. */
export async function netSnmp(tool: "snmptrap" | "snmpinform", args: string[]): Promise<void> {
  await run(tool, ["-r", "1", "-t", "2", ...args], {
    env: { ...process.env, SNMPCONFPATH: "/nonexistent", MIBS: "", MIBDIRS: "/nonexistent" },
    timeout: 15_000,
  });
}

/** A real snmptrap datagram, captured on a plain UDP socket so that a test can use or alter its bytes. */
export async function captureSnmptrap(argsFor: (target: string) => string[]): Promise<Buffer> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((r) => socket.once("message", r));
  await netSnmp("snmptrap", argsFor(`udp:127.0.0.1:${socket.address().port}`));
  const packet = await got;
  socket.close();
  return packet;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function outcomes(s: ListenerStats): number {
  return s.pet + s.nonPet + s.petMalformed + s.reports + Object.values(s.rejected).reduce((a, b) => a + b, 0);
}

export const PET_ENTERPRISE = "1.3.6.1.4.1.3183.1.1";
const PET_VARBIND = `${PET_ENTERPRISE}.1`;

/** SNMPv3 authPriv (SHA-256 + AES) credentials as net-snmp's tools take them. */
export interface V3Sender {
  user: string;
  authKey: string;
  privKey: string;
  /** The sender's engine ID, which a trap (not an inform) must carry. */
  engineId?: string;
}

export type Sender =
  | { version: "1"; community: string }
  | { version: "2c"; community: string }
  | ({ version: "3" } & V3Sender);

/** Arguments for snmptrap/snmpinform sending one PET the way a BMC does. */
export function petArgs(sender: Sender, target: string, specificTrap: number, varbindHex: string): string[] {
  const varbind = [PET_VARBIND, "x", varbindHex];
  if (sender.version === "1") {
    const header = [PET_ENTERPRISE, "127.0.0.1", "6", String(specificTrap), "0"];
    return ["-v", "1", "-c", sender.community, target, ...header, ...varbind];
  }
  return [...securityArgs(sender), target, "", `${PET_ENTERPRISE}.0.${specificTrap}`, ...varbind];
}

export function securityArgs(sender: Exclude<Sender, { version: "1" }>): string[] {
  if (sender.version === "2c") return ["-v", "2c", "-c", sender.community];
  const engine = sender.engineId === undefined ? [] : ["-e", sender.engineId];
  const auth = ["-l", "authPriv", "-a", "SHA-256", "-A", sender.authKey, "-x", "AES", "-X", sender.privKey];
  return ["-v", "3", ...engine, "-u", sender.user, ...auth];
}
