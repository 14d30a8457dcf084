import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePet, type PetEvent, type SensorLookup } from "../../src/pet/event.js";
import { parsePetInput } from "../../src/pet/input.js";

/**
 * Agreement with FreeIPMI `ipmi-pet` (fixtures made by scripts/gen-pet-fixtures.mjs against an
 * OpenIPMI ipmi_sim SDR cache, TZ=UTC). Where petgate follows the spec and FreeIPMI does not, the
 * difference is asserted exactly, not skipped.
 */
interface GoldenCase {
  name: string;
  specificTrap: string;
  hex: string;
  freeipmi:
    | { error: string; exitCode: number }
    | {
        line: string;
        fields: Record<string, string>;
        event: { text: string; details: string[]; oemCustom?: string[] };
        debug?: string[];
      };
}

const golden: { cases: GoldenCase[] } = JSON.parse(
  readFileSync(new URL("../fixtures/pet/freeipmi-golden.json", import.meta.url), "utf8"),
);

/** The ipmi_sim SDRs the fixtures were made against (shared/interop/ipmi_sim/sdrs.txt). */
const IPMI_SIM_SENSORS: Record<string, { sensorType: number; eventReadingType: number }> = {
  "32:0": { sensorType: 0x23, eventReadingType: 0x6f },
  "32:1": { sensorType: 0x01, eventReadingType: 0x01 },
  "48:1": { sensorType: 0x01, eventReadingType: 0x01 },
  "32:2": { sensorType: 0x25, eventReadingType: 0x6f },
};
const ipmiSimSdr: SensorLookup = (device, number) => IPMI_SIM_SENSORS[`${device}:${number}`];

const SEVERITY_WORDS: Record<PetEvent["severity"], string> = {
  unspecified: "N/A",
  monitor: "Monitor",
  information: "Information",
  ok: "Ok",
  "non-critical": "Non-critical condition",
  critical: "Critical condition",
  "non-recoverable": "Non-recoverable condition",
  // A byte outside PET 1.0 Table 3-2: ipmi-pet decodes the PET too and prints this.
  unknown: "Unspecified",
};

/** The event text of an offset no table defines, as both petgate and ipmi-pet write it. */
const OFFSET_BY_NUMBER = /^(OEM )?Event Offset = [0-9A-F]{2}h$/;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** ipmi-pet's "Oct-10-2011" + "20:50:46" as ISO-8601 without a zone. */
function freeipmiTime(date: string, time: string): string | null {
  if (date === "N/A") return null;
  const [mon, day, year] = date.split("-");
  const month = String(MONTHS.indexOf(mon as string) + 1).padStart(2, "0");
  return `${year}-${month}-${day}T${time}`;
}

const normalize = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();

/** Offsets IPMI 2.0 defines that FreeIPMI 1.6 lacks: chip set (0x19) offset 01h "Thermal Trip". */
const SPEC_ONLY_OFFSETS = new Set(["25:1"]);

/** FreeIPMI's event-data detail when it only echoes the byte: nothing the spec defines. */
const RAW_DETAIL = /^(OEM )?Event Data[23]( code)? = [0-9A-F]{2}h$/;

function decode(c: GoldenCase) {
  try {
    const input = parsePetInput([c.specificTrap, c.hex]);
    return decodePet(input.specificTrap, input.octets, ipmiSimSdr);
  } catch (err) {
    return { ok: false as const, error: err as Error & { code: string } };
  }
}

describe(`FreeIPMI ipmi-pet agreement (${golden.cases.length} fixtures)`, () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const result = decode(c);
    const fi = c.freeipmi;
    if ("error" in fi) {
      expect(result.ok, `ipmi-pet refused it (${fi.error}); so must petgate`).toBe(false);
      return;
    }
    if (!result.ok) {
      // Spec strictness petgate keeps: an OEM field may not run past the varbind (FreeIPMI drops it).
      const { code } = result.error;
      if (code === "bad-specific-trap") expect(c.name).toMatch(/bits .* set/);
      else if (code === "oem-overrun") expect(fi.debug?.join(" ")).toMatch(/length exceeds input/);
      else
        expect.fail(`petgate refused what ipmi-pet decodes: ${result.error.message}\n  ipmi-pet: ${fi.line}`);
      return;
    }
    const e = result.event;
    const f = fi.fields as Record<string, string>;

    expect(e.guid).toBe(f.GUID);
    expect(String(e.systemId)).toBe(f["System ID"]);
    expect(SEVERITY_WORDS[e.severity]).toBe(f.Severity);
    expect(e.eventDirection === "assertion" ? "Assertion Event" : "Deassertion Event").toBe(
      f["Event Direction"],
    );
    expect(e.manufacturerName ?? String(e.manufacturerId)).toBe(f["Manufacturer ID"]);

    // Sensor type name: FreeIPMI prints N/A for types past the table, petgate "Reserved".
    if (f.Type === "N/A") expect(e.sensorTypeName === null || e.sensorTypeName === "Reserved").toBe(true);
    else expect(normalize(e.sensorTypeName ?? "")).toBe(normalize(f.Type as string));

    // Time: FreeIPMI adds the UTC offset where the spec subtracts it (local = UTC + offset), and
    // wraps timestamps past 2^31 s; everything else must be the same wall-clock time.
    const fiTime = freeipmiTime(f.Date as string, f.Time as string);
    if (e.timeBasis === "unspecified") expect(fiTime).toBeNull();
    else if (e.localTimestamp > 0x7fffffff) expect(fiTime).toMatch(/^1997-12-31/);
    else if (e.timeBasis === "bmc-local") expect(e.time).toBe(fiTime);
    else {
      const offsetMs = (e.utcOffsetMinutes as number) * 60_000;
      expect(new Date(Date.parse(e.time as string) + 2 * offsetMs).toISOString().slice(0, 19)).toBe(fiTime);
    }

    // Event text: FreeIPMI takes the offset from event data 1 [3:0], petgate from the specific trap.
    const ed1Offset = Number.parseInt(e.eventData.slice(0, 2), 16) & 0x0f;
    if (SPEC_ONLY_OFFSETS.has(`${e.sensorType}:${e.eventOffset}`)) {
      expect(fi.event.text).toMatch(/^Event Offset = [0-9A-F]{2}h$/);
    } else if (e.specificTrap !== null && ed1Offset !== e.eventOffset) {
      expect(normalize(e.event ?? "")).not.toBe(normalize(fi.event.text));
    } else if (e.event === null || OFFSET_BY_NUMBER.test(e.event)) {
      // No table text: both name the offset by number, or ipmi-pet says N/A or "reserved".
      expect(fi.event.text).toMatch(/^((OEM )?Event Offset = [0-9A-F]{2}h|N\/A|reserved)$/);
      if (e.event !== null && OFFSET_BY_NUMBER.test(fi.event.text)) expect(e.event).toBe(fi.event.text);
    } else {
      expect(normalize(e.event)).toBe(normalize(fi.event.text));
    }

    // Event data 2/3: wherever FreeIPMI gives a spec meaning, petgate gives one too.
    const meaningful = fi.event.details.filter((d) => !RAW_DETAIL.test(d));
    if (meaningful.length > 0 && e.event !== null) {
      expect(e.eventData2Text ?? e.eventData3Text, `ipmi-pet: ${meaningful.join(" | ")}`).not.toBeNull();
    }
  });
});
