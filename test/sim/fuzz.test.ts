import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    const args = ["-I", "lanplus", "-H", "127.0.0.1", "-p", String(front.address().port)];
    await run("ipmitool", [...args, "-U", "admin", "-P", SIM_PASSWORD, "-C", suite, ...command], {
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
  it("counts every one, stays up and still serves ipmitool", async () => {
    const seeds = [
      ...(await capture("17", "mc", "info")),
      ...(await capture("17", "sdr", "list")),
      ...(await capture("3", "sel", "list")),
    ];
    // Presence ping, Get Channel Auth Capabilities, Open Session, RAKP 1/3, in-session requests, close.
    expect(seeds.length).toBeGreaterThan(10);
    expect(new Set(seeds.map((s) => s[5] & 0x3f))).toEqual(new Set([0x00, 0x10, 0x12, 0x14]));

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
    console.log(
      "FUZZ",
      (sims.sim?.server as unknown as { sessions: Map<number, unknown> }).sessions.size,
      sent,
      replies,
      seeds.length,
      JSON.stringify(sims.fleet.counters()),
    );
    expect(sent).toBeGreaterThanOrEqual(5_000);
    expect(sims.fleet.counters().datagrams - before).toBe(sent);
    expect(replies).toBeGreaterThan(0);
    expect(rejections).toEqual([]);

    const info = keyValues(await sims.ipmitool("17", "mc", "info"));
    expect(info.get("Manufacturer ID")).toBe("343");
    expect(keyValues(await sims.ipmitool("3", "mc", "info")).get("IPMI Version")).toBe("2.0");
  });
});
