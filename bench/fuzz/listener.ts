// Target 1: petgate's TrapListener on a real UDP socket on 127.0.0.1, fed SNMP v1/v2c/v3 traps and
// informs carrying PETs (and not), as net-snmp encodes them, and their mutants.
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import snmp from "net-snmp";
import { type ListenerStats, TrapListener, type UsmUser } from "../../src/pet/listener.js";
import { encodeSpecificTrap } from "../../src/pet/specific-trap.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { encodePetVarbind, PET_ENTERPRISE_OID, PET_VARBIND_OID } from "../../src/pet/varbind.js";
import { PET_FIXTURE, petDatagramMaker } from "../pet-datagram.js";
import { repoRoot } from "../root.js";
import { berFields, mutants, type Seed, sampled } from "./mutate.js";
import { pacedSend, type SendResult } from "./udp.js";

/** The real SNMPv1 PET fixture datagram, every seed's starting point. */
const FIXTURE = Buffer.from(readFileSync(join(repoRoot, PET_FIXTURE), "utf8").trim(), "hex");
export const V3_USER: UsmUser = {
  name: "petgate",
  level: "authPriv",
  authProtocol: "sha256",
  authKey: "auth-passphrase-1",
  privProtocol: "aes",
  privKey: "priv-passphrase-1",
};

/** The first datagram a net-snmp session sends for `send`, caught on a plain socket. */
async function capture(
  open: (port: number) => snmp.Session,
  send: (s: snmp.Session, done: () => void) => void,
): Promise<Buffer> {
  const sink = dgram.createSocket("udp4");
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((r) => sink.once("message", r));
  const session = open(sink.address().port);
  session.on("error", () => undefined);
  send(session, () => undefined);
  const packet = await got;
  session.close();
  sink.close();
  return packet;
}

/** PET varbinds: the fixture's event, then the same with other sensors, offsets and severities. */
function petVariants(): { specificTrap: number; octets: Buffer }[] {
  const { base } = petDatagramMaker(repoRoot);
  return [
    [0x05, 0x6f, 0, 0x01],
    [0x01, 0x01, 9, 0x10],
    [0x04, 0x01, 2, 0x08],
    [0x0c, 0x6f, 1, 0x04],
  ].map(([sensorType, eventType, offset, severityCode], i) => ({
    specificTrap: encodeSpecificTrap({
      sensorType: sensorType as number,
      eventReadingType: eventType as number,
      deassertion: i % 2 === 1,
      offset: offset as number,
    }),
    octets: encodePetVarbind({
      ...base,
      severityCode: severityCode as number,
      sensorNumber: i + 1,
      sequence: i,
    }),
  }));
}

/** Valid datagrams of every kind the listener tells apart, from net-snmp's encoders. */
export async function listenerSeeds(): Promise<Seed[]> {
  const packets: Buffer[] = [FIXTURE];
  const pet = (p: { specificTrap: number; octets: Buffer }) => ({
    oid: `${PET_ENTERPRISE_OID}.${p.specificTrap}`,
    varbinds: [{ oid: PET_VARBIND_OID, type: snmp.ObjectType.OctetString, value: p.octets }],
  });
  const v1 = (community: string) => (port: number) =>
    snmp.createSession("127.0.0.1", community, { version: snmp.Version1, trapPort: port });
  const v2c = (community: string) => (port: number) =>
    snmp.createSession("127.0.0.1", community, { version: snmp.Version2c, trapPort: port, retries: 0 });
  const v3 = (authKey: string) => (port: number) =>
    snmp.createV3Session(
      "127.0.0.1",
      {
        name: V3_USER.name,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha256,
        authKey,
        privProtocol: snmp.PrivProtocols.aes,
        privKey: V3_USER.privKey as string,
      },
      { trapPort: port, retries: 0, engineID: "8000b98380c0ffee0001" } as snmp.SessionOptionsV3,
    );
  for (const p of petVariants()) {
    const { oid, varbinds } = pet(p);
    const trap = (s: snmp.Session, done: () => void) =>
      s.trap(oid, varbinds, { agentAddr: "127.0.0.1" }, done);
    packets.push(await capture(v1("public"), trap));
    packets.push(await capture(v2c("public"), trap));
    packets.push(await capture(v3(V3_USER.authKey as string), trap));
  }
  const first = petVariants()[0] as { specificTrap: number; octets: Buffer };
  const { oid, varbinds } = pet(first);
  const trap = (s: snmp.Session, done: () => void) => s.trap(oid, varbinds, { agentAddr: "127.0.0.1" }, done);
  packets.push(
    // Refused: another community, another user's key; an inform (v2c), a v3 inform's engine discovery.
    await capture(v1("private"), trap),
    await capture(v3("wrong-passphrase"), trap),
    await capture(v2c("public"), (s, done) => s.inform(oid, varbinds, done)),
    await capture(v3(V3_USER.authKey as string), (s, done) => s.inform(oid, varbinds, done)),
    // Not a PET: linkDown, and a PET enterprise trap whose varbind is cut short.
    await capture(v2c("public"), (s, done) => s.trap(snmp.TrapType.LinkDown, done)),
    await capture(v1("public"), (s, done) =>
      s.trap(oid, [{ ...varbinds[0], value: first.octets.subarray(0, 20) }] as snmp.Varbind[], done),
    ),
  );
  return packets.map((bytes) => ({ bytes, fields: berFields(bytes) }));
}

export interface ListenerResult extends SendResult {
  stats: ListenerStats;
  /** Sum of the per-reason counters: must equal stats.received. */
  outcomeSum: number;
  /** The fixture PET sent after the fuzz decoded as the event it carries. */
  realPetDecoded: boolean;
}

export function outcomeSum(s: ListenerStats): number {
  return s.pet + s.nonPet + s.petMalformed + s.reports + Object.values(s.rejected).reduce((a, b) => a + b, 0);
}

/** Sends `count` seeds and mutants to a fresh listener, then one real PET, and reads its counters. */
export async function fuzzListener(
  seeds: readonly Seed[],
  count: number,
  seed: number,
): Promise<ListenerResult> {
  const events: TrapEvent[] = [];
  let keep = true;
  const listener = await TrapListener.start(
    {
      bind: { host: "127.0.0.1", port: 0 },
      communities: ["public"],
      allowSources: [],
      users: [V3_USER],
      receiveBufferBytes: 4 << 20,
    },
    (e) => {
      if (keep) events.push(e);
    },
  );
  try {
    keep = false; // a million events are not kept; the counters are what is checked
    const datagrams = (function* () {
      for (const m of sampled(mutants(seeds), count, seed)) yield m.bytes;
    })();
    const sent = await pacedSend(
      listener.address(),
      datagrams,
      { counted: () => listener.stats().received },
      { window: 256 },
    );
    const stats = listener.stats();
    keep = true;
    await pacedSend(
      listener.address(),
      [FIXTURE],
      { counted: () => listener.stats().received },
      { window: 1 },
    );
    const last = events.at(-1);
    return {
      ...sent,
      stats,
      outcomeSum: outcomeSum(stats),
      realPetDecoded: last?.kind === "pet" && last.pet.event === "General Chassis Intrusion",
    };
  } finally {
    await listener.close();
  }
}
