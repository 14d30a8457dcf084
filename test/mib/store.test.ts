import { beforeAll, describe, expect, test } from "vitest";
import { loadMibs } from "../../src/mib/load.js";
import { MibStore } from "../../src/mib/store.js";

let store: MibStore;
beforeAll(async () => {
  const loaded = await loadMibs({ dirs: [] });
  expect(loaded.problems).toEqual([]);
  store = loaded.store;
});

describe("the store over net-snmp's bundled MIBs", () => {
  test("names trap OIDs by their SMIv2 module, and instances with their index", () => {
    expect(store.name("1.3.6.1.6.3.1.1.5.3")).toEqual({
      module: "IF-MIB",
      name: "linkDown",
      oid: "1.3.6.1.6.3.1.1.5.3",
      index: "",
    });
    expect(store.name(".1.3.6.1.2.1.2.2.1.1.3")).toMatchObject({
      module: "IF-MIB",
      name: "ifIndex",
      index: ".3",
    });
    expect(store.name("1.3.6.1.2.1.1.1.0")).toMatchObject({
      module: "SNMPv2-MIB",
      name: "sysDescr",
      index: ".0",
    });
    expect(store.name("1.3.6.1.4.1.99999.1")).toMatchObject({ name: "enterprises", index: ".99999.1" });
    expect(store.name("7.1")).toBeUndefined();
  });

  test("turns qualified, bare and numeric names into OIDs", () => {
    expect(store.oid("IF-MIB::linkDown")).toBe("1.3.6.1.6.3.1.1.5.3");
    expect(store.oid("linkUp")).toBe("1.3.6.1.6.3.1.1.5.4");
    expect(store.oid("IF-MIB::ifIndex.3")).toBe("1.3.6.1.2.1.2.2.1.1.3");
    expect(store.oid(".1.3.6.1.6.3.1.1.5.1")).toBe("1.3.6.1.6.3.1.1.5.1");
    expect(store.oid("NO-SUCH-MIB::thing")).toBeUndefined();
    expect(store.oid("IF-MIB::ifIndex.x")).toBeUndefined();
  });

  test("a notification carries its objects and description", () => {
    const linkDown = store.notification("1.3.6.1.6.3.1.1.5.3");
    expect(linkDown).toMatchObject({
      kind: "NOTIFICATION-TYPE",
      objects: ["ifIndex", "ifAdminStatus", "ifOperStatus"],
    });
    expect(linkDown?.description).toMatch(/^A linkDown trap signifies that the SNMP entity/);
    expect(linkDown?.line).toBeGreaterThan(0);
    // RFC 1215's coldStart TRAP-TYPE (ENTERPRISE snmp ::= 0) and SNMPv2-MIB's share snmpTraps.1.
    expect(store.notification("1.3.6.1.6.3.1.1.5.1")).toMatchObject({
      module: "SNMPv2-MIB",
      name: "coldStart",
    });
  });

  test("an object resolves its textual convention, hint and enumeration", () => {
    expect(store.object("1.3.6.1.2.1.2.2.1.8.3")).toMatchObject({
      name: "ifOperStatus",
      syntax: "INTEGER",
      index: ".3",
      enums: { 1: "up", 2: "down", 7: "lowerLayerDown" },
    });
    expect(store.object("1.3.6.1.2.1.2.2.1.2")).toMatchObject({
      name: "ifDescr",
      syntax: "OCTET STRING",
      tc: "DisplayString",
      displayHint: "255a",
    });
    expect(store.object("1.3.6.1.2.1.2.2.1.3.1")).toMatchObject({
      tc: "IANAifType",
      enums: { 6: "ethernetCsmacd" },
    });
    expect(store.object("1.3.6.1.6.3.1.1.5.3")).toBeUndefined();
    expect(store.objectNames().has("ifAdminStatus")).toBe(true);
    expect(store.objectNames().has("linkDown")).toBe(false);
    expect(store.modules()).toContain("IF-MIB");
  });

  test("an empty store names nothing", () => {
    const empty = MibStore.empty();
    expect(empty.name("1.3.6.1")).toBeUndefined();
    expect(empty.render({ oid: "1.3.6.1.2.1.2.2.1.1.3", type: "Integer", value: 3 })).toEqual({
      oid: "1.3.6.1.2.1.2.2.1.1.3",
      index: "",
      value: "3",
      type: "Integer",
    });
  });
});
