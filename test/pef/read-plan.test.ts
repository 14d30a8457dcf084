import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { getPefConfigurationParameters } from "../../src/ipmi/commands/sensor-event.js";
import { PefPlanError, planPef } from "../../src/pef/plan.js";
import { readPefState } from "../../src/pef/read.js";
import type { PefCapacity, PefState } from "../../src/pef/state.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";
import { desiredState, nth, thresholdFilter } from "./desired.js";

const CAPACITY: PefCapacity = { filters: 16, policies: 16, destinations: 15 };

/** A state equal to `desired` in every table slot the capacity has. */
function asBmcHolds(desired: PefState, capacity = CAPACITY): PefState {
  const s = structuredClone(desired);
  const off = { ...thresholdFilter(0), enabled: false };
  while (s.filters.length < capacity.filters) s.filters.push(structuredClone(off));
  const policy = { ...(s.policies[0] ?? nth(desiredState().policies, 0)), enabled: false };
  while (s.policies.length < capacity.policies) s.policies.push({ ...policy });
  return s;
}

describe("planPef (pure)", () => {
  it("an identical state plans nothing", () => {
    const desired = desiredState();
    expect(planPef(asBmcHolds(desired), desired, CAPACITY)).toEqual({ changes: [], writes: [] });
  });

  it("two disabled filters or policy entries are equal whatever their other bytes", () => {
    const desired = desiredState();
    desired.filters.push({ ...thresholdFilter(0x07), enabled: false });
    desired.policies.push({ ...nth(desired.policies, 0), enabled: false, destinationSelector: 9 });
    const current = asBmcHolds(desiredState());
    current.filters[3] = { ...thresholdFilter(0x23), enabled: false, reservedConfigBits: 0x08, severity: 2 };
    expect(planPef(current, desired, CAPACITY).writes).toEqual([]);
  });

  it("ignores reserved configuration bits and compare values under a zero AND mask", () => {
    const desired = desiredState();
    const current = asBmcHolds(desired);
    current.filters[0] = {
      ...nth(current.filters, 0),
      reservedConfigBits: 0x1f,
      eventData2: { andMask: 0, compare1: 0x12, compare2: 0x40 },
    };
    expect(planPef(current, desired, CAPACITY).writes).toEqual([]);
  });

  it("rewrites a filter ipmiutil marked manufacturer pre-configured (C0h)", () => {
    const desired = desiredState();
    const current = asBmcHolds(desired);
    current.filters[1] = { ...nth(current.filters, 1), configType: 2 };
    const plan = planPef(current, desired, CAPACITY);
    expect(plan.changes.map((c) => c.what)).toEqual(["filter 2"]);
    expect(plan.writes).toEqual([
      { kind: "pef", parameter: { parameter: "eventFilter", filterNumber: 2, entry: desired.filters[1] } },
    ]);
  });

  it("disables an enabled filter past the desired list, keeping its other bytes", () => {
    const desired = desiredState();
    const current = asBmcHolds(desired);
    const stray = { ...thresholdFilter(0x09), eventTrigger: 0x0b };
    current.filters[15] = stray;
    const plan = planPef(current, desired, CAPACITY);
    expect(plan.changes).toEqual([
      { what: "filter 16", from: expect.stringContaining("→ alert, policy 1"), to: "disabled" },
    ]);
    expect(plan.writes).toEqual([
      {
        kind: "pef",
        parameter: { parameter: "eventFilter", filterNumber: 16, entry: { ...stray, enabled: false } },
      },
    ]);
  });

  it("leaves an undefined desired destination alone and writes only the half that differs", () => {
    const desired = desiredState();
    const current = asBmcHolds(desired);
    const d1 = nth(desired.lan.destinations, 0);
    desired.lan.destinations = [undefined, { ...d1, ip: "10.0.0.9" }];
    current.lan.destinations = [
      { ...d1, ip: "192.0.2.1" },
      { ...d1, ip: "10.0.0.9", retries: 3 },
    ];
    const plan = planPef(current, desired, CAPACITY);
    expect(plan.changes).toEqual([
      {
        what: "destination 2 type",
        from: "PET, not acknowledged (timeout 1 s, 3 retries)",
        to: "PET, not acknowledged (timeout 1 s, 0 retries)",
      },
    ]);
    expect(plan.writes).toEqual([
      {
        kind: "lan",
        channel: 1,
        parameter: {
          parameter: "destinationType",
          set: 2,
          acknowledge: false,
          type: "pet",
          ackTimeoutSeconds: 1,
          retries: 0,
        },
      },
    ]);
  });

  it("compares MAC addresses case-insensitively and the community exactly", () => {
    const desired = desiredState();
    desired.lan.destinations[0] = { ...nth(desired.lan.destinations, 0), mac: "AA:BB:CC:DD:EE:0F" };
    const current = asBmcHolds(desired);
    current.lan.destinations[0] = { ...nth(desired.lan.destinations, 0), mac: "aa:bb:cc:dd:ee:0f" };
    current.lan.community = "Public";
    const plan = planPef(current, desired, CAPACITY);
    expect(plan.changes).toEqual([{ what: "community", from: '"Public"', to: '"public"' }]);
    expect(plan.writes).toEqual([
      { kind: "lan", channel: 1, parameter: { parameter: "community", community: "public" } },
    ]);
  });

  it("turning PEF off writes control first; turning it on writes it after the tables", () => {
    const on = desiredState();
    const off = structuredClone(on);
    off.control.enable = false;
    off.filters[0] = { ...nth(off.filters, 0), severity: 0x08 };
    const first = (p: ReturnType<typeof planPef>) => p.writes.map((w) => w.parameter.parameter);
    expect(first(planPef(asBmcHolds(on), off, CAPACITY))).toEqual(["pefControl", "eventFilter"]);
    expect(first(planPef(asBmcHolds(off), on, CAPACITY))).toEqual(["eventFilter", "pefControl"]);
  });

  it("throws PefPlanError when the desired state does not fit", () => {
    const desired = desiredState();
    expect(() => planPef(asBmcHolds(desired), desired, { ...CAPACITY, destinations: 0 })).toThrow(
      /no LAN alert destinations \(LAN parameter 17 = 0/,
    );
    const err = (() => {
      try {
        planPef(asBmcHolds(desired), desired, { ...CAPACITY, filters: 2 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PefPlanError);
    expect(err).toMatchObject({ table: "filters", needed: 3, available: 2 });
    expect(() => planPef(asBmcHolds(desired), desired, { ...CAPACITY, policies: 0 })).toThrow(
      /enables alert policy entry 1, but the BMC serves 0/,
    );
    // Disabled entries past the capacity do not count.
    const withTail = desiredState();
    withTail.filters.push({ ...thresholdFilter(5), enabled: false });
    expect(() => planPef(asBmcHolds(desired), withTail, { ...CAPACITY, filters: 3 })).not.toThrow();
  });
});

describe("readPefState + planPef against the petgate simulator", () => {
  let sims: Awaited<ReturnType<typeof startSims>>;
  let client: IpmiClient;
  let execute: Execute;
  beforeAll(async () => {
    sims = await startSims();
    client = new IpmiClient({
      host: sims.host,
      port: sims.port,
      username: "admin",
      password: SIM_PASSWORD,
      keepAliveMs: 0,
    });
    execute = (c, r) => client.execute(c, r);
  });
  afterAll(async () => {
    await client.close();
    await sims.fleet.stop();
  });

  it("reads a fresh BMC: capacity 16/16/15, everything off", async () => {
    const { state, capacity } = await readPefState(execute, 1);
    expect(capacity).toEqual({ filters: 16, policies: 16, destinations: 15 });
    expect(state.control.enable).toBe(false);
    expect(state.filters.every((f) => !f.enabled)).toBe(true);
    expect(state.lan).toMatchObject({ channel: 1, community: "public" });
    expect(state.lan.destinations[0]).toMatchObject({ ip: "0.0.0.0", type: "pet" });
  });

  it("plans the full change set for the desired state", async () => {
    const { state, capacity } = await readPefState(execute, 1);
    const plan = planPef(state, desiredState(), capacity);
    // The simulator's community is already "public": no LAN 16 write.
    expect(plan.changes.map((c) => c.what)).toEqual([
      "destination 1 type",
      "destination 1 address",
      "filter 1",
      "filter 2",
      "filter 3",
      "policy entry 1",
      "PEF actions",
      "PEF control",
    ]);
    expect(plan.changes).toContainEqual({
      what: "filter 1",
      from: "disabled",
      to: expect.stringMatching(/^Temperature, any sensor, .*\(critical\) → alert, policy 1$/),
    });
    expect(plan.changes).toContainEqual({
      what: "destination 1 address",
      from: "0.0.0.0 (MAC 00:00:00:00:00:00, default gateway)",
      to: "127.0.0.1 (MAC 00:00:00:00:00:00, default gateway)",
    });
    expect(plan.changes).toContainEqual({
      what: "PEF control",
      from: "PEF off, event messages off, startup delay off, alert startup delay off",
      to: "PEF on, event messages off, startup delay off, alert startup delay off",
    });
    expect(plan.writes.map((w) => `${w.kind} ${w.parameter.parameter}`)).toEqual([
      "lan destinationType",
      "lan destinationAddress",
      "pef eventFilter",
      "pef eventFilter",
      "pef eventFilter",
      "pef alertPolicy",
      "pef actionGlobalControl",
      "pef pefControl",
    ]);
  });

  it("a BMC that advertises more filters than it serves: capacity = the first refused read", async () => {
    // Parameter 5 claims 20 filters; the simulator has 16 and answers C9h for filter 17.
    const lying: Execute = async (command, request) => {
      const res = await execute(command, request);
      const q = request as { selector?: number };
      if (command === (getPefConfigurationParameters as unknown) && q.selector === 5) {
        return { revision: 0x11, data: Buffer.from([20]) } as typeof res;
      }
      return res;
    };
    const { capacity, state } = await readPefState(lying, 1);
    expect(capacity.filters).toBe(16);
    expect(state.filters).toHaveLength(16);
  });
});

describe("readPefState against OpenIPMI ipmi_sim", () => {
  let sim: IpmiSim;
  let client: IpmiClient;
  beforeAll(async () => {
    sim = await startIpmiSim();
    client = sim.client();
  });
  afterAll(async () => {
    await client.close();
    sim.stop();
  });

  it("reads 15 filters and policies and no destinations (17 = 0, 18/19 → 80h), without failing", async () => {
    const { state, capacity } = await readPefState((c, r) => client.execute(c, r), 1);
    expect(capacity).toEqual({ filters: 15, policies: 15, destinations: 0 });
    expect(state.lan).toEqual({ channel: 1, community: "public", destinations: [] });
    expect(() => planPef(state, desiredState(), capacity)).toThrow(PefPlanError);
    expect(() => planPef(state, desiredState({ destinations: false }), capacity)).not.toThrow();
  });
});
