import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import type { PefParameter } from "../../src/ipmi/pef.js";
import {
  applyPlan,
  PefApplyError,
  pefSetInProgress,
  provision,
  verifyPefState,
} from "../../src/pef/apply.js";
import { PefPlanError, planPef } from "../../src/pef/plan.js";
import { readPefState } from "../../src/pef/read.js";
import type { BmcSimulator } from "../../src/sim/simulator.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { keyValues, SIM_PASSWORD, startSims, tableRows } from "../support/sim.js";
import { counting, desiredState, failing } from "./desired.js";

type Sims = Awaited<ReturnType<typeof startSims>>;

const SET_PEF = "Set PEF Configuration Parameters";
const SET_LAN = "Set LAN Configuration Parameters";
const param = (request: unknown) => (request as PefParameter).parameter;
const lanParam = (request: unknown) => (request as { parameter: { parameter: string } }).parameter.parameter;

/** What a simulated BMC runs on (committed PEF and LAN), and whether a set is left in progress. */
function committed(sim: BmcSimulator) {
  return {
    pef: structuredClone(sim.state.pef.committed),
    destinations: structuredClone(sim.state.lan.committed.destinations.slice(1)),
    community: sim.state.lan.committed.community,
    inProgress: { pef: sim.state.pef.inProgress, lan: sim.state.lan.inProgress },
  };
}

describe("provisioning the petgate simulator", () => {
  let sims: Sims;
  const clients: IpmiClient[] = [];
  /** An Execute on BMC `i` of the fleet. */
  const executeOn = (i: number): Execute => {
    const address = sims.fleet.simulators[i]?.address;
    if (!address) throw new Error(`no BMC ${i}`);
    const client = new IpmiClient({
      host: address.host,
      port: address.port,
      username: "admin",
      password: SIM_PASSWORD,
      keepAliveMs: 0,
    });
    clients.push(client);
    return (c, r) => client.execute(c, r);
  };
  const bmc = (i: number) => sims.fleet.simulators[i] as BmcSimulator;

  beforeAll(async () => {
    sims = await startSims({ count: 5 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sims.fleet.stop();
  });

  it("applies the plan, after which the plan is empty", async () => {
    const execute = executeOn(0);
    const result = await provision(execute, desiredState(), 1);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("changed");
    expect(result.plan.writes).toHaveLength(8);
    expect(await verifyPefState(execute, desiredState(), 1)).toEqual({ changes: [], writes: [] });
    expect(committed(bmc(0)).inProgress).toEqual({ pef: false, lan: false });
  });

  it("a second provision changes nothing: the BMC sees exactly the reads", async () => {
    const { execute, calls } = counting(executeOn(0));
    await readPefState(execute, 1); // open the session first: its set-up is not part of the count
    calls.length = 0;
    const before = sims.fleet.counters().requests;
    const result = await provision(execute, desiredState(), 1);
    expect(result).toEqual({ status: "unchanged", plan: { changes: [], writes: [] } });
    expect(calls.filter((c) => c.startsWith("Set "))).toEqual([]);
    // Capabilities, PEF 1, 2, 5, 16 × 6, 8, 16 × 9; LAN 16, 17, 15 × (18, 19).
    expect(calls).toHaveLength(1 + 3 + 16 + 1 + 16 + 2 + 30);
    expect(sims.fleet.counters().requests - before).toBe(calls.length);
  });

  it("ipmitool reads back what was written (pef filter list, lan alert print)", async () => {
    const filters = tableRows(await sims.ipmitool("17", "pef", "filter", "list"));
    const threshold = "(0x01/0x0a95),<LNC,<LC,<LNR,<UNC,<UC,<UNR";
    expect(filters.slice(0, 3)).toEqual(
      ["Temperature", "Voltage", "Fan"].map((type, i) => [
        String(i + 1),
        "enabled, configurable",
        type,
        "Any",
        "Critical",
        "Threshold",
        threshold,
        "Alert",
        "1",
      ]),
    );
    expect(filters.slice(3).map((r) => r[1])).toEqual(Array(13).fill("disabled, configurable"));
    const text = await sims.ipmitool("17", "lan", "alert", "print", "1", "1");
    const alert = keyValues(text);
    expect(alert.get("Alert IP Address")).toBe("127.0.0.1");
    expect(alert.get("Destination Type")).toBe("PET Trap");
    expect(alert.get("Alert Acknowledge")).toBe("Unacknowledged");
    expect(alert.get("Retry Interval")).toBe("1");
    expect(alert.get("Number of Retries")).toBe("0");
  });

  it("drift: a filter changed by ipmitool shows as exactly that filter, and provision repairs it", async () => {
    const execute = executeOn(0);
    // Filter 2 → severity 08h (non-critical), sensor type 04h (fan) instead of voltage.
    const filter = "0x80 0x01 0x01 0x08 0xff 0xff 0x04 0xff 0x01 0x95 0x0a".split(" ");
    await sims.ipmitool("17", "raw", "0x04", "0x12", "0x06", "0x02", ...filter, ...Array(9).fill("0x00"));
    const plan = await verifyPefState(execute, desiredState(), 1);
    expect(plan.changes).toEqual([
      {
        what: "filter 2",
        from: expect.stringMatching(/^Fan, any sensor, .*\(non-critical\) → alert, policy 1$/),
        to: expect.stringMatching(/^Voltage, any sensor, .*\(critical\) → alert, policy 1$/),
      },
    ]);
    expect(plan.writes).toHaveLength(1);
    const result = await provision(execute, desiredState(), 1);
    expect(result.status).toBe("changed");
    expect(result.plan.changes.map((c) => c.what)).toEqual(["filter 2"]);
  });

  it("dry run plans but writes nothing", async () => {
    const { execute, calls } = counting(executeOn(1));
    const result = await provision(execute, desiredState(), 1, { dryRun: true });
    expect(result.status).toBe("changed");
    expect(result.plan.writes).toHaveLength(8);
    expect(calls.filter((c) => c.startsWith("Set "))).toEqual([]);
    // The desired state may depend on the BMC's table sizes.
    const sizes: unknown[] = [];
    const fromCapacity = await provision(
      execute,
      (capacity) => {
        sizes.push(capacity);
        return desiredState();
      },
      1,
      { dryRun: true },
    );
    expect(sizes).toEqual([{ filters: 16, policies: 16, destinations: 15 }]);
    expect(fromCapacity.plan).toEqual(result.plan);
  });

  it("a write failing mid-apply is rolled back: the committed PEF and LAN are unchanged", async () => {
    const sim = bmc(1);
    const before = committed(sim);
    let filters = 0;
    const { execute, sent } = failing(executeOn(1), (name, request) =>
      name === SET_PEF && param(request) === "eventFilter" && ++filters === 2 ? 0xcc : undefined,
    );
    const err = await applyPlan(execute, planPef(...(await readAndPlan(execute))), 1).catch((e) => e);
    expect(err).toBeInstanceOf(PefApplyError);
    expect(err).toMatchObject({
      step: "write PEF parameter 6 (filter 2)",
      code: 0xcc,
      codeName: "Invalid data field in request",
      rolledBack: true,
    });
    expect(err.message).toMatch(
      /filter 2\): completion code CCh \(Invalid data field in request\); the BMC was rolled back/,
    );
    // LAN and PEF were both in progress, written in part, then set complete (00b) without a commit.
    expect(sent.filter((n) => n.startsWith("Set"))).toHaveLength(2 + 2 + 1 + 2);
    expect(committed(sim)).toEqual(before);
    expect(await pefSetInProgress(execute)).toBe("complete");
  });

  it("PEF failing after LAN was committed: LAN's previous values are written back", async () => {
    const sim = bmc(2);
    const before = committed(sim);
    const { execute } = failing(executeOn(2), (name, request) =>
      name === SET_PEF &&
      param(request) === "setInProgress" &&
      (request as { state: string }).state === "commitWrite"
        ? 0xff
        : undefined,
    );
    const [state, desired, capacity] = await readAndPlan(execute);
    const err = await applyPlan(execute, planPef(state, desired, capacity), 1, { before: state }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ step: "commit PEF (parameter 0 = 10b)", code: 0xff, rolledBack: true });
    expect(committed(sim)).toEqual(before);
  });

  it("a BMC without set-in-progress (80h): writes apply at once, and a failure restores what was read", async () => {
    const sim = bmc(3);
    const before = committed(sim);
    let filters = 0;
    const { execute } = failing(executeOn(3), (name, request) => {
      if (name === SET_PEF && param(request) === "setInProgress") return 0x80;
      if (name === SET_LAN && lanParam(request) === "setInProgress") return 0x80;
      if (name === SET_PEF && param(request) === "eventFilter" && ++filters === 3) return 0xc3;
      return undefined;
    });
    // Without `before`, applyPlan reads each parameter before writing it.
    const err = await applyPlan(execute, planPef(...(await readAndPlan(execute))), 1).catch((e) => e);
    expect(err).toMatchObject({ step: "write PEF parameter 6 (filter 3)", code: 0xc3, rolledBack: true });
    expect(committed(sim)).toEqual(before);

    // Unbroken, the same BMC is provisioned write by write.
    filters = -100;
    const result = await provision(execute, desiredState(), 1);
    expect(result).toMatchObject({ status: "changed" });
    expect(sim.state.pef.committed.eventFilters.filter((f) => f.enabled)).toHaveLength(3);
  });

  it("another session's set in progress (81h) fails without touching it", async () => {
    const sim = bmc(4);
    sim.state.pef.setInProgress("inProgress");
    sim.state.pef.current.control.eventMessages = true; // someone else's staged change
    const result = await provision(executeOn(4), desiredState(), 1);
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(
      /begin PEF set \(parameter 0 = 01b\): completion code 81h .*'set in progress'/,
    );
    expect(sim.state.pef.inProgress).toBe(true);
    expect(sim.state.pef.current.control.eventMessages).toBe(true);
    expect(sim.state.lan.inProgress).toBe(false); // LAN's set was opened first and rolled back
    expect(sim.state.lan.committed.destinations[1]?.ip).toBe("0.0.0.0");
    sim.state.pef.setInProgress("complete");
  });

  it("a hung BMC: provision reports failed, never throws", async () => {
    const client = new IpmiClient({
      host: bmc(4).address.host,
      port: bmc(4).address.port,
      username: "admin",
      password: SIM_PASSWORD,
      keepAliveMs: 0,
      attemptTimeoutMs: 100,
      deadlineMs: 300,
    });
    clients.push(client);
    bmc(4).setFaults({ hang: true });
    try {
      const result = await provision((c, r) => client.execute(c, r), desiredState(), 1);
      expect(result.status).toBe("failed");
      expect(result.error).toMatch(/^reading the BMC's PEF configuration: /);
    } finally {
      bmc(4).setFaults({ hang: false });
    }
  });
});

async function readAndPlan(execute: Execute) {
  const { state, capacity } = await readPefState(execute, 1);
  return [state, desiredState(), capacity] as const;
}

describe("provisioning OpenIPMI ipmi_sim (PEF only)", () => {
  let sim: IpmiSim;
  let client: IpmiClient;
  let execute: Execute;
  beforeAll(async () => {
    sim = await startIpmiSim();
    client = sim.client();
    execute = (c, r) => client.execute(c, r);
  });
  afterAll(async () => {
    await client.close();
    sim.stop();
  });

  it("a desired destination: PefPlanError saying the BMC has none", async () => {
    const { state, capacity } = await readPefState(execute, 1);
    expect(() => planPef(state, desiredState(), capacity)).toThrow(PefPlanError);
    const result = await provision(execute, desiredState(), 1);
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/no LAN alert destinations \(LAN parameter 17 = 0.*ipmi_sim/);
  });

  it("a write failing mid-apply is rolled back by set complete without commit", async () => {
    let filters = 0;
    const failingExecute = failing(execute, (name, request) =>
      name === SET_PEF && param(request) === "eventFilter" && ++filters === 3 ? 0xcc : undefined,
    ).execute;
    const { state, capacity } = await readPefState(execute, 1);
    const plan = planPef(state, desiredState({ destinations: false }), capacity);
    await expect(applyPlan(failingExecute, plan, 1)).rejects.toMatchObject({ rolledBack: true });
    expect((await readPefState(execute, 1)).state).toEqual(state);
    expect(await sim.ipmitool("raw", "0x04", "0x13", "0x06", "0x01", "0x00")).toMatch(/^ 11 01 00 00/);
  });

  it("filters and policies apply and verify when the desired state has no destinations", async () => {
    const desired = desiredState({ destinations: false });
    const result = await provision(execute, desired, 1);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("changed");
    expect(result.plan.changes.map((c) => c.what)).toEqual([
      "filter 1",
      "filter 2",
      "filter 3",
      "policy entry 1",
      "PEF actions",
      "PEF control",
    ]);
    expect(await verifyPefState(execute, desired, 1)).toEqual({ changes: [], writes: [] });
    expect(await provision(execute, desired, 1)).toMatchObject({ status: "unchanged" });
    // ipmitool sees filter 1 as petgate wrote it (PEF parameter 6 = 80 01 01 10 ff ff 01 ff 01 95 0a …).
    expect(
      (await sim.ipmitool("raw", "0x04", "0x13", "0x06", "0x01", "0x00")).replace(/\s+/g, " ").trim(),
    ).toBe("11 01 80 01 01 10 ff ff 01 ff 01 95 0a 00 00 00 00 00 00 00 00 00");
  });
});
