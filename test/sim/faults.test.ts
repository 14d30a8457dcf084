import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { IpmiTimeoutError } from "../../src/ipmi/client/errors.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";
import { setPefConfigurationParameters } from "../../src/ipmi/commands/sensor-event.js";
import { addSelEntry, getSelInfo } from "../../src/ipmi/commands/storage.js";
import { setLanConfigurationParameters } from "../../src/ipmi/commands/transport.js";
import { CompletionCodeError } from "../../src/ipmi/errors.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { startControlApi } from "../../src/sim/control.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { freeUdpPort } from "../support/ports.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";
import { tempDir } from "../support/temp.js";

type Sims = Awaited<ReturnType<typeof startSims>>;
let sims: Sims;
beforeAll(async () => {
  sims = await startSims({ rebootMs: 400 });
});
afterAll(() => sims.fleet.stop());

const client = (port = sims.port, host = sims.host) =>
  new IpmiClient({
    host,
    port,
    username: "admin",
    password: SIM_PASSWORD,
    cipherSuite: 17,
    keepAliveMs: 0,
    attemptTimeoutMs: 150,
    deadlineMs: 1000,
  });

describe("fault modes", () => {
  it("hang: nothing answers; calls end at their deadline; clearing it brings the BMC back", async () => {
    await using c = client();
    await c.execute(getDeviceId, undefined);
    sims.sim?.setFaults({ hang: true });
    await expect(c.execute(getDeviceId, undefined)).rejects.toBeInstanceOf(IpmiTimeoutError);
    sims.sim?.setFaults({ hang: false });
    expect((await c.execute(getDeviceId, undefined)).manufacturerId).toBe(343);
  });

  it("wedged: sessions and Get Device ID still work, SEL does not, until a cold reset", async () => {
    await using c = client();
    sims.sim?.setFaults({ wedged: true });
    expect((await c.execute(getDeviceId, undefined)).manufacturerId).toBe(343);
    await expect(c.execute(getSelInfo, undefined)).rejects.toBeInstanceOf(IpmiTimeoutError);
    sims.sim?.coldReset();
    expect(sims.sim?.server.faults.wedged).toBe(false);
    await using after = new IpmiClient({
      host: sims.host,
      port: sims.port,
      username: "admin",
      password: SIM_PASSWORD,
      cipherSuite: 17,
      keepAliveMs: 0,
      deadlineMs: 5000,
    });
    expect((await after.execute(getSelInfo, undefined)).version).toBeGreaterThan(0);
  });

  it("garbage: malformed replies are refused by the client, which times out cleanly", async () => {
    await using c = client();
    sims.sim?.setFaults({ garbage: true });
    try {
      await expect(c.execute(getDeviceId, undefined)).rejects.toBeInstanceOf(IpmiTimeoutError);
    } finally {
      sims.sim?.setFaults({ garbage: false });
    }
  });

  it("drop 50%: retransmission still gets answers through", async () => {
    await using c = new IpmiClient({
      host: sims.host,
      port: sims.port,
      username: "admin",
      password: SIM_PASSWORD,
      cipherSuite: 17,
      keepAliveMs: 0,
      attemptTimeoutMs: 100,
      deadlineMs: 5000,
    });
    sims.sim?.setFaults({ dropPercent: 50 });
    try {
      for (let i = 0; i < 5; i++) expect((await c.execute(getDeviceId, undefined)).manufacturerId).toBe(343);
    } finally {
      sims.sim?.setFaults({ dropPercent: 0 });
    }
  });
});

describe("completion codes", () => {
  it("names a command's own codes: writing read-only LAN parameter 1 is 82h", async () => {
    await using c = client();
    const err = await c
      .execute(setLanConfigurationParameters, {
        channel: 1,
        parameter: {
          parameter: "authTypeSupport",
          types: { none: true, md2: false, md5: false, password: false, oem: false },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompletionCodeError);
    expect(String(err)).toBe(
      "CompletionCodeError: Set LAN Configuration Parameters: completion code 82h (Attempt to write a read-only parameter)",
    );
  });
});

describe("the non-volatile store (--state-dir)", () => {
  it("keeps SEL entries and PEF settings across a restart", async () => {
    const stateDir = tempDir("petgate-sim-state-");
    const port = await freeUdpPort();
    const config = simConfigSchema.parse({
      listen: `127.0.0.1:${port}`,
      stateDir,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    });
    const first = await SimulatorFleet.start(config);
    {
      await using c = client(port);
      await c.execute(setPefConfigurationParameters, {
        parameter: "pefControl",
        enable: true,
        eventMessages: true,
        startupDelay: false,
        alertStartupDelay: false,
      });
      await c.execute(addSelEntry, {
        record: {
          kind: "system",
          recordId: 0,
          timestamp: 1_700_000_000,
          generatorId: { id: 0x41, channel: 0, lun: 0 },
          evmRev: 4,
          sensorType: 1,
          sensorNumber: 2,
          eventDirection: "assertion",
          eventType: 1,
          eventData: [0x09, 0xff, 0xff],
        },
      });
    }
    await first.stop();
    const second = await SimulatorFleet.start(config);
    try {
      const state = second.simulators[0]?.state;
      expect(state?.sel.records).toHaveLength(1);
      expect(state?.pef.committed.control.enable).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

describe("the non-volatile store's files", () => {
  const login = (port: number, username: string, password: string) =>
    new IpmiClient({
      host: "127.0.0.1",
      port,
      username,
      password,
      cipherSuite: 17,
      keepAliveMs: 0,
      // Generous: a refusal must be the BMC's answer, not a timeout on a loaded machine.
      attemptTimeoutMs: 1000,
      deadlineMs: 5000,
    }).execute(getDeviceId, undefined);

  it("are 0600 in a 0700 directory it makes, whatever the umask, and hold no user or password", async () => {
    const stateDir = join(tempDir("petgate-sim-state-"), "made", "here");
    const port = await freeUdpPort();
    const config = simConfigSchema.parse({
      listen: `127.0.0.1:${port}`,
      stateDir,
      users: [
        { name: "admin", password: SIM_PASSWORD },
        { name: "ops", password: "ops-Pass-1", privilege: "operator" },
      ],
    });
    const umask = process.umask(0);
    let fleet: SimulatorFleet;
    try {
      fleet = await SimulatorFleet.start(config);
    } finally {
      process.umask(umask);
    }
    await fleet.stop();
    const file = join(stateDir, `127.0.0.1_${port}.json`);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(SIM_PASSWORD);
    expect(text).not.toContain("ops-Pass-1");
    expect(Object.keys(JSON.parse(text))).not.toContain("users");
  });

  it("of an older version (users and passwords in them, 0644) yield to the configured users and are rewritten", async () => {
    const stateDir = tempDir("petgate-sim-state-");
    const port = await freeUdpPort();
    const file = join(stateDir, `127.0.0.1_${port}.json`);
    const configWith = (users: object[]) =>
      simConfigSchema.parse({ listen: `127.0.0.1:${port}`, stateDir, users });
    await (await SimulatorFleet.start(configWith([{ name: "admin", password: SIM_PASSWORD }]))).stop();
    const old = JSON.parse(readFileSync(file, "utf8"));
    old.users = [
      { id: 1, name: "", password: "", maxPrivilege: 4, enabled: false },
      { id: 2, name: "admin", password: "old-Admin-1", maxPrivilege: 4, enabled: true },
      { id: 3, name: "gone", password: "gone-Pass-1", maxPrivilege: 4, enabled: true },
    ];
    writeFileSync(file, JSON.stringify(old), { mode: 0o644 });
    chmodSync(file, 0o644);

    const fleet = await SimulatorFleet.start(configWith([{ name: "admin", password: "new-Admin-2" }]));
    try {
      const text = readFileSync(file, "utf8");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(text).not.toContain("old-Admin-1");
      expect(text).not.toContain("gone-Pass-1");
      await expect(login(port, "admin", "new-Admin-2")).resolves.toMatchObject({ deviceId: 0x20 });
      await expect(login(port, "admin", "old-Admin-1")).rejects.toMatchObject({ step: "rakp2" });
      await expect(login(port, "gone", "gone-Pass-1")).rejects.toThrow(/status 13 \(unauthorized name\)/);
    } finally {
      await fleet.stop();
    }
  });

  it("are refused in an existing directory open to other users, naming it", async () => {
    const stateDir = tempDir("petgate-sim-state-");
    chmodSync(stateDir, 0o755);
    const config = simConfigSchema.parse({
      listen: `127.0.0.1:${await freeUdpPort()}`,
      stateDir,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    });
    await expect(SimulatorFleet.start(config)).rejects.toThrow(
      `--state-dir ${stateDir} is open to other users (mode 0755): chmod 700 ${stateDir}`,
    );
  });
});

describe("the HTTP control API", () => {
  it("sets a sensor past its threshold, which logs the event; sets and clears faults", async () => {
    const api = await startControlApi(sims.fleet, { host: "127.0.0.1", port: 0 });
    const address = api.address();
    const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    try {
      const list = (await (await fetch(`${base}/bmcs`)).json()) as { address: { port: number } }[];
      expect(list[0]?.address.port).toBe(sims.port);
      const before = sims.sim?.state.sel.records.length ?? 0;
      // Sensor 1 is CPU1 Temp (upper critical 90 °C in the default SDR).
      const set = await fetch(`${base}/bmcs/0/sensors/48`, {
        method: "POST",
        body: JSON.stringify({ value: 92 }),
      });
      const body = await set.json();
      const { events } = body as { events: { sensorType: number; eventDirection: string }[] };
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.sensorType === 1 && e.eventDirection === "assertion")).toBe(true);
      expect(sims.sim?.state.sel.records.length).toBe(before + events.length);
      await fetch(`${base}/bmcs/0/faults`, { method: "POST", body: JSON.stringify({ slowMs: 5 }) });
      expect(sims.sim?.server.faults.slowMs).toBe(5);
      await fetch(`${base}/bmcs/0/faults`, { method: "POST", body: JSON.stringify({ slowMs: 0 }) });
      expect((await fetch(`${base}/bmcs/9`)).status).toBe(404);
      const unknown = await fetch(`${base}/bmcs/0/sensors/1`, {
        method: "POST",
        body: JSON.stringify({ value: 1 }),
      });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toEqual({ error: "no sensor 1 owned by the BMC" });
    } finally {
      api.close();
    }
  });
});
