import dgram from "node:dgram";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checksum } from "../../src/ipmi/message.js";
import { PET_ACK_PORT, PetAcknowledger } from "../../src/pet/ack.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { decodePetVarbind, encodePetVarbind } from "../../src/pet/varbind.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { type RunningListener, startListener, waitFor } from "../support/listener.js";
import { freeUdpPort } from "../support/ports.js";
import { provisionPefWithIpmitool, startSims } from "../support/sim.js";

type PetTrap = Extract<TrapEvent, { kind: "pet" }>;

let receiver: RunningListener;
let sims: Awaited<ReturnType<typeof startSims>>;
let ipmiSim: IpmiSim;
/** The simulator's LAN channel: where its PETs come from, and where their acknowledgements go. */
const SIM = "127.41.0.1";
/** An acknowledger whose every acknowledgement goes to 127.0.0.1:`port`. */
const towardsLoopback = (port: number) =>
  new PetAcknowledger({ destination: () => ({ address: "127.0.0.1", port }) });
const acknowledger = new PetAcknowledger({
  destination: (source) => (source.address === SIM ? { address: SIM, port: PET_ACK_PORT } : undefined),
});

beforeAll(async () => {
  receiver = await startListener();
  // BMCs take PET Acknowledge on UDP 623: the simulator gets a loopback address of its own.
  sims = await startSims({ listen: `${SIM}:${PET_ACK_PORT}`, trapPort: receiver.listener.address().port });
  await provisionPefWithIpmitool((...args) => sims.ipmitool("17", ...args), {
    ack: { timeoutSeconds: 1, retries: 3 },
  });
  ipmiSim = await startIpmiSim();
});
afterAll(async () => {
  await acknowledger.close();
  ipmiSim?.stop();
  await sims?.fleet.stop();
  await receiver?.close();
});

const pets = (sequence: number) =>
  receiver.events.filter((e): e is PetTrap => e.kind === "pet" && e.pet.sequence === sequence);

/** Raises a threshold event on the simulator and waits for the PET it sends. */
async function nextPet(): Promise<PetTrap> {
  const seen = new Set(receiver.events.flatMap((e) => (e.kind === "pet" ? [e.pet.sequence] : [])));
  await sims.ipmitool("17", "event", "1");
  return waitFor("a new PET", () =>
    receiver.events.find((e): e is PetTrap => e.kind === "pet" && !seen.has(e.pet.sequence)),
  );
}

it("acknowledges a PET session-less to the BMC's port 623, which then stops resending it", async () => {
  const pet = await nextPet();
  expect(pet.source.address).toBe("127.41.0.1");
  expect(await acknowledger.acknowledge(pet)).toBe("acknowledged");
  await waitFor("the simulator to take the acknowledgement", () => sims.fleet.counters().acksReceived === 1);
  // One more timeout (1 s) later the BMC has not resent it.
  await new Promise((r) => setTimeout(r, 1500));
  expect(pets(pet.pet.sequence)).toHaveLength(1);
  expect(sims.fleet.counters()).toMatchObject({ acksReceived: 1, retransmissions: 0 });
  expect(acknowledger.stats()).toMatchObject({ requests: 1, sent: 1, resent: 0, acknowledged: 1 });
});

it("an acknowledgement of another PET (wrong sequence) does not stop the resends", async () => {
  const pet = await nextPet();
  const varbind = decodePetVarbind(Buffer.from(pet.varbind, "hex"));
  const wrong: PetTrap = {
    ...pet,
    varbind: encodePetVarbind({ ...varbind, sequence: (varbind.sequence + 1000) & 0xffff }).toString("hex"),
  };
  // The simulator, like BMCs, answers 00h to any well-formed PET Acknowledge; matching is its business.
  expect(await acknowledger.acknowledge(wrong)).toBe("acknowledged");
  await waitFor("the resend", () => pets(pet.pet.sequence).length === 2, 5000);
  expect(sims.fleet.counters().acksReceived).toBe(1);
  // The right one stops it.
  expect(await acknowledger.acknowledge(pet)).toBe("acknowledged");
  await waitFor("the acknowledgement", () => sims.fleet.counters().acksReceived === 2);
  const copies = pets(pet.pet.sequence).length;
  await new Promise((r) => setTimeout(r, 1500));
  expect(pets(pet.pet.sequence)).toHaveLength(copies);
});

it("sends nothing for a PET whose source has no destination, whatever the source", async () => {
  const [pet] = receiver.events.filter((e): e is PetTrap => e.kind === "pet");
  if (pet === undefined) throw new Error("no PET received");
  const before = acknowledger.stats();
  expect(await acknowledger.acknowledge({ ...pet, source: { address: "127.0.0.1", port: 623 } })).toBe(
    "not-allowed",
  );
  expect(acknowledger.stats()).toMatchObject({
    requests: before.requests + 1,
    sent: before.sent,
    notAllowed: 1,
  });
});

it("reports OpenIPMI ipmi_sim's D5 answer as rejected", async () => {
  const [pet] = receiver.events.filter((e): e is PetTrap => e.kind === "pet");
  if (pet === undefined) throw new Error("no PET received");
  const toIpmiSim = towardsLoopback(ipmiSim.port);
  try {
    expect(await toIpmiSim.acknowledge(pet)).toBe("rejected");
    expect(toIpmiSim.stats()).toMatchObject({ rejected: 1, completionCodes: { d5: 1 } });
  } finally {
    await toIpmiSim.close();
  }
});

it("gives up with no-answer after its retries when nothing answers, without throwing", async () => {
  const [pet] = receiver.events.filter((e): e is PetTrap => e.kind === "pet");
  if (pet === undefined) throw new Error("no PET received");
  const silent = await freeUdpPort();
  const own = towardsLoopback(silent);
  try {
    expect(await own.acknowledge(pet, { timeoutMs: 50, retries: 2 })).toBe("no-answer");
    expect(await own.acknowledge({ ...pet, varbind: "00" })).toBe("no-answer");
    expect(own.stats()).toMatchObject({ requests: 2, sent: 3, resent: 2, noAnswer: 2, failed: 1 });
  } finally {
    await own.close();
  }
  expect(await own.acknowledge(pet)).toBe("no-answer");
});

it("refuses at once, as no-answer, an acknowledgement towards a BMC with all 63 rqSeq values pending", async () => {
  const [pet] = receiver.events.filter((e): e is PetTrap => e.kind === "pet");
  if (pet === undefined) throw new Error("no PET received");
  const silent = await freeUdpPort();
  const own = towardsLoopback(silent);
  try {
    const pending = Array.from({ length: 63 }, () => own.acknowledge(pet, { timeoutMs: 300, retries: 0 }));
    expect(await own.acknowledge(pet, { timeoutMs: 300, retries: 0 })).toBe("no-answer");
    expect(own.stats()).toMatchObject({ requests: 64, sent: 63, failed: 1, noAnswer: 1 });
    expect(new Set(await Promise.all(pending))).toEqual(new Set(["no-answer"]));
    // Once they have timed out, the BMC's rqSeq values are free again.
    await own.acknowledge(pet, { timeoutMs: 50, retries: 0 });
    expect(own.stats()).toMatchObject({ requests: 65, sent: 64, failed: 1, noAnswer: 65 });
  } finally {
    await own.close();
  }
});

it("frames the acknowledgement as FreeIPMI does: RMCP, IPMI 1.5 auth none, session 0, S/E 17h", async () => {
  const [pet] = receiver.events.filter((e): e is PetTrap => e.kind === "pet");
  if (pet === undefined) throw new Error("no PET received");
  const bmc = dgram.createSocket("udp4");
  await new Promise<void>((r) => bmc.bind(0, "127.0.0.1", r));
  const got: Buffer[] = [];
  bmc.on("message", (msg, rinfo) => {
    got.push(msg);
    // The response: rqAddr 81h, netFn 05h, rsAddr 20h, the request's rqSeq, cmd 17h, CC 00h.
    const seqLun = msg[14 + 4] as number;
    const tail = Buffer.of(0x20, seqLun, 0x17, 0x00);
    const head = Buffer.of(0x81, 0x05 << 2);
    const message = Buffer.concat([head, Buffer.of(checksum(head)), tail, Buffer.of(checksum(tail))]);
    const reply = Buffer.concat([
      Buffer.from("0600ff07" + "00" + "00000000" + "00000000", "hex"),
      Buffer.of(message.length),
      message,
    ]);
    bmc.send(reply, rinfo.port, rinfo.address);
  });
  try {
    const own = towardsLoopback(bmc.address().port);
    const outcome = await own.acknowledge(pet).finally(() => own.close());
    expect(outcome).toBe("acknowledged");
    const v = decodePetVarbind(Buffer.from(pet.varbind, "hex"));
    const datagram = got[0] ?? Buffer.alloc(0);
    expect(datagram.subarray(0, 13).toString("hex")).toBe("0600ff07000000000000000000");
    expect(datagram[13]).toBe(7 + 12);
    const message = datagram.subarray(14);
    expect([...message.subarray(0, 4)]).toEqual([0x20, 0x10, 0xd0, 0x81]);
    expect(message[5]).toBe(0x17);
    const data = message.subarray(6, 18);
    expect(data.readUInt16LE(0)).toBe(v.sequence);
    expect(data.readUInt32LE(2)).toBe(v.localTimestamp);
    expect([...data.subarray(6)]).toEqual([
      v.eventSourceType,
      v.sensorDevice,
      v.sensorNumber,
      ...v.eventData.subarray(0, 3),
    ]);
  } finally {
    await new Promise<void>((r) => bmc.close(() => r()));
  }
});
