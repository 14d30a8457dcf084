import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/config/load.js";
import { AddressAllowList, parseHostPort } from "../src/net/address.js";

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, "petgate.yml");
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("fills the listener defaults from the schema", () => {
    expect(parseConfig("", "petgate.yml").listener).toEqual({
      communities: ["public"],
      allowSources: [],
      receiveBufferBytes: 64 * 1024 * 1024,
      users: [],
      unknownSeverity: "critical",
    });
  });

  it("lists every problem with the file, line and path", () => {
    expect(
      problems(
        [
          "listener:",
          "  bind: nowhere:99999",
          "  allowSources: [10.0.0.0/8, 10.0.0.0/40, bogus]",
          "  colour: red",
        ].join("\n"),
      ),
    ).toEqual([
      "petgate.yml:2: listener.bind: expected HOST:PORT, e.g. 0.0.0.0:162 or [::]:162",
      "petgate.yml:3: listener.allowSources[1]: not an IP address or CIDR block",
      "petgate.yml:3: listener.allowSources[2]: not an IP address or CIDR block",
      "petgate.yml:4: listener.colour: unknown key",
    ]);
  });

  it("reports YAML syntax errors with their line", () => {
    expect(problems("listener:\n  communities: [public\n")[0]).toMatch(/^petgate\.yml:\d+: YAML: /);
  });

  it("refuses a secret written inline: a key is a reference to an env var or a file", () => {
    const p = problems(
      "listener:\n  users:\n    - name: u\n      authProtocol: sha\n      authKey: hunter2hunter2\n",
    );
    expect(p[0]).toMatch(/^petgate\.yml:5: listener\.users\[0\]\.authKey: /);
    expect(p.join("\n")).not.toContain("hunter2");
  });
});

describe("addresses", () => {
  it("parses HOST:PORT forms", () => {
    const d = { host: "0.0.0.0", port: 1162 };
    expect(parseHostPort("127.0.0.1:162", d)).toEqual({ host: "127.0.0.1", port: 162 });
    expect(parseHostPort("[::1]:9162", d)).toEqual({ host: "::1", port: 9162 });
    expect(parseHostPort(":2162", d)).toEqual({ host: "0.0.0.0", port: 2162 });
    expect(parseHostPort("", d)).toEqual(d);
    expect(() => parseHostPort("host:70000", d)).toThrow(/not HOST:PORT/);
  });

  it("allows sources by address and CIDR block, IPv4-mapped IPv6 included", () => {
    const allow = new AddressAllowList(["10.0.0.0/8", "192.0.2.7", "fd00::/8"]);
    expect(allow.allows("10.200.1.1")).toBe(true);
    expect(allow.allows("::ffff:10.1.2.3")).toBe(true);
    expect(allow.allows("192.0.2.7")).toBe(true);
    expect(allow.allows("192.0.2.8")).toBe(false);
    expect(allow.allows("fd12::1")).toBe(true);
    expect(allow.allows("127.0.0.1")).toBe(false);
    expect(new AddressAllowList([]).allows("203.0.113.9")).toBe(true);
  });
});

describe("examples/petgate.yml", () => {
  it("is a valid configuration: ten BMCs, the default filters, one destination", async () => {
    const { loadConfig } = await import("../src/config/load.js");
    const config = loadConfig(new URL("../examples/petgate.yml", import.meta.url).pathname);
    expect(config.bmcs.map((b) => b.host)).toEqual(Array.from({ length: 10 }, (_, i) => `127.1.0.${i + 1}`));
    expect(config.pef).toMatchObject({
      filters: "default",
      destinations: [{ ip: "127.0.0.1", selector: 1 }],
    });
  });
});
