import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import type { IpmiCommand, NetFn } from "../../src/ipmi/commands/command.js";
import { CompletionCodeError } from "../../src/ipmi/errors.js";
import { commandKey } from "../../src/sim/handler.js";
import { channelHandlers, defaultChannelAccess } from "../../src/sim/handlers/channel.js";
import { bmcHandlers } from "../../src/sim/handlers.js";
import { BmcState } from "../../src/sim/state.js";
import { lanplus } from "../support/login.js";
import { keyValues, SIM_PASSWORD, startSims } from "../support/sim.js";

const run = promisify(execFile);

/**
 * Random and mutated RMCP+ datagrams at a running simulator over UDP. The mutants start from what a
 * real console sends: an ipmitool -C 17 session (and a -C 3 one) captured by a UDP proxy in between.
 */
let sims: Awaited<ReturnType<typeof startSims>>;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  sims = await startSims();
  process.on("unhandledRejection", onRejection);
});
afterAll(async () => {
  process.off("unhandledRejection", onRejection);
  await sims.fleet.stop();
});

/** Runs ipmitool through a UDP proxy to the simulator and returns the datagrams it sent. */
async function capture(suite: string, ...command: string[]): Promise<Buffer[]> {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  const sent: Buffer[] = [];
  let consolePort = 0;
  front.on("message", (m, peer) => {
    consolePort = peer.port;
    sent.push(Buffer.from(m));
    back.send(m, sims.port, sims.host);
  });
  back.on("message", (m) => front.send(m, consolePort, "127.0.0.1"));
  await new Promise<void>((r) => front.bind(0, "127.0.0.1", r));
  await new Promise<void>((r) => back.bind(0, "127.0.0.1", r));
  try {
    const login = lanplus({ port: front.address().port, password: SIM_PASSWORD, suite });
    await run("ipmitool", [...login, ...command], {
      timeout: 30_000,
    });
    return sent;
  } finally {
    front.close();
    back.close();
  }
}

/** One datagram: a captured one mutated (bytes overwritten, cut, extended, fields forced), or random bytes. */
function datagrams(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  const seed = fc.constantFrom(...seeds);
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 4,
  });
  const flipped = fc.tuple(seed, flips).map(([s, changes]) => {
    const m = Buffer.from(s);
    for (const [at, v] of changes) m.writeUInt8(v, at % m.length);
    return m;
  });
  const resized = fc
    .tuple(seed, fc.nat(), fc.uint8Array({ maxLength: 24 }))
    .map(([s, cut, tail]) => Buffer.concat([s.subarray(0, cut % (s.length + 1)), Buffer.from(tail)]));
  // Header fields of an IPMI 2.0 packet: payload type (5), session ID (6-9), sequence (10-13), length (14-15).
  const field = fc.constantFrom([5, 1], [6, 4], [10, 4], [14, 2], [16, 1], [17, 1]);
  const forced = fc
    .tuple(seed, field, fc.uint8Array({ minLength: 4, maxLength: 4 }))
    .map(([s, [at, n], v]) => {
      const m = Buffer.from(s);
      if (m.length >= at + n) Buffer.from(v).copy(m, at, 0, n);
      return m;
    });
  const rmcpPlus = fc
    .tuple(fc.integer({ min: 0, max: 0x3f }), fc.uint8Array({ maxLength: 80 }))
    .map(([type, body]) =>
      Buffer.concat([Buffer.from([0x06, 0x00, 0xff, 0x07, 0x06, type]), Buffer.from(body)]),
    );
  const random = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
  return fc.oneof(
    { arbitrary: flipped, weight: 4 },
    { arbitrary: resized, weight: 2 },
    { arbitrary: forced, weight: 2 },
    { arbitrary: rmcpPlus, weight: 1 },
    { arbitrary: random, weight: 2 },
  );
}

describe("the simulator under random and mutated RMCP+ datagrams", () => {
  // Fixed seeds keep the suite reproducible (fast-check prints the seed and path of a failure).
  it("counts every one, stays up and still serves ipmitool", async () => {
    const seeds = [
      ...(await capture("17", "mc", "info")),
      ...(await capture("17", "sdr", "list")),
      ...(await capture("3", "sel", "list")),
    ];
    // Session-less IPMI 1.5 requests (Get Channel Auth Capabilities, Cipher Suites), then RMCP+:
    // Open Session, RAKP 1, RAKP 3 and in-session requests.
    expect(seeds.some((s) => s[4] === 0x00)).toBe(true);
    const rmcpPlus = seeds.filter((s) => s[4] === 0x06).map((s) => (s[5] ?? 0) & 0x3f);
    expect(new Set(rmcpPlus)).toEqual(new Set([0x00, 0x10, 0x12, 0x14]));

    const fuzzer = dgram.createSocket("udp4");
    let replies = 0;
    fuzzer.on("message", () => replies++);
    await new Promise<void>((r) => fuzzer.bind(0, "127.0.0.1", r));
    const before = sims.fleet.counters().datagrams;
    let sent = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(datagrams(seeds), { minLength: 5, maxLength: 5 }), async (batch) => {
          for (const d of batch) {
            await new Promise<void>((resolve, reject) =>
              fuzzer.send(d, sims.port, sims.host, (err) => (err ? reject(err) : resolve())),
            );
            sent++;
          }
          // Paced: let the simulator drain its socket before the next batch.
          await new Promise((r) => setImmediate(r));
        }),
        { numRuns: 1_100, seed: 0x1f1f },
      );
      // The simulator handles datagrams in this process: wait (bounded) until it has seen them all.
      for (let i = 0; i < 200 && sims.fleet.counters().datagrams - before < sent; i++) await sleep(10);
    } finally {
      fuzzer.close();
    }
    expect(sent).toBeGreaterThanOrEqual(5_000);
    expect(sims.fleet.counters().datagrams - before).toBe(sent);
    expect(replies).toBeGreaterThan(0);
    expect(rejections).toEqual([]);

    const info = keyValues(await sims.ipmitool("17", "mc", "info"));
    expect(info.get("Manufacturer ID")).toBe("343");
    expect(keyValues(await sims.ipmitool("3", "mc", "info")).get("IPMI Version")).toBe("2.0");
  });
});

/** A command with arbitrary netFn, cmd and data bytes; the response data comes back as bytes. */
function raw(netFn: number, cmd: number): IpmiCommand<Buffer, Buffer> {
  const bytes = (b: Buffer) => b;
  return {
    name: `raw ${netFn.toString(16)}/${cmd.toString(16)}`,
    netFn: netFn as NetFn,
    cmd,
    encodeRequest: bytes,
    decodeRequest: bytes,
    encodeResponse: bytes,
    decodeResponse: bytes,
  };
}

/**
 * Commands that would reboot the BMC, end or demote the fuzzer's session (everything after would be
 * D4h) or disable the channel.
 */
const DESTRUCTIVE = new Set([0x02, 0x3b, 0x3c, 0x40].map((cmd) => commandKey(0x06, cmd)));

/** What the simulator serves: its BMC and channel commands, and the session server's own. */
function servedCommands(): [netFn: number, cmd: number][] {
  const state = new BmcState({ adminPassword: "unused" });
  const keys = [
    ...bmcHandlers(state, { coldReset: () => undefined, petAcknowledge: () => false }).keys(),
    ...new Map(channelHandlers(state, defaultChannelAccess(), () => 0)).keys(),
    ...[0x38, 0x3d, 0x54].map((cmd) => commandKey(0x06, cmd)),
  ];
  return keys.filter((k) => !DESTRUCTIVE.has(k)).map((k) => k.split(":").map(Number) as [number, number]);
}

describe("the simulator under random requests inside an authenticated session", () => {
  it("answers every one with a completion code and keeps serving", async () => {
    await using client = new IpmiClient({
      host: sims.host,
      port: sims.port,
      username: "admin",
      password: SIM_PASSWORD,
      cipherSuite: 17,
      keepAliveMs: 0,
      attemptTimeoutMs: 300,
      deadlineMs: 1_000,
      log: () => undefined,
    });
    const served = servedCommands();
    expect(served.length).toBeGreaterThan(25);
    const outcomes = new Map<string, number>();
    const silent: string[] = [];
    // Mostly commands the simulator serves, with random data; some random netFn/cmd pairs too.
    const command = fc.oneof(
      { arbitrary: fc.constantFrom(...served), weight: 4 },
      {
        arbitrary: fc.tuple(fc.constantFrom(0x00, 0x04, 0x06, 0x0a, 0x0c), fc.integer({ min: 0, max: 0xff })),
        weight: 1,
      },
    );
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      // Small values: selectors, set selectors and lengths near the edges.
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(0x7f, 0x80, 0xfe, 0xff)), {
        maxLength: 24,
      }),
    );
    const request = fc
      .tuple(command, data)
      .filter(([[netFn, cmd], d]) => !(commandKey(netFn, cmd) === commandKey(0x0c, 0x01) && d[1] === 24));
    await fc.assert(
      fc.asyncProperty(request, async ([[netFn, cmd], data]) => {
        const outcome = await client.execute(raw(netFn, cmd), Buffer.from(data)).then(
          () => "00",
          (err: Error) =>
            err instanceof CompletionCodeError ? err.code.toString(16).padStart(2, "0") : err.name,
        );
        if (!/^[0-9a-f]{2}$/.test(outcome))
          silent.push(
            `${netFn.toString(16)}/${cmd.toString(16)} ${Buffer.from(data).toString("hex")}: ${outcome}`,
          );
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { numRuns: 2_000, seed: 0x5e55 },
    );
    expect(silent).toEqual([]);
    expect(rejections).toEqual([]);
    expect(keyValues(await sims.ipmitool("17", "mc", "info")).get("Manufacturer ID")).toBe("343");
  });
});

describe("half-open sessions", () => {
  /** An Open Session Request for suite 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), administrator. */
  const OPEN_SESSION = Buffer.from(
    "0600ff07061000000000000000002000" +
      "00040000a1a2a3a4" +
      "0000000801000000" +
      "0100000801000000" +
      "0200000801000000",
    "hex",
  );

  // Half-open sessions (Open Session answered, no RAKP) give way to new requests when the table is full.
  it("still admits a console after 64 unauthenticated Open Session Requests", async () => {
    const flooder = dgram.createSocket("udp4");
    await new Promise<void>((r) => flooder.bind(0, "127.0.0.1", r));
    const before = sims.fleet.counters().datagrams;
    try {
      for (let i = 0; i < 64; i++)
        await new Promise<void>((resolve, reject) =>
          flooder.send(OPEN_SESSION, sims.port, sims.host, (err) => (err ? reject(err) : resolve())),
        );
      for (let i = 0; i < 200 && sims.fleet.counters().datagrams - before < 64; i++) await sleep(10);
    } finally {
      flooder.close();
    }
    expect(keyValues(await sims.ipmitool("17", "mc", "info")).get("Manufacturer ID")).toBe("343");
  });
});
