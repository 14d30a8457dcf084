import { randomBytes } from "node:crypto";
import { cipherSuite, IMPLEMENTED_SUITES } from "../cipher-suites.js";
import type { ChannelAuthCapabilities } from "../commands/app.js";
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
import { encodeRmcp, RmcpClass, type RmcpPacket } from "../rmcp.js";
import { AuthType, decodeIpmi15, encodeSessionless } from "../session15.js";
import {
  decodeIpmi20,
  encodeIpmi20,
  type Ipmi20Packet,
  PayloadType,
  type SessionSecurity,
} from "../session20.js";
import { IpmiAuthError, IpmiRefusedError } from "./errors.js";
import { aboveUserLimit, type Inbound, LanSession, nextSequence, privilegeName } from "./lan-session.js";
import { SequenceWindow } from "./sequence-window.js";

/**
 * What a refused RAKP 1 means for a person (IPMI 2.0 §13.21, Table 13-15): 09h is an invalid role
 * (no privilege level of §13.20), 0Ah a role above the user's limit, 0Dh a name the BMC does not know.
 */
export function rakp2Hint(status: number, privilege: number): string {
  if (status === 0x09)
    return `; the BMC calls the requested role ${privilegeName(privilege)} invalid: ask for another role`;
  if (status === 0x0a) return `; ${aboveUserLimit(privilege)}`;
  if (status === 0x0d) return "; check the user name";
  return "";
}

/**
 * One RMCP+ session (IPMI 2.0 §13): the set-up handshake, then IPMI requests over it with an inbound
 * sequence window.
 */
export class RmcpPlusSession extends LanSession {
  readonly protocol = "2.0";
  private security: SessionSecurity | undefined;
  private bmcSessionId = 0;
  private consoleSessionId = 0;
  private outboundSequence = 0;
  private readonly window = new SequenceWindow();

  /** Runs Get Channel Authentication Capabilities, Open Session, RAKP 1-4 and Set Session Privilege. */
  async establish(deadline: number, capabilities?: ChannelAuthCapabilities): Promise<void> {
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
    await this.handshake(suite, capabilities ?? (await this.capabilities(deadline, true)), deadline);
  }

  /** The BMC session ID, for Close Session. */
  get id(): number {
    return this.bmcSessionId;
  }

  protected unwrap(rmcp: RmcpPacket): Inbound | undefined {
    if (rmcp.body[0] !== AuthType.RmcpPlus) return { message: decodeIpmi15(rmcp.body).message };
    const packet = decodeIpmi20(rmcp.body, this.security);
    if (packet.payloadType !== PayloadType.Ipmi) return packet;
    // In a session, unauthenticated or stale packets are not the BMC's answer (§6.12.13).
    if (this.security && this.security.integrity !== 0 && !packet.authenticated) return undefined;
    if (packet.sessionId !== this.consoleSessionId || !this.window.accept(packet.sequence)) return undefined;
    return { message: packet.payload };
  }

  protected wrap(message: Buffer): Buffer {
    if (this.bmcSessionId === 0) return encodeSessionless(message);
    this.outboundSequence = nextSequence(this.outboundSequence);
    const packet = {
      payloadType: PayloadType.Ipmi,
      sessionId: this.bmcSessionId,
      sequence: this.outboundSequence,
      payload: message,
    };
    return encodeRmcp(RmcpClass.IPMI, encodeIpmi20(packet, this.security));
  }

  private async handshake(
    suite: NonNullable<ReturnType<typeof cipherSuite>>,
    caps: ChannelAuthCapabilities,
    deadline: number,
  ): Promise<void> {
    const { name, username, password, privilege } = this.options;
    if (!caps.ipmi20ExtendedData || !caps.supportsIpmi20) {
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

    await this.raisePrivilege(deadline);
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
      (p) => "payloadType" in p && p.payloadType === replyType,
      phase,
      deadline,
    );
    return (reply as Ipmi20Packet).payload;
  }
}
