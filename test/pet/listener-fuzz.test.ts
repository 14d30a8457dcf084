import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  captureSnmptrap,
  outcomes,
  petArgs,
  type RunningListener,
  startListener,
  waitFor,
} from "../support/listener.js";
import { DELL_CHASSIS_INTRUSION } from "./vectors.js";

const V1_PET = Buffer.from(
  readFileSync(new URL("../fixtures/snmp/pet-v1-dell-chassis-intrusion.hex", import.meta.url), "utf8").trim(),
  "hex",
);
const V3 = { user: "petgate", authKey: "auth-passphrase-1", privKey: "priv-passphrase-1" };

let running: RunningListener;
let seeds: Buffer[];

beforeAll(async () => {
  const v3 = { version: "3" as const, ...V3, engineId: "0x80001f8880c0ffee0001" };
  seeds = [
    V1_PET,
    await captureSnmptrap((t) =>
      petArgs({ version: "2c", community: "public" }, t, 356224, DELL_CHASSIS_INTRUSION.hex),
    ),
    await captureSnmptrap((t) => petArgs(v3, t, 356224, DELL_CHASSIS_INTRUSION.hex)),
  ];
  running = await startListener({
    users: [
      {
        name: V3.user,
        level: "authPriv",
        authProtocol: "sha256",
        authKey: V3.authKey,
        privProtocol: "aes",
        privKey: V3.privKey,
      },
    ],
  });
});
afterAll(() => running.close());

/** Random datagrams, and real ones with bytes flipped, cut short or extended. */
const packets = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc
    .tuple(
      fc.nat(2),
      fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(400)),
    )
    .map(([seed, flips, cut]) => {
      const b = Buffer.from(seeds[seed] as Buffer);
      for (const [at, value] of flips) b[at % b.length] = value;
      return cut === null ? b : b.subarray(0, cut);
    }),
);

describe("listener packet path under fuzzing", () => {
  it("counts every datagram exactly once, never crashes, and still decodes a real PET afterwards", async () => {
    const { listener, events } = running;
    const sender = dgram.createSocket("udp4");
    const batch = fc.sample(packets, { numRuns: 3000, seed: 0x9e7 });
    for (let i = 0; i < batch.length; i += 100) {
      await Promise.all(
        batch
          .slice(i, i + 100)
          .map(
            (p) => new Promise<void>((r) => sender.send(p, listener.address().port, "127.0.0.1", () => r())),
          ),
      );
      // Pace the bursts so the kernel buffer never overflows: loss would hide a counting bug.
      await waitFor("the batch", () => listener.stats().received === Math.min(i + 100, batch.length));
    }
    const afterFuzz = listener.stats();
    expect(afterFuzz.received).toBe(batch.length);
    expect(outcomes(afterFuzz)).toBe(afterFuzz.received);
    // The mutated real packets reach every stage: BER parsing, communities, USM, PET decoding.
    expect(afterFuzz.rejected.malformed).toBeGreaterThan(0);
    expect(afterFuzz.rejected.community).toBeGreaterThan(0);
    expect(afterFuzz.rejected.auth).toBeGreaterThan(0);
    expect(afterFuzz.pet).toBeGreaterThan(0);
    expect(afterFuzz.petMalformed).toBeGreaterThan(0);

    const before = events.length;
    await new Promise<void>((r) => sender.send(V1_PET, listener.address().port, "127.0.0.1", () => r()));
    const last = await waitFor("the real PET", () => events[before]);
    expect(last.kind === "pet" && last.pet.event).toBe("General Chassis Intrusion");
    sender.close();
  });
});
