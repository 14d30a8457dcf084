import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outcomeSum } from "../bench/fuzz/listener.js";
import { isTypedError } from "../bench/fuzz/parser.js";
import { pacedSend } from "../bench/fuzz/udp.js";
import { type FuzzSummary, runFuzz } from "../bench/fuzz.js";
import { IpmiDecodeError } from "../src/ipmi/errors.js";

/** `npm run fuzz` at a few thousand packets, with a fixed seed so a failure can be replayed. */
describe("npm run fuzz, small", () => {
  let summary: FuzzSummary;
  beforeAll(async () => {
    summary = await runFuzz({ count: 3_000, seed: 0x5eed });
  }, 60_000);

  it("passes: no crash, every packet counted, a real PET and a real session still work", () => {
    expect(summary.failures).toEqual([]);
  });

  it("the listener counted every datagram once, by exactly one outcome", () => {
    const { listener } = summary;
    expect(listener.sent).toBe(900);
    expect(listener.stats.received).toBe(listener.sent - listener.kernelDrops);
    expect(outcomeSum(listener.stats)).toBe(listener.stats.received);
    expect(listener.realPetDecoded).toBe(true);
    // The mutants reach every stage: BER, communities, USM, PET decoding.
    const { stats } = listener;
    for (const n of [
      stats.pet,
      stats.nonPet,
      stats.petMalformed,
      stats.rejected.malformed,
      stats.rejected.community,
      stats.rejected.auth,
    ])
      expect(n).toBeGreaterThan(0);
  });

  it("the simulator received every datagram, served requests in a session, and still opens one", () => {
    const { simulator } = summary;
    expect(simulator.sent).toBe(600);
    expect(simulator.counters.datagrams).toBe(simulator.sent - simulator.kernelDrops);
    expect(simulator.counters.requests).toBeGreaterThan(0);
    expect(simulator.replies).toBeGreaterThan(0);
    expect(simulator.realSessionWorks).toBe(true);
  });

  it("the client's decoders returned or threw a typed error at every stage, for every case", () => {
    const { parser } = summary;
    expect(parser.packets).toBe(1_500);
    expect(parser.crashes).toBe(0);
    for (const outcome of [
      "ok response",
      "rejected rmcp",
      "rejected session",
      "rejected message",
      "rejected command",
    ])
      expect(parser.outcomes[outcome], outcome).toBeGreaterThan(0);
  });
});

describe("the harness's own accounting", () => {
  let sink: dgram.Socket;
  let counted = 0;
  beforeAll(async () => {
    sink = dgram.createSocket("udp4");
    // A receiver whose counter misses every datagram that starts with 00h.
    sink.on("message", (m) => {
      if (m[0] !== 0) counted++;
    });
    await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  });
  afterAll(() => sink.close());

  it("reports datagrams a target did not count", async () => {
    const target = { host: "127.0.0.1", port: sink.address().port };
    const datagrams = Array.from({ length: 40 }, (_, i) => Buffer.of(i % 4, 1, 2, 3));
    const result = await pacedSend(
      target,
      datagrams,
      { counted: () => counted },
      { window: 8, settleMs: 300 },
    );
    expect(result.sent).toBe(40);
    expect(result.kernelDrops).toBe(0);
    expect(result.unaccounted).toBe(10);
  });

  it("tells the project's typed errors from crashes", () => {
    expect(isTypedError(new IpmiDecodeError("RMCP header", "too short", "length"))).toBe(true);
    expect(isTypedError(new TypeError("Cannot read properties of undefined"))).toBe(false);
    expect(isTypedError(new RangeError("offset out of range"))).toBe(false);
  });
});
