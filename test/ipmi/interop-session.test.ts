import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IpmiClient, IpmiClientOptions } from "../../src/ipmi/client/client.js";
import { IpmiAuthError, IpmiRefusedError, IpmiTimeoutError } from "../../src/ipmi/client/errors.js";
import { getDeviceId, getSystemGuid } from "../../src/ipmi/commands/app.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { waitFor } from "../support/listener.js";

/** RMCP+ sessions against OpenIPMI's ipmi_sim, a BMC nobody on this project wrote. */
let sim: IpmiSim;
const clients: IpmiClient[] = [];

function client(options: Partial<IpmiClientOptions> = {}): IpmiClient {
  const c = sim.client(options);
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

/** `ipmitool mc info` lines as a map: "Manufacturer ID : 4753" → { "Manufacturer ID": "4753" }. */
function fields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .map((l) => /^([^:]+?)\s*:\s*(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] as string, (m[2] as string).trim()]),
  );
}

describe("RMCP+ sessions against ipmi_sim", () => {
  it.each([1, 2, 3])("opens a session with cipher suite %i and reads Get Device ID", async (suite) => {
    const c = client({ cipherSuite: suite });
    const id = await c.execute(getDeviceId, undefined);
    expect(id.manufacturerId).toBe(4753);
    expect(c.stats()).toMatchObject({ sessionsOpened: 1, failures: 0 });
  });

  it("reads the same device ID fields as ipmitool mc info", async () => {
    const id = await client().execute(getDeviceId, undefined);
    const mc = fields(await sim.ipmitool("mc", "info"));
    expect(String(id.deviceId)).toBe(mc["Device ID"]);
    expect(String(id.deviceRevision)).toBe(mc["Device Revision"]);
    expect(`${id.firmwareMajor}.${String(id.firmwareMinor).padStart(2, "0")}`).toBe(mc["Firmware Revision"]);
    expect(`${id.ipmiVersion.major}.${id.ipmiVersion.minor}`).toBe(mc["IPMI Version"]);
    expect(String(id.manufacturerId)).toBe(mc["Manufacturer ID"]);
    expect(mc["Product ID"]).toMatch(
      new RegExp(`^${id.productId} \\(0x${id.productId.toString(16).padStart(4, "0")}\\)$`),
    );
  });

  it("reads the same system GUID bytes as ipmitool raw 0x06 0x37", async () => {
    const guid = await client().execute(getSystemGuid, undefined);
    const raw = (await sim.ipmitool("raw", "0x06", "0x37")).replace(/\s+/g, "");
    expect(Buffer.from(guid.guid).toString("hex")).toBe(raw);
  });

  it("fails a wrong password at RAKP 2 with a clear error that does not contain the password", async () => {
    const err = await client({ password: "not-the-secret" })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiAuthError);
    expect(err).toMatchObject({ step: "rakp2" });
    expect(String(err)).toMatch(/wrong password/);
    expect(String(err)).not.toContain("not-the-secret");
  });

  it("fails an unknown user at RAKP 2 with the BMC's status", async () => {
    const err = await client({ username: "nobody" })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiAuthError);
    expect(String(err)).toMatch(/rakp2: BMC answered status 13 \(unauthorized name\)/);
  });

  it("refuses cipher suite 0 unless explicitly allowed, before sending anything", async () => {
    const err = await client({ cipherSuite: 0 })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiRefusedError);
    expect(String(err)).toMatch(/cipher suite 0 authenticates nobody/);
  });

  it("refuses suite 17 cleanly when the BMC does not offer it (ipmi_sim has no SHA-256)", async () => {
    const err = await client({ cipherSuite: 17 })
      .execute(getDeviceId, undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiAuthError);
    expect(String(err)).toMatch(/open-session: BMC answered status 4 \(invalid authentication algorithm\)/);
  });
});

describe("disposal", () => {
  it("closes the session when an `await using` scope ends", async () => {
    let inScope: IpmiClient | undefined;
    {
      await using c = client();
      inScope = c;
      await c.execute(getDeviceId, undefined);
    }
    await expect(inScope.execute(getDeviceId, undefined)).rejects.toThrow(/client closed/);
  });
});

describe("a BMC that stops answering (SIGSTOP)", () => {
  it("fails every call within its deadline while at most maxInFlight are on the wire", async () => {
    const c = client({ maxInFlight: 2, maxQueued: 8, attemptTimeoutMs: 200, deadlineMs: 1500 });
    await c.execute(getDeviceId, undefined);
    sim.freeze();
    try {
      const calls = Array.from({ length: 20 }, () =>
        c.execute(getDeviceId, undefined).then(
          () => "ok",
          (e: Error) => e,
        ),
      );
      let maxInFlight = 0;
      const sampler = setInterval(() => {
        maxInFlight = Math.max(maxInFlight, c.stats().inFlight);
      }, 10);
      const results = await Promise.all(calls);
      clearInterval(sampler);
      // 2 on the wire + 8 queued; the other 10 are refused at once rather than piling up.
      expect(results.filter((r) => r instanceof IpmiRefusedError)).toHaveLength(10);
      expect(results.filter((r) => r instanceof IpmiTimeoutError)).toHaveLength(10);
      expect(maxInFlight).toBeLessThanOrEqual(2);
      expect(c.stats()).toMatchObject({ inFlight: 0, queued: 0 });
    } finally {
      sim.thaw();
    }
    // Once the BMC answers again, the client recovers without being rebuilt.
    expect((await c.execute(getDeviceId, undefined)).manufacturerId).toBe(4753);
  });

  it("lets an urgent call (a health probe) past a full queue, ahead of the queued calls", async () => {
    const c = client({ maxInFlight: 1, maxQueued: 4, attemptTimeoutMs: 200, deadlineMs: 5000 });
    await c.execute(getDeviceId, undefined);
    sim.freeze();
    const order: string[] = [];
    const call = (name: string, urgent = false) =>
      c.execute(getDeviceId, undefined, { urgent }).then(
        () => order.push(name),
        (e: Error) => order.push(`${name}: ${e.constructor.name}`),
      );
    const calls = [0, 1, 2, 3, 4].map((i) => call(`ordinary ${i}`));
    const refused = call("ordinary 5"); // 1 on the wire + 4 queued: refused at once
    await refused;
    const urgent = [call("urgent 0", true), call("urgent 1", true)];
    expect(c.stats()).toMatchObject({ inFlight: 1, queued: 6 });
    sim.thaw();
    await Promise.all([...calls, ...urgent]);
    expect(order).toEqual([
      "ordinary 5: IpmiRefusedError",
      "ordinary 0",
      "urgent 0",
      "urgent 1",
      "ordinary 1",
      "ordinary 2",
      "ordinary 3",
      "ordinary 4",
    ]);
  });
});

describe("a BMC that resets (ipmi_sim restarted: every session forgotten)", () => {
  it("re-opens the session transparently: the next call succeeds without the caller seeing an error", async () => {
    const c = client({ attemptTimeoutMs: 300, deadlineMs: 5000 });
    await c.execute(getDeviceId, undefined);
    await sim.restart();
    expect((await c.execute(getDeviceId, undefined)).manufacturerId).toBe(4753);
    expect(c.stats()).toMatchObject({ sessionsOpened: 2, failures: 0 });
  });

  it("keeps an idle session alive with a cheap command", async () => {
    const c = client({ keepAliveMs: 50 });
    await c.execute(getDeviceId, undefined);
    await waitFor("two keep-alives", () => c.stats().calls >= 3);
    expect(c.stats()).toMatchObject({ sessionsOpened: 1, failures: 0 });
  });
});
