import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GET_CHANNEL_AUTH_CAPABILITIES,
  keyValues,
  startSims,
  tableRows,
  udpExchange,
} from "../support/sim.js";

/** The default SDR's sensors as `ipmitool sdr list` shows them; those with a unit are threshold sensors. */
const SENSORS: [name: string, reading: RegExp][] = [
  ["CPU1 Temp", /^45 degrees C$/],
  ["CPU2 Temp", /^45 degrees C$/],
  ["Inlet Temp", /^23 degrees C$/],
  ["12V", /^12 Volts$/],
  ["5V", /^5 Volts$/],
  ["3.3V", /^3\.30 Volts$/],
  ["FAN1", /^6000 RPM$/],
  ["FAN2", /^6000 RPM$/],
  ["FAN3", /^6000 RPM$/],
  ["FAN4", /^6000 RPM$/],
  ["PSU1 Status", /^0x[0-9a-f]{2}$/],
  ["PSU2 Status", /^0x[0-9a-f]{2}$/],
  ["Memory ECC", /^0x[0-9a-f]{2}$/],
  ["Intrusion", /^0x[0-9a-f]{2}$/],
  ["CPU1 Status", /^0x[0-9a-f]{2}$/],
  ["Drive Slot 0", /^0x[0-9a-f]{2}$/],
];

/** A `sensor list` threshold cell: a number, or "na" when the SDR gives none. */
const threshold = (cell: string | undefined) => (cell === "na" ? undefined : Number(cell));

describe.each(["3", "17"])("ipmitool -I lanplus -C %s against the simulator", (suite) => {
  let sims: Awaited<ReturnType<typeof startSims>>;
  const ipmitool = (...args: string[]) => sims.ipmitool(suite, ...args);

  beforeAll(async () => {
    sims = await startSims({ rebootMs: 300 });
  });
  afterAll(() => sims.fleet.stop());

  it("mc info: an Intel (343) BMC speaking IPMI 2.0", async () => {
    const info = keyValues(await ipmitool("mc", "info"));
    expect(info.get("Manufacturer ID")).toBe("343");
    expect(info.get("Manufacturer Name")).toBe("Intel Corporation");
    expect(info.get("IPMI Version")).toBe("2.0");
    expect(info.get("Device Available")).toBe("yes");
    expect(info.get("Provides Device SDRs")).toBe("yes");
  });

  it("chassis status: powered on, no faults", async () => {
    const status = keyValues(await ipmitool("chassis", "status"));
    expect(status.get("System Power")).toBe("on");
    expect(status.get("Main Power Fault")).toBe("false");
    expect(status.get("Chassis Intrusion")).toBe("inactive");
    expect(status.get("Cooling/Fan Fault")).toBe("false");
  });

  it("sdr list: every default sensor, threshold sensors reading ok", async () => {
    const rows = tableRows(await ipmitool("sdr", "list"));
    expect(rows.map((r) => r[0])).toEqual(SENSORS.map(([name]) => name));
    for (const [name, reading] of SENSORS) {
      const [, value, status] = rows.find((r) => r[0] === name) ?? [];
      expect(value, name).toMatch(reading);
      expect(status, name).toBe("ok");
    }
  });

  it("sensor list: readings and thresholds parse as numbers", async () => {
    const rows = tableRows(await ipmitool("sensor", "list"));
    expect(rows.map((r) => r[0])).toEqual(SENSORS.map(([name]) => name));
    const analog = rows.filter((r) => r[2] !== "discrete");
    expect(analog.map((r) => r[0])).toEqual(SENSORS.slice(0, 10).map(([name]) => name));
    for (const [name, value, unit, status, ...thresholds] of analog) {
      expect(Number.isFinite(Number(value)), `${name} ${value}`).toBe(true);
      expect(unit, name).toMatch(/^(degrees C|Volts|RPM)$/);
      expect(status, name).toBe("ok");
      expect(thresholds, name).toHaveLength(6);
      const numbers = thresholds.map(threshold).filter((t) => t !== undefined);
      expect(numbers.length, name).toBeGreaterThan(0);
      for (const t of numbers) expect(Number.isFinite(t), `${name} threshold ${t}`).toBe(true);
      // Thresholds ascend: lnr < lcr < lnc < value < unc < ucr < unr (those present).
      const ordered = [...thresholds.slice(0, 3), value, ...thresholds.slice(3)]
        .map(threshold)
        .filter((t) => t !== undefined);
      expect(ordered, name).toEqual([...ordered].sort((a, b) => a - b));
    }
    expect(rows.find((r) => r[0] === "CPU1 Temp")?.slice(1)).toEqual([
      "45.000",
      "degrees C",
      "ok",
      "na",
      "na",
      "na",
      "85.000",
      "90.000",
      "95.000",
    ]);
    for (const row of rows.filter((r) => r[2] === "discrete"))
      expect(row[1], row[0]).toMatch(/^0x[0-9a-f]+$/);
  });

  it("event 1, 2, 3 each land in sel list with ipmitool's text for them", async () => {
    const before = new Set(tableRows(await ipmitool("sel", "list").catch(() => "")).map((r) => r[0]));
    for (const n of ["1", "2", "3"]) await ipmitool("event", n);
    const added = tableRows(await ipmitool("sel", "list")).filter((r) => !before.has(r[0]));
    expect(added.map((r) => r.slice(3))).toEqual([
      ["Temperature #0x30", "Upper Critical going high", "Asserted"],
      ["Voltage #0x60", "Lower Critical going low", "Asserted"],
      ["Memory #0x53", "Correctable ECC", "Asserted"],
    ]);
    // Record IDs count up and the BMC stamped them with a real date.
    const ids = added.map((r) => Number.parseInt(r[0] ?? "", 16));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const r of added) expect(r[1]).toMatch(/^\d\d\/\d\d\/\d\d$/);
  });

  it("pef info and pef status", async () => {
    const [info] = tableRows(await ipmitool("pef", "info"));
    // Version 0x51 (PEF 1.5), 16 filters, 16 policy entries, the GUID, the actions supported.
    expect(info?.[0]).toBe("0x51");
    expect(info?.slice(1, 3)).toEqual(["16", "16"]);
    expect(info?.[3]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(info?.[4]?.split(",")).toContain("Alert");
    const [status] = tableRows(await ipmitool("pef", "status"));
    // Last SEL addition, then last record IDs processed by software and by the BMC.
    expect(status?.[0]).toMatch(/^\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d/);
    for (const id of status?.slice(1) ?? []) expect(id).toMatch(/^0x[0-9a-f]{4}$/);
    expect(status).toHaveLength(4);
  });

  it("pef filter list and pef policy list: 16 entries each, configurable and disabled", async () => {
    const filters = tableRows(await ipmitool("pef", "filter", "list"));
    expect(filters.map((r) => r[0])).toEqual(Array.from({ length: 16 }, (_, i) => String(i + 1)));
    for (const f of filters) expect(f[1]).toBe("disabled, configurable");
    const policies = tableRows(await ipmitool("pef", "policy", "list"));
    expect(policies.map((r) => r[0])).toEqual(Array.from({ length: 16 }, (_, i) => String(i + 1)));
    for (const p of policies) expect(p[2]).toBe("disabled");
  });

  it("lan print 1: the simulator's own address and community public", async () => {
    const lan = keyValues(await ipmitool("lan", "print", "1"));
    expect(lan.get("IP Address")).toBe(sims.host);
    expect(lan.get("SNMP Community String")).toBe("public");
    expect(lan.get("IP Address Source")).toBe("Static Address");
    expect(lan.get("RMCP+ Cipher Suites")?.split(",")).toContain(suite);
  });

  it("lan alert print lists destinations 0-15; lan alert set 1 1 ipaddr shows in lan alert print 1 1", async () => {
    const all = await ipmitool("lan", "alert", "print");
    const selectors = [...all.matchAll(/^Alert Destination\s+: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(selectors).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(keyValues(all).get("Destination Type")).toBe("PET Trap");

    const ip = `127.0.0.${suite}`;
    expect(await ipmitool("lan", "alert", "set", "1", "1", "ipaddr", ip)).toContain(
      `Setting LAN Alert 1 IP Address to ${ip}`,
    );
    const one = keyValues(await ipmitool("lan", "alert", "print", "1", "1"));
    expect(one.get("Alert Destination")).toBe("1");
    expect(one.get("Alert IP Address")).toBe(ip);
  });

  it("mc reset cold: silent while it reboots, then answers mc info again", async () => {
    const resets = sims.fleet.counters().coldResets;
    expect(await ipmitool("mc", "reset", "cold")).toContain("Sent cold reset command to MC");
    expect(sims.fleet.counters().coldResets).toBe(resets + 1);
    const rebootingUntil = sims.sim?.server.faults.rebootingUntil ?? 0;

    // A session-less probe handled before rebootingUntil gets no answer (it is counted, not served).
    const datagrams = sims.fleet.counters().datagrams;
    let handledAt = Number.POSITIVE_INFINITY;
    const replies = await udpExchange(sims.host, sims.port, GET_CHANNEL_AUTH_CAPABILITIES, async () => {
      while (sims.fleet.counters().datagrams === datagrams) await sleep(1);
      handledAt = Date.now();
      await sleep(Math.max(0, rebootingUntil - Date.now()) + 50);
    });
    if (handledAt < rebootingUntil) expect(replies).toEqual([]);

    // Then it comes back: retry until mc info answers (ipmitool itself retries too).
    let info = "";
    for (let attempt = 0; attempt < 10 && !info; attempt++)
      info = await ipmitool("mc", "info").catch(() => "");
    expect(keyValues(info).get("Manufacturer ID")).toBe("343");
  });
});
