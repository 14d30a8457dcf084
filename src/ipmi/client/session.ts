import { randomBytes } from "node:crypto";
import { cipherSuite, IMPLEMENTED_SUITES } from "../cipher-suites.js";
import { getChannelAuthCapabilities, setSessionPrivilegeLevel } from "../commands/app.js";
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
import {
  additionalKeys,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  type RakpExchange,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  rmcpPlusStatusName,
  sessionIntegrityKey,
  userKey,
} from "../rakp.js";
import { decodeRmcp, encodeRmcp, RmcpClass } from "../rmcp.js";
import { AuthType, decodeIpmi15, encodeIpmi15 } from "../session15.js";
import {
  decodeIpmi20,
  encodeIpmi20,
  type Ipmi20Packet,
  PayloadType,
  type SessionSecurity,
} from "../session20.js";
import { IpmiAuthError, IpmiRefusedError, IpmiTimeoutError } from "./errors.js";
import { SequenceWindow } from "./sequence-window.js";

export interface SessionOptions {
  /** How errors name the BMC, e.g. "bmc-12 (10.0.0.12:623)"; never includes credentials. */
  name: string;
  username: string;
  password: string;
  /** The BMC key K_g (two-key login); absent = K_uid, as both ipmitool and FreeIPMI do. */
  kg?: Buffer;
  cipherSuite: number;
  /** Requested privilege level (IPMI 2.0 §6.8); default administrator. */
  privilege: number;
  /** Cipher suite 0 sends the password-less session the spec allows; refused unless this is set. */
  allowInsecure: boolean;
  /** How long one attempt waits before the packet is sent again. */
  attemptTimeoutMs: number;
  log: (line: string) => void;
}

/** Privilege levels as ipmitool's and petgate bmc's -L name them (IPMI 2.0 §6.8). */
const PRIVILEGE_NAMES = ["none", "CALLBACK", "USER", "OPERATOR", "ADMINISTRATOR", "OEM"];

function aboveUserLimit(privilege: number): string {
  const level = PRIVILEGE_NAMES[privilege] ?? `level ${privilege}`;
  return `the requested role ${level} is above this user's privilege limit: ask for a lower one`;
}

/**
 * What a refused RAKP 1 means for a person (IPMI 2.0 §13.21, Table 13-15): 09h is an invalid role
 * (no privilege level of §13.20), 0Ah a role above the user's limit, 0Dh a name the BMC does not know.
 */
export function rakp2Hint(status: number, privilege: number): string {
  if (status === 0x09) {
    const level = PRIVILEGE_NAMES[privilege] ?? `level ${privilege}`;
    return `; the BMC calls the requested role ${level} invalid: ask for another role`;
  }
  if (status === 0x0a) return `; ${aboveUserLimit(privilege)}`;
  if (status === 0x0d) return "; check the user name";
  return "";
}

/** Sends one datagram to the BMC. */
export type Send = (packet: Buffer) => void;

type Waiter = {
  match: (p: Inbound) => boolean;
  resolve: (p: Inbound) => void;
  fail: (err: Error) => void;
};

type Inbound = { kind: "ipmi15"; message: Buffer } | { kind: "ipmi20"; packet: Ipmi20Packet };

/**
 * One RMCP+ session (IPMI 2.0 §13): the set-up handshake, then IPMI requests over it with
 * retransmission, rqSeq matching and an inbound sequence window. The socket belongs to the caller,
 * which feeds every datagram from the BMC to `receive`.
 */
export class RmcpPlusSession {
  private security: SessionSecurity | undefined;
  private bmcSessionId = 0;
  private consoleSessionId = 0;
  private outboundSequence = 0;
  private rqSeq = 0;
  private readonly window = new SequenceWindow();
  private readonly waiters = new Set<Waiter>();
  /** Privilege the session runs at once set up. */
  privilege = 0;

  constructor(
    private readonly options: SessionOptions,
    private readonly send: Send,
  ) {}

  /** Runs Get Channel Authentication Capabilities, Open Session, RAKP 1-4 and Set Session Privilege. */
  async establish(deadline: number): Promise<void> {
    const { options } = this;
    const suite = cipherSuite(options.cipherSuite);
    const implemented = (IMPLEMENTED_SUITES as readonly number[]).includes(options.cipherSuite);
    if (!suite || !implemented) {
      throw new IpmiRefusedError(
        options.name,
        `cipher suite ${options.cipherSuite} is not implemented (use 1, 2, 3, 15, 16 or 17)`,
      );
    }
    if (suite.authentication === 0) {
      if (!options.allowInsecure) {
        throw new IpmiRefusedError(
          options.name,
          "cipher suite 0 authenticates nobody (CVE-2013-4782); refused unless allowInsecure is set",
        );
      }
      options.log(`${options.name}: INSECURE: cipher suite 0, no authentication, integrity or encryption`);
    }
    await this.handshake(suite, deadline);
  }

  /** Feeds one datagram from the BMC; anything that is not for a waiter is dropped. */
  receive(datagram: Buffer): void {
    let inbound: Inbound;
    try {
      const rmcp = decodeRmcp(datagram);
      if (rmcp.class !== RmcpClass.IPMI) return;
      if (rmcp.body[0] === AuthType.RmcpPlus) {
        const packet = decodeIpmi20(rmcp.body, this.security);
        if (packet.payloadType === PayloadType.Ipmi) {
          // In a session, unauthenticated or stale packets are not the BMC's answer (§6.12.13).
          if (this.security && this.security.integrity !== 0 && !packet.authenticated) return;
          if (packet.sessionId !== this.consoleSessionId || !this.window.accept(packet.sequence)) return;
        }
        inbound = { kind: "ipmi20", packet };
      } else {
        inbound = { kind: "ipmi15", message: decodeIpmi15(rmcp.body).message };
      }
    } catch (err) {
      if (err instanceof IpmiDecodeError) return;
      throw err;
    }
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
  ): Promise<IpmiResponseMessage> {
    const rqSeq = this.nextRqSeq();
    let response: IpmiResponseMessage | undefined;
    const match = (p: Inbound) => {
      const message =
        p.kind === "ipmi20"
          ? p.packet.payloadType === PayloadType.Ipmi
            ? p.packet.payload
            : undefined
          : p.message;
      if (!message) return false;
      try {
        const m = decodeResponseMessage(message);
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
    const packet = () =>
      this.bmcSessionId === 0
        ? encodeRmcp(
            RmcpClass.IPMI,
            encodeIpmi15({ authType: AuthType.None, sequence: 0, sessionId: 0, message }),
          )
        : encodeRmcp(
            RmcpClass.IPMI,
            encodeIpmi20(
              {
                payloadType: PayloadType.Ipmi,
                sessionId: this.bmcSessionId,
                sequence: this.nextSequence(),
                payload: message,
              },
              this.security,
            ),
          );
    await this.exchange(packet, match, command.name, deadline);
    return response as unknown as IpmiResponseMessage;
  }

  /** Fails every call still waiting on this session (the client is closing or re-opening). */
  abandon(err: Error): void {
    for (const w of this.waiters) w.fail(err);
    this.waiters.clear();
  }

  /** The BMC session ID, for Close Session. */
  get id(): number {
    return this.bmcSessionId;
  }

  private async handshake(
    suite: NonNullable<ReturnType<typeof cipherSuite>>,
    deadline: number,
  ): Promise<void> {
    const { name, username, password, privilege } = this.options;
    const caps = await this.execute(
      getChannelAuthCapabilities,
      { ipmi20ExtendedData: true, channel: 0x0e, maxPrivilege: privilege },
      deadline,
    ).catch((err: unknown) => {
      throw err instanceof CompletionCodeError
        ? new IpmiAuthError(name, "channel-auth-capabilities", err.message)
        : err;
    });
    if (!caps.supportsIpmi20) {
      throw new IpmiAuthError(
        name,
        "channel-auth-capabilities",
        "the BMC does not offer IPMI 2.0 (RMCP+) on this channel",
      );
    }

    this.consoleSessionId = randomBytes(4).readUInt32LE() || 1;
    const tag = randomBytes(1)[0] as number;
    const openPacket = encodeOpenSessionRequest({
      tag,
      maxPrivilege: privilege,
      consoleSessionId: this.consoleSessionId,
      authentication: suite.authentication,
      integrity: suite.integrity,
      confidentiality: suite.confidentiality,
    });
    const opened = decodeOpenSessionResponse(
      await this.handshakeStep(
        PayloadType.OpenSessionRequest,
        openPacket,
        PayloadType.OpenSessionResponse,
        "Open Session",
        deadline,
      ),
    );
    if (opened.status !== 0 || !("bmcSessionId" in opened)) {
      throw new IpmiAuthError(
        name,
        "open-session",
        `BMC answered status ${opened.status} (${rmcpPlusStatusName(opened.status)})`,
      );
    }
    if (opened.consoleSessionId !== this.consoleSessionId || opened.bmcSessionId === 0) {
      throw new IpmiAuthError(name, "open-session", "the response names another session");
    }

    const role = 0x10 | privilege; // name-only lookup (IPMI 2.0 §13.20)
    const consoleRandom = randomBytes(16);
    const rakp1 = encodeRakp1({ tag, bmcSessionId: opened.bmcSessionId, consoleRandom, role, username });
    const rakp2 = decodeRakp2(
      await this.handshakeStep(PayloadType.Rakp1, rakp1, PayloadType.Rakp2, "RAKP Message 1", deadline),
    );
    if (rakp2.status !== 0) {
      throw new IpmiAuthError(
        name,
        "rakp2",
        `BMC answered status ${rakp2.status} (${rmcpPlusStatusName(rakp2.status)})${rakp2Hint(rakp2.status, privilege)}`,
      );
    }
    const exchange: RakpExchange = {
      authentication: suite.authentication,
      consoleSessionId: this.consoleSessionId,
      bmcSessionId: opened.bmcSessionId,
      consoleRandom,
      bmcRandom: rakp2.bmcRandom,
      bmcGuid: rakp2.bmcGuid,
      role,
      username,
    };
    const kuid = userKey(password);
    if (suite.authentication !== 0 && !rakp2.keyExchangeAuthCode.equals(rakp2AuthCode(exchange, kuid))) {
      throw new IpmiAuthError(
        name,
        "rakp2",
        "the BMC's key exchange auth code does not match: wrong password",
      );
    }

    const rakp3 = encodeRakp3({
      tag,
      status: 0,
      bmcSessionId: opened.bmcSessionId,
      keyExchangeAuthCode: suite.authentication === 0 ? Buffer.alloc(0) : rakp3AuthCode(exchange, kuid),
    });
    const rakp4 = decodeRakp4(
      await this.handshakeStep(PayloadType.Rakp3, rakp3, PayloadType.Rakp4, "RAKP Message 3", deadline),
    );
    if (rakp4.status !== 0) {
      throw new IpmiAuthError(
        name,
        "rakp4",
        `BMC answered status ${rakp4.status} (${rmcpPlusStatusName(rakp4.status)})`,
      );
    }
    if (suite.authentication !== 0) {
      const sik = sessionIntegrityKey(exchange, this.options.kg ?? kuid);
      if (!rakp4.integrityCheckValue.equals(rakp4Icv(exchange, sik))) {
        throw new IpmiAuthError(
          name,
          "rakp4",
          "the BMC's integrity check value does not match: wrong K_g (BMC key)?",
        );
      }
      const { k1, k2 } = additionalKeys(suite.authentication, sik);
      this.security = { integrity: suite.integrity, k1, confidentiality: suite.confidentiality, k2 };
    }
    this.bmcSessionId = opened.bmcSessionId;

    // The first command in a session (IPMI 2.0 §13.14): it starts at user level.
    try {
      this.privilege = (await this.execute(setSessionPrivilegeLevel, { privilege }, deadline)).privilege;
    } catch (err) {
      if (!(err instanceof CompletionCodeError)) throw err;
      // 80h, 81h: the level is not available to this user, or above its limit (IPMI 2.0 §22.18).
      const hint = err.code === 0x80 || err.code === 0x81 ? `; ${aboveUserLimit(privilege)}` : "";
      throw new IpmiAuthError(name, "set-session-privilege", `${err.message}${hint}`);
    }
  }

  private async handshakeStep(
    type: number,
    payload: Buffer,
    replyType: number,
    phase: string,
    deadline: number,
  ): Promise<Buffer> {
    const packet = () =>
      encodeRmcp(RmcpClass.IPMI, encodeIpmi20({ payloadType: type, sessionId: 0, sequence: 0, payload }));
    const reply = await this.exchange(
      packet,
      (p) => p.kind === "ipmi20" && p.packet.payloadType === replyType,
      phase,
      deadline,
    );
    return (reply as Extract<Inbound, { kind: "ipmi20" }>).packet.payload;
  }

  /** Sends, and sends again every attempt timeout, until a matching datagram arrives or the deadline passes. */
  private exchange(
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

  private nextSequence(): number {
    // Session sequence numbers start at 1 and skip 0 on wrap (IPMI 2.0 §6.12.13).
    this.outboundSequence = (this.outboundSequence + 1) >>> 0 || 1;
    return this.outboundSequence;
  }

  private nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    return this.rqSeq;
  }
}
