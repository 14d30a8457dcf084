#!/usr/bin/env node
// Generate test/fixtures/pet/freeipmi-golden.json: PET varbinds built here from structured case
// definitions, decoded by FreeIPMI `ipmi-pet` against an SDR cache read from OpenIPMI `ipmi_sim`.
//
//   node scripts/gen-pet-fixtures.mjs [--out FILE]   (needs freeipmi-tools + openipmi installed)
//
// The simulator set-up is test/interop/ipmi_sim.
// Plain Node (>= 20), no npm dependencies. Deterministic: fixed GUIDs, timestamps and TZ=UTC.
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The OpenIPMI ipmi_sim set-up the SDR cache comes from (a copy of shared/interop/ipmi_sim).
const simDir = path.join(repo, "test", "interop", "ipmi_sim");
// `--out FILE` writes elsewhere (the test suite regenerates into a temp file and compares).
const outArg = process.argv.indexOf("--out");
const outFile =
  outArg > 0
    ? path.resolve(process.argv[outArg + 1])
    : path.join(repo, "test", "fixtures", "pet", "freeipmi-golden.json");

// ---------------------------------------------------------------------------------------------
// PET varbind builder
// ---------------------------------------------------------------------------------------------
const TS_2012 = 0x1afd41f6; // May-07-2012 19:11:50 (seconds since 1998-01-01 00:00 UTC)
const MFG_MONTAVISTA = 4753; // ipmi_sim's manufacturer
const SYS_SIM = 0x0f02; // ipmi_sim's product ID

const be = (value, len) => {
  const out = [];
  for (let i = len - 1; i >= 0; i--) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
};
const ascii = (s) => [...Buffer.from(s, "latin1")];
const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const fromHex = (s) => [...Buffer.from(s.replace(/[^0-9a-fA-F]/g, ""), "hex")];
const h2 = (n) => n.toString(16).padStart(2, "0");

function specific(sensorType, eventType, offset, deassert = false) {
  return sensorType * 0x10000 + eventType * 0x100 + (deassert ? 0x80 : 0) + offset;
}

/** Build the varbind octets. `p.guid` defaults to a per-case GUID (so outputs can be matched back). */
function buildPet(p) {
  const ed = [...(p.ed ?? [0, 0xff, 0xff]), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8);
  return [
    ...p.guid, // 16
    ...be(p.seq ?? 0, 2),
    ...be(p.ts ?? TS_2012, 4),
    ...be(p.utc ?? 0xffff, 2),
    p.trapSource ?? 0x20,
    p.eventSource ?? 0x20,
    p.severity ?? 0x02,
    p.sensorDevice ?? 0x20,
    p.sensorNumber ?? 0x42,
    p.entity ?? 0x07,
    p.entityInstance ?? 0x01,
    ...ed,
    p.language ?? 0x19,
    ...be(p.mfg ?? MFG_MONTAVISTA, 4),
    ...be(p.sys ?? SYS_SIM, 2),
    ...(p.oem ?? [0xc1]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------
const cases = [];
/**
 * add(name, trap, pet) — trap is a number or "NA"; pet is either a varbind field object for buildPet
 * (GUID filled in per case) or { hex } for verbatim octets. opts.batch=false forces a solo run.
 */
function add(name, trap, pet, opts = {}) {
  const index = cases.length;
  let bytes;
  if (pet.hex !== undefined) bytes = fromHex(pet.hex);
  else {
    // "PETGATE\0" + 4 zero bytes + 4-byte case index: unique, fixed, and checkable in the output.
    const guid = pet.guid ?? [...ascii("PETGATE"), 0, 0, 0, 0, 0, ...be(index, 4)];
    bytes = buildPet({ seq: index, ...pet, guid });
    if (pet.truncate !== undefined) bytes = bytes.slice(0, pet.truncate);
  }
  cases.push({ name, trap, bytes, batch: opts.batch ?? (bytes.length >= 47 && bytes.length <= 110) });
}

const SENSOR_TYPES = new Map([
  [0x01, "Temperature"],
  [0x02, "Voltage"],
  [0x03, "Current"],
  [0x04, "Fan"],
  [0x05, "Physical security"],
  [0x06, "Platform security violation"],
  [0x07, "Processor"],
  [0x08, "Power supply"],
  [0x09, "Power unit"],
  [0x0a, "Cooling device"],
  [0x0b, "Other units-based"],
  [0x0c, "Memory"],
  [0x0d, "Drive slot"],
  [0x0e, "POST memory resize"],
  [0x0f, "System firmware progress"],
  [0x10, "Event logging disabled"],
  [0x11, "Watchdog 1"],
  [0x12, "System event"],
  [0x13, "Critical interrupt"],
  [0x14, "Button/switch"],
  [0x15, "Module/board"],
  [0x16, "Microcontroller"],
  [0x17, "Add-in card"],
  [0x18, "Chassis"],
  [0x19, "Chip set"],
  [0x1a, "Other FRU"],
  [0x1b, "Cable/interconnect"],
  [0x1c, "Terminator"],
  [0x1d, "System boot/restart initiated"],
  [0x1e, "Boot error"],
  [0x1f, "OS boot"],
  [0x20, "OS critical stop"],
  [0x21, "Slot/connector"],
  [0x22, "ACPI power state"],
  [0x23, "Watchdog 2"],
  [0x24, "Platform alert"],
  [0x25, "Entity presence"],
  [0x26, "Monitor ASIC"],
  [0x27, "LAN"],
  [0x28, "Mgmt subsystem health"],
  [0x29, "Battery"],
  [0x2a, "Session audit"],
  [0x2b, "Version change"],
  [0x2c, "FRU state"],
]);

// 1. Every sensor type 0x01..0x2C x every sensor-specific offset 0..0xE (ED2/ED3 unspecified).
for (let st = 0x01; st <= 0x2c; st++) {
  for (let off = 0; off <= 0x0e; off++) {
    add(`sensor-specific ${h2(st)} ${SENSOR_TYPES.get(st)} offset ${h2(off)}`, specific(st, 0x6f, off), {
      ed: [off, 0xff, 0xff],
      sensorNumber: 0x40 + (st % 0x10),
    });
  }
}

// 2. Every generic event/reading type 0x01..0x0C x every offset 0..0xE, on a plausible sensor type.
const GENERIC = new Map([
  [0x01, [0x01, "Threshold"]],
  [0x02, [0x0b, "Usage"]],
  [0x03, [0x14, "State"]],
  [0x04, [0x08, "Predictive failure"]],
  [0x05, [0x0b, "Limit"]],
  [0x06, [0x0b, "Performance"]],
  [0x07, [0x28, "Severity"]],
  [0x08, [0x15, "Presence"]],
  [0x09, [0x0b, "Enable"]],
  [0x0a, [0x15, "Availability"]],
  [0x0b, [0x09, "Redundancy"]],
  [0x0c, [0x22, "ACPI device power state"]],
]);
for (let et = 0x01; et <= 0x0c; et++) {
  const [st, label] = GENERIC.get(et);
  for (let off = 0; off <= 0x0e; off++) {
    add(`generic ${h2(et)} ${label} (sensor type ${h2(st)}) offset ${h2(off)}`, specific(st, et, off), {
      ed: [off, 0xff, 0xff],
      sensorNumber: 0x50 + et,
    });
  }
}

// 3. Threshold events carrying trigger reading / threshold in ED2/ED3.
const thr = [
  ["UCR going high, reading+threshold, unknown sensor", 0x09, 0x59, 0xa5, 0x90, 0x42],
  ["UCR going high, reading+threshold, MBTemp (SDR sensor 1)", 0x09, 0x59, 0xa5, 0x90, 0x01],
  ["UNC going high, reading+threshold, MBTemp", 0x07, 0x57, 0x75, 0x70, 0x01],
  ["UNR going high, reading+threshold, MBTemp", 0x0b, 0x5b, 0xa2, 0xa0, 0x01],
  ["LCR going low, reading+threshold, MBTemp", 0x02, 0x52, 0x05, 0x10, 0x01],
  ["LNC going low, reading+threshold, unknown sensor", 0x00, 0x50, 0x20, 0x30, 0x42],
  ["UCR going high, trigger reading only (ED1 [7:6]=01)", 0x09, 0x49, 0xa5, 0xff, 0x01],
  ["UCR going high, trigger threshold only (ED1 [5:4]=01)", 0x09, 0x19, 0xff, 0x90, 0x01],
  ["UCR going high, OEM ED2/ED3 (ED1 [7:4]=1010)", 0x09, 0xa9, 0x12, 0x34, 0x01],
  ["UCR going high, sensor-specific ED2/ED3 on threshold (ED1 [7:4]=1111)", 0x09, 0xf9, 0x12, 0x34, 0x01],
  ["UCR going high, reading 00h threshold FFh, unknown sensor", 0x09, 0x59, 0x00, 0xff, 0x42],
];
for (const [name, off, ed1, ed2, ed3, num] of thr) {
  add(`threshold ${name}`, specific(0x01, 0x01, off), {
    ed: [ed1, ed2, ed3],
    sensorNumber: num,
    severity: 0x10,
  });
}
add("threshold voltage LCR going low, reading+threshold, unknown sensor", specific(0x02, 0x01, 0x02), {
  ed: [0x52, 0x80, 0x90],
  sensorNumber: 0x43,
  severity: 0x10,
});

// 4. Sensor-specific event data 2/3 extensions.
const ext = (name, st, off, ed1, ed2, ed3, extra = {}) =>
  add(`ext ${h2(st)} ${SENSOR_TYPES.get(st) ?? ""} offset ${h2(off)}: ${name}`, specific(st, 0x6f, off), {
    ed: [ed1, ed2, ed3],
    sensorNumber: 0x60,
    ...extra,
  });
// Memory (0x0C): ED3 = memory module / DIMM number.
ext("correctable ECC, DIMM 5 in ED3", 0x0c, 0x00, 0x30, 0xff, 0x05);
ext("uncorrectable ECC, DIMM 7 in ED3, OEM ED2", 0x0c, 0x01, 0xb1, 0x12, 0x07);
ext("parity, DIMM 0 in ED3", 0x0c, 0x02, 0x32, 0xff, 0x00);
ext("presence, DIMM 3 in ED3", 0x0c, 0x06, 0x36, 0xff, 0x03);
ext("correctable ECC, ED2/ED3 both ext (ED1 F0)", 0x0c, 0x00, 0xf0, 0x01, 0x02);
// System firmware progress (0x0F) offset 0: POST error code in ED2.
for (let c = 0x00; c <= 0x0e; c++) ext(`POST error code ${h2(c)}h`, 0x0f, 0x00, 0xc0, c, 0xff);
ext("POST error code 80h", 0x0f, 0x00, 0xc0, 0x80, 0xff);
ext("POST error code FFh", 0x0f, 0x00, 0xc0, 0xff, 0xff);
// Offsets 1 (hang) and 2 (progress): progress code in ED2.
for (const off of [0x01, 0x02]) {
  for (let c = 0x00; c <= 0x1a; c++) ext(`progress code ${h2(c)}h`, 0x0f, off, 0xc0 | off, c, 0xff);
  ext("progress code E0h", 0x0f, off, 0xc0 | off, 0xe0, 0xff);
}
// System boot/restart initiated (0x1D) offset 7: restart cause in ED2, channel in ED3.
for (let c = 0x00; c <= 0x0c; c++) ext(`restart cause ${h2(c)}h, channel 1`, 0x1d, 0x07, 0xf7, c, 0x01);
ext("restart cause 0Fh, channel unspecified", 0x1d, 0x07, 0xc7, 0x0f, 0xff);
// Slot/connector (0x21): ED2 [6:0] slot type, [7] 0; ED3 slot number.
for (let t = 0x00; t <= 0x0a; t++) ext(`slot type ${h2(t)}h, slot 5`, 0x21, 0x00, 0xf0, t, 0x05);
for (let off = 0x01; off <= 0x09; off++)
  ext("slot type 02h (PCI), slot 3", 0x21, off, 0xf0 | off, 0x02, 0x03);
ext("slot type 82h (bit 7 set), slot 3", 0x21, 0x02, 0xf2, 0x82, 0x03);
// Watchdog 2 (0x23): ED2 [7:4] interrupt type, [3:0] timer use.
for (const off of [0x00, 0x01, 0x02, 0x03, 0x08]) {
  for (const v of [0x01, 0x12, 0x23, 0x04, 0x05, 0xf0])
    ext(`timer use/interrupt ${h2(v)}h`, 0x23, off, 0xc0 | off, v, 0xff);
}
// Session audit (0x2A): ED2 [5:0] user ID; ED3 [5:4] deactivation cause, [3:0] channel.
for (const off of [0x00, 0x01, 0x02]) {
  for (const [u, c] of [
    [0x02, 0x01],
    [0x05, 0x11],
    [0x00, 0x21],
    [0x3f, 0x3e],
  ]) {
    ext(`user ${h2(u)}h, ED3 ${h2(c)}h`, 0x2a, off, 0xf0 | off, u, c);
  }
}
// Version change (0x2B): ED2 = version change type.
for (let off = 0x00; off <= 0x07; off++)
  ext("change type 01h (management controller device ID)", 0x2b, off, 0xc0 | off, 0x01, 0xff);
for (let t = 0x00; t <= 0x18; t++) ext(`change type ${h2(t)}h`, 0x2b, 0x01, 0xc1, t, 0xff);
// FRU state (0x2C): ED2 [7:4] cause, [3:0] previous state.
for (let off = 0x00; off <= 0x07; off++) ext("cause 1, previous state 3", 0x2c, off, 0xc0 | off, 0x13, 0xff);
for (let c = 0x00; c <= 0x0f; c++)
  ext(`cause ${c}, previous state 4`, 0x2c, 0x04, 0xc4, (c << 4) | 0x04, 0xff);
// Event logging disabled (0x10).
ext("memory logging disabled, DIMM 3 in ED2", 0x10, 0x00, 0xc0, 0x03, 0xff);
ext("event type logging disabled: type 6F, assert, offset 5", 0x10, 0x01, 0xf1, 0x6f, 0x05);
ext("event type logging disabled: type 01, deassert, offset 9", 0x10, 0x01, 0xf1, 0x01, 0x29);
ext("event type logging disabled: all events", 0x10, 0x01, 0xf1, 0x6f, 0x10);
ext("SEL almost full, 80% in ED3", 0x10, 0x05, 0xf5, 0xff, 0x50);
ext("correctable MCE logging disabled, processor 2", 0x10, 0x06, 0xf6, 0x02, 0x80);
// System event (0x12) offsets 3 (aux log), 4 (PEF action), 5 (timestamp clock sync).
for (const v of [0x00, 0x01, 0x10, 0x11, 0x21, 0x32])
  ext(`aux log entry ${h2(v)}h`, 0x12, 0x03, 0xc3, v, 0xff);
for (const v of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x3f])
  ext(`PEF action ${h2(v)}h`, 0x12, 0x04, 0xc4, v, 0xff);
for (const v of [0x00, 0x01, 0x80, 0x81]) ext(`timestamp clock sync ${h2(v)}h`, 0x12, 0x05, 0xc5, v, 0xff);
// A few other sensor-specific extensions.
ext("LAN leash lost, network controller 1", 0x05, 0x04, 0xc4, 0x01, 0xff);
for (let t = 0x00; t <= 0x04; t++) ext(`power supply config error type ${t}`, 0x08, 0x06, 0x36, 0xff, t);
ext("processor config error", 0x07, 0x05, 0xc5, 0x01, 0xff);
ext("mgmt health sensor failure, sensor 12h", 0x28, 0x04, 0xc4, 0x12, 0xff);
ext("mgmt health FRU failure, ED2 08h ED3 01h", 0x28, 0x05, 0xf5, 0x08, 0x01);
ext("OS stop, ED2/ED3 ext", 0x20, 0x01, 0xf1, 0x12, 0x34);
ext("critical interrupt bus error, ED2/ED3 ext", 0x13, 0x08, 0xf8, 0x01, 0x02);
ext("entity presence, ED2/ED3 ext", 0x25, 0x00, 0xf0, 0x01, 0x02);
ext("ACPI power state S5", 0x22, 0x06, 0xf6, 0x01, 0x02);
ext("battery failed, ED2/ED3 ext", 0x29, 0x01, 0xf1, 0x01, 0x02);
// Previous state / severity (ED1 [7:6]=01).
ext("previous state 0 + severity 2 (sensor-specific)", 0x07, 0x01, 0x41, 0x20, 0xff);
ext("previous state none + severity 1 (sensor-specific)", 0x07, 0x01, 0x41, 0x1f, 0xff);
ext("previous state 3, severity none", 0x0d, 0x01, 0x41, 0xf3, 0xff);
ext("previous state none, severity none", 0x0d, 0x01, 0x41, 0xff, 0xff);
ext("previous state 1 + severity 8 (sensor-specific)", 0x21, 0x00, 0x40, 0x81, 0xff);
add("previous state/severity on generic 0B redundancy lost", specific(0x09, 0x0b, 0x01), {
  ed: [0x41, 0x60, 0xff],
  sensorNumber: 0x61,
});
add("previous state/severity on generic 07 severity", specific(0x28, 0x07, 0x02), {
  ed: [0x42, 0x21, 0xff],
  sensorNumber: 0x61,
});
add("OEM ED2/ED3 on generic 03 state asserted", specific(0x14, 0x03, 0x01), {
  ed: [0xa1, 0x12, 0x34],
  sensorNumber: 0x61,
});
add("ED3 reserved (ED1 [5:4]=01) on generic 03", specific(0x14, 0x03, 0x01), {
  ed: [0x11, 0xff, 0x34],
  sensorNumber: 0x61,
});

// 5. Severity byte.
for (const sev of [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x03, 0x40, 0xff]) {
  add(`severity ${h2(sev)}h`, specific(0x0c, 0x6f, 0x00), { severity: sev, ed: [0x00, 0xff, 0xff] });
}

// 6. Deassertions.
add("deassert threshold UCR going high (65929)", 65929, { ed: [0x09, 0xff, 0xff], sensorNumber: 0x42 });
add("deassert threshold UCR, reading+threshold, MBTemp", specific(0x01, 0x01, 0x09, true), {
  ed: [0x59, 0x80, 0x90],
  sensorNumber: 0x01,
});
add("deassert chassis intrusion (356224)", 356224, { ed: [0x00, 0xff, 0xff] });
add("deassert PSU failure", specific(0x08, 0x6f, 0x01, true), { ed: [0x01, 0xff, 0xff] });
add("deassert correctable ECC", specific(0x0c, 0x6f, 0x00, true), { ed: [0x00, 0xff, 0xff] });
add("deassert generic 03 state asserted", specific(0x14, 0x03, 0x01, true), { ed: [0x01, 0xff, 0xff] });
add("deassert generic 0B redundancy lost", specific(0x09, 0x0b, 0x01, true), { ed: [0x01, 0xff, 0xff] });
add("deassert generic 08 device present", specific(0x15, 0x08, 0x01, true), { ed: [0x01, 0xff, 0xff] });
add("deassert drive slot fault", specific(0x0d, 0x6f, 0x01, true), { ed: [0x01, 0xff, 0xff] });

// 7. Specific trap / event data 1 offset disagreement, unspecified offset, odd specific traps.
add("offset mismatch: trap offset 9 (UCR hi), ED1 offset 0", specific(0x01, 0x01, 0x09), {
  ed: [0x00, 0xff, 0xff],
});
add("offset mismatch: trap offset 0, ED1 offset 1 (uncorrectable ECC)", specific(0x0c, 0x6f, 0x00), {
  ed: [0x01, 0xff, 0xff],
});
add("specific trap offset 0xF (unspecified)", specific(0x0c, 0x6f, 0x0f), { ed: [0x00, 0xff, 0xff] });
add("specific trap offset 0xF, ED1 offset F", specific(0x0c, 0x6f, 0x0f), { ed: [0x0f, 0xff, 0xff] });
add("specific trap 0 (sensor type 0, event type 0)", 0, { ed: [0x00, 0xff, 0xff] });
add("OEM event/reading type 70h on temperature", specific(0x01, 0x70, 0x02), { ed: [0x02, 0xff, 0xff] });
add("OEM event/reading type 7Fh, OEM ED2/ED3", specific(0x12, 0x7f, 0x05), { ed: [0xa5, 0x12, 0x34] });
add("OEM sensor type C0h, sensor-specific offset 3", specific(0xc0, 0x6f, 0x03), { ed: [0x03, 0xff, 0xff] });
add("OEM sensor type FFh, generic 03", specific(0xff, 0x03, 0x01), { ed: [0x01, 0xff, 0xff] });
add("reserved sensor type 00h, sensor-specific", specific(0x00, 0x6f, 0x01), { ed: [0x01, 0xff, 0xff] });
add("reserved sensor type 2Dh, sensor-specific", specific(0x2d, 0x6f, 0x01), { ed: [0x01, 0xff, 0xff] });
add("unspecified event/reading type 00h", specific(0x01, 0x00, 0x01), { ed: [0x01, 0xff, 0xff] });
add("reserved event/reading type 0Dh", specific(0x01, 0x0d, 0x01), { ed: [0x01, 0xff, 0xff] });
add("specific trap with bits 31:24 set (0x01010109)", 0x01010109, { ed: [0x09, 0xff, 0xff] });
add("specific trap in hex (0x56f00)", "0x56f00", { ed: [0x00, 0xff, 0xff] });

// 8. UTC offsets and timestamps.
for (const [label, utc] of [
  ["unspecified FFFF", 0xffff],
  ["+60 min 003C", 0x003c],
  ["-300 min FED4", 0xfed4],
  ["0 min 0000", 0x0000],
  ["+720 min 02D0", 0x02d0],
  ["-1 min FFFE", 0xfffe],
]) {
  add(`UTC offset ${label}`, specific(0x0c, 0x6f, 0x00), { utc, ed: [0x00, 0xff, 0xff] });
}
add("timestamp 0 (unspecified), offset FFFF", specific(0x0c, 0x6f, 0x00), { ts: 0, ed: [0x00, 0xff, 0xff] });
add("timestamp 0 (unspecified), offset +60", specific(0x0c, 0x6f, 0x00), {
  ts: 0,
  utc: 0x003c,
  ed: [0x00, 0xff, 0xff],
});
add("timestamp 1 (1998-01-01 00:00:01)", specific(0x0c, 0x6f, 0x00), { ts: 1, ed: [0x00, 0xff, 0xff] });
add("timestamp 1, offset -300", specific(0x0c, 0x6f, 0x00), { ts: 1, utc: 0xfed4, ed: [0x00, 0xff, 0xff] });
add("timestamp 2020-02-29 12:34:56", specific(0x0c, 0x6f, 0x00), {
  ts: Date.UTC(2020, 1, 29, 12, 34, 56) / 1000 - 883612800,
  ed: [0x00, 0xff, 0xff],
});
add("timestamp 0x7FFFFFFF", specific(0x0c, 0x6f, 0x00), { ts: 0x7fffffff, ed: [0x00, 0xff, 0xff] });
add("timestamp 0xFFFFFFFF", specific(0x0c, 0x6f, 0x00), {
  ts: 0xffffffff,
  ed: [0x00, 0xff, 0xff],
});

// 9. Manufacturers (BE IANA number in the varbind).
for (const [label, mfg, sys] of [
  ["Dell 674", 674, 0x0100],
  ["IBM 2", 2, 0x0001],
  ["IBM 20301", 20301, 0x0161],
  ["HP 11", 11, 0x2000],
  ["HPE 47196", 47196, 0x0001],
  ["Supermicro 10876", 10876, 0x0834],
  ["Intel 343", 343, 0x0040],
  ["Lenovo 19046", 19046, 0x0129],
  ["Cisco 9", 9, 0x0005],
  ["Fujitsu 10368", 10368, 0x0123],
  ["Quanta 7244", 7244, 0x0a02],
  ["MontaVista 4753", 4753, 0x0f02],
  ["unknown 16777200 (0x00FFFFF0)", 0x00fffff0, 0x1234],
  ["unassigned 0", 0, 0],
  ["Supermicro sent LE (0x7C2A0000)", 0x7c2a0000, 0x3408],
  ["FFFFFFFF", 0xffffffff, 0xffff],
]) {
  add(`manufacturer ${label}`, specific(0x07, 0x6f, 0x00), { mfg, sys, ed: [0x00, 0xff, 0xff] });
}

// 10. OEM custom fields (FRU type/length, ended by C1).
const oem = (name, bytes, extra = {}) =>
  add(`OEM custom ${name}`, specific(0x0c, 0x6f, 0x00), { oem: bytes, ed: [0x00, 0xff, 0xff], ...extra });
oem("8-bit ASCII 'hello'", [0xc5, ...ascii("hello"), 0xc1]);
oem("two 8-bit fields 'abc' 'xy'", [0xc3, ...ascii("abc"), 0xc2, ...ascii("xy"), 0xc1]);
oem("empty 8-bit field C0", [0xc0, 0xc1]);
oem("binary 3 bytes (type 00)", [0x03, 0xde, 0xad, 0xbe, 0xc1]);
oem("BCD+ 2 bytes (type 01) '1234'", [0x42, 0x12, 0x34, 0xc1]);
oem("BCD+ 2 bytes (type 01) '12 -'", [0x42, 0x12, 0xab, 0xc1]);
oem("6-bit ASCII 3 bytes (type 10, 'IPMI')", [0x83, 0x29, 0xdc, 0xa6, 0xc1]);
oem("8-bit ASCII with comma and pipe 'a,b|c'", [0xc5, ...ascii("a,b|c"), 0xc1]);
oem("8-bit 'hello', language code 00h", [0xc5, ...ascii("hello"), 0xc1], { language: 0x00 });
oem("8-bit 'hello', language code 01h", [0xc5, ...ascii("hello"), 0xc1], { language: 0x01 });
oem("bytes after C1 ignored", [0xc5, ...ascii("hello"), 0xc1, 0xc3, ...ascii("zzz")]);
oem("maximum length 64 bytes (110-byte varbind)", [0xfe, ...ascii("M".repeat(62)), 0xc1]);
oem("Supermicro-style 80 00 01 00 C1", [0x80, 0x00, 0x01, 0x00, 0xc1]);

// 11. NA as the specific trap (sensor and event type from the SDR).
const na = (name, p) => add(`NA ${name}`, "NA", p);
na("sensor 1 (MBTemp threshold), ED1 59 UCR going high", { sensorNumber: 0x01, ed: [0x59, 0xa5, 0x90] });
na("sensor 1 (MBTemp threshold), ED1 00", { sensorNumber: 0x01, ed: [0x00, 0xff, 0xff] });
na("sensor 0 (watchdog event-only, type 23h/6Fh), ED1 01", { sensorNumber: 0x00, ed: [0x01, 0xff, 0xff] });
na("sensor 2 (mm1pres, type 25h/6Fh), ED1 01", { sensorNumber: 0x02, ed: [0x01, 0xff, 0xff] });
na("sensor 1 at device 30h (SubTemp)", { sensorNumber: 0x01, sensorDevice: 0x30, ed: [0x07, 0xff, 0xff] });
na("unknown sensor 42h", { sensorNumber: 0x42, ed: [0x01, 0xff, 0xff] });
na("unknown sensor 42h, offset F", { sensorNumber: 0x42, ed: [0x0f, 0xff, 0xff] });
na("lowercase 'na', sensor 1", { sensorNumber: 0x01, ed: [0x59, 0xa5, 0x90] });
cases[cases.length - 1].trap = "na";

// 12. Other header bytes.
add("sensor device FFh (unspecified), sensor number FFh", specific(0x0c, 0x6f, 0x00), {
  sensorDevice: 0xff,
  sensorNumber: 0xff,
  ed: [0x00, 0xff, 0xff],
});
add("sensor number 00h at device 20h (SDR watchdog) with trap type 0C", specific(0x0c, 0x6f, 0x00), {
  sensorNumber: 0x00,
  ed: [0x00, 0xff, 0xff],
});
add("sensor device 41h (software ID), sensor 01", specific(0x01, 0x01, 0x09), {
  sensorDevice: 0x41,
  sensorNumber: 0x01,
  ed: [0x59, 0xa5, 0x90],
});
add("entity 0, instance 0, trap/event source FF", specific(0x0c, 0x6f, 0x00), {
  entity: 0,
  entityInstance: 0,
  trapSource: 0xff,
  eventSource: 0xff,
  ed: [0x00, 0xff, 0xff],
});
add("event data 4-8 non-zero", specific(0x0c, 0x6f, 0x00), { ed: [0x00, 0xff, 0xff, 1, 2, 3, 4, 5] });

// 13. The four vectors of PROTOCOL.md section 1.2, byte for byte.
add("vector Dell (man page) 356224", 356224, {
  hex: "44454C4C500010598043B2C04F333358 0002 19E87E26 FFFF 20 20 04 20 73 18 00 8001FF0000000000 19 000002A2 0100 C1",
});
add("vector IBM IMM2 814848", 814848, {
  hex: "E7EB938E074D11E1A56C5CF3FC304624 0053 1AFD41F6 FFFF 20 20 02 81 53 00 00 00FFFF0000000000 19 00004F4D 0161 C1",
});
add("vector IBM IMM2 814848 with UTC offset +60 (003C)", 814848, {
  hex: "E7EB938E074D11E1A56C5CF3FC304624 0053 1AFD41F6 003C 20 20 02 81 53 00 00 00FFFF0000000000 19 00004F4D 0161 C1",
});
add("vector built here 65801 (MBTemp)", 65801, {
  hex: "A123456789ABCDEFA123456789ABCDEF 0001 1AFD41F6 FFFF 20 20 10 20 01 07 01 09FFFF0000000000 19 00001291 0F02 C1",
});
add("vector Supermicro test alert 0 (GUID elided in PROTOCOL.md: zero-filled here)", 0, {
  hex: "00000000000000000000000000000000 0004 32E4E46E FFFF 20 20 02 00000000 0000000000000000 19 7C2A0000 3408 80000100C1",
});

// 14. Malformed input (per-case GUIDs too; `truncate` cuts the built varbind).
const bad = (name, oemBytes, extra = {}) =>
  add(`malformed: ${name}`, specific(0x0c, 0x6f, 0x00), { ed: [0x00, 0xff, 0xff], oem: oemBytes, ...extra });
bad("too short, 10 bytes", [0xc1], { truncate: 10 });
bad("too short, 46 bytes (no OEM/C1 byte)", [0xc1], { truncate: 46 });
bad("too long, 111 bytes", [0xfe, ...ascii("M".repeat(63)), 0xc1]);
bad("missing C1 terminator (C5 'hello' only)", [0xc5, ...ascii("hello")]);
bad("missing C1 terminator, single 00 OEM byte", [0x00]);
bad("OEM length overruns the end (C5 'he' C1)", [0xc5, ...ascii("he"), 0xc1]);
bad("OEM second field overruns (C2 'ok' C9 'x')", [0xc2, ...ascii("ok"), 0xc9, ...ascii("x")]);
bad("invalid BCD+ nibble F in OEM field", [0x41, 0xf1, 0xc1]);
add("malformed: specific trap not a number", "xyz", { ed: [0x00, 0xff, 0xff] }, { batch: false });

// 15. Bytes outside the PET and IPMI tables that BMCs send (issue 13): decoded, not refused.
add("severity 0Ch (outside Table 3-2)", specific(0x0c, 0x6f, 0x00), {
  severity: 0x0c,
  ed: [0x00, 0xff, 0xff],
});
add("threshold offset 0Dh (outside Table 42-2) with severity 40h, MBTemp", specific(0x01, 0x01, 0x0d), {
  ed: [0x5d, 0xa5, 0x90],
  sensorNumber: 0x01,
  severity: 0x40,
});

// ---------------------------------------------------------------------------------------------
// Running the tools
// ---------------------------------------------------------------------------------------------
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "latin1", maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

async function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pet-fixtures-"));
let simPid = 0;
function cleanup() {
  if (simPid) {
    try {
      process.kill(simPid, "SIGTERM");
    } catch {}
    simPid = 0;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function die(msg) {
  console.error(`gen-pet-fixtures: ${msg}`);
  process.exit(1);
}

const startScript = path.join(simDir, "start");
if (!fs.existsSync(startScript)) die(`no ${startScript}`);

let port = 0;
for (let attempt = 0; attempt < 5 && !simPid; attempt++) {
  port = await freeUdpPort();
  const state = path.join(tmp, `sim-${port}`);
  const r = run(startScript, [String(port), state]);
  if (r.status === 0 && /^\d+\s*$/.test(r.stdout)) simPid = Number(r.stdout.trim());
  else console.error(`ipmi_sim on port ${port} failed: ${r.stderr.trim()}`);
}
if (!simPid) die("could not start ipmi_sim");

const cacheDir = path.join(tmp, "sdr-cache");
fs.mkdirSync(cacheDir, { mode: 0o700 });
fs.chmodSync(cacheDir, 0o700);
const session = [
  "-h",
  `127.0.0.1:${port}`,
  "-u",
  "admin",
  "-p",
  "secret",
  "-D",
  "LAN_2_0",
  "-l",
  "ADMIN",
  "-W",
  "opensesspriv",
  `--sdr-cache-directory=${cacheDir}`,
];
const sessionShown = session.map((a) =>
  a.replace(`127.0.0.1:${port}`, "127.0.0.1:PORT").replace(cacheDir, "DIR"),
);
const env = { ...process.env, TZ: "UTC", LC_ALL: "C" };

const sensors = run("ipmi-sensors", [...session, "--quiet-cache"], { env });
if (sensors.status !== 0) die(`ipmi-sensors failed (${sensors.status}): ${sensors.stderr}`);
if (!/MBTemp/.test(sensors.stdout)) die(`ipmi-sensors did not list MBTemp:\n${sensors.stdout}`);

const PET_FLAGS = ["-vv", "--output-event-severity", "--output-event-state", "--comma-separated-output"];
const tool = run("ipmi-pet", ["--version"]).stdout.split("\n")[0].trim();

const trapArg = (c) => String(c.trap);
const lineOf = (c) => `${trapArg(c)} ${c.bytes.map((b) => `0x${h2(b)}`).join(" ")}`;

// Column layout of `ipmi-pet -vv --output-event-severity --output-event-state --comma-separated-output`.
const EXPECTED_HEADER = [
  "Date",
  "Time",
  "Name",
  "Type",
  "GUID",
  "Manufacturer ID",
  "System ID",
  "Severity",
  "State",
  "Event Direction",
  "Event",
];
const SEVERITIES = new Set([
  "N/A",
  "Monitor",
  "Information",
  "Ok",
  "Non-critical condition",
  "Critical condition",
  "Non-recoverable condition",
  "Unspecified",
]);
const STATES = new Set(["Nominal", "Warning", "Critical", "N/A"]);
const DIRECTIONS = new Set(["Assertion Event", "Deassertion Event", "N/A"]);

/** Split one CSV output line into the header's columns. Manufacturer and Event may contain commas. */
function parseLine(line) {
  const t = line.split(",");
  for (let j = 6; j + 4 <= t.length; j++) {
    if (/^\d+$/.test(t[j]) && SEVERITIES.has(t[j + 1]) && STATES.has(t[j + 2]) && DIRECTIONS.has(t[j + 3])) {
      const v = [...t.slice(0, 5), t.slice(5, j).join(","), t[j], t[j + 1], t[j + 2], t[j + 3]];
      v.push(t.slice(j + 4).join(","));
      return Object.fromEntries(EXPECTED_HEADER.map((k, i) => [k, v[i]]));
    }
  }
  return null;
}

/**
 * Event column = "<event>[ | <event data 2/3 text>...][ ; <OEM custom field>...]". Detail texts may
 * themselves contain " ; ", so the OEM suffix is found by diffing against the same trap with its OEM
 * custom area reduced to C1 (`noOemEvent`).
 */
function splitEvent(ev, noOemEvent) {
  if (!ev.startsWith(noOemEvent)) return null;
  const rest = ev.slice(noOemEvent.length);
  if (rest && !rest.startsWith(" ; ")) return null;
  const [text, ...details] = noOemEvent.split(" | ");
  const out = { text, details };
  if (rest) out.oemCustom = rest.slice(3).split(" ; ");
  return out;
}

const guidText = (b) => {
  const x = toHex(b.slice(0, 16));
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
};

const batch = cases.filter((c) => c.batch);
const inputFile = path.join(tmp, "traps.txt");
fs.writeFileSync(inputFile, `${batch.map(lineOf).join("\n")}\n`);
const noOemFile = path.join(tmp, "traps-no-oem.txt");
const noOem = (c) => ({ ...c, bytes: [...c.bytes.slice(0, 46), 0xc1] });
fs.writeFileSync(noOemFile, `${batch.map((c) => lineOf(noOem(c))).join("\n")}\n`);

function runBatch(extra, file = inputFile) {
  const r = run("ipmi-pet", [...session, ...PET_FLAGS, ...extra, `--file=${file}`], { env });
  if (r.status !== 0 || r.stderr.trim())
    die(`ipmi-pet batch ${extra.join(" ")} failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.replace(/\n$/, "").split("\n");
  const header = lines.shift();
  if (header !== EXPECTED_HEADER.join(",")) die(`unexpected header: ${header}`);
  if (lines.length !== batch.length) die(`ipmi-pet printed ${lines.length} lines for ${batch.length} traps`);
  return { header, lines };
}

const main = runBatch([]);
const oemRun = runBatch(["--interpret-oem-data"]);
const noOemRun = runBatch([], noOemFile);

// Same batch with --debug, stdout and stderr merged line by line: FreeIPMI's per-trap diagnostics
// ("Invalid OEM custom data: length exceeds input", ...) precede that trap's output line.
const diagnostics = new Map();
{
  const sh = `exec stdbuf -oL -eL ipmi-pet "$@" 2>&1`;
  const r = run("sh", ["-c", sh, "sh", ...session, ...PET_FLAGS, "--debug", `--file=${inputFile}`], { env });
  const out = [];
  let pending = [];
  for (const l of r.stdout.replace(/\n$/, "").split("\n")) {
    if (l.startsWith("127.0.0.1:")) continue; // packet dumps
    if (l === main.header) continue;
    if (out.length < batch.length && l === main.lines[out.length]) {
      if (pending.length) diagnostics.set(out.length, pending);
      out.push(l);
      pending = [];
    } else if (l.trim()) pending.push(l);
  }
  if (out.length !== batch.length || pending.length) {
    console.error(
      `warning: --debug run did not line up (${out.length}/${batch.length}); diagnostics omitted`,
    );
    diagnostics.clear();
  }
}

let bi = 0;
const outCases = [];
for (const c of cases) {
  const rec = { name: c.name, specificTrap: trapArg(c), hex: toHex(c.bytes) };
  if (c.batch) {
    const i = bi++;
    const line = main.lines[i];
    const fields = parseLine(line);
    if (!fields) die(`cannot split output line for "${c.name}": ${line}`);
    if (fields.GUID !== guidText(c.bytes)) die(`output out of step at "${c.name}": GUID ${fields.GUID}`);
    const noOemFields = parseLine(noOemRun.lines[i]);
    const event = noOemFields && splitEvent(fields.Event, noOemFields.Event);
    if (!event) die(`cannot separate OEM custom text for "${c.name}": ${line} vs ${noOemRun.lines[i]}`);
    rec.freeipmi = { line, fields, event };
    if (diagnostics.has(i)) rec.freeipmi.debug = diagnostics.get(i);
    if (oemRun.lines[i] !== line) rec.freeipmiInterpretOem = { line: oemRun.lines[i] };
  } else {
    // Command-line form (one trap as arguments), then stream form (one line in --file).
    const r = run("ipmi-pet", [...session, ...PET_FLAGS, trapArg(c), ...c.bytes.map((b) => `0x${h2(b)}`)], {
      env,
    });
    const one = path.join(tmp, "one.txt");
    fs.writeFileSync(one, `${lineOf(c)}\n`);
    const s = run("ipmi-pet", [...session, ...PET_FLAGS, `--file=${one}`], { env });
    const lines = (x) => x.replace(/\n$/, "").split("\n").filter(Boolean);
    if (r.status === 0 && lines(r.stdout).length === 2) {
      const line = lines(r.stdout)[1];
      rec.freeipmi = { line, fields: parseLine(line) };
    } else {
      rec.freeipmi = { error: r.stderr.trim(), exitCode: r.status };
      if (r.stdout.trim()) rec.freeipmi.stdout = r.stdout.trim();
    }
    rec.freeipmiStream = { stderr: s.stderr.trim(), exitCode: s.status, stdout: s.stdout.trim() };
  }
  outCases.push(rec);
}
if (bi !== batch.length) die("internal: batch count mismatch");

const doc = {
  generator: {
    tool,
    tz: "UTC",
    command: `TZ=UTC ipmi-pet ${[...sessionShown, ...PET_FLAGS].join(" ")} --file=TRAPS`,
    commandInterpretOem: "same, plus --interpret-oem-data (freeipmiInterpretOem, only where it differs)",
    commandDebug: "same, plus --debug; non-packet-dump stderr lines before a trap's output (freeipmi.debug)",
    input: "one trap per line: SPECIFIC_TRAP 0xNN 0xNN ... (malformed ones also run alone, as arguments)",
    sdr: "OpenIPMI ipmi_sim (shared/interop/ipmi_sim: sensor 0 watchdog, 1 MBTemp, 2 mm1pres; 30h/1 SubTemp)",
    columns: EXPECTED_HEADER,
    script: "scripts/gen-pet-fixtures.mjs",
  },
  cases: outCases,
};

// One case per line keeps diffs readable.
const body = outCases.map((c) => `    ${JSON.stringify(c)}`).join(",\n");
const head = JSON.stringify(doc.generator, null, 2).replace(/\n/g, "\n  ");
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, `{\n  "generator": ${head},\n  "cases": [\n${body}\n  ]\n}\n`);
JSON.parse(fs.readFileSync(outFile, "utf8"));

const errors = outCases.filter((c) => c.freeipmi.error !== undefined).length;
console.log(
  `gen-pet-fixtures: wrote ${outCases.length} cases (${outCases.length - errors} decoded, ${errors} errors) to ${path.relative(repo, outFile)} [${tool}]`,
);
