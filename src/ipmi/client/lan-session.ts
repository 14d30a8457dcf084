import {
  type ChannelAuthCapabilities,
  getChannelAuthCapabilities,
  setSessionPrivilegeLevel,
} from "../commands/app.js";
import type { IpmiCommand } from "../commands/command.js";
import { completionCodeName } from "../completion-codes.js";
import { CompletionCodeError, IpmiDecodeError } from "../errors.js";
import {
  BMC_ADDRESS,
  decodeResponseMessage,
  encodeRequestMessage,
  type IpmiResponseMessage,
  REMOTE_CONSOLE_ADDRESS,
} from "../message.js";
import { decodeRmcp, RmcpClass, type RmcpPacket } from "../rmcp.js";
import { IpmiAuthError, IpmiTimeoutError } from "./errors.js";

export interface SessionOptions {
  /** How errors name the BMC, e.g. "bmc-12 (10.0.0.12:623)"; never includes credentials. */
  name: string;
  username: string;
  password: string;
  /** The BMC key K_g (two-key login); absent = K_uid, as both ipmitool and FreeIPMI do. */
  kg?: Buffer;
  cipherSuite: number;
  /** IPMI 1.5 auth type; absent = the strongest the BMC offers (MD5, then straight password). */
  authType?: "md5" | "password" | "none";
  /** Requested privilege level (IPMI 2.0 §6.8); default administrator. */
  privilege: number;
  /** Sessions that authenticate nobody (cipher suite 0, 1.5 auth type none) are refused unless set. */
  allowInsecure: boolean;
  /** How long one attempt waits before the packet is sent again. */
  attemptTimeoutMs: number;
  log: (line: string) => void;
}

/** The IPMI version a session speaks: RMCP+ (2.0) or the RMCP sessions of IPMI 1.5. */
export type IpmiProtocol = "2.0" | "1.5";

/** What IpmiClient needs of a session, whichever IPMI version it speaks. */
export interface IpmiSession {
  readonly protocol: IpmiProtocol;
  /** The BMC session ID, for Close Session; 0 before set-up. */
  readonly id: number;
  /** Sets the session up; `capabilities` is Get Channel Authentication Capabilities already read. */
  establish(deadline: number, capabilities?: ChannelAuthCapabilities): Promise<void>;
  /** Feeds one datagram from the BMC. */
  receive(datagram: Buffer): void;
  execute<Req, Res>(command: IpmiCommand<Req, Res>, request: Req, deadline: number): Promise<Res>;
  request(
    command: { name: string; netFn: number; cmd: number },
    data: Buffer,
    deadline: number,
  ): Promise<IpmiResponseMessage>;
  /** Fails every call still waiting on this session. */
  abandon(err: Error): void;
}

/** Sends one datagram to the BMC. */
export type Send = (packet: Buffer) => void;

/** What a session hands its waiters: an IPMI message, or an RMCP+ set-up payload. */
export type Inbound = { message: Buffer } | { payloadType: number; payload: Buffer };

type Waiter = {
  match: (p: Inbound) => boolean;
  resolve: (p: Inbound) => void;
  fail: (err: Error) => void;
};

/** Privilege levels as ipmitool's and petgate bmc's -L name them (IPMI 2.0 §6.8). */
const PRIVILEGE_NAMES = ["none", "CALLBACK", "USER", "OPERATOR", "ADMINISTRATOR", "OEM"];

export function privilegeName(privilege: number): string {
  return PRIVILEGE_NAMES[privilege] ?? `level ${privilege}`;
}

export function aboveUserLimit(privilege: number): string {
  return `the requested role ${privilegeName(privilege)} is above this user's privilege limit: ask for a lower one`;
}

/**
 * What every LAN session shares, IPMI 1.5 or 2.0: requests with retransmission until a deadline,
 * rqSeq matching, the session-less Get Channel Authentication Capabilities and the closing Set Session
 * Privilege Level of set-up. Subclasses say how a message is wrapped and which datagrams are theirs.
 * The socket belongs to the caller, which feeds every datagram from the BMC to `receive`.
 */
export abstract class LanSession implements IpmiSession {
  abstract readonly protocol: IpmiProtocol;
  private readonly waiters = new Set<Waiter>();
  private rqSeq = 0;
  /** Privilege the session runs at once set up. */
  privilege = 0;

  constructor(
    protected readonly options: SessionOptions,
    protected readonly send: Send,
  ) {}

  abstract get id(): number;
  abstract establish(deadline: number, capabilities?: ChannelAuthCapabilities): Promise<void>;
  /** What an IPMI-class RMCP datagram carries for a waiter; undefined drops it. Throws IpmiDecodeError. */
  protected abstract unwrap(rmcp: RmcpPacket): Inbound | undefined;
  /** The datagram that carries `message` now; called once per attempt, so each has its own sequence. */
  protected abstract wrap(message: Buffer): Buffer;

  receive(datagram: Buffer): void {
    let inbound: Inbound | undefined;
    try {
      const rmcp = decodeRmcp(datagram);
      if (rmcp.class !== RmcpClass.IPMI) return;
      inbound = this.unwrap(rmcp);
    } catch (err) {
      if (err instanceof IpmiDecodeError) return;
      throw err;
    }
    if (!inbound) return;
    for (const w of this.waiters) {
      if (w.match(inbound)) {
        this.waiters.delete(w);
        w.resolve(inbound);
        return;
      }
    }
  }

  /** Sends a request and waits for its response, sending it again each attempt timeout until the deadline. */
  async execute<Req, Res>(command: IpmiCommand<Req, Res>, request: Req, deadline: number): Promise<Res> {
    const response = await this.request(command, command.encodeRequest(request), deadline);
    if (response.completionCode !== 0) {
      throw new CompletionCodeError(
        command.name,
        response.completionCode,
        completionCodeName(response.completionCode, command.completionCodes),
      );
    }
    return command.decodeResponse(response.data);
  }

  /** The request/response exchange without decoding, for `raw` use and for completion-code handling. */
  async request(
    command: { name: string; netFn: number; cmd: number },
    data: Buffer,
    deadline: number,
    phase = command.name,
  ): Promise<IpmiResponseMessage> {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    const rqSeq = this.rqSeq;
    let response: IpmiResponseMessage | undefined;
    const match = (p: Inbound) => {
      if (!("message" in p)) return false;
      try {
        const m = decodeResponseMessage(p.message);
        if (m.rqSeq !== rqSeq || m.cmd !== command.cmd || m.netFn !== command.netFn + 1) return false;
        response = m;
        return true;
      } catch (err) {
        if (err instanceof IpmiDecodeError) return false;
        throw err;
      }
    };
    const message = encodeRequestMessage({
      rsAddr: BMC_ADDRESS,
      netFn: command.netFn,
      rsLun: 0,
      rqAddr: REMOTE_CONSOLE_ADDRESS,
      rqSeq,
      rqLun: 0,
      cmd: command.cmd,
      data,
    });
    await this.exchange(() => this.wrap(message), match, phase, deadline);
    return response as unknown as IpmiResponseMessage;
  }

  /** Fails every call still waiting on this session (the client is closing or re-opening). */
  abandon(err: Error): void {
    for (const w of this.waiters) w.fail(err);
    this.waiters.clear();
  }

  /**
   * Get Channel Authentication Capabilities (IPMI 2.0 §22.13), session-less. `extended` asks for the
   * IPMI 2.0 data; a 1.5-only BMC may refuse that bit, so a refusal is asked again without it.
   */
  async capabilities(deadline: number, extended: boolean): Promise<ChannelAuthCapabilities> {
    const ask = (ipmi20ExtendedData: boolean) =>
      this.execute(
        getChannelAuthCapabilities,
        { ipmi20ExtendedData, channel: 0x0e, maxPrivilege: this.options.privilege },
        deadline,
      );
    try {
      return await ask(extended).catch((err: unknown) => {
        if (extended && err instanceof CompletionCodeError) return ask(false);
        throw err;
      });
    } catch (err) {
      throw err instanceof CompletionCodeError
        ? new IpmiAuthError(this.options.name, "channel-auth-capabilities", err.message)
        : err;
    }
  }

  /** The first command in a session (IPMI 2.0 §13.14, §22.18): it starts at user level. */
  protected async raisePrivilege(deadline: number): Promise<void> {
    const { name, privilege } = this.options;
    try {
      this.privilege = (await this.execute(setSessionPrivilegeLevel, { privilege }, deadline)).privilege;
    } catch (err) {
      if (!(err instanceof CompletionCodeError)) throw err;
      // 80h, 81h: the level is not available to this user, or above its limit (IPMI 2.0 §22.18).
      const hint = err.code === 0x80 || err.code === 0x81 ? `; ${aboveUserLimit(privilege)}` : "";
      throw new IpmiAuthError(name, "set-session-privilege", `${err.message}${hint}`);
    }
  }

  /** Sends, and sends again every attempt timeout, until a matching datagram arrives or the deadline passes. */
  protected exchange(
    packet: () => Buffer,
    match: (p: Inbound) => boolean,
    phase: string,
    deadline: number,
  ): Promise<Inbound> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        match,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const attempt = () => {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.waiters.delete(waiter);
          reject(new IpmiTimeoutError(this.options.name, phase, Date.now() - started));
          return;
        }
        this.send(packet());
        timer = setTimeout(attempt, Math.min(this.options.attemptTimeoutMs, left));
      };
      this.waiters.add(waiter);
      attempt();
    });
  }
}

/** Session sequence numbers count up and skip 0 on wrap (IPMI 2.0 §6.12.13). */
export function nextSequence(n: number): number {
  return (n + 1) >>> 0 || 1;
}
