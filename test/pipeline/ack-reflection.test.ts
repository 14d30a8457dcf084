import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { PET_ACK_PORT } from "../../src/pet/ack.js";
import { type Intake, startIntake } from "../../src/pipeline/intake/intake.js";
import { waitFor } from "../support/listener.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/*
 * PET Acknowledge is no reflector: a PET from a source that is no inventory BMC (spoofed, say) makes
 * no datagram towards it. Real UDP on loopback addresses of their own: an inventory BMC, a source
 * ack.allowSources covers, and another source; the latter two listen on UDP 623, where a reflected
 * acknowledgement would go.
 */

const INVENTORY_BMC = "127.0.0.6";
const ALLOWED = "127.0.0.7";
const OTHER = "127.0.0.5";

/** One SNMPv1 Trap-PDU carrying a PET, community public, as snmptrap sends it. */
const PET_DATAGRAM = Buffer.from(
  readFileSync(new URL("../fixtures/snmp/pet-v1-dell-chassis-intrusion.hex", import.meta.url), "utf8").trim(),
  "hex",
);

interface Peer {
  socket: dgram.Socket;
  port: number;
  received: Buffer[];
}

async function peer(address: string, port: number): Promise<Peer> {
  const socket = dgram.createSocket("udp4");
  const received: Buffer[] = [];
  socket.on("message", (msg) => received.push(msg));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve());
  });
  return { socket, port: socket.address().port, received };
}

let redis: TestRedis;
let spoolDir: string;
let intake: Intake;
const peers: Peer[] = [];
let bmc: Peer;
let allowed: Peer;
let other: Peer;

beforeAll(async () => {
  redis = await startRedis();
  spoolDir = mkdtempSync(join(tmpdir(), "petgate-ack-"));
  bmc = await peer(INVENTORY_BMC, 0);
  allowed = await peer(ALLOWED, PET_ACK_PORT);
  other = await peer(OTHER, PET_ACK_PORT);
  peers.push(bmc, allowed, other);
  const config = configSchema.parse({
    listener: { bind: "127.0.0.1:0", communities: ["public"] },
    ack: { allowSources: [`${ALLOWED}/32`] },
    bmcs: [
      { name: "bmc-1", host: `${INVENTORY_BMC}:${bmc.port}`, password: "x", insecureInlinePassword: true },
    ],
  });
  intake = await startIntake({
    config,
    redis: redis.socket,
    spoolFile: join(spoolDir, "spool.ndjson"),
    log: () => undefined,
  });
}, 20_000);

afterAll(async () => {
  await intake?.close();
  for (const p of peers) p.socket.close();
  await redis?.dispose();
  rmSync(spoolDir, { recursive: true, force: true });
});

const sendPet = (from: Peer) =>
  new Promise<void>((resolve, reject) =>
    from.socket.send(PET_DATAGRAM, intake.listener.address().port, "127.0.0.1", (err) =>
      err ? reject(err) : resolve(),
    ),
  );

/** RMCP (ASF 06 00 FF, class IPMI 07), IPMI 1.5 session 0, netFn S/E, cmd 17h: PET Acknowledge. */
function isPetAcknowledge(msg: Buffer): boolean {
  return msg.subarray(0, 4).equals(Buffer.of(0x06, 0x00, 0xff, 0x07)) && msg[14 + 5] === 0x17;
}

it("sends no acknowledgement for a PET from a source neither in the inventory nor in ack.allowSources", async () => {
  // First the other source's PET, taken through to the acknowledger's decision.
  await sendPet(other);
  await waitFor(
    "the other source's PET at the acknowledger",
    () => intake.acknowledger.stats().requests === 1,
    20_000,
  );
  // Then a source ack.allowSources covers: its acknowledgement comes to its UDP 623, the other's none.
  await sendPet(allowed);
  const ack = await waitFor("the allowed source's acknowledgement", () => allowed.received[0], 20_000);
  expect(isPetAcknowledge(ack)).toBe(true);
  expect(other.received).toEqual([]);
  expect(intake.acknowledger.stats()).toMatchObject({ requests: 2, notAllowed: 1 });
});

it("acknowledges a PET from an inventory BMC at the host and port its inventory entry names", async () => {
  await sendPet(bmc);
  const ack = await waitFor("the inventory BMC's acknowledgement", () => bmc.received[0], 20_000);
  expect(isPetAcknowledge(ack)).toBe(true);
  expect(bmc.port).not.toBe(PET_ACK_PORT);
  expect(other.received).toEqual([]);
  expect(intake.acknowledger.stats()).toMatchObject({ requests: 3, notAllowed: 1 });
});
