import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rawToValue } from "../../src/ipmi/sdr/conversion.js";
import { decodeSdr, encodeSdr, type FullSensorRecord, thresholdMasks } from "../../src/ipmi/sdr/records.js";
import { defaultSensorRepository, loadSensorRepository, SensorNumber } from "../../src/sim/default-sdr.js";

const full = (sensorNumber: number): FullSensorRecord => {
  const r = defaultSensorRepository().records.find(
    (x) => x.kind === "full" && x.sensorNumber === sensorNumber,
  );
  if (r?.kind !== "full") throw new Error(`no full record for sensor ${sensorNumber}`);
  return r;
};

describe("default SDR repository", () => {
  const { records, initialStates } = defaultSensorRepository();

  it("encodes every record and decodes it back unchanged", () => {
    for (const r of records) expect(decodeSdr(encodeSdr(r))).toEqual(r);
  });

  it("numbers records 1..N and gives every sensor its own number", () => {
    expect(records.map((r) => r.recordId)).toEqual(records.map((_, i) => i + 1));
    const numbers = records.flatMap((r) => ("sensorNumber" in r ? [r.sensorNumber] : []));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toHaveLength(18);
    expect(records[0]?.kind).toBe("mcDeviceLocator");
  });

  it("scales the rails: 12V at 0.06 V per count, raw 200 nominal, ±5/10/15 % thresholds", () => {
    const r12 = full(SensorNumber.Rail12V);
    expect(rawToValue(r12, 1)).toBe(0.06);
    expect(rawToValue(r12, r12.nominalReading)).toBe(12);
    expect(rawToValue(r12, r12.thresholds.ucr)).toBe(13.2);
    expect(rawToValue(r12, r12.thresholds.lnr)).toBe(10.2);
    expect(rawToValue(full(SensorNumber.Rail5V), 200)).toBe(5);
    expect(rawToValue(full(SensorNumber.Rail3V3), 200)).toBe(3.3);
  });

  it("has upper thresholds only on CPUs, lower only on fans, both on the inlet", () => {
    const readable = (n: number) => thresholdMasks(full(n)).readable;
    expect(readable(SensorNumber.Cpu1Temp)).toEqual({
      lnc: false,
      lcr: false,
      lnr: false,
      unc: true,
      ucr: true,
      unr: true,
    });
    expect(Object.values(readable(SensorNumber.InletTemp)).every(Boolean)).toBe(true);
    expect(readable(SensorNumber.Fan1)).toMatchObject({ lnc: true, lcr: true, lnr: true, unc: false });
    // Event masks: UNC/UCR/UNR going high = offsets 7, 9, 11.
    expect(thresholdMasks(full(SensorNumber.Cpu1Temp)).assertionEvents).toBe(0x0a80);
    expect(rawToValue(full(SensorNumber.InletTemp), full(SensorNumber.InletTemp).thresholds.lcr)).toBe(5);
    expect(rawToValue(full(SensorNumber.Fan1), full(SensorNumber.Fan1).nominalReading)).toBe(6000);
  });

  it("starts every threshold sensor inside its normal range, below UNC and above LNC", () => {
    for (const r of records) {
      if (r.kind !== "full") continue;
      const value = rawToValue(r, r.nominalReading) as number;
      const readable = thresholdMasks(r).readable;
      expect(value).toBeGreaterThanOrEqual(rawToValue(r, r.normalMinimum) as number);
      expect(value).toBeLessThanOrEqual(rawToValue(r, r.normalMaximum) as number);
      if (readable.unc) expect(value).toBeLessThan(rawToValue(r, r.thresholds.unc) as number);
      if (readable.lnc) expect(value).toBeGreaterThan(rawToValue(r, r.thresholds.lnc) as number);
    }
  });

  it("starts with the power supplies, CPU1 and drive 0 present", () => {
    expect(initialStates.get(SensorNumber.Psu1Status)).toBe(0x01);
    expect(initialStates.get(SensorNumber.Cpu1Status)).toBe(0x80);
    expect(initialStates.get(SensorNumber.DriveSlot0)).toBe(0x01);
  });

  it("hands out fresh objects on every call", () => {
    const a = defaultSensorRepository();
    (a.records[1] as FullSensorRecord).thresholds.ucr = 1;
    expect((defaultSensorRepository().records[1] as FullSensorRecord).thresholds.ucr).toBe(90);
  });

  it("loads a --sdr file of the same shape, and names what is wrong with a bad one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petgate-sdr-"));
    const good = join(dir, "sdr.json");
    writeFileSync(good, JSON.stringify({ records, initialStates: { [SensorNumber.Psu1Status]: 3 } }));
    const loaded = await loadSensorRepository(good);
    expect(loaded.records).toEqual(records);
    expect(loaded.initialStates.get(SensorNumber.Psu1Status)).toBe(3);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ records: [records[0], { kind: "nonsense" }] }));
    await expect(loadSensorRepository(bad)).rejects.toThrow(/record 1 has no supported "kind"/);
    writeFileSync(bad, JSON.stringify({ records: [records[0], records[0]] }));
    await expect(loadSensorRepository(bad)).rejects.toThrow(/record ID 1 appears twice/);
    rmSync(dir, { recursive: true });
  });
});
