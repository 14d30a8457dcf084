import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyValues, startSims, tableRows } from "../support/sim.js";

/** FreeIPMI's tools (suite 17, no workaround flags) against the simulator. */
let sims: Awaited<ReturnType<typeof startSims>>;
let cacheDir: string;
const cache = () => ["--sdr-cache-directory", cacheDir, "--quiet-cache"];

beforeAll(async () => {
  sims = await startSims();
  // FreeIPMI refuses an SDR cache directory others can write to.
  cacheDir = mkdtempSync(join(tmpdir(), "petgate-freeipmi-"));
  chmodSync(cacheDir, 0o700);
});
afterAll(async () => {
  await sims.fleet.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** `Section NAME … EndSection` blocks of ipmi-pef-config --checkout, keys and values by section. */
function sections(text: string): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    const section = /^Section (\S+)$/.exec(line);
    if (section?.[1]) {
      current = new Map();
      result.set(section[1], current);
    } else if (line === "EndSection") current = undefined;
    else {
      const kv = /^\s+([A-Za-z0-9_]+)\s+(.*?)\s*$/.exec(line);
      if (current && kv?.[1] && !line.trimStart().startsWith("#")) current.set(kv[1], kv[2] ?? "");
    }
  }
  return result;
}

describe("FreeIPMI against the simulator", () => {
  it("bmc-info: Intel (343), IPMI 2.0, SDR/SEL/sensor device", async () => {
    const info = keyValues(await sims.freeipmi("bmc-info"));
    expect(info.get("Manufacturer ID")).toBe("Intel Corporation (343)");
    expect(info.get("IPMI Version")).toBe("2.0");
    expect(info.get("Sensor Device")).toBe("supported");
    expect(info.get("SDR Repository Device")).toBe("supported");
    expect(info.get("SEL Device")).toBe("supported");
    expect(info.get("System GUID")).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
  });

  it("ipmi-sensors: names, types, readings and states", async () => {
    const [header, ...rows] = tableRows(await sims.freeipmi("ipmi-sensors", ...cache()));
    expect(header).toEqual(["ID", "Name", "Type", "Reading", "Units", "Event"]);
    const byName = new Map(rows.map((r) => [r[1], r]));
    expect([...byName.keys()]).toEqual([
      "CPU1 Temp",
      "CPU2 Temp",
      "Inlet Temp",
      "12V",
      "5V",
      "3.3V",
      "FAN1",
      "FAN2",
      "FAN3",
      "FAN4",
      "PSU1 Status",
      "PSU2 Status",
      "Memory ECC",
      "Intrusion",
      "CPU1 Status",
      "Drive Slot 0",
    ]);
    expect(byName.get("CPU1 Temp")?.slice(2)).toEqual(["Temperature", "45.00", "C", "'OK'"]);
    expect(byName.get("Inlet Temp")?.slice(2)).toEqual(["Temperature", "23.00", "C", "'OK'"]);
    expect(byName.get("12V")?.slice(2)).toEqual(["Voltage", "12.00", "V", "'OK'"]);
    expect(byName.get("3.3V")?.slice(2)).toEqual(["Voltage", "3.30", "V", "'OK'"]);
    expect(byName.get("FAN4")?.slice(2)).toEqual(["Fan", "6000.00", "RPM", "'OK'"]);
    expect(byName.get("PSU1 Status")?.slice(2)).toEqual([
      "Power Supply",
      "N/A",
      "N/A",
      "'Presence detected'",
    ]);
    expect(byName.get("Intrusion")?.slice(2)).toEqual(["Physical Security", "N/A", "N/A", "'OK'"]);
    expect(byName.get("CPU1 Status")?.slice(2)).toEqual([
      "Processor",
      "N/A",
      "N/A",
      "'Processor Presence detected'",
    ]);
    expect(byName.get("Drive Slot 0")?.slice(2)).toEqual(["Drive Slot", "N/A", "N/A", "'Drive Presence'"]);
  });

  it("ipmi-sel: an event added with ipmitool, as FreeIPMI words it", async () => {
    await sims.ipmitool("17", "event", "1");
    await sims.ipmitool("17", "event", "3");
    const [header, ...rows] = tableRows(await sims.freeipmi("ipmi-sel", ...cache(), "-v"));
    expect(header).toEqual(["ID", "Date", "Time", "Name", "Type", "Event Direction", "Event"]);
    expect(rows.slice(-2).map((r) => r.slice(3))).toEqual([
      ["Sensor #48", "Temperature", "Assertion Event", "Upper Critical - going high"],
      ["Sensor #83", "Memory", "Assertion Event", "Correctable memory error"],
    ]);
    for (const r of rows) expect(r[1]).toMatch(/^[A-Z][a-z]{2}-\d\d-\d{4}$/);
  });

  it("ipmi-pef-config --checkout: PEF_Conf, community, destinations, alert policies, event filters", async () => {
    const conf = sections(await sims.freeipmi("ipmi-pef-config", "--checkout"));
    expect(conf.get("PEF_Conf")?.get("Enable_PEF")).toBe("No");
    expect(conf.get("PEF_Conf")?.get("Enable_Alert_Action")).toBe("No");
    expect(conf.get("Community_String")?.get("Community_String")).toBe("public");
    for (let i = 1; i <= 16; i++) {
      expect(conf.get(`Event_Filter_${i}`)?.get("Filter_Type"), `filter ${i}`).toBe("Software_Configurable");
      expect(conf.get(`Event_Filter_${i}`)?.get("Enable_Filter"), `filter ${i}`).toBe("No");
      expect(conf.has(`Alert_Policy_${i}`), `policy ${i}`).toBe(true);
    }
    expect(conf.has("Event_Filter_17")).toBe(false);
    for (let i = 0; i <= 15; i++)
      expect(conf.has(`Lan_Alert_Destination_${i}`), `destination ${i}`).toBe(true);
  });

  it("ipmi-pef-config --commit of Enable_PEF and Enable_Alert_Action, then --checkout shows them", async () => {
    await sims.freeipmi(
      "ipmi-pef-config",
      "--commit",
      "-e",
      "PEF_Conf:Enable_PEF=Yes",
      "-e",
      "PEF_Conf:Enable_Alert_Action=Yes",
    );
    const conf = sections(await sims.freeipmi("ipmi-pef-config", "--checkout", "-S", "PEF_Conf"));
    expect([...conf.keys()]).toEqual(["PEF_Conf"]);
    expect(conf.get("PEF_Conf")?.get("Enable_PEF")).toBe("Yes");
    expect(conf.get("PEF_Conf")?.get("Enable_Alert_Action")).toBe("Yes");
    expect(conf.get("PEF_Conf")?.get("Enable_Reset_Action")).toBe("No");
    // ipmitool reads the same from the BMC.
    const status = keyValues(await sims.ipmitool("17", "-v", "pef", "status"));
    expect(status.get("PEF")).toBe("enabled");
    expect(status.get("Alert")).toBe("active");
    expect(status.get("Reset")).toBe("inactive");
  });
});
