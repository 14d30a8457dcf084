import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import snmp from "net-snmp";
import { decodePet } from "../../src/pet/event.js";
import { type TrapEvent, trapEventFrom } from "../../src/pet/trap.js";
import { decodePetVarbind, encodePetVarbind, PET_ENTERPRISE_OID } from "../../src/pet/varbind.js";
import { type RedisChild, startRedisChild } from "../../src/serve/redis-child.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../pet/vectors.js";

/** A real redis-server for tests: serve's embedded one (src/serve/redis-child.ts) in its own temp dir. */
export interface TestRedis {
  /** The unix socket path: what Ingest and the queues take as `connection`. */
  readonly socket: string;
  readonly dir: string;
  /** Graceful stop that keeps the data (SHUTDOWN fsyncs the AOF, which restart() loads). */
  stop(): Promise<void>;
  /** Starts it again on the same socket and data. */
  restart(): Promise<void>;
  /** Stops it (if running) and removes its dir. */
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "petgate-redis-"));
  const launch = () => startRedisChild({ dataDir: dir, log: () => undefined });
  let child: RedisChild | undefined = await launch();
  const stop = async () => {
    await child?.stop();
    child = undefined;
  };
  return {
    socket: child.socket,
    dir,
    stop,
    async restart() {
      child = await launch();
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A PET TrapEvent as the listener would hand it over: the Dell chassis-intrusion vector with the given
 * sequence number (and, for variety, local timestamp), from `source`. Copies with the same sequence are
 * retransmissions of one event whatever their source or reception time.
 */
export function petTrap(sequence: number, source = { address: "192.0.2.10", port: 623 }): TrapEvent {
  const varbind = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
  const octets = encodePetVarbind({
    ...varbind,
    sequence: sequence & 0xffff,
    localTimestamp: varbind.localTimestamp + sequence,
  });
  const decoded = decodePet(DELL_CHASSIS_INTRUSION.specificTrap, octets);
  if (!decoded.ok) throw decoded.error;
  return {
    receivedAt: new Date().toISOString(),
    source,
    snmp: {
      version: "v1",
      pdu: "trap",
      community: "public",
      agentAddress: source.address,
      trapOid: `${PET_ENTERPRISE_OID}.0.${DELL_CHASSIS_INTRUSION.specificTrap}`,
    },
    kind: "pet",
    pet: decoded.event,
    varbind: octets.toString("hex"),
  };
}

/** An asserted PET from a BMC of its own (address and GUID), so that each is an alert of its own. */
export function assertedPetFrom(address: string, guid: string, sequence = 1): TrapEvent {
  const trap = petTrap(sequence, { address, port: 623 });
  if (trap.kind !== "pet") throw new Error("not a PET");
  return { ...trap, pet: { ...trap.pet, guid, eventDirection: "assertion" } };
}

/**
 * A generic SNMPv2c trap as the listener hands it over (through trapEventFrom): trap OID `trapOid`,
 * and one OCTET STRING varbind per value, under an enterprise of no PET.
 */
export function genericTrap(address: string, trapOid: string, values: Buffer[]): TrapEvent {
  const result = trapEventFrom({
    pdu: {
      type: snmp.PduType.TrapV2,
      community: "public",
      varbinds: [
        { oid: "1.3.6.1.2.1.1.3.0", type: snmp.ObjectType.TimeTicks, value: 4200 },
        { oid: "1.3.6.1.6.3.1.1.4.1.0", type: snmp.ObjectType.OID, value: trapOid },
        ...values.map((value, i) => ({
          oid: `1.3.6.1.4.1.99999.1.${i + 1}`,
          type: snmp.ObjectType.OctetString,
          value,
        })),
      ],
    },
    rinfo: { address, port: 162 },
  });
  if (!result.ok) throw new Error(result.error.message);
  return result.event;
}
