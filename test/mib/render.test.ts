import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import snmp from "net-snmp";
import { beforeAll, describe, expect, test } from "vitest";
import { compileIntegerHint, compileOctetHint } from "../../src/mib/display-hint.js";
import { loadMibs } from "../../src/mib/load.js";
import { valueRenderer } from "../../src/mib/render.js";
import type { MibStore } from "../../src/mib/store.js";
import type { MibObject } from "../../src/mib/types.js";
import { trapEventFrom, type VarbindJson } from "../../src/pet/trap.js";
import { tempDir } from "../support/temp.js";

const FIXTURES = new URL("../fixtures/mibs/", import.meta.url).pathname;
const TEST = "1.3.6.1.4.1.32473.99.1";

let store: MibStore;
beforeAll(async () => {
  store = (await loadMibs({ dirs: [FIXTURES] })).store;
});

/** A varbind as the listener keeps it: through trapEventFrom, from the value net-snmp decoded. */
function received(oid: string, type: keyof typeof snmp.ObjectType, value: unknown): VarbindJson {
  const result = trapEventFrom({
    pdu: {
      type: snmp.PduType.TrapV2,
      varbinds: [
        { oid: "1.3.6.1.6.3.1.1.4.1.0", type: snmp.ObjectType.OID, value: "1.3.6.1.4.1.32473.99.0.1" },
        { oid, type: snmp.ObjectType[type], value },
      ],
    },
    rinfo: { address: "127.0.0.1", port: 162 },
  });
  if (!result.ok || result.event.kind !== "trap") throw new Error("not a generic trap");
  return result.event.varbinds[0] as VarbindJson;
}

describe("MibStore.render", () => {
  test("an enumerated INTEGER by its label; a number it does not name as the number", () => {
    expect(store.render(received(`${TEST}.2.0`, "Integer", 3))).toEqual({
      oid: `${TEST}.2.0`,
      name: "testUnitState",
      module: "PETGATE-TEST-MIB",
      index: ".0",
      value: "fault",
      type: "Integer",
    });
    expect(store.render(received(`${TEST}.2.0`, "Integer", 9)).value).toBe("9");
    expect(store.render(received("1.3.6.1.2.1.2.2.1.8.12", "Integer", 2))).toMatchObject({
      name: "ifOperStatus",
      index: ".12",
      value: "down",
    });
  });

  test("a DisplayString as text, also RFC 1213's hintless one", () => {
    const name = Buffer.from("rack 4 PDU-B", "latin1");
    expect(store.render(received(`${TEST}.1.0`, "OctetString", name)).value).toBe("rack 4 PDU-B");
    const v1 = store.render(received("1.3.6.1.4.1.32473.98.1.0", "OctetString", Buffer.from("disk 3")));
    expect(v1).toMatchObject({ name: "testV1Message", module: "PETGATE-TEST-V1-MIB", value: "disk 3" });
  });

  test("a MacAddress per its hint 1x: (net-snmp's style, no padding)", () => {
    const mac = Buffer.from([0x00, 0x1b, 0x21, 0x0a, 0xff, 0x05]);
    expect(store.render(received(`${TEST}.3.0`, "OctetString", mac)).value).toBe("0:1b:21:a:ff:5");
  });

  test("a DateAndTime per RFC 2579, with and without its UTC offset", () => {
    // 2026-12-07 06:30:15.3, +01:00
    const withZone = Buffer.from([0x07, 0xea, 12, 7, 6, 30, 15, 3, 0x2b, 1, 0]);
    expect(store.render(received(`${TEST}.4.0`, "OctetString", withZone)).value).toBe(
      "2026-12-7,6:30:15.3,+1:0",
    );
    expect(store.render(received(`${TEST}.4.0`, "OctetString", withZone.subarray(0, 8))).value).toBe(
      "2026-12-7,6:30:15.3",
    );
  });

  test("an InetAddress of 4 or 16 octets as an IPv4 or IPv6 address; other lengths in hex", () => {
    const v4 = Buffer.from([192, 0, 2, 17]);
    expect(store.render(received(`${TEST}.5.0`, "OctetString", v4)).value).toBe("192.0.2.17");
    const v6 = Buffer.from("20010db8000000000000000000000001", "hex");
    expect(store.render(received(`${TEST}.5.0`, "OctetString", v6)).value).toBe("2001:db8::1");
    const odd = Buffer.from([1, 2, 3]);
    expect(store.render(received(`${TEST}.5.0`, "OctetString", odd)).value).toBe("0x010203");
  });

  test("octets that are not text are marked 0x: never taken for the text of their hex", () => {
    const octets = store.render(received("1.2.3.4", "OctetString", Buffer.from([0x00, 0x1b, 0x21])));
    const text = store.render(received("1.2.3.4", "OctetString", Buffer.from("001b21")));
    expect([octets.value, text.value]).toEqual(["0x001b21", "001b21"]);
  });

  test("an integer DISPLAY-HINT d-2, BITS by their labels, an IpAddress as received", () => {
    expect(store.render(received(`${TEST}.6.0`, "Integer", 4215)).value).toBe("42.15");
    expect(store.render(received(`${TEST}.6.0`, "Integer", -5)).value).toBe("-0.05");
    const flags = Buffer.from([0b1000_0000, 0b0100_0000]);
    expect(store.render(received(`${TEST}.7.0`, "OctetString", flags)).value).toBe("fan disk");
    expect(store.render(received(`${TEST}.8.0`, "IpAddress", "192.0.2.1")).value).toBe("192.0.2.1");
  });

  test("an OID value by its name; an object no MIB defines as received, hex when not printable", () => {
    const trapOid = store.render(received("1.3.6.1.2.1.1.2.0", "OID", "1.3.6.1.6.3.1.1.5.3"));
    expect(trapOid).toMatchObject({ name: "sysObjectID", value: "IF-MIB::linkDown" });
    expect(store.render(received("1.3.6.1.4.1.32473.50.1", "OctetString", Buffer.from([0, 0xff])))).toEqual({
      oid: "1.3.6.1.4.1.32473.50.1",
      name: "enterprises",
      module: "SNMPv2-SMI",
      index: ".32473.50.1",
      value: "0x00ff",
      type: "OctetString",
    });
    expect(store.render(received("1.3.6.1.4.1.32473.50.2", "Counter64", 12345678901234n)).value).toBe(
      "12345678901234",
    );
  });
});

describe("RFC 2579 §3.1 display hints", () => {
  test("octet formats: repeat count with terminator, ascii, utf-8, octal, a last spec repeated", () => {
    expect(compileOctetHint("*1d.!")?.(Buffer.from([2, 10, 20, 1, 7]))).toBe("10.20!7");
    expect(compileOctetHint("1d.1d.1d.1d")?.(Buffer.from([10, 0, 0, 1]))).toBe("10.0.0.1");
    expect(compileOctetHint("255t")?.(Buffer.from("grüß", "utf8"))).toBe("grüß");
    expect(compileOctetHint("1o ")?.(Buffer.from([8, 9]))).toBe("10 11");
    expect(compileOctetHint("2x:")?.(Buffer.from([0xfe, 0x80, 0, 1, 0xab]))).toBe("fe80:1:ab");
    expect(compileOctetHint("255a")?.(Buffer.from("a\x1b[2Jb\tc"))).toBe("a\uFFFD[2Jb\tc");
    expect(compileOctetHint("1q")).toBeUndefined();
    expect(compileOctetHint("0a")).toBeUndefined();
  });

  test("integer formats", () => {
    expect(compileIntegerHint("d-1")?.(235)).toBe("23.5");
    expect(compileIntegerHint("x")?.(255)).toBe("ff");
    expect(compileIntegerHint("b")?.(5)).toBe("101");
    expect(compileIntegerHint("d")?.(42)).toBe("42");
    expect(compileIntegerHint("255a")).toBeUndefined();
  });
});

describe("display hints past the SMI's bounds", () => {
  test("more than 10 decimals (an Integer32 has 10 digits) or an octet length past 65535 is no hint", () => {
    expect(compileIntegerHint("d-10")?.(235)).toBe("0.0000000235");
    expect(compileIntegerHint("d-11")).toBeUndefined();
    expect(compileIntegerHint("d-600000000")).toBeUndefined();
    expect(compileOctetHint("65535a")?.(Buffer.from("ok"))).toBe("ok");
    expect(compileOctetHint("65536a")).toBeUndefined();
    expect(compileOctetHint("1x:99999999999999999999999d")).toBeUndefined();
  });

  test("an object whose DISPLAY-HINT is d-600000000 renders its values as received", async () => {
    const dir = tempDir("petgate-mibs-");
    writeFileSync(
      join(dir, "HUGE-HINT-MIB"),
      `HUGE-HINT-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI TEXTUAL-CONVENTION FROM SNMPv2-TC;
Huge ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "d-600000000"
    STATUS current
    DESCRIPTION "An implied decimal point no string can hold."
    SYNTAX Integer32
hugeReading OBJECT-TYPE
    SYNTAX Huge
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A reading."
    ::= { enterprises 32473 97 1 }
END
`,
    );
    const loaded = await loadMibs({ dirs: [dir] });
    expect(loaded.problems).toEqual([]);
    const reading = loaded.store.render(received("1.3.6.1.4.1.32473.97.1.0", "Integer", 235));
    expect(reading).toMatchObject({ name: "hugeReading", value: "235" });
  });

  test("no hint, textual convention or enumeration renders any value by throwing", () => {
    const digits = fc.oneof(
      fc.nat(70_000).map(String),
      fc.stringMatching(/^[0-9]{1,25}$/),
      fc.constantFrom("10", "11", "65535", "65536", "600000000", "99999999999999999999999"),
    );
    const octetSpec = fc
      .tuple(
        fc.boolean(),
        digits,
        fc.constantFrom("x", "d", "o", "a", "t"),
        fc.option(fc.constantFrom(":", ".", "-", ",", " ", "!"), { nil: "" }),
        fc.option(fc.constantFrom(":", ".", "!"), { nil: "" }),
      )
      .map(([star, length, format, sep, term]) => `${star ? "*" : ""}${length}${format}${sep}${term}`);
    const hint = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.array(octetSpec, { minLength: 1, maxLength: 4 }).map((specs) => specs.join("")),
      fc
        .tuple(fc.constantFrom("d", "x", "o", "b"), fc.option(digits, { nil: undefined }))
        .map(([format, places]) => (places === undefined ? format : `${format}-${places}`)),
    );
    const object = fc.record(
      {
        module: fc.constant("FUZZ-MIB"),
        name: fc.constant("fuzzed"),
        oid: fc.constant("1.3.6.1.4.1.32473.96.1"),
        index: fc.constant(""),
        syntax: fc.constantFrom(
          "INTEGER",
          "Integer32",
          "OCTET STRING",
          "BITS",
          "OBJECT IDENTIFIER",
          "IpAddress",
        ),
        tc: fc.constantFrom(
          "DisplayString",
          "PhysAddress",
          "MacAddress",
          "InetAddress",
          "InetAddressIPv6",
          "Other",
        ),
        enums: fc.dictionary(fc.nat(64).map(String), fc.string({ maxLength: 8 })),
        displayHint: hint,
      },
      { requiredKeys: ["module", "name", "oid", "index", "syntax"] },
    ) as fc.Arbitrary<MibObject>;
    const varbind = fc.record(
      {
        oid: fc.constant("1.3.6.1.4.1.32473.96.1.0"),
        type: fc.constantFrom("Integer", "OctetString", "OID", "IpAddress", "Counter", "Gauge", "TimeTicks"),
        value: fc.oneof(
          fc.integer(),
          fc.double(),
          fc.string({ maxLength: 40 }),
          fc.constant(null),
          fc.constantFrom("1.3.6.1.6.3.1.1.5.3", "", "."),
        ),
        hex: fc.uint8Array({ maxLength: 512 }).map((octets) => Buffer.from(octets).toString("hex")),
      },
      { requiredKeys: ["oid", "type", "value"] },
    ) as fc.Arbitrary<VarbindJson>;
    fc.assert(
      fc.property(object, fc.array(varbind, { maxLength: 4 }), (o, vbs) => {
        const render = valueRenderer(o, (oid) => store.name(oid)?.name);
        for (const vb of vbs) expect(typeof render(vb)).toBe("string");
      }),
      { numRuns: 1000 },
    );
  });
});
