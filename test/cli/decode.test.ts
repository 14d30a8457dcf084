import { describe, expect, it } from "vitest";
import { DELL_CHASSIS_INTRUSION } from "../pet/vectors.js";
import { petgate } from "../support/cli.js";

const DELL_BYTES = DELL_CHASSIS_INTRUSION.hex.match(/../g)?.map((b) => `0x${b.toUpperCase()}`) ?? [];

describe("petgate decode", () => {
  it("prints one human line for a PET given as ipmi-pet's byte arguments", async () => {
    const r = await petgate(["decode", "356224", ...DELL_BYTES]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toContain("2011-10-10T20:50:46 (BMC local) OK Physical Security sensor #115");
    expect(r.stdout).toContain("General Chassis Intrusion");
    expect(r.stdout).toContain("(deassertion)");
    expect(r.stdout).toContain("Dell Inc.");
  });

  it("prints the documented JSON fields for a PET given as one hex string", async () => {
    const r = await petgate(["decode", "--json", "356224", DELL_CHASSIS_INTRUSION.hex]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      specificTrap: 356224,
      sensorType: 5,
      sensorTypeName: "Physical Security",
      eventReadingType: 0x6f,
      eventOffset: 0,
      eventDirection: "deassertion",
      event: "General Chassis Intrusion",
      severity: "ok",
      guid: "44454c4c-5000-1059-8043-b2c04f333358",
      sequence: 2,
      time: "2011-10-10T20:50:46",
      utcOffsetMinutes: null,
      sensorNumber: 115,
      entityId: 0x18,
      entityName: expect.any(String),
      entityInstance: 0,
      eventData: "8001ff0000000000",
      manufacturerId: 674,
      manufacturerName: "Dell Inc.",
      systemId: 256,
    });
  });

  it("decodes a PET with a severity byte outside PET 1.0 Table 3-2 (exit 0), naming the byte", async () => {
    const severity40 = DELL_CHASSIS_INTRUSION.hex.replace("202004207318", "202040207318");
    const r = await petgate(["decode", "356224", severity40]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("UNKNOWN SEVERITY 40h Physical Security sensor #115");
    expect(r.stdout).toContain("General Chassis Intrusion");
    const json = await petgate(["decode", "--json", "356224", severity40]);
    expect(JSON.parse(json.stdout)).toMatchObject({ severity: "unknown", severityRaw: 0x40 });
  });

  it("exits 1 with a one-line reason on malformed input", async () => {
    const r = await petgate(["decode", "356224", "0x44", "0x45"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "petgate decode: PET varbind is 2 byte(s); at least 47 are required (46 fixed + 0xC1)\n",
    );
    const bad = await petgate(["decode", "abc", DELL_CHASSIS_INTRUSION.hex]);
    expect(bad.stderr).toMatch(/specific trap "abc" is neither a number nor NA/);
  });

  it("decodes a file of traps, one per line; a bad line gives an error object and the rest decode", async () => {
    const lines = [
      `356224 ${DELL_BYTES.join(" ")}`,
      "# a comment line",
      "65801 0x00 0x01",
      `NA ${DELL_CHASSIS_INTRUSION.hex}`,
    ].join("\n");
    const r = await petgate(["decode", "--json"], lines);
    expect(r.code).toBe(1);
    const out = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ event: "General Chassis Intrusion" });
    expect(out[1]).toEqual({
      error: { code: "too-short", message: expect.stringMatching(/2 byte/), line: 2 },
    });
    expect(out[2]).toMatchObject({
      specificTrap: null,
      eventDirection: "assertion",
      guid: expect.any(String),
    });
  });
});
