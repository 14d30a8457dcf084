import { randomBytes } from "node:crypto";
import { authentic15, password16, sealIpmi15 } from "../auth15.js";
import {
  type AuthTypeSupport,
  activateSession,
  type ChannelAuthCapabilities,
  getSessionChallenge,
} from "../commands/app.js";
import { completionCodeName } from "../completion-codes.js";
import { CompletionCodeError } from "../errors.js";
import { encodeRmcp, RmcpClass, type RmcpPacket } from "../rmcp.js";
import { AuthType, decodeIpmi15, encodeSessionless } from "../session15.js";
import { IpmiAuthError, IpmiRefusedError } from "./errors.js";
import {
  aboveUserLimit,
  type Inbound,
  LanSession,
  nextSequence,
  type SessionOptions,
} from "./lan-session.js";
import { SequenceWindow } from "./sequence-window.js";

const AUTH_TYPES = {
  md5: { code: AuthType.MD5, offered: (a: AuthTypeSupport) => a.md5, text: "MD5" },
  password: {
    code: AuthType.Password,
    offered: (a: AuthTypeSupport) => a.password,
    text: "straight password",
  },
  none: { code: AuthType.None, offered: (a: AuthTypeSupport) => a.none, text: "none" },
} as const;
type AuthTypeName = keyof typeof AUTH_TYPES;

/** Where the session is: which header wraps the next message. */
type Stage =
  | { step: "sessionless" }
  | { step: "activating"; temporarySessionId: number }
  | { step: "active"; sessionId: number };

/**
 * One IPMI 1.5 session over RMCP (IPMI 2.0 §22.13-22.18, IPMI 1.5 §6.12): Get Channel Authentication
 * Capabilities, Get Session Challenge and Activate Session, then every message with the session's
 * auth code (MD5 or the straight password) and sequence numbers. MD2 and OEM auth are not spoken.
 */
export class Ipmi15Session extends LanSession {
  readonly protocol = "1.5";
  private authType: number = AuthType.None;
  private readonly password: Buffer;
  private stage: Stage = { step: "sessionless" };
  private outboundSequence = 0;
  private readonly window = new SequenceWindow(8);

  constructor(options: SessionOptions, send: (packet: Buffer) => void) {
    super(options, send);
    try {
      this.password = password16(options.password);
    } catch (err) {
      // RMCP+ passwords may have 20 bytes; IPMI 1.5 has room for 16 (IPMI 2.0 §22.29).
      throw new IpmiRefusedError(options.name, `${(err as Error).message}; this user's is longer`);
    }
  }

  get id(): number {
    return this.stage.step === "active" ? this.stage.sessionId : 0;
  }

  async establish(deadline: number, capabilities?: ChannelAuthCapabilities): Promise<void> {
    const { name, username, privilege } = this.options;
    const caps = capabilities ?? (await this.capabilities(deadline, false));
    const chosen = this.chooseAuthType(caps.authTypes);
    this.authType = AUTH_TYPES[chosen].code;

    const challenge = await this.execute(
      getSessionChallenge,
      { authType: this.authType, username },
      deadline,
    ).catch((err: unknown) => {
      if (!(err instanceof CompletionCodeError)) throw err;
      const hint = err.code === 0x81 || err.code === 0x82 ? "; check the user name" : "";
      throw new IpmiAuthError(name, "session-challenge", `${err.message}${hint}`);
    });
    this.stage = { step: "activating", temporarySessionId: challenge.temporarySessionId };
    // The console picks where the BMC's sequence numbers start (IPMI 2.0 §22.17): never 0.
    const initialOutboundSequence = randomBytes(4).readUInt32LE() || 1;
    const request = {
      authType: this.authType,
      maxPrivilege: privilege,
      challenge: challenge.challenge,
      initialOutboundSequence,
    };
    // A BMC that cannot verify the auth code cannot authenticate a refusal either: it stays silent.
    const phase = "Activate Session (a BMC that stays silent here usually means a wrong password)";
    const response = await this.request(
      activateSession,
      activateSession.encodeRequest(request),
      deadline,
      phase,
    );
    if (response.completionCode !== 0) {
      const code = response.completionCode;
      const hint = code === 0x86 ? `; ${aboveUserLimit(privilege)}` : "";
      const err = new CompletionCodeError(
        activateSession.name,
        code,
        completionCodeName(code, activateSession.completionCodes),
      );
      throw new IpmiAuthError(name, "activate-session", `${err.message}${hint}`);
    }
    const activated = activateSession.decodeResponse(response.data);
    if (activated.sessionId === 0 || activated.authType !== this.authType) {
      throw new IpmiAuthError(
        name,
        "activate-session",
        "the BMC answered with another auth type or session 0",
      );
    }
    this.stage = { step: "active", sessionId: activated.sessionId };
    // Our first message carries the BMC's initial inbound sequence number, then one more each (§22.17).
    this.outboundSequence = (activated.initialInboundSequence - 1) >>> 0;
    await this.raisePrivilege(deadline);
  }

  protected unwrap(rmcp: RmcpPacket): Inbound | undefined {
    const packet = decodeIpmi15(rmcp.body);
    const { stage } = this;
    if (packet.authType === AuthType.None && packet.sessionId === 0)
      return stage.step === "sessionless" ? { message: packet.message } : undefined;
    if (packet.authType !== this.authType) return undefined;
    if (this.authType !== AuthType.None && !authentic15(packet, this.password)) return undefined;
    // The Activate Session response still names the temporary session (IPMI 2.0 §22.17).
    if (stage.step === "activating")
      return packet.sessionId === stage.temporarySessionId ? { message: packet.message } : undefined;
    if (stage.step !== "active" || packet.sessionId !== stage.sessionId) return undefined;
    return this.window.accept(packet.sequence) ? { message: packet.message } : undefined;
  }

  protected wrap(message: Buffer): Buffer {
    const { stage } = this;
    if (stage.step === "sessionless") return encodeSessionless(message);
    // Activate Session itself goes with sequence 0 (IPMI 2.0 §22.17); then the session's numbers.
    if (stage.step === "activating") return this.seal(stage.temporarySessionId, 0, message);
    this.outboundSequence = nextSequence(this.outboundSequence);
    return this.seal(stage.sessionId, this.outboundSequence, message);
  }

  private seal(sessionId: number, sequence: number, message: Buffer): Buffer {
    const packet = { authType: this.authType, sequence, sessionId, message };
    return encodeRmcp(RmcpClass.IPMI, sealIpmi15(packet, this.password));
  }

  /** The requested auth type if offered, else the strongest offered; none only when allowed. */
  private chooseAuthType(offered: AuthTypeSupport): AuthTypeName {
    const { name, authType, allowInsecure, log } = this.options;
    const candidates: AuthTypeName[] = authType ? [authType] : ["md5", "password", "none"];
    const chosen = candidates.find((c) => AUTH_TYPES[c].offered(offered));
    if (!chosen) {
      const names = (Object.keys(AUTH_TYPES) as AuthTypeName[]).filter((c) => AUTH_TYPES[c].offered(offered));
      throw new IpmiAuthError(
        name,
        "channel-auth-capabilities",
        `the BMC offers IPMI 1.5 auth types ${names.map((c) => AUTH_TYPES[c].text).join(", ") || "none of MD5, straight password, none"}${authType ? `, not ${AUTH_TYPES[authType].text}` : ""}`,
      );
    }
    if (chosen === "none") {
      if (!allowInsecure) {
        throw new IpmiRefusedError(
          name,
          "IPMI 1.5 auth type none authenticates nobody; refused unless allowInsecure is set",
        );
      }
      log(`${name}: INSECURE: IPMI 1.5 session with auth type none, no authentication at all`);
    }
    return chosen;
  }
}
