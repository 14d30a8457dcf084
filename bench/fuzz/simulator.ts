// Target 2: a simulated BMC (SimulatorFleet, one BMC on 127.0.0.1) fed ASF pings, session-less
// IPMI 1.5 requests, Open Session / RAKP messages and in-session RMCP+ requests as petgate's client
// sends them, and their mutants.
import dgram from "node:dgram";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";
import { encodePresencePing } from "../../src/ipmi/rmcp.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import type { SimulatorCounters } from "../../src/sim/simulator.js";
import { type Captured, captureSession } from "./capture.js";
import { mutants, rmcpFields, type Seed, sampled } from "./mutate.js";
import { pacedSend, type SendResult } from "./udp.js";

const LOGIN = { username: "admin", password: "fuzz-Secret-1" };

export interface SimTarget {
  fleet: SimulatorFleet;
  /** Traffic of a suite 17 session (closed) and of a suite 1 session left open. */
  captures: Captured[];
  /** The BMC session ID of the open suite 1 session: its packets are neither signed nor encrypted. */
  liveSession: number;
  /** Sequence numbers for it, kept across runs (see freshSequences). */
  fresh: (d: Buffer) => Buffer;
  stop(): Promise<void>;
}

/** Starts the BMC and captures a console's traffic with it (cipher suites 17 and 1). */
export async function startSimTarget(): Promise<SimTarget> {
  const fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: "127.0.0.1:0",
      // PETs (from the captured Platform Event, if PEF were on) go to the discard port.
      trapPort: 9,
      // A mutant that happens to be a valid Cold Reset keeps the BMC silent only briefly.
      rebootMs: 100,
      users: [{ name: LOGIN.username, password: LOGIN.password }],
    }),
  );
  const bmc = fleet.simulators[0]?.address as { host: string; port: number };
  const captures = [await captureSession(bmc, LOGIN, 17), await captureSession(bmc, LOGIN, 1, true)];
  const live = captures[1]?.toBmc.find(
    (d) => d[4] === 0x06 && ((d[5] ?? 0) & 0x3f) === 0 && d.readUInt32LE(6) !== 0,
  );
  if (!live) throw new Error("the suite 1 session sent no in-session request");
  return {
    fleet,
    captures,
    liveSession: live.readUInt32LE(6),
    fresh: freshSequences(live.readUInt32LE(6)),
    async stop() {
      await Promise.all(captures.map((c) => c.client.close().catch(() => undefined)));
      await fleet.stop();
    },
  };
}

/**
 * The ping, the suite 17 session's datagrams (session-less requests, Open Session, RAKP 1 and 3, then
 * signed and encrypted requests), and the open suite 1 session's requests. Not that session's own
 * RAKP messages: a replayed or mutated RAKP 3 naming it makes the simulator drop it (a finding of
 * this fuzz), which would leave nothing to fuzz the command handlers through.
 */
export function simSeeds(target: SimTarget): Seed[] {
  const [closed, open] = target.captures;
  const inSession = (d: Buffer) =>
    d[4] === 0x06 && ((d[5] ?? 0) & 0x3f) === 0 && d.readUInt32LE(6) === target.liveSession;
  const packets = [
    encodePresencePing(0x11),
    ...(closed?.toBmc ?? []),
    ...(open?.toBmc ?? []).filter(inSession),
  ];
  return packets.map((bytes) => ({ bytes, fields: rmcpFields(bytes) }));
}

/**
 * Gives every datagram addressed to the open suite 1 session a sequence number the BMC has not seen
 * (IPMI 2.0 §6.12.13): replayed captures would all be refused by the sequence window, and a mutant
 * that jumped the window far ahead would lock the rest out. The window itself is fuzzed through the
 * other sessions' packets (and unit-tested in test/ipmi/sequence-window.test.ts).
 */
export function freshSequences(liveSession: number): (d: Buffer) => Buffer {
  let sequence = 0x1000;
  return (d) => {
    if (d.length < 16 || d[4] !== 0x06 || ((d[5] ?? 0) & 0x3f) !== 0 || d.readUInt32LE(6) !== liveSession)
      return d;
    sequence = (sequence + 1) >>> 0 || 1;
    d.writeUInt32LE(sequence, 10);
    return d;
  };
}

export interface SimResult extends SendResult {
  /** The simulator's own counters over the run (datagrams = what it received). */
  counters: Partial<SimulatorCounters>;
  replies: number;
  /** After the fuzz, a fresh IpmiClient (suite 17) opened a session and read Get Device ID. */
  realSessionWorks: boolean;
}

export async function fuzzSimulator(
  target: SimTarget,
  seeds: readonly Seed[],
  count: number,
  seed: number,
): Promise<SimResult> {
  const { fleet } = target;
  const bmc = fleet.simulators[0]?.address as { host: string; port: number };
  const socket = dgram.createSocket("udp4");
  let replies = 0;
  socket.on("message", () => replies++);
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  const before = fleet.counters();
  const { fresh } = target;
  const datagrams = (function* () {
    for (const m of sampled(mutants(seeds, { maxRandom: 200 }), count, seed)) yield fresh(m.bytes);
  })();
  let sent: SendResult;
  try {
    sent = await pacedSend(
      bmc,
      datagrams,
      { counted: () => fleet.counters().datagrams - before.datagrams },
      { window: 128, socket },
    );
  } finally {
    socket.close();
  }
  const after = fleet.counters();
  const counters = Object.fromEntries(
    (Object.keys(after) as (keyof SimulatorCounters)[]).map((k) => [
      k,
      after[k] - (k === "sessionsActive" ? 0 : before[k]),
    ]),
  );
  return { ...sent, counters, replies, realSessionWorks: await realSession(bmc) };
}

async function realSession(bmc: { host: string; port: number }): Promise<boolean> {
  await using client = new IpmiClient({
    ...bmc,
    ...LOGIN,
    cipherSuite: 17,
    keepAliveMs: 0,
    log: () => undefined,
  });
  const id = await client.execute(getDeviceId, undefined).catch(() => undefined);
  return id?.manufacturerId === 343;
}
