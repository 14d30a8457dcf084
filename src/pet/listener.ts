import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { isIPv6 } from "node:net";
import snmp from "net-snmp";
import { AddressAllowList, type HostPort } from "../net/address.js";
import type { SensorLookup } from "./event.js";
import { type MalformedTrapCode, type ReceivedNotification, type TrapEvent, trapEventFrom } from "./trap.js";

export interface UsmUser {
  name: string;
  level: "noAuthNoPriv" | "authNoPriv" | "authPriv";
  authProtocol?: "sha" | "sha256" | "sha512";
  authKey?: string;
  privProtocol?: "aes" | "aes256b" | "aes256r";
  privKey?: string;
}

export interface ListenerOptions {
  bind: HostPort;
  /** SNMPv1/v2c communities accepted. */
  communities: readonly string[];
  /** Source addresses or CIDR blocks accepted; empty accepts any. */
  allowSources: readonly string[];
  /** SNMPv3 USM users accepted (traps and informs). */
  users: readonly UsmUser[];
  /** SO_RCVBUF asked of the kernel; Linux grants at most net.core.rmem_max. */
  receiveBufferBytes: number;
  lookupSensor?: SensorLookup;
}

export type RejectReason = "source" | "community" | "auth" | "malformed" | "unsupported-pdu";

/** Every received datagram ends in exactly one of: pet, nonPet, petMalformed, reports, rejected[reason]. */
export interface ListenerStats {
  received: number;
  pet: number;
  nonPet: number;
  petMalformed: number;
  /** SNMPv3 engine discovery and USM reports answered. */
  reports: number;
  rejected: Record<RejectReason, number>;
  /** Of rejected.malformed, the notifications net-snmp parsed that name no trap, by why. */
  malformedTraps: Record<MalformedTrapCode, number>;
  /** Exceptions thrown while handling a datagram (a bug, not bad input); each is also logged. */
  internalErrors: number;
}

export interface ReceiveBuffer {
  requested: number;
  granted: number;
}

/** Where decoded events go: NDJSON now, the durable queue later. */
export type TrapHandler = (event: TrapEvent) => void;

/**
 * The SNMP trap receiver. net-snmp does SNMP (BER, USM, inform responses); this class owns the UDP
 * socket so that the source allow-list runs before any parsing, the receive buffer can be sized, and
 * every datagram is counted by outcome.
 */
export class TrapListener {
  private readonly counters: ListenerStats = {
    received: 0,
    pet: 0,
    nonPet: 0,
    petMalformed: 0,
    reports: 0,
    rejected: { source: 0, community: 0, auth: 0, malformed: 0, "unsupported-pdu": 0 },
    malformedTraps: { "trap-oid-missing": 0, "trap-oid-type": 0, "oid-too-long": 0 },
    internalErrors: 0,
  };
  /** Per datagram: whether a callback counted it, and whether net-snmp answered it. */
  private counted = false;
  private replied = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly allow: AddressAllowList,
    readonly receiveBuffer: ReceiveBuffer,
  ) {}

  static async start(options: ListenerOptions, handler: TrapHandler): Promise<TrapListener> {
    const allow = new AddressAllowList(options.allowSources);
    const socket = dgram.createSocket({
      type: isIPv6(options.bind.host) ? "udp6" : "udp4",
      recvBufferSize: options.receiveBufferBytes,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(options.bind.port, options.bind.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    // socket(7): Linux doubles SO_RCVBUF for bookkeeping and getsockopt returns the doubled value.
    const reported = socket.getRecvBufferSize();
    const listener = new TrapListener(socket, allow, {
      requested: options.receiveBufferBytes,
      granted: process.platform === "linux" ? reported / 2 : reported,
    });
    listener.attach(options, handler);
    return listener;
  }

  private attach(options: ListenerOptions, handler: TrapHandler): void {
    // net-snmp binds the socket its dgram module gives it; this one forwards only what passed the
    // allow-list, and sends its inform responses and USM reports through the real socket.
    const feed = new EventEmitter();
    const real = this.socket;
    const facade = {
      on: feed.on.bind(feed),
      bind() {},
      close() {},
      address: () => real.address(),
      send: (...args: unknown[]) => {
        this.replied = true;
        (real.send as (...a: unknown[]) => void)(...args);
      },
    };
    const receiver = snmp.createReceiver(
      {
        port: options.bind.port,
        includeAuthentication: true,
        dgramModule: { createSocket: () => facade },
      },
      (error: (Error & { name: string }) | null, notification: ReceivedNotification) => {
        if (error) {
          this.counted = true;
          this.counters.rejected[rejectReason(error)]++;
          return;
        }
        const result = trapEventFrom(notification, options.lookupSensor);
        this.counted = true;
        if (!result.ok) {
          this.counters.rejected.malformed++;
          this.counters.malformedTraps[result.error.code]++;
          return;
        }
        const { event } = result;
        if (event.kind === "pet") this.counters.pet++;
        else if (event.petError) this.counters.petMalformed++;
        else this.counters.nonPet++;
        handler(event);
      },
    );
    const authorizer = receiver.getAuthorizer();
    for (const community of options.communities) authorizer.addCommunity(community);
    for (const user of options.users) authorizer.addUser(usmUser(user));

    real.on("message", (msg, rinfo) => {
      this.counters.received++;
      if (!this.allow.allows(rinfo.address)) {
        this.counters.rejected.source++;
        return;
      }
      this.counted = false;
      this.replied = false;
      try {
        feed.emit("message", msg, rinfo);
      } catch (err) {
        // net-snmp catches its own parse errors: what escapes is a fault in a handler, which must not
        // stop the listener and must not go unnoticed.
        this.counters.internalErrors++;
        process.stderr.write(`petgate: error handling a datagram from ${rinfo.address}: ${String(err)}\n`);
      }
      // net-snmp works synchronously: by now a callback has counted the packet, or it sent only a
      // USM report / discovery answer, or it dropped it silently.
      if (!this.counted) {
        if (this.replied) this.counters.reports++;
        else this.counters.rejected.malformed++;
      }
    });
  }

  address(): HostPort {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  stats(): ListenerStats {
    const { rejected, malformedTraps } = this.counters;
    return { ...this.counters, rejected: { ...rejected }, malformedTraps: { ...malformedTraps } };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

function rejectReason(error: Error): RejectReason {
  switch (error.name) {
    case "ProcessingError":
      return "malformed";
    case "RequestInvalidError":
      return "unsupported-pdu";
    case "RequestFailedError":
      return /community/i.test(error.message) ? "community" : "auth";
    default:
      // ResponseInvalidError: a bad digest or a PDU that would not decrypt.
      return "auth";
  }
}

function usmUser(u: UsmUser): snmp.User {
  return {
    name: u.name,
    level: snmp.SecurityLevel[u.level],
    ...(u.authProtocol && { authProtocol: snmp.AuthProtocols[u.authProtocol], authKey: u.authKey }),
    ...(u.privProtocol && { privProtocol: snmp.PrivProtocols[u.privProtocol], privKey: u.privKey }),
  } as snmp.User;
}
