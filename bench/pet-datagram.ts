// Distinct PET datagrams from one real SNMPv1 fixture: the Dell chassis-intrusion trap as an assertion
// (specific trap 056F00h instead of 056F80h) with its PET varbind re-encoded with the fields given.
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
