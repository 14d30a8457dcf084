import { execFile } from "node:child_process";
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

export async function startListener(overrides: Partial<ListenerOptions> = {}): Promise<RunningListener> {
  const events: TrapEvent[] = [];
  const listener = await TrapListener.start(
    {
      bind: { host: "127.0.0.1", port: 0 },
      communities: ["public"],
      allowSources: [],
      users: [],
      receiveBufferBytes: 1 << 20,
      ...overrides,
    },
    (e) => events.push(e),
  );
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

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function outcomes(s: ListenerStats): number {
  return s.pet + s.nonPet + s.petMalformed + s.reports + Object.values(s.rejected).reduce((a, b) => a + b, 0);
}
