// Target 3: the decoders petgate's client runs on what a BMC sends back, in-process, fed real
// responses (captured from the simulator) mutated at three layers.
import fc from "fast-check";
import { cipherSuite } from "../../src/ipmi/cipher-suites.js";
import { IpmiAuthError, IpmiRefusedError, IpmiTimeoutError } from "../../src/ipmi/client/errors.js";
import * as app from "../../src/ipmi/commands/app.js";
import * as channel from "../../src/ipmi/commands/channel.js";
import * as chassis from "../../src/ipmi/commands/chassis.js";
import type { IpmiCommand } from "../../src/ipmi/commands/command.js";
import * as sensorEvent from "../../src/ipmi/commands/sensor-event.js";
import * as storage from "../../src/ipmi/commands/storage.js";
import * as transport from "../../src/ipmi/commands/transport.js";
import { CompletionCodeError, IpmiDecodeError } from "../../src/ipmi/errors.js";
import {
  decodeRequestMessage,
  decodeResponseMessage,
  encodeResponseMessage,
  type IpmiRequestMessage,
} from "../../src/ipmi/message.js";
import { decodePefParameter } from "../../src/ipmi/pef.js";
import { decodeOpenSessionResponse, decodeRakp2, decodeRakp4 } from "../../src/ipmi/rakp.js";
import { decodeAsf, decodeRmcp, encodePresencePong, encodeRmcp, RmcpClass } from "../../src/ipmi/rmcp.js";
import { decodeSdrHeader } from "../../src/ipmi/sdr/records.js";
import { decodeSelRecord } from "../../src/ipmi/sel.js";
import { AuthType, decodeIpmi15 } from "../../src/ipmi/session15.js";
import { decodeIpmi20, encodeIpmi20, PayloadType, type SessionSecurity } from "../../src/ipmi/session20.js";
import { type Mutant, mutants, rmcpFields, type Seed, sampled } from "./mutate.js";
import { Tally } from "./tally.js";

type AnyCommand = IpmiCommand<unknown, unknown>;

/** Every command definition of src/ipmi/commands, by "netFn:cmd" of its request. */
const COMMANDS = new Map<string, AnyCommand>();
for (const module of [app, channel, chassis, sensorEvent, storage, transport]) {
  for (const value of Object.values(module) as unknown[]) {
    const c = value as Partial<AnyCommand>;
    if (typeof c?.decodeResponse === "function" && typeof c.netFn === "number" && typeof c.cmd === "number")
      COMMANDS.set(`${c.netFn}:${c.cmd}`, c as AnyCommand);
  }
}

/** Errors a decoder may throw on bad bytes; anything else escaping is a crash. */
const TYPED = [IpmiDecodeError, CompletionCodeError, IpmiAuthError, IpmiTimeoutError, IpmiRefusedError];
export const isTypedError = (err: unknown) => TYPED.some((t) => err instanceof t);

/** One BMC answer and, for IPMI messages, the request it answered (parameter selectors live there). */
interface Exchange {
  datagram: Buffer;
  /** Session payload type; undefined for ASF and IPMI 1.5. */
  payloadType: number | undefined;
  payload: Buffer;
  request?: IpmiRequestMessage;
}

/** Pairs each captured BMC datagram with the request that it answers (same rqSeq, cmd, netFn). */
export function exchangesOf(toBmc: readonly Buffer[], fromBmc: readonly Buffer[]): Exchange[] {
  const requests = toBmc.flatMap((d) => {
    const message = messageOf(d);
    return message ? [decodeRequestMessage(message)] : [];
  });
  return fromBmc.map((datagram) => {
    const rmcp = decodeRmcp(datagram);
    const rmcpPlus = rmcp.class === RmcpClass.IPMI && rmcp.body[0] === AuthType.RmcpPlus;
    const payloadType = rmcpPlus ? decodeIpmi20(rmcp.body).payloadType : undefined;
    const payload = messageOf(datagram) ?? (rmcpPlus ? decodeIpmi20(rmcp.body).payload : rmcp.body);
    const m = payloadType === PayloadType.Ipmi || payloadType === undefined ? messageOf(datagram) : undefined;
    const response = m ? decodeResponseMessage(m) : undefined;
    const request = requests.find(
      (q) =>
        response && q.rqSeq === response.rqSeq && q.cmd === response.cmd && q.netFn + 1 === response.netFn,
    );
    return { datagram, payloadType, payload, ...(request && { request }) };
  });
}

/** The simulator's answer to a presence ping (its own encoder, as session-server.ts sends it). */
export function pongExchange(): Exchange {
  const datagram = encodePresencePong({
    tag: 0x11,
    oemIana: 0,
    oemDefined: 0,
    ipmiSupported: true,
    rmcpSecurityExtensions: true,
  });
  return { datagram, payloadType: undefined, payload: datagram.subarray(4) };
}

/** The IPMI message of an unprotected datagram (IPMI 1.5, or an RMCP+ IPMI payload in the clear). */
function messageOf(datagram: Buffer): Buffer | undefined {
  const rmcp = decodeRmcp(datagram);
  if (rmcp.class !== RmcpClass.IPMI) return undefined;
  if (rmcp.body[0] !== AuthType.RmcpPlus) return decodeIpmi15(rmcp.body).message;
  const p = decodeIpmi20(rmcp.body);
  return p.payloadType === PayloadType.Ipmi && !p.encrypted ? p.payload : undefined;
}

const CONSOLE_SESSION_ID = 0x0a0b0c0d;
const IV = Buffer.alloc(16, 0x5a);

/** Fixed keys for suites 1 (none), 3 (SHA1-96, AES) and 17 (SHA256-128, AES): runs are reproducible. */
function securities(): (SessionSecurity | undefined)[] {
  return [1, 3, 17].map((id) => {
    const s = cipherSuite(id);
    if (!s || s.integrity === 0) return undefined;
    return {
      integrity: s.integrity,
      k1: Buffer.alloc(32, 0x11),
      confidentiality: s.confidentiality,
      k2: Buffer.alloc(32, 0x22),
    };
  });
}

function frame(payloadType: number, payload: Buffer, security: SessionSecurity | undefined): Buffer {
  const sessionId = payloadType === PayloadType.Ipmi ? CONSOLE_SESSION_ID : 0;
  const inSession = payloadType === PayloadType.Ipmi ? security : undefined;
  return encodeRmcp(
    RmcpClass.IPMI,
    encodeIpmi20({ payloadType, sessionId, sequence: 1, payload }, inSession, IV),
  );
}

type Layer = "datagram" | "message" | "data";

interface Case {
  exchange: number;
  layer: Layer;
  security: SessionSecurity | undefined;
  mutant: Mutant;
}

/**
 * Mutants of one exchange: of the whole datagram as captured; of the IPMI message (or handshake
 * payload) re-framed in a session of suite 1, 3 or 17 so it passes the integrity check and
 * decryption; or of the response data only, re-encoded with good checksums and completion code 00h.
 */
export function parserCases(exchanges: readonly Exchange[]): fc.Arbitrary<Case> {
  const sec = securities();
  return fc
    .tuple(
      fc.nat(exchanges.length - 1),
      fc.constantFrom<Layer>("datagram", "message", "data"),
      fc.nat(sec.length - 1),
    )
    .chain(([i, layer, s]) => {
      const e = exchanges[i] as Exchange;
      const security = sec[s];
      const seed: Seed =
        layer === "datagram" || e.payloadType === undefined
          ? { bytes: e.datagram, fields: rmcpFields(e.datagram) }
          : layer === "message" || !e.request
            ? { bytes: e.payload, fields: [0, 1, 2, 3, 4, 5, 6].map((at) => [at, 1] as const) }
            : { bytes: decodeResponseMessage(e.payload).data, fields: [] };
      const effective: Layer =
        e.payloadType === undefined ? "datagram" : layer === "data" && !e.request ? "message" : layer;
      return mutants([seed], { maxRandom: 120 }).map((mutant) => ({
        exchange: i,
        layer: effective,
        security,
        mutant,
      }));
    });
}

/** The datagram a case puts to the decoders. */
export function caseDatagram(exchanges: readonly Exchange[], c: Case): Buffer {
  const e = exchanges[c.exchange] as Exchange;
  if (c.layer === "datagram" || e.payloadType === undefined) return c.mutant.bytes;
  if (c.layer === "message") return frame(e.payloadType, c.mutant.bytes, c.security);
  const message = encodeResponseMessage({
    ...decodeResponseMessage(e.payload),
    completionCode: 0,
    data: c.mutant.bytes,
  });
  return frame(e.payloadType, message, c.security);
}

/**
 * What the client does with a datagram from the BMC (RmcpPlusSession.receive, then the waiter's
 * decodeResponseMessage, then the command's decodeResponse and the parameter decoders its callers
 * run). Returns the outcome; a typed error is an outcome named after the stage that threw it.
 */
export function decodeAsClient(
  datagram: Buffer,
  security: SessionSecurity | undefined,
  request?: IpmiRequestMessage,
): string {
  let stage = "rmcp";
  try {
    const rmcp = decodeRmcp(datagram);
    if (rmcp.class === RmcpClass.ASF) {
      stage = "asf";
      decodeAsf(rmcp.body);
      return "ok asf";
    }
    let message: Buffer;
    stage = "session";
    if (rmcp.body[0] === AuthType.RmcpPlus) {
      const packet = decodeIpmi20(rmcp.body, packetSecurity(rmcp.body, security));
      stage = "handshake";
      switch (packet.payloadType) {
        case PayloadType.OpenSessionResponse:
          decodeOpenSessionResponse(packet.payload);
          return "ok handshake";
        case PayloadType.Rakp2:
          decodeRakp2(packet.payload);
          return "ok handshake";
        case PayloadType.Rakp4:
          decodeRakp4(packet.payload);
          return "ok handshake";
        case PayloadType.Ipmi:
          message = packet.payload;
          break;
        default:
          return "ignored payload type";
      }
    } else {
      message = decodeIpmi15(rmcp.body).message;
    }
    stage = "message";
    const response = decodeResponseMessage(message);
    if (response.completionCode !== 0) return "completion code";
    const command = COMMANDS.get(`${response.netFn - 1}:${response.cmd}`);
    if (!command) return "unknown command";
    stage = "command";
    const decoded = command.decodeResponse(response.data);
    stage = "parameter";
    decodeParameter(command, decoded, request);
    return "ok response";
  } catch (err) {
    if (isTypedError(err)) return `rejected ${stage}`;
    throw err;
  }
}

/** A session packet is checked with the session's keys only when it claims to be in the session. */
function packetSecurity(body: Buffer, security: SessionSecurity | undefined): SessionSecurity | undefined {
  return body.length >= 6 && body.readUInt32LE(2) === CONSOLE_SESSION_ID ? security : undefined;
}

/** The second-level decoders the client's callers run on some responses. */
function decodeParameter(
  command: AnyCommand,
  decoded: unknown,
  request: IpmiRequestMessage | undefined,
): void {
  const data = request?.data ?? Buffer.alloc(0);
  const d = decoded as { data?: Buffer; recordData?: Buffer; records?: Buffer };
  if (command === (transport.getLanConfigurationParameters as unknown) && d.data && !((data[0] ?? 0) & 0x80))
    transport.decodeLanParameter(data[1] ?? 0, d.data);
  else if (
    command === (sensorEvent.getPefConfigurationParameters as unknown) &&
    d.data &&
    !((data[0] ?? 0) & 0x80)
  )
    decodePefParameter((data[0] ?? 0) & 0x7f, d.data);
  else if (command === (storage.getSelEntry as unknown) && d.recordData) decodeSelRecord(d.recordData);
  else if (command === (storage.getSdr as unknown) && d.recordData && data[4] === 0)
    decodeSdrHeader(d.recordData);
  else if (command === (app.getChannelCipherSuites as unknown) && d.records)
    app.parseCipherSuiteRecords(d.records);
}

export interface ParserResult {
  packets: number;
  outcomes: Record<string, number>;
  crashes: number;
  firstCrashes: { error: string; hex: string }[];
  seconds: number;
}

/** Feeds `count` cases to the decoders; a crash is any error that is not one of the project's typed ones. */
export function fuzzParser(exchanges: readonly Exchange[], count: number, seed: number): ParserResult {
  const tally = new Tally();
  const started = performance.now();
  for (const c of sampled(parserCases(exchanges), count, seed)) {
    const datagram = caseDatagram(exchanges, c);
    try {
      tally.add(decodeAsClient(datagram, c.security, exchanges[c.exchange]?.request));
    } catch (err) {
      tally.crash(err, datagram);
    }
  }
  return { ...tally.result(), seconds: (performance.now() - started) / 1000 };
}
