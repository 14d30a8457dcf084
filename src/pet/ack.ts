import dgram from "node:dgram";
import { isIPv4, isIPv6 } from "node:net";
import { petAckFromVarbind, petAcknowledge } from "../ipmi/commands/sensor-event.js";
import {
  BMC_ADDRESS,
  decodeResponseMessage,
  encodeRequestMessage,
  REMOTE_CONSOLE_ADDRESS,
} from "../ipmi/message.js";
import { decodeRmcp, encodeRmcp, RmcpClass } from "../ipmi/rmcp.js";
import { AuthType, decodeIpmi15, encodeIpmi15 } from "../ipmi/session15.js";
import type { TrapEvent, TrapSource } from "./trap.js";
import { decodePetVarbind } from "./varbind.js";

/** The RMCP port BMCs (and FreeIPMI's ipmi-pet) use for PET Acknowledge. */
export const PET_ACK_PORT = 623;

export type PetAckOutcome =
  /** The BMC answered completion code 00h. */
  | "acknowledged"
  /** The BMC answered another completion code (e.g. D5h from a BMC without PET Acknowledge support). */
  | "rejected"
  /** No answer after every attempt, or the acknowledgement could not be built or sent. */
  | "no-answer"
  /** Nothing sent: the PET's source is not a destination the acknowledger may send to. */
  | "not-allowed";

/** Where one PET's acknowledgement goes. */
export interface AckDestination {
  address: string;
  port: number;
}

export interface PetAcknowledgerOptions {
  /**
   * The destination of the acknowledgement of a PET from `source`; undefined: none is sent (counted
   * as notAllowed). No default: a PET's source is spoofed at will, so acknowledging it as such would
   * reflect UDP to anyone (the gateway passes AckDestinations, ack-destinations.ts).
   */
  destination: (source: TrapSource) => AckDestination | undefined;
}

export interface PetAckOptions {
  /** Per attempt; default 1000. */
  timeoutMs?: number;
  /** Resends after the first attempt; default 2. */
  retries?: number;
}

export interface PetAckStats {
  /** acknowledge() calls. */
  requests: number;
  /** Datagrams sent, resends included. */
  sent: number;
  resent: number;
  acknowledged: number;
  rejected: number;
  noAnswer: number;
  /** Rejections by completion code (hex, e.g. "d5"). */
  completionCodes: Record<string, number>;
  /** Acknowledgements that could not be built or sent (bad varbind, send error, closed, rqSeq exhausted). */
  failed: number;
  /** Datagrams received that answered no pending acknowledgement (late, foreign or undecodable). */
  stray: number;
  /** PETs whose source is no allowed destination: nothing was sent. */
  notAllowed: number;
}

interface Waiter {
  settle(completionCode: number | undefined): void;
}

const NETFN_SENSOR_EVENT_RESPONSE = petAcknowledge.netFn + 1;
/** rqSeq is 6 bits; 0 is left out so a zeroed response never matches. */
const RQ_SEQ_MAX = 0x3f;

/**
 * Sends PET Acknowledge (S/E 17h, PROTOCOL.md §1) the way FreeIPMI's ipmi-pet does: session-less, IPMI
 * 1.5, auth type none, session 0, to where the `destination` option says for the PET's source (the
 * BMC that sent it; nowhere for a source it does not know). Answers are matched by the
 * BMC's address and port and the request's rqSeq. One UDP socket per address family, opened on first
 * use. Never throws: every outcome is a PetAckOutcome and a counter.
 */
export class PetAcknowledger {
  private readonly sockets = new Map<"udp4" | "udp6", Promise<dgram.Socket>>();
  /** Pending requests by "address|port|rqSeq". */
  private readonly waiters = new Map<string, Waiter>();
  /** Pending requests per "address|port": a BMC with every rqSeq pending is refused at once, not scanned. */
  private readonly pendingTo = new Map<string, number>();
  private nextSeq = 1;
  private closed = false;
  private readonly counters: PetAckStats = {
    requests: 0,
    sent: 0,
    resent: 0,
    acknowledged: 0,
    rejected: 0,
    noAnswer: 0,
    completionCodes: {},
    failed: 0,
    stray: 0,
    notAllowed: 0,
  };
  private readonly destination: (source: TrapSource) => AckDestination | undefined;

  constructor(options: PetAcknowledgerOptions) {
    this.destination = options.destination;
  }

  async acknowledge(event: TrapEvent & { kind: "pet" }, options: PetAckOptions = {}): Promise<PetAckOutcome> {
    this.counters.requests++;
    const to = this.destination(event.source);
    if (to === undefined) {
      this.counters.notAllowed++;
      return "not-allowed";
    }
    const outcome = await this.exchange(event, to, options).catch(() => "failed" as const);
    // Every rqSeq pending towards the BMC (a burst from it): refused at once, no Error built per PET.
    if (outcome === "failed" || outcome === "full") this.counters.failed++;
    if (typeof outcome !== "number") {
      this.counters.noAnswer++;
      return "no-answer";
    }
    if (outcome === 0) {
      this.counters.acknowledged++;
      return "acknowledged";
    }
    this.counters.rejected++;
    const code = outcome.toString(16).padStart(2, "0");
    this.counters.completionCodes[code] = (this.counters.completionCodes[code] ?? 0) + 1;
    return "rejected";
  }

  stats(): PetAckStats {
    return { ...this.counters, completionCodes: { ...this.counters.completionCodes } };
  }

  /** Pending acknowledgements resolve "no-answer"; later ones do too, without sending. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.waiters.values()]) w.settle(undefined);
    this.waiters.clear();
    this.pendingTo.clear();
    const sockets = await Promise.allSettled(this.sockets.values());
    this.sockets.clear();
    await Promise.all(
      sockets.map((s) =>
        s.status === "fulfilled" ? new Promise<void>((resolve) => s.value.close(() => resolve())) : undefined,
      ),
    );
  }

  /**
   * The completion code, "no-answer", "full" (every rqSeq pending towards the BMC), or a rejection
   * when the request could not be built or sent.
   */
  private async exchange(
    event: TrapEvent & { kind: "pet" },
    to: AckDestination,
    options: PetAckOptions,
  ): Promise<number | "no-answer" | "full"> {
    if (this.closed) throw new Error("PetAcknowledger is closed");
    const address = unmapIpv4(to.address);
    const { port } = to;
    const timeoutMs = options.timeoutMs ?? 1000;
    const attempts = 1 + Math.max(0, options.retries ?? 2);
    if ((this.pendingTo.get(`${address}|${port}`) ?? 0) >= RQ_SEQ_MAX) return "full";
    const ack = petAckFromVarbind(decodePetVarbind(Buffer.from(event.varbind, "hex")));
    const data = petAcknowledge.encodeRequest(ack);
    const socket = await this.socket(isIPv6(address) ? "udp6" : "udp4");
    if (this.closed) throw new Error("PetAcknowledger is closed");
    const rqSeq = this.allocateSeq(address, port);
    if (rqSeq === undefined) return "full";
    const message = encodeRequestMessage({
      rsAddr: BMC_ADDRESS,
      netFn: petAcknowledge.netFn,
      rsLun: 0,
      rqAddr: REMOTE_CONSOLE_ADDRESS,
      rqSeq,
      rqLun: 0,
      cmd: petAcknowledge.cmd,
      data,
    });
    const packet = encodeRmcp(
      RmcpClass.IPMI,
      encodeIpmi15({ authType: AuthType.None, sequence: 0, sessionId: 0, message }),
    );
    const key = waiterKey(address, port, rqSeq);

    return new Promise<number | "no-answer">((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let left = attempts;
      let done = false;
      const finish = (result: number | "no-answer" | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.waiters.delete(key)) this.pending(address, port, -1);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const attempt = () => {
        if (left === 0) return finish("no-answer");
        if (left < attempts) this.counters.resent++;
        left--;
        this.counters.sent++;
        socket.send(packet, port, address, (err) => {
          if (err) finish(err);
        });
        timer = setTimeout(attempt, timeoutMs);
      };
      this.pending(address, port, +1);
      this.waiters.set(key, {
        settle: (code) => finish(code === undefined ? "no-answer" : code),
      });
      attempt();
    });
  }

  /** The next rqSeq not pending towards this BMC; undefined when every one is. */
  private allocateSeq(address: string, port: number): number | undefined {
    if ((this.pendingTo.get(`${address}|${port}`) ?? 0) >= RQ_SEQ_MAX) return undefined;
    for (let i = 0; i < RQ_SEQ_MAX; i++) {
      const seq = this.nextSeq;
      this.nextSeq = (this.nextSeq % RQ_SEQ_MAX) + 1;
      if (!this.waiters.has(waiterKey(address, port, seq))) return seq;
    }
    return undefined;
  }

  private pending(address: string, port: number, delta: number): void {
    const key = `${address}|${port}`;
    const n = (this.pendingTo.get(key) ?? 0) + delta;
    if (n > 0) this.pendingTo.set(key, n);
    else this.pendingTo.delete(key);
  }

  private socket(type: "udp4" | "udp6"): Promise<dgram.Socket> {
    let socket = this.sockets.get(type);
    if (socket === undefined) {
      socket = this.open(type);
      this.sockets.set(type, socket);
      socket.catch(() => this.sockets.delete(type));
    }
    return socket;
  }

  private async open(type: "udp4" | "udp6"): Promise<dgram.Socket> {
    const socket = dgram.createSocket(type);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    // Send errors come back through send()'s callback; anything else must not crash the process.
    socket.on("error", () => {
      this.counters.failed++;
    });
    socket.on("message", (msg, rinfo) => this.receive(msg, rinfo));
    return socket;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      const rmcp = decodeRmcp(msg);
      if (rmcp.class !== RmcpClass.IPMI) throw new Error("not IPMI");
      const response = decodeResponseMessage(decodeIpmi15(rmcp.body).message);
      const waiter = this.waiters.get(waiterKey(unmapIpv4(rinfo.address), rinfo.port, response.rqSeq));
      if (
        waiter === undefined ||
        response.netFn !== NETFN_SENSOR_EVENT_RESPONSE ||
        response.cmd !== petAcknowledge.cmd
      ) {
        this.counters.stray++;
        return;
      }
      waiter.settle(response.completionCode);
    } catch {
      this.counters.stray++;
    }
  }
}

function waiterKey(address: string, port: number, rqSeq: number): string {
  return `${address}|${port}|${rqSeq}`;
}

/** "::ffff:192.0.2.1" → "192.0.2.1", so a dual-stack listener's sources reach the IPv4 socket. */
export function unmapIpv4(address: string): string {
  return address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}
