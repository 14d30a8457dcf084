import { describe, expect, it } from "vitest";
import type { BmcTarget } from "../../src/config/inventory.js";
import { bmcsAt } from "../../src/pipeline/bmc/bmc-pool.js";

const bmc = (name: string, host: string): BmcTarget => ({
  name,
  host,
  port: 623,
  username: "admin",
  password: "",
  cipherSuite: 17,
  allowCipherFallback: false,
  labels: {},
});

describe("bmcsAt: the inventory BMCs at a trap's address", () => {
  const inventory = [
    bmc("a", "10.0.0.1"),
    bmc("named", "bmc-b.example.org"),
    bmc("shared-1", "10.0.0.9"),
    bmc("shared-2", "10.0.0.9"),
    bmc("v6", "FE80::1"),
  ];

  it("matches configured hosts however the address is written, in inventory order", () => {
    expect(bmcsAt("::ffff:10.0.0.1", inventory).map((t) => t.name)).toEqual(["a"]);
    expect(bmcsAt("[fe80::1]", inventory).map((t) => t.name)).toEqual(["v6"]);
    expect(bmcsAt("10.0.0.9", inventory).map((t) => t.name)).toEqual(["shared-1", "shared-2"]);
    expect(bmcsAt("10.0.0.2", inventory)).toEqual([]);
    expect(bmcsAt(undefined, inventory)).toEqual([]);
  });

  it("matches a named host by the addresses it resolved to, beside the configured ones, in inventory order", () => {
    const addresses = new Map([["named", ["10.0.0.9", "10.0.0.7"]]]);
    expect(bmcsAt("10.0.0.7", inventory, { addresses }).map((t) => t.name)).toEqual(["named"]);
    expect(bmcsAt("10.0.0.9", inventory, { addresses }).map((t) => t.name)).toEqual([
      "named",
      "shared-1",
      "shared-2",
    ]);
  });

  it("a caller changing the returned list does not change the next answer", () => {
    bmcsAt("10.0.0.9", inventory).pop();
    expect(bmcsAt("10.0.0.9", inventory)).toHaveLength(2);
  });
});
