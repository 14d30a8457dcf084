import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import { password16, sealIpmi15 } from "../../src/ipmi/auth15.js";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import {
  activateSession,
  getChannelAuthCapabilities,
  getDeviceId,
  getSessionChallenge,
} from "../../src/ipmi/commands/app.js";
import type { IpmiCommand } from "../../src/ipmi/commands/command.js";
import {
  BMC_ADDRESS,
  decodeResponseMessage,
  encodeRequestMessage,
  REMOTE_CONSOLE_ADDRESS,
} from "../../src/ipmi/message.js";
import { decodeRmcp, encodeRmcp, RmcpClass } from "../../src/ipmi/rmcp.js";
import { AuthType, decodeIpmi15, encodeSessionless } from "../../src/ipmi/session15.js";
import { commandKey, serve } from "../../src/sim/handler.js";
import { SessionServer } from "../../src/sim/session-server.js";
import { waitFor } from "../support/listener.js";

/** The simulator's IPMI 1.5 session rules, packet by packet (IPMI 2.0 §22.13-22.17, IPMI 1.5 §6.12). */
const PASSWORD = password16("s3cret-Pass");
const DEVICE_ID = Buffer.from("2001021502bf5701004200", "hex");

function newServer(maxPrivilege = 4, cipherSuites = [3, 17]) {
  return new SessionServer(
    {
      guid: Buffer.alloc(16, 1),
      users: [{ id: 2, name: "admin", password: "s3cret-Pass", maxPrivilege, enabled: true }],
      cipherSuites,
    },
    new Map([serve(getDeviceId, 2, () => getDeviceId.decodeResponse(DEVICE_ID))]),
    { manufacturerId: 343, sessionless: new Set([commandKey(6, 0x38)]) },
  );
}

let rqSeq = 0;
function message<Req>(command: IpmiCommand<Req, unknown>, request: Req): Buffer {
  rqSeq = (rqSeq + 1) & 0x3f;
  const data = command.encodeRequest(request);
  return encodeRequestMessage({
    ...{ rsAddr: BMC_ADDRESS, netFn: command.netFn, rsLun: 0, rqAddr: REMOTE_CONSOLE_ADDRESS },
    ...{ rqSeq, rqLun: 0, cmd: command.cmd, data },
  });
}

/** Hands one datagram to the server: its reply, or undefined once it counted the datagram ignored. */
async function send(server: SessionServer, datagram: Buffer) {
  const ignored = server.counters.ignored;
  let reply: Buffer | undefined;
  server.handle(datagram, (p) => {
    reply = p;
  });
  await waitFor("a reply or an ignored datagram", () => reply ?? server.counters.ignored > ignored);
  if (!reply) return undefined;
  const packet = decodeIpmi15(decodeRmcp(reply).body);
  return { packet, response: decodeResponseMessage(packet.message) };
}

const sealed = (sessionId: number, sequence: number, m: Buffer, authType: number = AuthType.MD5) =>
  encodeRmcp(RmcpClass.IPMI, sealIpmi15({ authType, sequence, sessionId, message: m }, PASSWORD));

async function challenge(server: SessionServer) {
  const r = await send(
    server,
    encodeSessionless(message(getSessionChallenge, { authType: AuthType.MD5, username: "admin" })),
  );
  return getSessionChallenge.decodeResponse(r?.response.data ?? Buffer.alloc(0));
}

async function activate(server: SessionServer) {
  const c = await challenge(server);
  const request = message(activateSession, {
    authType: AuthType.MD5,
    maxPrivilege: 4,
    challenge: c.challenge,
    initialOutboundSequence: 1000,
  });
  const datagram = sealed(c.temporarySessionId, 0, request);
  const r = await send(server, datagram);
  const session = () => activateSession.decodeResponse(r?.response.data ?? Buffer.alloc(0));
  return { c, datagram, r, session };
}

describe("IpmiClient auto against a BMC without RMCP+ (no cipher suites)", () => {
  it("opens an IPMI 1.5 session, says why once, and reads through it", async () => {
    const server = newServer(4, []);
    const socket = dgram.createSocket("udp4");
    socket.on("message", (datagram, peer) =>
      server.handle(datagram, (p) => socket.send(p, peer.port, peer.address)),
    );
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const logged: string[] = [];
    const client = new IpmiClient({
      ...{ host: "127.0.0.1", port: socket.address().port, username: "admin", password: "s3cret-Pass" },
      ...{ keepAliveMs: 0, log: (line: string) => logged.push(line), name: "old-bmc" },
    });
    try {
      await client.execute(getDeviceId, undefined);
      await client.execute(getDeviceId, undefined);
      expect(client.protocol).toBe("1.5");
      expect(server.counters.sessionsOpened).toBe(1);
      expect(logged).toEqual([
        expect.stringMatching(/^old-bmc: IPMI 1\.5 session \(auto: the BMC does not offer RMCP\+\): MD5 and/),
      ]);
    } finally {
      await client.close();
      socket.close();
    }
    expect(server.counters.sessionsActive).toBe(0);
  });
});

describe("the simulator's IPMI 1.5 sessions", () => {
  it("answers Get Channel Auth Caps in the format asked: 1.5 without bit 7, 2.0 data with it", async () => {
    const server = newServer();
    const caps = async (ipmi20ExtendedData: boolean) => {
      const q = { ipmi20ExtendedData, channel: 0x0e, maxPrivilege: 4 };
      const r = await send(server, encodeSessionless(message(getChannelAuthCapabilities, q)));
      return r?.response.data.toString("hex");
    };
    // Byte 2: MD5 (bit 2) and straight password (bit 4); bit 7 and byte 4 only when asked.
    expect(await caps(false)).toBe("0114040000000000");
    expect(await caps(true)).toBe("0194040300000000");
  });

  it("activates with the challenge, answers on the temporary session from the console's sequence number", async () => {
    const server = newServer();
    const { c, r, session: activated } = await activate(server);
    const session = activated();
    expect(r?.response.completionCode).toBe(0);
    expect(r?.packet).toMatchObject({
      authType: AuthType.MD5,
      sessionId: c.temporarySessionId,
      sequence: 1000,
    });
    expect(session).toMatchObject({ authType: AuthType.MD5, maxPrivilege: 4 });
    expect(session.sessionId).not.toBe(0);
    expect(server.counters.sessionsActive).toBe(1);
    const first = await send(
      server,
      sealed(session.sessionId, session.initialInboundSequence, message(getDeviceId, undefined)),
    );
    expect(first?.response.data).toEqual(DEVICE_ID);
    expect(first?.packet).toMatchObject({ sessionId: session.sessionId, sequence: 1001 });
  });

  it("a challenge is good once: the same Activate Session again is ignored", async () => {
    const server = newServer();
    const { datagram } = await activate(server);
    expect(await send(server, datagram)).toBeUndefined();
    expect(server.counters.sessionsOpened).toBe(1);
  });

  it("ignores a wrong auth code, a replayed sequence number and one far behind the window", async () => {
    const server = newServer();
    const session = (await activate(server)).session();
    const next = session.initialInboundSequence;
    const request = message(getDeviceId, undefined);
    const forged = sealed(session.sessionId, next, request);
    forged[20] = (forged[20] as number) ^ 1; // inside the auth code
    expect(await send(server, forged)).toBeUndefined();
    expect(await send(server, sealed(session.sessionId, next, request))).toBeDefined();
    expect(await send(server, sealed(session.sessionId, next, request))).toBeUndefined();
    expect(await send(server, sealed(session.sessionId, next + 20, request))).toBeDefined();
    expect(await send(server, sealed(session.sessionId, next + 1, request))).toBeUndefined();
  });

  it("ignores a session message with another auth type than the session's, and auth type none unless allowed", async () => {
    const server = newServer();
    const session = (await activate(server)).session();
    const request = message(getDeviceId, undefined);
    const asPassword = sealed(session.sessionId, session.initialInboundSequence, request, AuthType.Password);
    expect(await send(server, asPassword)).toBeUndefined();
    const none = encodeSessionless(
      message(getSessionChallenge, { authType: AuthType.None, username: "admin" }),
    );
    expect((await send(server, none))?.response.completionCode).toBe(0xcc);
  });

  it("refuses a privilege above the user's limit with 86h, authenticated", async () => {
    const server = newServer(2);
    const { r } = await activate(server);
    expect(r?.response.completionCode).toBe(0x86);
    expect(r?.packet.authType).toBe(AuthType.MD5);
    expect(server.counters.sessionsOpened).toBe(0);
  });
});
