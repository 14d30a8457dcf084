import { randomBytes } from "node:crypto";
import { cipherSuite } from "../ipmi/cipher-suites.js";
import { SequenceWindow } from "../ipmi/client/sequence-window.js";
import {
  activateSession,
  closeSession,
  encodeCipherSuiteRecords,
  getChannelAuthCapabilities,
  getChannelCipherSuites,
  getSessionChallenge,
  setSessionPrivilegeLevel,
} from "../ipmi/commands/app.js";
import { getSessionInfo } from "../ipmi/commands/channel.js";
import { NetFn } from "../ipmi/commands/command.js";
import { IpmiDecodeError } from "../ipmi/errors.js";
import {
  BMC_ADDRESS,
  decodeRequestMessage,
  encodeResponseMessage,
  type IpmiRequestMessage,
} from "../ipmi/message.js";
import {
  additionalKeys,
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  type RakpExchange,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionIntegrityKey,
  userKey,
} from "../ipmi/rakp.js";
import { decodeAsf, decodeRmcp, encodePresencePong, encodeRmcp, RmcpClass } from "../ipmi/rmcp.js";
import { AuthType, decodeIpmi15, encodeSessionless, type Ipmi15Packet } from "../ipmi/session15.js";
import {
  decodeIpmi20,
  encodeIpmi20,
  PayloadType,
  peekIpmi20,
  type SessionSecurity,
} from "../ipmi/session20.js";
import { type Auth15, authentic, SessionChallenges, seal } from "./challenges.js";
import { CompletionCode, commandKey, type Handler, type HandlerResult, serve } from "./handler.js";

/** A user the BMC knows (IPMI 2.0 §22.26-22.30): name, password, the highest privilege it may take. */
export interface SimUser {
  id: number;
  name: string;
  password: string;
  maxPrivilege: number;
  enabled: boolean;
}

/** What the session layer needs from the BMC's state. */
export interface SessionAuthority {
  guid: Buffer;
  kg?: Buffer;
  users: readonly SimUser[];
  /** Cipher suites offered (IPMI 2.0 §22.15); default 1, 2, 3, 15, 16, 17. */
  cipherSuites: readonly number[];
  /** IPMI 1.5 sessions may use auth type none (no authentication); MD5 and straight password always. */
  authTypeNone?: boolean;
}

/**
 * Misbehaviour on demand: `hang` answers nothing; `wedged` is the seed scenario (sessions open, but
 * SEL, SDR and sensor commands never answer) until a cold reset; `slow` delays every answer; `drop`
 * loses a share of datagrams; `garbage` answers with malformed bytes; `rebooting` is silent until
 * the time given.
 */
export interface Faults {
  hang: boolean;
  wedged: boolean;
  slowMs: number;
  dropPercent: number;
  garbage: boolean;
  rebootingUntil: number;
}

export const NO_FAULTS: Faults = {
  hang: false,
  wedged: false,
  slowMs: 0,
  dropPercent: 0,
  garbage: false,
  rebootingUntil: 0,
};

export interface ServerCounters {
  datagrams: number;
  requests: number;
  sessionsOpened: number;
  sessionsActive: number;
  ignored: number;
}

/** Sends a datagram back to whoever sent the request. */
export type Reply = (packet: Buffer) => void;

interface Session {
  bmcSessionId: number;
  consoleSessionId: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
  /** Privilege requested in Open Session / RAKP 1: the most this session may take. */
  maxPrivilege: number;
  privilege: number;
  user?: SimUser;
  exchange?: RakpExchange;
  security?: SessionSecurity;
  /** An IPMI 1.5 session: its auth type and the user's 16-byte password that keys its auth codes. */
  ipmi15?: Auth15;
  active: boolean;
  window: SequenceWindow;
  outboundSequence: number;
  lastActivity: number;
}

/** Idle sessions end after this long (IPMI 2.0 §6.12.15 suggests 60 s ± 3). */
const SESSION_TIMEOUT_MS = 60_000;
/** A session still in set-up (Open Session answered, RAKP not finished) lasts this long. */
const SETUP_TIMEOUT_MS = 5_000;
const MAX_SESSIONS = 64;
/** IPMI 1.5 inbound sequence numbers: OpenIPMI's BMC accepts 8 either side of the highest (IPMI 1.5 §6.12). */
const IPMI15_WINDOW = 8;
/** Commands a wedged BMC never answers: SEL and SDR (netFn Storage) and sensor reads (S/E 2Dh, 27h). */
function wedgedCommand(netFn: number, cmd: number): boolean {
  return netFn === NetFn.Storage || (netFn === NetFn.SensorEvent && (cmd === 0x2d || cmd === 0x27));
}

/**
 * The BMC side of RMCP/RMCP+ (IPMI 2.0 §13): answers presence pings, session-less Get Channel
 * Authentication Capabilities / Cipher Suites / PET Acknowledge, runs Open Session and RAKP as the
 * managed system, then serves IPMI requests on active sessions through the command handlers.
 */
export class SessionServer {
  readonly faults: Faults = { ...NO_FAULTS };
  private readonly sessions = new Map<number, Session>();
  private readonly challenges = new SessionChallenges({ max: MAX_SESSIONS, ttlMs: SETUP_TIMEOUT_MS });
  private readonly handlers: Map<string, Handler>;
  private readonly sessionless: ReadonlySet<string>;
  readonly counters: ServerCounters = {
    datagrams: 0,
    requests: 0,
    sessionsOpened: 0,
    sessionsActive: 0,
    ignored: 0,
  };
  /** Requests served by command (commandKey "netFn:cmd"): how tests count what a client asked. */
  readonly commandCounts = new Map<string, number>();

  constructor(
    private readonly authority: SessionAuthority,
    handlers: Map<string, Handler>,
    options: { manufacturerId: number; sessionless: ReadonlySet<string> },
  ) {
    this.handlers = new Map([...handlers, ...this.sessionHandlers()]);
    this.sessionless = new Set([
      ...options.sessionless,
      commandKey(getSessionChallenge.netFn, getSessionChallenge.cmd),
    ]);
  }

  /** Handles one datagram; never throws on bad input (it is counted and ignored). */
  handle(datagram: Buffer, reply: Reply): void {
    this.counters.datagrams++;
    const f = this.faults;
    if (f.hang || Date.now() < f.rebootingUntil) return;
    if (f.dropPercent > 0 && Math.random() * 100 < f.dropPercent) return;
    const send: Reply = f.garbage
      ? (p) => reply(randomBytes(Math.max(4, p.length)))
      : f.slowMs > 0
        ? (p) => setTimeout(() => reply(p), f.slowMs).unref()
        : reply;
    void this.dispatch(datagram, send).catch((err: unknown) => {
      if (err instanceof IpmiDecodeError) this.counters.ignored++;
      else throw err;
    });
  }

  /** Counts a datagram that is not for this BMC or not allowed now. */
  private ignore(): void {
    this.counters.ignored++;
  }

  /** Drops every session: a BMC reset forgets them. */
  reset(): void {
    this.sessions.clear();
    this.challenges.clear();
    this.counters.sessionsActive = 0;
    this.faults.wedged = false;
  }

  /** Ends sessions idle for longer than the session timeout, and set-ups that stalled. */
  expireIdle(now = Date.now()): void {
    for (const [id, s] of this.sessions) {
      if (now - s.lastActivity > (s.active ? SESSION_TIMEOUT_MS : SETUP_TIMEOUT_MS)) this.closeSession(id);
    }
    this.challenges.expire(now);
  }

  private async dispatch(datagram: Buffer, reply: Reply): Promise<void> {
    const rmcp = decodeRmcp(datagram);
    if (rmcp.class === RmcpClass.ASF) {
      const asf = decodeAsf(rmcp.body);
      if (asf.type === "ping") {
        const pong = {
          tag: asf.tag,
          oemIana: 0,
          oemDefined: 0,
          ipmiSupported: true,
          rmcpSecurityExtensions: true,
        };
        reply(encodePresencePong(pong));
      }
      return;
    }
    if (rmcp.body[0] !== AuthType.RmcpPlus) {
      await this.ipmi15(decodeIpmi15(rmcp.body), reply);
      return;
    }
    const header = peekIpmi20(rmcp.body);
    // Session set-up answers with the next message of the exchange (IPMI 2.0 §13.17-13.23).
    const answer = (payloadType: number, payload: Buffer | undefined) => {
      if (payload)
        reply(encodeRmcp(RmcpClass.IPMI, encodeIpmi20({ payloadType, sessionId: 0, sequence: 0, payload })));
    };
    switch (header.payloadType) {
      case PayloadType.OpenSessionRequest:
        answer(PayloadType.OpenSessionResponse, this.openSession(decodeIpmi20(rmcp.body).payload));
        break;
      case PayloadType.Rakp1:
        answer(PayloadType.Rakp2, this.rakp1(decodeIpmi20(rmcp.body).payload));
        break;
      case PayloadType.Rakp3:
        answer(PayloadType.Rakp4, this.rakp3(decodeIpmi20(rmcp.body).payload));
        break;
      case PayloadType.Ipmi:
        await this.inSession(rmcp.body, header.sessionId, reply);
        break;
      default:
        this.counters.ignored++;
    }
  }

  /** IPMI 1.5 packets: outside a session, Activate Session on a challenge, or in a 1.5 session. */
  private async ipmi15(packet: Ipmi15Packet, reply: Reply): Promise<void> {
    if (packet.sessionId === 0) return this.sessionlessRequest(packet, reply);
    if (this.challenges.has(packet.sessionId)) return this.activate(packet, reply);
    const session = this.sessions.get(packet.sessionId);
    const auth = session?.ipmi15;
    // Every message is authenticated (per-message authentication is on: Get Channel Auth Caps).
    if (!session?.active || !auth || !authentic(packet, auth)) return this.ignore();
    if (!session.window.accept(packet.sequence)) return this.ignore();
    await this.serveInSession(session, decodeRequestMessage(packet.message), (message) => {
      session.outboundSequence = (session.outboundSequence + 1) >>> 0 || 1;
      reply(seal(auth, session.bmcSessionId, session.outboundSequence, message));
    });
  }

  /** Outside a session (auth type none, session 0): only the commands allowed before one. */
  private async sessionlessRequest(packet: Ipmi15Packet, reply: Reply): Promise<void> {
    if (packet.authType !== AuthType.None) return this.ignore();
    const request = decodeRequestMessage(packet.message);
    if (!this.sessionless.has(commandKey(request.netFn, request.cmd))) return this.ignore();
    const result = await this.run(request, { privilege: 1, userId: 0, sessionId: 0 });
    reply(encodeSessionless(this.response(request, result)));
  }

  /** Activate Session (IPMI 2.0 §22.17) on a temporary session ID from Get Session Challenge. */
  private async activate(packet: Ipmi15Packet, reply: Reply): Promise<void> {
    const redeemed = this.challenges.redeem(packet);
    if (!redeemed) return this.ignore();
    const { user, auth, request, activate: q } = redeemed;
    this.count(request);
    // The answer names the temporary session and starts the console's chosen sequence (OpenIPMI does so).
    const answer = (completionCode: number, data: Buffer = Buffer.alloc(0)) =>
      reply(
        seal(
          auth,
          packet.sessionId,
          q.initialOutboundSequence,
          this.response(request, { completionCode, data }),
        ),
      );
    if (q.initialOutboundSequence === 0) return answer(0x84);
    if (q.maxPrivilege > user.maxPrivilege) return answer(0x86);
    this.expireIdle();
    if (this.sessions.size >= MAX_SESSIONS) return answer(0x81);
    const sessionId = randomBytes(4).readUInt32LE() || 1;
    // Where the console's sequence numbers start: its first message is one past what the window has seen.
    const initialInboundSequence = (randomBytes(4).readUInt32LE() >>> 1) + 2;
    const window = new SequenceWindow(IPMI15_WINDOW);
    window.accept(initialInboundSequence - 1);
    this.sessions.set(sessionId, {
      bmcSessionId: sessionId,
      consoleSessionId: sessionId,
      authentication: 0,
      integrity: 0,
      confidentiality: 0,
      maxPrivilege: q.maxPrivilege,
      privilege: 2,
      user,
      ipmi15: auth,
      active: true,
      window,
      outboundSequence: q.initialOutboundSequence,
      lastActivity: Date.now(),
    });
    this.counters.sessionsOpened++;
    this.counters.sessionsActive++;
    const activated = {
      authType: auth.authType,
      sessionId,
      initialInboundSequence,
      maxPrivilege: q.maxPrivilege,
    };
    answer(0, activateSession.encodeResponse(activated));
  }

  private openSession(payload: Buffer): Buffer {
    const req = decodeOpenSessionRequest(payload);
    const fail = (status: number) =>
      encodeOpenSessionResponse({ tag: req.tag, status, consoleSessionId: req.consoleSessionId });
    const suite = this.authority.cipherSuites
      .map((id) => cipherSuite(id))
      .find(
        (s) =>
          s &&
          s.authentication === req.authentication &&
          s.integrity === req.integrity &&
          s.confidentiality === req.confidentiality,
      );
    if (!suite) {
      const offered = this.authority.cipherSuites.map((id) => cipherSuite(id));
      if (!offered.some((s) => s?.authentication === req.authentication)) return fail(0x04);
      if (!offered.some((s) => s?.integrity === req.integrity)) return fail(0x05);
      if (!offered.some((s) => s?.confidentiality === req.confidentiality)) return fail(0x10);
      return fail(0x11);
    }
    if (req.maxPrivilege > 5) return fail(0x09);
    // Sessions still in set-up may not lock consoles out: the oldest gives way to a new request.
    this.expireIdle();
    if (this.sessions.size >= MAX_SESSIONS) {
      const pending = [...this.sessions.values()]
        .filter((x) => !x.active)
        .sort((a, b) => a.lastActivity - b.lastActivity)[0];
      if (!pending) return fail(0x01);
      this.sessions.delete(pending.bmcSessionId);
    }
    const bmcSessionId = randomBytes(4).readUInt32LE() || 1;
    const maxPrivilege = req.maxPrivilege === 0 ? 4 : req.maxPrivilege;
    this.sessions.set(bmcSessionId, {
      bmcSessionId,
      consoleSessionId: req.consoleSessionId,
      ...suite,
      maxPrivilege,
      privilege: 2,
      active: false,
      window: new SequenceWindow(),
      outboundSequence: 0,
      lastActivity: Date.now(),
    });
    // Byte 2 is the privilege the BMC grants: the one asked for (FreeIPMI insists it is not lower).
    return encodeOpenSessionResponse({ ...req, status: 0, maxPrivilege, bmcSessionId });
  }

  private rakp1(payload: Buffer): Buffer {
    const m = decodeRakp1(payload);
    const session = this.sessions.get(m.bmcSessionId);
    const empty = Buffer.alloc(0);
    const fail = (status: number) =>
      encodeRakp2({
        tag: m.tag,
        status,
        consoleSessionId: session?.consoleSessionId ?? 0,
        bmcRandom: empty,
        bmcGuid: empty,
        keyExchangeAuthCode: empty,
      });
    if (!session || session.active) return fail(0x02);
    const requested = m.role & 0x0f;
    // 09h: a role no privilege level names (IPMI 2.0 §13.20: 1 callback … 5 OEM).
    if (requested === 0 || requested > 5) return fail(0x09);
    const user = this.authority.users.find((u) => u.enabled && u.name === m.username);
    if (!user) return fail(0x0d);
    // Username/privilege lookup (role bit 4 clear) wants a user of that name and that very privilege.
    // Name-only lookup takes any role: the session starts at user level and Set Session Privilege
    // Level refuses a level above the user's limit with 81h, as OpenBMC's netipmid does.
    if ((m.role & 0x10) === 0 && requested !== user.maxPrivilege) return fail(0x0d);
    session.maxPrivilege = Math.min(session.maxPrivilege, requested);
    session.user = user;
    session.exchange = {
      authentication: session.authentication,
      consoleSessionId: session.consoleSessionId,
      bmcSessionId: session.bmcSessionId,
      consoleRandom: m.consoleRandom,
      bmcRandom: randomBytes(16),
      bmcGuid: this.authority.guid,
      role: m.role,
      username: m.username,
    };
    return encodeRakp2({
      tag: m.tag,
      status: 0,
      consoleSessionId: session.consoleSessionId,
      bmcRandom: session.exchange.bmcRandom,
      bmcGuid: session.exchange.bmcGuid,
      keyExchangeAuthCode: rakp2AuthCode(session.exchange, userKey(user.password)),
    });
  }

  private rakp3(payload: Buffer): Buffer | undefined {
    const m = decodeRakp3(payload);
    const session = this.sessions.get(m.bmcSessionId);
    const refuse = (status: number) =>
      encodeRakp4({
        tag: m.tag,
        status,
        consoleSessionId: session?.consoleSessionId ?? 0,
        integrityCheckValue: Buffer.alloc(0),
      });
    // Only a session still being set up takes RAKP 3: a message naming an active one (a guessed or
    // replayed session ID) must not end it.
    if (session?.active) return refuse(0x02);
    const fail = (status: number) => {
      this.sessions.delete(m.bmcSessionId);
      return refuse(status);
    };
    if (!session?.exchange || !session.user) return fail(0x02);
    if (m.status !== 0) {
      // The console gave up (IPMI 2.0 §13.22): no RAKP 4.
      this.sessions.delete(m.bmcSessionId);
      return undefined;
    }
    const kuid = userKey(session.user.password);
    if (!m.keyExchangeAuthCode.equals(rakp3AuthCode(session.exchange, kuid))) return fail(0x0f);
    const sik = sessionIntegrityKey(session.exchange, this.authority.kg ?? kuid);
    const { k1, k2 } = additionalKeys(session.authentication, sik);
    session.security = { integrity: session.integrity, k1, confidentiality: session.confidentiality, k2 };
    session.active = true;
    this.counters.sessionsOpened++;
    this.counters.sessionsActive++;
    return encodeRakp4({
      tag: m.tag,
      status: 0,
      consoleSessionId: session.consoleSessionId,
      integrityCheckValue: rakp4Icv(session.exchange, sik),
    });
  }

  private async inSession(body: Buffer, sessionId: number, reply: Reply): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session?.active) return this.ignore();
    const packet = decodeIpmi20(body, session.security);
    // IPMI 2.0 §13.28: a session with integrity or confidentiality accepts nothing less.
    if (
      (session.integrity !== 0 && !packet.authenticated) ||
      (session.confidentiality !== 0 && !packet.encrypted)
    ) {
      return this.ignore();
    }
    if (!session.window.accept(packet.sequence)) return this.ignore();
    await this.serveInSession(session, decodeRequestMessage(packet.payload), (message) => {
      session.outboundSequence = (session.outboundSequence + 1) >>> 0 || 1;
      const response = {
        payloadType: PayloadType.Ipmi,
        sessionId: session.consoleSessionId,
        sequence: session.outboundSequence,
        payload: message,
      };
      reply(encodeRmcp(RmcpClass.IPMI, encodeIpmi20(response, session.security)));
    });
  }

  /** Runs a request that arrived authenticated on an active session, IPMI 1.5 or 2.0, and answers it. */
  private async serveInSession(
    session: Session,
    request: IpmiRequestMessage,
    answer: (message: Buffer) => void,
  ): Promise<void> {
    session.lastActivity = Date.now();
    if (this.faults.wedged && wedgedCommand(request.netFn, request.cmd)) return;
    const sessionId = session.bmcSessionId;
    const context = { privilege: session.privilege, userId: session.user?.id ?? 0, sessionId };
    const result = await this.run(request, context);
    answer(this.response(request, result));
    if (request.netFn === NetFn.App && request.cmd === closeSession.cmd && result.completionCode === 0) {
      this.closeSession(sessionId);
    }
  }

  /** Counts a request served (commandCounts is how tests see what a client asked). */
  private count(request: IpmiRequestMessage): void {
    this.counters.requests++;
    const key = commandKey(request.netFn, request.cmd);
    this.commandCounts.set(key, (this.commandCounts.get(key) ?? 0) + 1);
  }

  private async run(request: IpmiRequestMessage, context: Parameters<Handler>[1]): Promise<HandlerResult> {
    this.count(request);
    const handler = this.handlers.get(commandKey(request.netFn, request.cmd));
    if (!handler) return { completionCode: 0xc1, data: Buffer.alloc(0) };
    return handler(request.data, context);
  }

  private response(request: IpmiRequestMessage, result: HandlerResult): Buffer {
    return encodeResponseMessage({
      rqAddr: request.rqAddr,
      netFn: request.netFn + 1,
      rqLun: request.rqLun,
      rsAddr: BMC_ADDRESS,
      rqSeq: request.rqSeq,
      rsLun: request.rsLun,
      cmd: request.cmd,
      completionCode: result.completionCode,
      data: result.data,
    });
  }

  private closeSession(id: number): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    if (s.active) this.counters.sessionsActive--;
  }

  /** Commands about sessions themselves (IPMI 2.0 §22.13-22.19). */
  private sessionHandlers(): [string, Handler][] {
    const suites = encodeCipherSuiteRecords(
      this.authority.cipherSuites.map((id) => {
        const s = cipherSuite(id);
        return {
          id,
          authentication: s?.authentication ?? 0,
          integrity: [s?.integrity ?? 0],
          confidentiality: [s?.confidentiality ?? 0],
        };
      }),
    );
    return [
      // IPMI 1.5 consoles ask without bit 7 and get the 1.5 format: byte 4 reserved (IPMI 2.0 §22.13).
      serve(getChannelAuthCapabilities, 1, (req) => ({
        channel: 1,
        authTypes: {
          none: this.authority.authTypeNone === true,
          md2: false,
          md5: true,
          password: true,
          oem: false,
        },
        ipmi20ExtendedData: req.ipmi20ExtendedData,
        kgSet: this.authority.kg !== undefined,
        perMessageAuthDisabled: false,
        userLevelAuthDisabled: false,
        nonNullUsers: true,
        nullUsers: false,
        anonymousLogin: false,
        // A BMC with no cipher suite is an IPMI 1.5 BMC: it says so, and consoles fall back to 1.5.
        supportsIpmi20: req.ipmi20ExtendedData && this.authority.cipherSuites.length > 0,
        supportsIpmi15: req.ipmi20ExtendedData,
        oemId: 0,
        oemAux: 0,
      })),
      serve(getChannelCipherSuites, 1, (req) => ({
        channel: 1,
        records: suites.subarray((req.listIndex & 0x3f) * 16, (req.listIndex & 0x3f) * 16 + 16),
      })),
      serve(getSessionChallenge, 1, (req) => {
        const user = this.authority.users.find((u) => u.enabled && u.name === req.username);
        // 81h invalid user name, 82h null user (User 1) not enabled (IPMI 2.0 §22.16).
        if (!user) throw new CompletionCode(req.username === "" ? 0x82 : 0x81);
        const offered = [
          AuthType.MD5,
          AuthType.Password,
          ...(this.authority.authTypeNone ? [AuthType.None] : []),
        ];
        return this.challenges.issue(user, req.authType, offered);
      }),
      serve(setSessionPrivilegeLevel, 1, (req, context) => {
        const s = this.sessions.get(context.sessionId);
        if (!s) throw new CompletionCode(0xd5);
        if (req.privilege === 0) return { privilege: s.privilege };
        // 81h: the level exceeds what the user or the session's role allows (IPMI 2.0 §22.18).
        if (req.privilege > s.maxPrivilege || req.privilege > (s.user?.maxPrivilege ?? 0))
          throw new CompletionCode(0x81);
        s.privilege = req.privilege;
        return { privilege: s.privilege };
      }),
      serve(getSessionInfo, 1, (req, context) => {
        const active = [...this.sessions.values()].filter((s) => s.active);
        const s = req.index === 0 ? this.sessions.get(context.sessionId) : active[req.index - 1];
        const base = {
          handle: s ? active.indexOf(s) + 1 : 0,
          possibleSessions: MAX_SESSIONS,
          activeSessions: active.length,
        };
        if (!s?.active) return base;
        return {
          ...base,
          session: { userId: s.user?.id ?? 0, privilege: s.privilege, ipmi20: !s.ipmi15, channel: 1 },
        };
      }),
      serve(closeSession, 1, (req) => {
        // 87h: no such session (IPMI 2.0 §22.19).
        if (!this.sessions.has(req.sessionId)) throw new CompletionCode(0x87);
      }),
    ];
  }
}
