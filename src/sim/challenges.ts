import { randomBytes, timingSafeEqual } from "node:crypto";
import { authentic15, password16, sealIpmi15 } from "../ipmi/auth15.js";
import { type ActivateSessionRequest, activateSession, type SessionChallenge } from "../ipmi/commands/app.js";
import { decodeRequestMessage, type IpmiRequestMessage } from "../ipmi/message.js";
import { encodeRmcp, RmcpClass } from "../ipmi/rmcp.js";
import { AuthType, type Ipmi15Packet } from "../ipmi/session15.js";
import { CompletionCode } from "./handler.js";
import type { SimUser } from "./session-server.js";

/** What keys an IPMI 1.5 session's auth codes: its auth type and the user's 16-byte password. */
export interface Auth15 {
  authType: number;
  password: Buffer;
}

/** Whether a packet carries the session's auth type and, unless that is none, its auth code. */
export function authentic(packet: Ipmi15Packet, auth: Auth15): boolean {
  return (
    packet.authType === auth.authType &&
    (auth.authType === AuthType.None || authentic15(packet, auth.password))
  );
}

/** A whole datagram of an IPMI 1.5 session, auth code included. */
export function seal(auth: Auth15, sessionId: number, sequence: number, message: Buffer): Buffer {
  const packet = { authType: auth.authType, sequence, sessionId, message };
  return encodeRmcp(RmcpClass.IPMI, sealIpmi15(packet, auth.password));
}

interface Pending {
  user: SimUser;
  auth: Auth15;
  challenge: Buffer;
  at: number;
}

/** An Activate Session that checked: who, with which keys, asking what. */
export interface Redeemed {
  user: SimUser;
  auth: Auth15;
  request: IpmiRequestMessage;
  activate: ActivateSessionRequest;
}

/**
 * The BMC side of IPMI 1.5 session set-up (IPMI 2.0 §22.16-22.17): challenges handed out by Get
 * Session Challenge, each good for one Activate Session on its temporary session ID, bounded in
 * number and age as set-ups are.
 */
export class SessionChallenges {
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly limits: { max: number; ttlMs: number }) {}

  /** Get Session Challenge for `user`; CCh when the channel does not offer the auth type. */
  issue(user: SimUser, authType: number, offered: readonly number[]): SessionChallenge {
    if (!offered.includes(authType)) throw new CompletionCode(0xcc);
    this.expire();
    // The oldest unanswered challenge gives way, as a stalled RMCP+ set-up does.
    if (this.pending.size >= this.limits.max) this.pending.delete(this.pending.keys().next().value as number);
    const temporarySessionId = randomBytes(4).readUInt32LE() || 1;
    const challenge = randomBytes(16);
    const auth = { authType, password: password16(user.password) };
    this.pending.set(temporarySessionId, { user, auth, challenge, at: Date.now() });
    return { temporarySessionId, challenge };
  }

  has(temporarySessionId: number): boolean {
    return this.pending.has(temporarySessionId);
  }

  /**
   * The Activate Session on `packet`'s temporary session, if its auth code, auth type and challenge
   * check; the challenge is then spent. Undefined: nothing to answer (a refusal could not be
   * authenticated either).
   */
  redeem(packet: Ipmi15Packet): Redeemed | undefined {
    const pending = this.pending.get(packet.sessionId);
    if (!pending || !authentic(packet, pending.auth)) return undefined;
    const request = decodeRequestMessage(packet.message);
    if (request.netFn !== activateSession.netFn || request.cmd !== activateSession.cmd) return undefined;
    const activate = activateSession.decodeRequest(request.data);
    if (
      activate.authType !== pending.auth.authType ||
      !timingSafeEqual(activate.challenge, pending.challenge)
    )
      return undefined;
    this.pending.delete(packet.sessionId);
    return { user: pending.user, auth: pending.auth, request, activate };
  }

  expire(now = Date.now()): void {
    for (const [id, p] of this.pending) if (now - p.at > this.limits.ttlMs) this.pending.delete(id);
  }

  clear(): void {
    this.pending.clear();
  }
}
