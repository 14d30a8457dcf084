import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { TrapListener, type UsmUser } from "../../src/pet/listener.js";
import { MAX_VALUE_BYTES, MAX_VARBINDS } from "../../src/pet/trap.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import {
  captureSnmptrap,
  netSnmp,
  outcomes,
  PET_ENTERPRISE,
  petArgs,
  type RunningListener,
  securityArgs,
  startListener,
  testListenerOptions,
  type V3Sender,
  waitFor,
} from "../support/listener.js";
import { DELL_CHASSIS_INTRUSION } from "./vectors.js";

const DELL = DELL_CHASSIS_INTRUSION.hex;
/** Temperature UCR going high, local 2012-05-07 19:11:50 at UTC+60 min. */
const TEMP_UCR_HIGH =
  "a123456789abcdefa123456789abcdef00011afd41f6003c2020102001070109ffff000000000019000012910f02c1";

const V3_USER: UsmUser = {
  name: "petgate",
  level: "authPriv",
  authProtocol: "sha256",
  authKey: "auth-passphrase-1",
  privProtocol: "aes",
  privKey: "priv-passphrase-1",
};
const V3: V3Sender = { user: "petgate", authKey: "auth-passphrase-1", privKey: "priv-passphrase-1" };
const V3_TRAP = { version: "3" as const, ...V3, engineId: "0x80001f8880c0ffee0001" };
const V2C = { version: "2c" as const, community: "public" };

let running: RunningListener | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("trap listener with net-snmp's snmptrap as the sender", () => {
  it("decodes an SNMPv1 PET into a PetEvent", async () => {
    running = await startListener();
    const { target, events, listener } = running;
    await netSnmp("snmptrap", petArgs({ version: "1", community: "public" }, target, 356224, DELL));
    const event = await waitFor("the PET", () => events[0]);
    expect(event.kind).toBe("pet");
    if (event.kind !== "pet") return;
    expect(event.snmp).toMatchObject({
      version: "v1",
      pdu: "trap",
      community: "public",
      agentAddress: "127.0.0.1",
    });
    expect(event.snmp.trapOid).toBe(`${PET_ENTERPRISE}.0.356224`);
    expect(event.source.address).toBe("127.0.0.1");
    expect(event.pet).toMatchObject({
      specificTrap: 356224,
      sensorTypeName: "Physical Security",
      event: "General Chassis Intrusion",
      eventDirection: "deassertion",
      severity: "ok",
      guid: "44454c4c-5000-1059-8043-b2c04f333358",
      manufacturerName: "Dell Inc.",
      sensorNumber: 115,
      time: "2011-10-10T20:50:46",
      timeBasis: "bmc-local",
    });
    expect(listener.stats()).toMatchObject({ received: 1, pet: 1 });
  });

  it("decodes an SNMPv2c PET, the specific trap being the last arc of snmpTrapOID.0", async () => {
    running = await startListener();
    const { target, events } = running;
    await netSnmp("snmptrap", petArgs(V2C, target, 65801, TEMP_UCR_HIGH));
    const event = await waitFor("the PET", () => events[0]);
    expect(event.kind === "pet" && event.pet).toMatchObject({
      specificTrap: 65801,
      sensorTypeName: "Temperature",
      eventDirection: "assertion",
      severity: "critical",
      time: "2012-05-07T18:11:50Z",
      utcOffsetMinutes: 60,
    });
    expect(event.snmp.version).toBe("v2c");
  });

  it("also takes the specific trap from an snmpTrapOID.0 without RFC 3584's .0 arc", async () => {
    running = await startListener();
    const { target, events } = running;
    const varbind = [`${PET_ENTERPRISE}.1`, "x", TEMP_UCR_HIGH];
    await netSnmp("snmptrap", [...securityArgs(V2C), target, "", `${PET_ENTERPRISE}.65929`, ...varbind]);
    const event = await waitFor("the PET", () => events[0]);
    expect(event.kind === "pet" && event.pet).toMatchObject({
      specificTrap: 65929,
      eventDirection: "deassertion",
    });
  });

  it("acknowledges an SNMPv2c inform (snmpinform returns only once answered)", async () => {
    running = await startListener();
    const { target, events, listener } = running;
    await netSnmp("snmpinform", petArgs(V2C, target, 356224, DELL));
    expect(events).toHaveLength(1);
    expect(events[0]?.snmp.pdu).toBe("inform");
    expect(listener.stats()).toMatchObject({ received: 1, pet: 1, reports: 0 });
  });

  it("accepts SNMPv3 authPriv (SHA-256 + AES) traps and informs from a configured user", async () => {
    running = await startListener({ users: [V3_USER] });
    const { target, events, listener } = running;
    await netSnmp("snmptrap", petArgs(V3_TRAP, target, 356224, DELL));
    const trap = await waitFor("the v3 trap", () => events[0]);
    expect(trap.snmp).toMatchObject({ version: "v3", user: "petgate", pdu: "trap" });
    expect(trap.kind).toBe("pet");
    // An inform makes snmpinform discover the receiver's engine first: that exchange is a USM report.
    await netSnmp("snmpinform", petArgs({ version: "3", ...V3 }, target, 356224, DELL));
    expect(events.map((e) => e.snmp.pdu)).toEqual(["trap", "inform"]);
    expect(listener.stats().reports).toBeGreaterThanOrEqual(1);
  });

  it("rejects a wrong community, a wrong SNMPv3 key and a disallowed source, counting each reason", async () => {
    running = await startListener({ users: [V3_USER], allowSources: ["127.0.0.1/32"] });
    const { target, events, listener } = running;
    await netSnmp("snmptrap", petArgs({ version: "2c", community: "private" }, target, 65801, TEMP_UCR_HIGH));
    await netSnmp(
      "snmptrap",
      petArgs({ ...V3_TRAP, authKey: "not-the-passphrase" }, target, 65801, TEMP_UCR_HIGH),
    );
    await waitFor("two rejections", () => listener.stats().received === 2);
    await running.close();

    running = await startListener({ allowSources: ["198.51.100.0/24"] });
    await netSnmp("snmptrap", petArgs(V2C, running.target, 65801, TEMP_UCR_HIGH));
    await waitFor("the disallowed packet", () => running?.listener.stats().received === 1);

    expect(events).toEqual([]);
    expect(running.events).toEqual([]);
    expect(listener.stats().rejected).toMatchObject({ community: 1, auth: 1 });
    expect(running.listener.stats().rejected).toMatchObject({ source: 1 });
  });

  it("passes a non-PET trap through with its varbinds", async () => {
    running = await startListener();
    const { target, events, listener } = running;
    const ifIndex = ["1.3.6.1.2.1.2.2.1.1.2", "i", "2"];
    const ifDescr = ["1.3.6.1.2.1.2.2.1.2.2", "s", "eth1"];
    await netSnmp("snmptrap", [
      ...securityArgs(V2C),
      target,
      "",
      "1.3.6.1.6.3.1.1.5.3",
      ...ifIndex,
      ...ifDescr,
    ]);
    const event = await waitFor("the linkDown trap", () => events[0]);
    expect(event).toMatchObject({
      kind: "trap",
      snmp: { trapOid: "1.3.6.1.6.3.1.1.5.3", version: "v2c" },
      varbinds: [
        { oid: "1.3.6.1.2.1.2.2.1.1.2", type: "Integer", value: 2 },
        { oid: "1.3.6.1.2.1.2.2.1.2.2", type: "OctetString", value: "eth1", hex: "65746831" },
      ],
    });
    expect(listener.stats()).toMatchObject({ nonPet: 1 });
  });

  it("reports the receive buffer the kernel granted: what was asked, up to net.core.rmem_max", async () => {
    running = await startListener({ receiveBufferBytes: 1 << 20 });
    const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    expect(running.listener.receiveBuffer).toEqual({
      requested: 1 << 20,
      granted: Math.min(1 << 20, rmemMax),
    });
  });

  it("counts and survives a handler that throws, and handles the next datagram", async () => {
    const seen: string[] = [];
    const listener = await TrapListener.start(testListenerOptions(), (e) => {
      seen.push(e.kind);
      if (seen.length === 1) throw new Error("sink failed");
    });
    const target = `udp:127.0.0.1:${listener.address().port}`;
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await netSnmp("snmptrap", petArgs(V2C, target, 356224, DELL));
      await waitFor("the first datagram", () => listener.stats().received === 1);
      await netSnmp("snmptrap", petArgs(V2C, target, 356224, DELL));
      await waitFor("the second datagram", () => seen.length === 2);
      expect(listener.stats()).toMatchObject({ received: 2, pet: 2, internalErrors: 1 });
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(
        /error handling a datagram from 127\.0\.0\.1: Error: sink failed/,
      );
    } finally {
      stderr.mockRestore();
      await listener.close();
    }
  });

  it("keeps a PET whose varbind is malformed as a generic trap with the reason", async () => {
    running = await startListener();
    const { target, events, listener } = running;
    await netSnmp("snmptrap", petArgs(V2C, target, 65801, "0011223344"));
    const event = await waitFor("the trap", () => events[0]);
    expect(event.kind === "trap" && event.petError).toMatchObject({ code: "too-short" });
    expect(listener.stats()).toMatchObject({ received: 1, petMalformed: 1 });
    expect(outcomes(listener.stats())).toBe(1);
  });
});

async function sendDatagram(packet: Buffer, port: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) =>
    socket.send(packet, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
  );
  socket.close();
}

/** BER of trap OID 1.3.6.1.4.1.99999.0.1 (10 content bytes), as the value of snmpTrapOID.0. */
const TRAP_OID = "1.3.6.1.4.1.99999.0.1";
const TRAP_OID_TLV = Buffer.from("060a2b06010401868d1f0001", "hex");
/** The name snmpTrapOID.0 (1.3.6.1.6.3.1.1.4.1.0), BER. */
const SNMP_TRAP_OID_NAME = Buffer.from("060a2b060106030101040100", "hex");

function replaced(packet: Buffer, from: Buffer, to: Buffer): Buffer {
  const at = packet.indexOf(from);
  expect(at, `${from.toString("hex")} in the datagram`).toBeGreaterThan(0);
  expect(to.length).toBe(from.length);
  const out = Buffer.from(packet);
  to.copy(out, at);
  return out;
}

describe("the trap OID (RFC 3416 §4.2.6) and bounds of a generic trap", () => {
  let v2cTrap: Buffer;
  beforeAll(async () => {
    v2cTrap = await captureSnmptrap((t) => [
      ...securityArgs(V2C),
      t,
      "",
      TRAP_OID,
      "1.3.6.1.4.1.99999.1",
      "s",
      "x",
    ]);
  });

  it("takes a v2c trap whose snmpTrapOID.0 is an OBJECT IDENTIFIER (the datagram as sent)", async () => {
    running = await startListener();
    await sendDatagram(v2cTrap, running.listener.address().port);
    const event = await waitFor("the trap", () => running?.events[0]);
    expect(event.snmp.trapOid).toBe(TRAP_OID);
  });

  it("counts a v2c trap whose snmpTrapOID.0 is an OctetString as malformed, and hands nothing on", async () => {
    running = await startListener();
    const { listener, events } = running;
    // The same bytes with the value's tag OCTET STRING (04) and CR/LF text in place of the OID.
    const text = Buffer.concat([Buffer.from("040a", "hex"), Buffer.from("\r\nBcc: x\r\n", "latin1")]);
    await sendDatagram(replaced(v2cTrap, TRAP_OID_TLV, text), listener.address().port);
    await waitFor("the datagram's outcome", () => outcomes(listener.stats()) === 1 || undefined);
    expect(listener.stats()).toMatchObject({
      received: 1,
      nonPet: 0,
      rejected: { malformed: 1 },
      malformedTraps: { "trap-oid-type": 1 },
    });
    expect(events).toEqual([]);
  });

  it("counts a v2c trap without snmpTrapOID.0 as malformed", async () => {
    running = await startListener();
    const { listener, events } = running;
    // snmpTrapOID.0 renamed to …4.1.1: the varbind list no longer names a trap.
    const other = Buffer.from("060a2b060106030101040101", "hex");
    await sendDatagram(replaced(v2cTrap, SNMP_TRAP_OID_NAME, other), listener.address().port);
    await waitFor("the datagram's outcome", () => outcomes(listener.stats()) === 1 || undefined);
    expect(listener.stats()).toMatchObject({
      rejected: { malformed: 1 },
      malformedTraps: { "trap-oid-missing": 1 },
    });
    expect(events).toEqual([]);
  });

  // An enterprise of 128 BER content bytes that net-snmp's tools take (33 arcs, most of five bytes),
  // and the same 128 bytes as 129 sub-identifiers of one byte each: past RFC 2578 §3.5.
  const LONG_ARC = 0xffffffff;
  const ENTERPRISE = `1.3.6.1.4.1.${Array(24).fill(LONG_ARC).join(".")}.1.1.1`;
  const ENTERPRISE_TLV = Buffer.concat([
    Buffer.from("068180", "hex"),
    Buffer.from("2b06010401", "hex"),
    Buffer.from("8fffffff7f".repeat(24), "hex"),
    Buffer.from("010101", "hex"),
  ]);
  const ENTERPRISE_129_ARCS_TLV = Buffer.concat([Buffer.from("0681802b", "hex"), Buffer.alloc(127, 1)]);
  it.each([
    ["SNMPv1 enterprise", (t: string) => ["-v", "1", "-c", "public", t, ENTERPRISE, "", "0", "0", ""]],
    [
      "SNMPv2 snmpTrapEnterprise.0",
      (t: string) => [...securityArgs(V2C), t, "", TRAP_OID, "1.3.6.1.6.3.1.1.4.3.0", "o", ENTERPRISE],
    ],
  ])("counts a trap whose %s has more than 128 sub-identifiers as malformed", async (_, argsFor) => {
    const packet = await captureSnmptrap(argsFor);
    running = await startListener();
    const { listener, events } = running;
    await sendDatagram(packet, listener.address().port);
    const taken = await waitFor("the trap as sent", () => events[0]);
    expect(taken.snmp.enterprise).toBe(ENTERPRISE);
    await sendDatagram(replaced(packet, ENTERPRISE_TLV, ENTERPRISE_129_ARCS_TLV), listener.address().port);
    await waitFor("the datagram's outcome", () => outcomes(listener.stats()) === 2 || undefined);
    expect(listener.stats()).toMatchObject({
      rejected: { malformed: 1 },
      malformedTraps: { "oid-too-long": 1 },
    });
    expect(events).toHaveLength(1);
  });

  it.each([
    [
      `past byte ${MAX_VALUE_BYTES} of a value`,
      ["1.3.6.1.4.1.99999.1", "s", "a".repeat(MAX_VALUE_BYTES + 88)],
    ],
    [
      `in varbind ${MAX_VARBINDS + 1}`,
      Array.from({ length: MAX_VARBINDS + 1 }, (_, i) => [`1.3.6.1.4.1.99999.2.${i}`, "i", "1"]).flat(),
    ],
  ])("gives traps that differ only %s different ids, and copies of one the same", async (_, varbinds) => {
    const packet = await captureSnmptrap((t) => [...securityArgs(V2C), t, "", TRAP_OID, ...varbinds]);
    // That value is the datagram's last byte ("a" or the INTEGER 1): flipped, only the cut part differs.
    const other = Buffer.from(packet);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 1, other.length - 1);
    running = await startListener();
    const { listener, events } = running;
    for (const datagram of [packet, packet, other]) await sendDatagram(datagram, listener.address().port);
    await waitFor("three traps", () => events.length === 3 || undefined);
    const kept = events.map((e) => (e.kind === "trap" ? JSON.stringify(e.varbinds) : e.kind));
    expect(new Set(kept).size).toBe(1);
    const ids = events.map(eventId);
    expect(ids.map((id) => ids.filter((other) => other === id).length).sort()).toEqual([1, 2, 2]);
  });

  it(`keeps ${MAX_VARBINDS} varbinds of a generic trap and ${MAX_VALUE_BYTES} bytes of a value, marking what was cut`, async () => {
    running = await startListener();
    const { target, events, listener } = running;
    const long = "ab".repeat(2000);
    const varbinds = Array.from({ length: MAX_VARBINDS + 8 }, (_, i) => [
      `1.3.6.1.4.1.99999.2.${i}`,
      "i",
      String(i),
    ]);
    await netSnmp("snmptrap", [
      ...securityArgs(V2C),
      target,
      "",
      TRAP_OID,
      "1.3.6.1.4.1.99999.1",
      "x",
      long,
      ...varbinds.flat(),
    ]);
    const event = await waitFor("the trap", () => events[0]);
    if (event.kind !== "trap") throw new Error("expected a generic trap");
    expect(event.varbinds).toHaveLength(MAX_VARBINDS);
    expect(event.varbindsLeftOut).toBe(9);
    expect(event.varbinds[0]).toEqual({
      oid: "1.3.6.1.4.1.99999.1",
      type: "OctetString",
      value: null,
      hex: long.slice(0, 2 * MAX_VALUE_BYTES),
      truncatedFrom: 2000,
    });
    expect(event.varbinds[1]).toEqual({ oid: "1.3.6.1.4.1.99999.2.0", type: "Integer", value: 0 });
    expect(listener.stats()).toMatchObject({ nonPet: 1 });
  });
});
