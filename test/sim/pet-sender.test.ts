import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { petAckFromVarbind } from "../../src/ipmi/commands/sensor-event.js";
import { decodeSelRecord, type SystemEventRecord } from "../../src/ipmi/sel.js";
import { buildPet } from "../../src/pet/build.js";
import type { PetEvent } from "../../src/pet/event.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { encodePetVarbind } from "../../src/pet/varbind.js";
import { type PetDestination, PetSender, petDestination, petGuid } from "../../src/sim/pet-sender.js";
import { type RunningListener, startListener } from "../support/listener.js";

const hex = (s: string) => Buffer.from(s.replaceAll(" ", ""), "hex");

function event(bytes: string): SystemEventRecord {
  const record = decodeSelRecord(hex(bytes));
  if (record.kind !== "system") throw new Error("not a system event record");
  return record;
}

/** Temperature sensor 01h from the BMC (20h), UCR going high, 2012-05-07 19:11:50 (Unix 4FA81E76h). */
const UCR_HIGH = event("0100 02 761ea84f 2000 04 01 01 01 09ffff");
const GUID = hex("a123456789abcdefa123456789abcdef");
const CONTENT = { severity: 0x10, guid: GUID, entityId: 0x07, entityInstance: 0x01 };
const IDENTITY = { manufacturerId: 0x1291, systemId: 0x0f02 };
/** A loopback address other than 127.0.0.1, so that the source address proves the bind. */
const BMC = "127.1.0.5";

describe("buildPet", () => {
  it("builds PROTOCOL.md §1.2's 'built here' vector", () => {
    const { specificTrap, varbind } = buildPet(UCR_HIGH, CONTENT, IDENTITY, 1);
    expect(specificTrap).toBe(65801);
    expect(encodePetVarbind(varbind).toString("hex")).toBe(
      "a123456789abcdefa123456789abcdef" +
        "0001 1afd41f6 ffff 20 20 10 20 01 07 01 09ffff0000000000 19 00001291 0f02 c1".replaceAll(" ", ""),
    );
  });

  it("sets the deassertion bit and leaves a pre-initialization timestamp unspecified", () => {
    const deasserted = event("0100 02 00001000 2000 04 01 01 81 09ffff");
    const { specificTrap, varbind } = buildPet(deasserted, CONTENT, { ...IDENTITY, utcOffsetMinutes: 60 }, 2);
    expect(specificTrap).toBe(0x010189);
    expect(varbind.localTimestamp).toBe(0);
    expect(varbind.utcOffsetMinutes).toBe(60);
  });
});

describe("petGuid and petDestination", () => {
  it("uses PEF parameter 10's GUID only when its use bit is set", () => {
    const system = Buffer.alloc(16, 0x11);
    expect(petGuid({ useGuid: true, guid: GUID }, system)).toBe(GUID);
    expect(petGuid({ useGuid: false, guid: GUID }, system)).toBe(system);
    expect(petGuid(undefined, system)).toBe(system);
  });

  it("reads LAN parameters 16, 18 and 19", () => {
    const d = petDestination(
      "public",
      {
        parameter: "destinationType",
        set: 1,
        acknowledge: true,
        type: "pet",
        ackTimeoutSeconds: 3,
        retries: 2,
      },
      {
        parameter: "destinationAddress",
        set: 1,
        gateway: "default",
        ip: "127.0.0.1",
        mac: "00:00:00:00:00:00",
      },
    );
    expect(d).toEqual({
      ip: "127.0.0.1",
      community: "public",
      acknowledge: true,
      timeoutSeconds: 3,
      retries: 2,
    });
  });
});

describe("PetSender", () => {
  let listener: RunningListener;
  let sender: PetSender;

  beforeEach(async () => {
    listener = await startListener();
    sender = new PetSender({ bmcAddress: BMC, trapPort: listener.listener.address().port, ...IDENTITY });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await sender.close();
    await listener.close();
  });

  const to = (d: Partial<PetDestination> = {}): PetDestination => ({
    ip: "127.0.0.1",
    community: "public",
    acknowledge: false,
    timeoutSeconds: 1,
    retries: 0,
    ...d,
  });

  const pets = () => listener.events.filter((e): e is TrapEvent & { kind: "pet" } => e.kind === "pet");
  const copies = (sequence: number) => pets().filter((e) => e.pet.sequence === sequence).length;

  /** Polls on setImmediate, which the fake timers leave alone, while UDP arrives for real. */
  async function until(what: string, probe: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** The first copy has arrived and the sender has it pending (the two race on loopback). */
  const firstCopy = () => until("the first copy", () => copies(1) === 1 && sender.stats().petsSent === 1);

  /** Sends a no-ack PET and waits for it: everything sent before it has arrived by then. */
  async function drain(): Promise<void> {
    const before = pets().length;
    await sender.send(UCR_HIGH, to(), CONTENT);
    await until("the marker PET", () => pets().length > before);
  }

  it("sends an SNMPv1 PET from the BMC's address, with the BMC as agent-addr", async () => {
    expect(await sender.send(UCR_HIGH, to(), CONTENT)).toBe(true);
    expect(await sender.send(UCR_HIGH, to(), { ...CONTENT, severity: 0x08 })).toBe(true);
    await until("two PETs", () => pets().length === 2);

    const [first, second] = pets();
    expect(first?.source.address).toBe(BMC);
    expect(first?.snmp).toMatchObject({
      version: "v1",
      community: "public",
      agentAddress: BMC,
      enterprise: "1.3.6.1.4.1.3183.1.1",
    });
    expect(first?.pet).toMatchObject<Partial<PetEvent>>({
      specificTrap: 65801,
      sensorType: 0x01,
      sensorTypeName: "Temperature",
      eventDirection: "assertion",
      event: "Upper Critical - going high",
      severity: "critical",
      guid: "a1234567-89ab-cdef-a123-456789abcdef",
      sequence: 1,
      localTimestamp: 0x1afd41f6,
      utcOffsetMinutes: null,
      sensorDevice: 0x20,
      sensorNumber: 0x01,
      entityId: 0x07,
      entityInstance: 0x01,
      eventData: "09ffff0000000000",
      manufacturerId: 0x1291,
      systemId: 0x0f02,
      oemFields: [],
    });
    expect(second?.pet).toMatchObject({ sequence: 2, severity: "non-critical" });
    expect(sender.stats()).toEqual({ petsSent: 2, retransmissions: 0, acksReceived: 0, acksUnmatched: 0 });
  });

  it("rejects when the BMC address is not local", async () => {
    const stray = new PetSender({ bmcAddress: "192.0.2.1", trapPort: 9, ...IDENTITY });
    await expect(stray.send(UCR_HIGH, to(), CONTENT)).rejects.toThrow(/EADDRNOTAVAIL/);
    await stray.close();
  });

  it("resends an unacknowledged PET every timeout, `retries` times, then gives up", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const delivered = sender.send(
      UCR_HIGH,
      to({ acknowledge: true, timeoutSeconds: 1, retries: 2 }),
      CONTENT,
    );
    await firstCopy();
    await vi.advanceTimersByTimeAsync(1_000);
    await until("the second copy", () => copies(1) === 2);
    await vi.advanceTimersByTimeAsync(1_000);
    await until("the third copy", () => copies(1) === 3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await delivered).toBe(false);

    await vi.advanceTimersByTimeAsync(10_000);
    await drain();
    expect(copies(1)).toBe(3);
    expect(sender.stats()).toMatchObject({ petsSent: 2, retransmissions: 2, acksReceived: 0 });
  });

  it("stops resending once a matching PET Acknowledge arrives", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const delivered = sender.send(
      UCR_HIGH,
      to({ acknowledge: true, timeoutSeconds: 1, retries: 2 }),
      CONTENT,
    );
    await firstCopy();
    const received = pets()[0]?.pet;
    if (received === undefined) throw new Error("no PET");
    const ack = petAckFromVarbind({ ...received, eventData: hex(received.eventData) });

    expect(sender.acknowledge({ ...ack, localTimestamp: ack.localTimestamp + 1 })).toBe(false);
    expect(sender.acknowledge(ack)).toBe(true);
    expect(await delivered).toBe(true);
    expect(sender.acknowledge(ack)).toBe(false);

    await vi.advanceTimersByTimeAsync(10_000);
    await drain();
    expect(copies(1)).toBe(1);
    expect(sender.stats()).toEqual({ petsSent: 2, retransmissions: 0, acksReceived: 1, acksUnmatched: 2 });
  });

  it("takes a timeout of 0 as 1 s", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const delivered = sender.send(
      UCR_HIGH,
      to({ acknowledge: true, timeoutSeconds: 0, retries: 1 }),
      CONTENT,
    );
    await firstCopy();
    await vi.advanceTimersByTimeAsync(999);
    expect(sender.stats().retransmissions).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await until("the resend", () => copies(1) === 2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await delivered).toBe(false);
  });

  it("close() ends pending resends: their sends resolve false", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const delivered = sender.send(
      UCR_HIGH,
      to({ acknowledge: true, timeoutSeconds: 5, retries: 7 }),
      CONTENT,
    );
    await firstCopy();
    await sender.close();
    expect(await delivered).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await expect(sender.send(UCR_HIGH, to(), CONTENT)).rejects.toThrow(/closed/);
  });
});
