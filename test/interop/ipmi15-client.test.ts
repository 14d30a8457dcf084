import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IpmiClient, IpmiClientOptions } from "../../src/ipmi/client/client.js";
import { IpmiRefusedError, IpmiTimeoutError } from "../../src/ipmi/client/errors.js";
import { getDeviceId, getSystemGuid } from "../../src/ipmi/commands/app.js";
import { getSelInfo } from "../../src/ipmi/commands/storage.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";

/** petgate's IPMI 1.5 client against OpenIPMI's ipmi_sim (it offers none, MD2, MD5 and password). */
let sim: IpmiSim;
const clients: IpmiClient[] = [];
const logged: string[] = [];

function client(options: Partial<IpmiClientOptions>): IpmiClient {
  const c = sim.client({ ipmi: "1.5", log: (line) => logged.push(line), ...options });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  sim = await startIpmiSim();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  sim.stop();
});

describe("IPMI 1.5 sessions against ipmi_sim", () => {
  it.each([
    ["md5", "MD5"],
    ["password", "PASSWORD"],
  ] as const)("auth type %s: reads what ipmitool -I lan -A %s reads", async (authType, ipmitoolName) => {
    const c = client({ authType });
    const id = await c.execute(getDeviceId, undefined);
    const guid = await c.execute(getSystemGuid, undefined);
    await c.execute(getSelInfo, undefined);
    expect(c.protocol).toBe("1.5");
    expect(c.stats()).toMatchObject({ sessionsOpened: 1, failures: 0 });
    expect(id.manufacturerId).toBe(4753);
    const raw = await sim.ipmitoolLan(ipmitoolName, "raw", "0x06", "0x37");
    expect(guid.guid.toString("hex")).toBe(raw.replace(/\s+/g, ""));
  });

  it("picks MD5 when no auth type is asked for, and warns once that 1.5 is weak", async () => {
    const before = logged.length;
    const c = client({});
    await c.execute(getDeviceId, undefined);
    await c.execute(getDeviceId, undefined);
    const lines = logged.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/IPMI 1\.5 session: MD5 and straight-password auth codes are weak/);
    expect(lines.join("\n")).not.toContain("secret");
  });

  it("a wrong password: ipmi_sim cannot authenticate a refusal, so Activate Session times out, saying why", async () => {
    const err = await client({ password: "not-the-secret", deadlineMs: 2500 })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiTimeoutError);
    expect(String(err)).toMatch(
      /Activate Session \(a BMC that stays silent here usually means a wrong password\)/,
    );
    expect(String(err)).not.toContain("not-the-secret");
  });

  it("auth type none is refused before anything is sent for it, unless allowInsecure", async () => {
    const refused = await client({ authType: "none" })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IpmiRefusedError);
    expect(String(refused)).toMatch(/auth type none authenticates nobody; refused unless allowInsecure/);
    const before = logged.length;
    const allowed = client({ authType: "none", allowInsecure: true });
    expect((await allowed.execute(getDeviceId, undefined)).manufacturerId).toBe(4753);
    expect(logged.slice(before).join("\n")).toMatch(/INSECURE: IPMI 1\.5 session with auth type none/);
  });

  it("refuses a password longer than 1.5's 16 bytes, naming neither it nor its bytes", async () => {
    const long = "twenty-byte-passwd!!";
    const err = await client({ password: long })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiRefusedError);
    expect(String(err)).toMatch(/an IPMI 1\.5 password is at most 16 bytes; this user's is longer/);
    expect(String(err)).not.toContain(long);
  });

  it("auto opens RMCP+ because ipmi_sim offers it", async () => {
    const c = client({ ipmi: "auto" });
    await c.execute(getDeviceId, undefined);
    expect(c.protocol).toBe("2.0");
  });

  it("re-opens a 1.5 session after the BMC forgot it (restart), transparently", async () => {
    const c = client({ authType: "md5" });
    await c.execute(getDeviceId, undefined);
    await sim.restart();
    expect((await c.execute(getDeviceId, undefined, { deadlineMs: 8000 })).manufacturerId).toBe(4753);
    expect(c.stats().sessionsOpened).toBe(2);
  });
});
