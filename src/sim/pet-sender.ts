import dgram from "node:dgram";
import snmp from "net-snmp";
import type { PetAcknowledgeRequest } from "../ipmi/commands/sensor-event.js";
import type { LanParameter } from "../ipmi/commands/transport.js";
import type { SystemEventRecord } from "../ipmi/sel.js";
import { buildPet, type PetContent, type PetIdentity } from "../pet/build.js";
import { encodePetVarbind, PET_ENTERPRISE_OID, PET_VARBIND_OID, type PetVarbind } from "../pet/varbind.js";

/** SNMP trap port (RFC 1157 §4). */
export const SNMP_TRAP_PORT = 162;

/** An alert destination as LAN parameters 16, 18 and 19 describe it. */
export interface PetDestination {
  ip: string;
  community: string;
  /** Parameter 18 [7]: resend until a PET Acknowledge arrives. */
  acknowledge: boolean;
  /** Parameter 18 byte 3: seconds between resends; 0 is taken as 1 s. */
  timeoutSeconds: number;
  /** Parameter 18 byte 4 [2:0]: resends after the first copy. */
  retries: number;
}

type DestinationType = Extract<LanParameter, { parameter: "destinationType" }>;
type DestinationAddress = Extract<LanParameter, { parameter: "destinationAddress" }>;

/** The PET destination that LAN parameters 16 (community), 18 (type) and 19 (address) configure. */
export function petDestination(
  community: string,
  type: DestinationType,
  address: DestinationAddress,
): PetDestination {
  return {
    ip: address.ip,
    community,
    acknowledge: type.acknowledge,
    timeoutSeconds: type.ackTimeoutSeconds,
    retries: type.retries,
  };
}

/** The GUID a PET carries: PEF parameter 10's when its "use" bit is set, else the system GUID. */
export function petGuid(pefGuid: { useGuid: boolean; guid: Buffer } | undefined, systemGuid: Buffer): Buffer {
  return pefGuid?.useGuid ? pefGuid.guid : systemGuid;
}

export interface PetSenderOptions extends PetIdentity {
  /** The BMC's IPv4 address: the agent-addr of its traps and the address they are sent from. */
  bmcAddress: string;
  /** Destination UDP port; default 162. */
  trapPort?: number;
  log?: (line: string) => void;
}

export interface PetSenderStats {
  /** PETs sent, each counted once however often it was resent. */
  petsSent: number;
  retransmissions: number;
  acksReceived: number;
  /** PET Acknowledges that matched no PET awaiting one. */
  acksUnmatched: number;
}

interface PendingAck {
  expected: PetAcknowledgeRequest;
  timer?: NodeJS.Timeout;
  settle(acknowledged: boolean): void;
}

/**
 * Sends a BMC's PETs as SNMPv1 Trap-PDUs from the BMC's own address, and resends those whose
 * destination asks for acknowledgement until a matching PET Acknowledge arrives (IPMI 2.0 §30.8,
 * LAN parameter 18) or the retries run out. net-snmp encodes the traps; each destination gets its
 * own session, whose socket is bound to the BMC address before net-snmp is handed it.
 */
export class PetSender {
  private sequence = 0;
  private closed = false;
  private readonly sessions = new Map<string, Promise<snmp.Session>>();
  /** Keyed by sequence number. */
  private readonly pending = new Map<number, PendingAck>();
  private readonly counters: PetSenderStats = {
    petsSent: 0,
    retransmissions: 0,
    acksReceived: 0,
    acksUnmatched: 0,
  };

  constructor(private readonly options: PetSenderOptions) {}

  /**
   * Sends the PET for one event to one destination. Resolves true once it is delivered: sent, and,
   * if the destination asks for it, acknowledged; false when every resend went unacknowledged or
   * the sender was closed first. Rejects when the datagram cannot be sent.
   */
  async send(event: SystemEventRecord, destination: PetDestination, content: PetContent): Promise<boolean> {
    if (this.closed) throw new Error("the PET sender is closed");
    this.sequence = (this.sequence % 0xffff) + 1;
    const { specificTrap, varbind } = buildPet(event, content, this.options, this.sequence);
    const session = await this.session(destination);
    if (this.closed) return false;
    const transmit = () => this.transmit(session, specificTrap, encodePetVarbind(varbind));
    await transmit();
    this.counters.petsSent++;
    if (!destination.acknowledge) return true;
    return this.awaitAck(varbind, destination, transmit);
  }

  /**
   * Takes a PET Acknowledge (S/E 17h): true when it names a PET awaiting acknowledgement — same
   * sequence number, local timestamp, event source type, sensor device, sensor number and event
   * data 1-3 — which is then no longer resent.
   */
  acknowledge(ack: PetAcknowledgeRequest): boolean {
    const pending = this.pending.get(ack.sequence);
    if (pending === undefined || !sameAck(pending.expected, ack)) {
      this.counters.acksUnmatched++;
      return false;
    }
    this.counters.acksReceived++;
    pending.settle(true);
    return true;
  }

  stats(): PetSenderStats {
    return { ...this.counters };
  }

  /** Stops all resends (their sends resolve false) and closes the sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of [...this.pending.values()]) pending.settle(false);
    const sessions = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    for (const s of sessions) if (s.status === "fulfilled") s.value.close();
  }

  /**
   * Resends every timeoutSeconds (0 taken as 1 s: LAN parameter 18 calls the interval 0-based, and a
   * 0 s interval would flood) until acknowledged, at most `retries` times; after the last resend it
   * waits one more interval.
   */
  private awaitAck(
    varbind: PetVarbind,
    destination: PetDestination,
    transmit: () => Promise<void>,
  ): Promise<boolean> {
    const intervalMs = Math.max(1, destination.timeoutSeconds) * 1000;
    const { sequence } = varbind;
    let retriesLeft = destination.retries;
    return new Promise((resolve) => {
      const pending: PendingAck = {
        expected: {
          sequence,
          localTimestamp: varbind.localTimestamp,
          eventSourceType: varbind.eventSourceType,
          sensorDevice: varbind.sensorDevice,
          sensorNumber: varbind.sensorNumber,
          eventData: varbind.eventData.subarray(0, 3),
        },
        settle: (acknowledged) => {
          clearTimeout(pending.timer);
          this.pending.delete(sequence);
          resolve(acknowledged);
        },
      };
      const onTimeout = () => {
        if (retriesLeft === 0) {
          this.options.log?.(
            `PET ${sequence} to ${destination.ip}: no acknowledgement after ${destination.retries} resend(s)`,
          );
          pending.settle(false);
          return;
        }
        retriesLeft--;
        this.counters.retransmissions++;
        pending.timer = setTimeout(onTimeout, intervalMs);
        transmit().catch((err: unknown) =>
          this.options.log?.(`PET ${sequence} to ${destination.ip}: resend failed: ${String(err)}`),
        );
      };
      pending.timer = setTimeout(onTimeout, intervalMs);
      this.pending.set(sequence, pending);
    });
  }

  private session(destination: PetDestination): Promise<snmp.Session> {
    const port = this.options.trapPort ?? SNMP_TRAP_PORT;
    const key = `${destination.ip}:${port}:${destination.community}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = this.openSession(destination.ip, port, destination.community);
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    return session;
  }

  /**
   * net-snmp's own `sourceAddress` option binds without waiting and drops a bind error, so the
   * socket is bound here, failing loudly if the BMC address is not local, and handed over through
   * the `dgramModule` option.
   */
  private async openSession(ip: string, port: number, community: string): Promise<snmp.Session> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, this.options.bmcAddress, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return snmp.createSession(ip, community, {
      version: snmp.Version1,
      trapPort: port,
      dgramModule: { createSocket: () => socket },
    });
  }

  /** One SNMPv1 Trap-PDU: enterprise 1.3.6.1.4.1.3183.1.1, generic 6, the specific trap, one varbind. */
  private transmit(session: snmp.Session, specificTrap: number, octets: Buffer): Promise<void> {
    const varbinds = [{ oid: PET_VARBIND_OID, type: snmp.ObjectType.OctetString, value: octets }];
    return new Promise((resolve, reject) => {
      // net-snmp takes the last arc of the OID as the specific trap and the rest as the enterprise.
      session.trap(
        `${PET_ENTERPRISE_OID}.${specificTrap}`,
        varbinds,
        { agentAddr: this.options.bmcAddress },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }
}

function sameAck(a: PetAcknowledgeRequest, b: PetAcknowledgeRequest): boolean {
  return (
    a.sequence === b.sequence &&
    a.localTimestamp === b.localTimestamp &&
    a.eventSourceType === b.eventSourceType &&
    a.sensorDevice === b.sensorDevice &&
    a.sensorNumber === b.sensorNumber &&
    a.eventData.equals(b.eventData)
  );
}
