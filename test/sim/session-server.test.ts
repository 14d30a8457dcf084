import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { IpmiAuthError } from "../../src/ipmi/client/errors.js";
import { type DeviceId, getDeviceId } from "../../src/ipmi/commands/app.js";
import { decodeOpenSessionResponse, decodeRakp4, encodeRakp3 } from "../../src/ipmi/rakp.js";
import { decodeRmcp, encodeRmcp, RmcpClass } from "../../src/ipmi/rmcp.js";
import { decodeIpmi20, encodeIpmi20, PayloadType, peekIpmi20 } from "../../src/ipmi/session20.js";
import { commandKey, serve } from "../../src/sim/handler.js";
import { SessionServer } from "../../src/sim/session-server.js";
import { freeipmiLan20, lanplus } from "../support/login.js";

const run = promisify(execFile);

const DEVICE: DeviceId = {
  deviceId: 0x20,
  deviceRevision: 1,
  providesSdrs: true,
  firmwareMajor: 2,
  updateInProgress: false,
  firmwareMinor: 15,
  firmwareMinorRaw: 0x15,
  ipmiVersion: { major: 2, minor: 0 },
  additionalDeviceSupport: {
    sensor: true,
    sdrRepository: true,
    sel: true,
    fruInventory: false,
    ipmbEventReceiver: true,
    ipmbEventGenerator: true,
    bridge: false,
    chassis: true,
  },
  manufacturerId: 343,
  productId: 0x0042,
};

/** The RMCP+ server side with only Get Device ID behind it, on a loopback UDP port. */
let server: SessionServer;
let socket: dgram.Socket;
let port: number;
/** Every datagram the server sent, newest last. */
const replies: Buffer[] = [];

beforeAll(async () => {
  server = new SessionServer(
    {
      guid: Buffer.from("0123456789abcdef0123456789abcdef", "hex"),
      users: [
        { id: 2, name: "admin", password: "s3cret-Pass", maxPrivilege: 4, enabled: true },
        { id: 3, name: "viewer", password: "look-only", maxPrivilege: 2, enabled: true },
      ],
      cipherSuites: [1, 2, 3, 15, 16, 17],
    },
    new Map([serve(getDeviceId, 2, () => DEVICE)]),
    { manufacturerId: 343, sessionless: new Set([commandKey(6, 0x38), commandKey(6, 0x54)]) },
  );
  socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) =>
    server.handle(msg, (p) => {
      replies.push(p);
      socket.send(p, rinfo.port, rinfo.address);
    }),
  );
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  port = socket.address().port;
});
afterAll(() => socket.close());

const client = (options: { cipherSuite: number; username?: string; password?: string; privilege?: number }) =>
  new IpmiClient({
    host: "127.0.0.1",
    port,
    username: "admin",
    password: "s3cret-Pass",
    keepAliveMs: 0,
    ...options,
  });

describe("the simulator's RMCP+ server side", () => {
  it.each([1, 2, 3, 15, 16, 17])("serves petgate's client with cipher suite %i", async (cipherSuite) => {
    await using c = client({ cipherSuite });
    expect(await c.execute(getDeviceId, undefined)).toEqual(DEVICE);
  });

  it.each(["3", "17"])("serves ipmitool -I lanplus -C %s mc info", async (suite) => {
    const { stdout } = await run(
      "ipmitool",
      [...lanplus({ port, password: "s3cret-Pass", suite }), "mc", "info"],
      {
        timeout: 20_000,
      },
    );
    expect(stdout).toMatch(/Device ID\s+: 32/);
    expect(stdout).toMatch(/Manufacturer ID\s+: 343/);
    expect(stdout).toMatch(/Firmware Revision\s+: 2\.15/);
  });

  it("serves FreeIPMI bmc-info with suite 17 and no workaround flags", async () => {
    const { stdout } = await run(
      "bmc-info",
      [...freeipmiLan20({ port, password: "s3cret-Pass" }), "--get-device-id"],
      { timeout: 20_000 },
    );
    expect(stdout).toMatch(/Manufacturer ID\s+: Intel Corporation \(343\)/);
  });

  it("refuses a wrong password (RAKP 2 mismatch seen by the console) and a role above the user's", async () => {
    await using wrong = client({ cipherSuite: 17, password: "guess" });
    await expect(wrong.execute(getDeviceId, undefined)).rejects.toMatchObject({ step: "rakp2" });
    // Name-only lookup: RAKP completes and Set Session Privilege Level answers 81h (IPMI 2.0 §22.18).
    await using viewer = client({ cipherSuite: 17, username: "viewer", password: "look-only", privilege: 4 });
    const err = await viewer.execute(getDeviceId, undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiAuthError);
    expect(err).toMatchObject({ step: "set-session-privilege" });
    expect(String(err)).toMatch(
      /completion code 81h .*the requested role ADMINISTRATOR is above this user's privilege limit/,
    );
    expect(String(err)).not.toMatch(/user name/);
    await using asUser = client({ cipherSuite: 17, username: "viewer", password: "look-only", privilege: 2 });
    expect(await asUser.execute(getDeviceId, undefined)).toEqual(DEVICE);
  });

  it("a RAKP 3 naming an active session (a guessed session ID) is refused and does not end it", async () => {
    await using c = client({ cipherSuite: 3 });
    await c.execute(getDeviceId, undefined);
    const opened = server.counters.sessionsOpened;
    // The session ID the BMC gave: its last Open Session Response.
    const response = replies
      .map((r) => decodeRmcp(r).body)
      // RMCP+ (auth type 06h, not the IPMI 1.5 Auth Caps answer), unauthenticated set-up payloads.
      .filter((body) => body[0] === 0x06 && peekIpmi20(body).payloadType === PayloadType.OpenSessionResponse)
      .map((body) => decodeOpenSessionResponse(decodeIpmi20(body).payload))
      .at(-1);
    if (!response || !("bmcSessionId" in response)) throw new Error("no Open Session Response seen");
    const stranger = dgram.createSocket("udp4");
    try {
      const answer = new Promise<Buffer>((resolve) => stranger.once("message", resolve));
      const rakp3 = encodeRakp3({
        tag: 9,
        status: 0,
        bmcSessionId: response.bmcSessionId,
        keyExchangeAuthCode: Buffer.alloc(20),
      });
      const packet = encodeIpmi20({
        payloadType: PayloadType.Rakp3,
        sessionId: 0,
        sequence: 0,
        payload: rakp3,
      });
      stranger.send(encodeRmcp(RmcpClass.IPMI, packet), port, "127.0.0.1");
      const rakp4 = decodeRakp4(decodeIpmi20(decodeRmcp(await answer).body).payload);
      expect(rakp4.status).toBe(0x02); // invalid session ID
    } finally {
      stranger.close();
    }
    // The session still serves, without being opened again.
    expect(await c.execute(getDeviceId, undefined)).toEqual(DEVICE);
    expect(server.counters.sessionsOpened).toBe(opened);
  });

  it("answers or ignores random and mutated packets, and keeps serving", () => {
    const seed = Buffer.from(
      "0600ff07061000000000000000002000000000004142434400000008030000000100000804000000020000080100000000",
      "hex",
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (random, flips) => {
          const mutated = Buffer.from(seed);
          for (const [at, v] of flips) mutated.writeUInt8(v, at % mutated.length);
          server.handle(Buffer.from(random), () => undefined);
          server.handle(mutated, () => undefined);
        },
      ),
      { numRuns: 3000 },
    );
    expect(server.counters.datagrams).toBeGreaterThan(6000);
  });
});
