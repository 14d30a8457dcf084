import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IpmiClient } from "../../src/ipmi/client/client.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { readPefParameter, setPefConfigurationParameters } from "../../src/ipmi/commands/sensor-event.js";
import { addSelEntry } from "../../src/ipmi/commands/storage.js";
import type { EventFilterEntry } from "../../src/ipmi/pef.js";
import { readSdrRepository, readSelEntries } from "../../src/ipmi/sdr/read.js";
import { readSensors } from "../../src/ipmi/sensors.js";
import { type IpmiSim, startIpmiSim } from "../support/ipmi-sim.js";
import { ALERT_POLICY_1, TEMPERATURE_FILTER } from "../support/pef-fixtures.js";

/** SDR, sensors, SEL and PEF read and written by petgate, checked against what ipmitool sees on ipmi_sim. */
let sim: IpmiSim;
let client: IpmiClient;
let execute: Execute;

beforeAll(async () => {
  sim = await startIpmiSim();
  client = sim.client();
  execute = (command, request) => client.execute(command, request);
});
afterAll(async () => {
  await client.close();
  sim.stop();
});

/** `a | b | c` table rows, cells trimmed. */
function rows(text: string): string[][] {
  return text
    .trim()
    .split("\n")
    .map((l) => l.split("|").map((c) => c.trim()));
}

const number = (cell: string | undefined) =>
  cell === undefined || cell === "na" || cell === "" ? undefined : Number(cell);

describe("sensors: petgate bmc sensors vs ipmitool sensor list", () => {
  it("reads the same names, values, units, status and thresholds", async () => {
    const sensors = await readSensors(execute, await readSdrRepository(execute));
    const listed = rows(await sim.ipmitool("sensor", "list"));
    expect(sensors.map((s) => s.name)).toEqual(listed.map((r) => r[0]));
    for (const s of sensors) {
      const [name, value, unit, status, lnr, lcr, lnc, unc, ucr, unr] =
        listed.find((r) => r[0] === s.name) ?? [];
      const where = `sensor ${name}`;
      if (s.eventReadingType === 0x01) {
        expect(s.value ?? undefined, where).toBe(number(value));
        expect(s.status === "ns" ? "na" : s.status, where).toBe(status);
        if (s.value !== null) expect(s.unit, where).toBe(unit);
        expect(s.thresholds, where).toEqual(
          Object.fromEntries(
            Object.entries({ lnr, lcr, lnc, unc, ucr, unr })
              .map(([k, v]) => [k, number(v)])
              .filter(([, v]) => v !== undefined),
          ),
        );
      } else {
        expect(unit, where).toBe("discrete");
        // ipmitool prints the discrete states as 0xSSSS (state bits 0-7 in the low byte, 8-14 high).
        expect(s.states, where).toBe(Number(value));
      }
    }
    expect(sensors.find((s) => s.name === "MBTemp")).toMatchObject({
      value: 96,
      unit: "degrees C",
      status: "ok",
      thresholds: { unc: 112, ucr: 144, unr: 160 },
    });
  });
});

describe("SEL: added by petgate, listed by ipmitool, read back by petgate", () => {
  it("round-trips a temperature event", async () => {
    const { recordId } = await client.execute(addSelEntry, {
      record: {
        kind: "system",
        recordId: 0,
        timestamp: 0x5f5e1000,
        generatorId: { id: 0x41, channel: 0, lun: 0 },
        evmRev: 0x04,
        sensorType: 0x01,
        sensorNumber: 0x30,
        eventDirection: "assertion",
        eventType: 0x01,
        eventData: [0x59, 0xa5, 0x90],
      },
    });
    const listed = rows(await sim.ipmitool("sel", "list"));
    const line = listed.find((r) => Number.parseInt(r[0] ?? "", 16) === recordId);
    expect(line?.slice(3)).toEqual(["Temperature #0x30", "Upper Critical going high", "Asserted"]);
    const back = (await readSelEntries(execute)).find((r) => r.recordId === recordId);
    expect(back).toMatchObject({
      kind: "system",
      sensorType: 0x01,
      sensorNumber: 0x30,
      eventType: 0x01,
      eventData: [0x59, 0xa5, 0x90],
      eventDirection: "assertion",
    });
  });
});

describe("PEF: filters and policy written by petgate, read by ipmitool pef", () => {
  const temperature = TEMPERATURE_FILTER;
  const intrusion: EventFilterEntry = {
    ...temperature,
    severity: 0x08,
    sensorType: 0x05,
    eventTrigger: 0x6f,
    eventData1OffsetMask: 0x0001,
  };
  const policy = ALERT_POLICY_1;

  it("writes two filters and policy 1, reads them back equal, and ipmitool lists the same", async () => {
    await client.execute(setPefConfigurationParameters, {
      parameter: "eventFilter",
      filterNumber: 1,
      entry: temperature,
    });
    await client.execute(setPefConfigurationParameters, {
      parameter: "eventFilter",
      filterNumber: 2,
      entry: intrusion,
    });
    await client.execute(setPefConfigurationParameters, {
      parameter: "alertPolicy",
      entryNumber: 1,
      entry: policy,
    });

    expect(await readPefParameter(execute, 6, 1)).toEqual({
      parameter: "eventFilter",
      filterNumber: 1,
      entry: temperature,
    });
    expect(await readPefParameter(execute, 6, 2)).toEqual({
      parameter: "eventFilter",
      filterNumber: 2,
      entry: intrusion,
    });
    expect(await readPefParameter(execute, 9, 1)).toEqual({
      parameter: "alertPolicy",
      entryNumber: 1,
      entry: policy,
    });

    // ipmitool fails on filter 16 (ipmi_sim advertises 16, serves 15) after printing the rest.
    const filters = rows(
      await sim.ipmitool("pef", "filter", "list").catch((e: { stdout: string }) => e.stdout),
    );
    expect(filters[0]).toEqual([
      "1",
      "enabled, configurable",
      "Temperature",
      "Any",
      "Critical",
      "Threshold",
      expect.any(String),
      "Alert",
      "1",
    ]);
    // ipmitool's words: sensor type 05h is "Chassis Intrusion", severity 08h "Warning".
    expect(filters[1]?.slice(0, 6)).toEqual([
      "2",
      "enabled, configurable",
      "Chassis Intrusion",
      "Any",
      "Warning",
      "Discrete",
    ]);
    expect(filters[1]?.slice(-2)).toEqual(["Alert", "1"]);
    const policies = rows(
      await sim.ipmitool("pef", "policy", "list").catch((e: { stdout: string }) => e.stdout),
    );
    expect(policies.find((r) => r[0] === "1")?.slice(0, 5)).toEqual([
      "1",
      "1",
      "enabled",
      "Match-always",
      "1",
    ]);
  });
});
