import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { AckDestinations, type ResolveHost } from "../../src/pet/ack-destinations.js";

/** A resolver that knows only these names: a test never asks the network's DNS. */
const names =
  (known: Record<string, string[]>): ResolveHost =>
  async (host) => {
    const found = known[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found.map((address) => ({ address }));
  };

const destinations = (bmcs: string[], allowSources: string[] = [], resolve = names({})) =>
  AckDestinations.fromConfig(
    configSchema.parse({
      ack: { allowSources },
      bmcs: bmcs.map((host, i) => ({ name: `bmc-${i}`, host, password: "x", insecureInlinePassword: true })),
    }),
    resolve,
  );

const from = (address: string, port = 40000) => ({ address, port });

describe("PET Acknowledge destinations", () => {
  it("are the inventory BMCs at their configured host and port (623 by default)", () => {
    const d = destinations(["127.0.3.1", "127.0.3.2:1623", "[::1]:6230"]);
    expect(d.to(from("127.0.3.1"))).toEqual({ address: "127.0.3.1", port: 623 });
    expect(d.to(from("127.0.3.2"))).toEqual({ address: "127.0.3.2", port: 1623 });
    expect(d.to(from("::1"))).toEqual({ address: "::1", port: 6230 });
    // A dual-stack listener reports an IPv4 source as IPv4-mapped IPv6.
    expect(d.to(from("::ffff:127.0.3.1"))).toEqual({ address: "127.0.3.1", port: 623 });
  });

  it("match an IPv6 host however the inventory writes it, as Node reports the source", async () => {
    const d = destinations(
      ["[2001:DB8:0::1]:1623", "[::FFFF:127.0.3.5]", "bmc.example"],
      [],
      names({
        "bmc.example": ["2001:DB8:0:0:0:0:0:2"],
      }),
    );
    await d.resolveNames();
    expect(d.to(from("2001:db8::1"))).toEqual({ address: "2001:db8::1", port: 1623 });
    expect(d.to(from("127.0.3.5"))).toEqual({ address: "127.0.3.5", port: 623 });
    expect(d.to(from("2001:db8::2"))).toEqual({ address: "2001:db8::2", port: 623 });
  });

  it("are nowhere for any other source while ack.allowSources is empty", () => {
    const d = destinations(["127.0.3.1"]);
    expect(d.to(from("127.0.3.9"))).toBeUndefined();
    expect(d.to(from("127.0.0.1"))).toBeUndefined();
  });

  it("include the sources ack.allowSources covers, at UDP 623", () => {
    const d = destinations([], ["127.0.4.0/24", "::1"]);
    expect(d.to(from("127.0.4.77"))).toEqual({ address: "127.0.4.77", port: 623 });
    expect(d.to(from("::1"))).toEqual({ address: "::1", port: 623 });
    expect(d.to(from("127.0.5.1"))).toBeUndefined();
  });

  it("pick, of several BMCs behind one address, the one at the PET's source port, else the first", () => {
    const d = destinations(["127.0.3.1:1623", "127.0.3.1:2623"]);
    expect(d.to(from("127.0.3.1", 2623))).toEqual({ address: "127.0.3.1", port: 2623 });
    expect(d.to(from("127.0.3.1", 50000))).toEqual({ address: "127.0.3.1", port: 1623 });
  });

  it("include an inventory host name once resolved, not before", async () => {
    const d = destinations(
      ["bmc-a.example:1623", "no-such-host.invalid"],
      [],
      names({ "bmc-a.example": ["127.0.0.1", "::ffff:127.0.0.2"] }),
    );
    expect(d.to(from("127.0.0.1"))).toBeUndefined();
    await d.resolveNames();
    expect(d.to(from("127.0.0.1"))).toEqual({ address: "127.0.0.1", port: 1623 });
    expect(d.to(from("::ffff:127.0.0.2"))).toEqual({ address: "127.0.0.2", port: 1623 });
  });

  it("refuse an ack.allowSources entry that is no address or CIDR block", () => {
    const parsed = configSchema.safeParse({ ack: { allowSources: ["10.0.0.0/33"] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ["ack", "allowSources", 0] });
  });
});
