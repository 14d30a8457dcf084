// Distinct PET datagrams from one real SNMPv1 fixture: the Dell chassis-intrusion trap as an assertion
// (specific trap 056F00h instead of 056F80h) with its PET varbind re-encoded with the fields given.
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodePetVarbind, encodePetVarbind, type PetVarbind } from "../src/pet/varbind.js";

export const PET_FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";

/** Builds datagrams whose PET varbind is the fixture's with `change` applied (same length). */
export function petDatagramMaker(repoRoot: string): {
  base: PetVarbind;
  make(change: Partial<PetVarbind>): Buffer;
} {
  const packetHex = readFileSync(join(repoRoot, PET_FIXTURE), "utf8")
    .replace(/\s+/g, "")
    .replace("0203056f80", "0203056f00");
  // The varbind is the packet's last element: 47 bytes, as the decoder's round trip re-encodes it.
  const baseHex = packetHex.slice(-94);
  const base = decodePetVarbind(Buffer.from(baseHex, "hex"));
  if (encodePetVarbind(base).toString("hex") !== baseHex)
    throw new Error(`${PET_FIXTURE}: PET varbind not found`);
  const head = Buffer.from(packetHex.slice(0, -94), "hex");
  return {
    base,
    make(change) {
      const octets = encodePetVarbind({ ...base, ...change });
      if (octets.length !== baseHex.length / 2) throw new Error("PET varbind length changed");
      return Buffer.concat([head, octets]);
    },
  };
}

/** Event data with `index` in bytes 5–8 (IPMI leaves them OEM), read back by indexOfEventData. */
export function eventDataWithIndex(base: Buffer, index: number): Buffer {
  const eventData = Buffer.from(base);
  eventData.writeUInt32BE(index >>> 0, 4);
  return eventData;
}

/** The index eventDataWithIndex wrote, from a notification's event data (hex). */
export function indexOfEventData(hex: string): number | undefined {
  return /^[0-9a-f]{16}$/i.test(hex) ? Number.parseInt(hex.slice(8, 16), 16) : undefined;
}

/**
 * PET `i` as an alert of its own among many: its sensor number, and its BMC (a GUID and a loopback
 * source address per 256 PETs, 127.0.0.2 on), with `i` in its event data (indexOfEventData).
 * Alerts are told apart by their labels in a group (`group_by: ['...']`), and by BMC and sensor.
 */
export function alertPet(
  maker: ReturnType<typeof petDatagramMaker>,
  i: number,
): { source: string; datagram: Buffer } {
  if (i >> 8 > 252) throw new RangeError(`PET ${i}: more BMCs than loopback addresses`);
  const guid = Buffer.from(maker.base.guid);
  guid.writeUInt16BE((guid.readUInt16BE(14) + (i >> 8)) & 0xffff, 14);
  return {
    source: `127.0.0.${2 + (i >> 8)}`,
    datagram: maker.make({
      guid,
      sequence: i & 0xffff,
      sensorNumber: i & 0xff,
      eventData: eventDataWithIndex(maker.base.eventData, i),
    }),
  };
}

/** UDP sockets bound to the loopback sources of alertPet, made as they are first needed. */
export class LoopbackSenders {
  private readonly sockets = new Map<string, Socket>();

  async send(source: string, datagram: Buffer, port: number): Promise<void> {
    let socket = this.sockets.get(source);
    if (!socket) {
      const s = createSocket("udp4");
      await new Promise<void>((resolve) => s.bind(0, source, resolve));
      this.sockets.set(source, s);
      socket = s;
    }
    const bound = socket;
    await new Promise<void>((resolve, reject) =>
      bound.send(datagram, port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

/** Per PET index, the idempotency keys (group sends) of the webhook requests that carried it, and when the first came. */
export function arrivalsByIndex(
  requests: readonly { body: Buffer; idempotencyKey: string | undefined; receivedAt: string }[],
): Map<number, { keys: Set<string>; firstAt: number }> {
  const byIndex = new Map<number, { keys: Set<string>; firstAt: number }>();
  for (const r of requests) {
    const body = JSON.parse(r.body.toString()) as { notifications?: { event: { eventData: string } }[] };
    const at = Date.parse(r.receivedAt);
    for (const n of body.notifications ?? []) {
      const index = indexOfEventData(n.event.eventData);
      if (index === undefined) continue;
      const arrival = byIndex.get(index) ?? { keys: new Set<string>(), firstAt: at };
      arrival.keys.add(r.idempotencyKey ?? "");
      arrival.firstAt = Math.min(arrival.firstAt, at);
      byIndex.set(index, arrival);
    }
  }
  return byIndex;
}
