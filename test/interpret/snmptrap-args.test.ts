import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notificationFromArgs } from "../../src/cli/snmptrap-args.js";
import { UsageError } from "../../src/cli/usage.js";
import type { MibStore } from "../../src/mib/store.js";
import { type TrapEvent, trapEventFrom } from "../../src/pet/trap.js";
import { netSnmp, type RunningListener, startListener, waitFor } from "../support/listener.js";
import { exampleStore } from "./traps.js";

let store: MibStore;
let running: RunningListener;
beforeAll(async () => {
  store = await exampleStore();
  running = await startListener();
});
afterAll(() => running.close());

/** The event snmptrap's datagram becomes in the listener, and the one built from the same arguments. */
async function both(
  version: "1" | "2c",
  header: string[],
  triples: string[],
): Promise<[TrapEvent, TrapEvent]> {
  const before = running.events.length;
  await netSnmp("snmptrap", [`-v${version}`, "-c", "public", running.target, ...header, ...triples]);
  const received = await waitFor("the trap", () => running.events[before]);
  const built = trapEventFrom(
    notificationFromArgs(
      {
        version,
        community: "public",
        from: "127.0.0.1",
        positionals: [running.target, ...header, ...triples],
      },
      store,
    ),
  );
  if (!built.ok) throw new Error(built.error.message);
  return [received, built.event];
}

const comparable = (e: TrapEvent) => ({
  kind: e.kind,
  snmp: e.snmp,
  varbinds: e.kind === "trap" ? e.varbinds : undefined,
  digest: e.kind === "trap" ? e.varbindsDigest : undefined,
});

// Every type letter of snmptrap(1) (net-snmp snmp_add_var), numeric OIDs (the tests' net-snmp loads no MIBs).
const EVERY_TYPE = [
  ...["1.3.6.1.4.1.99999.1.1", "i", "-5"],
  ...["1.3.6.1.4.1.99999.1.2", "u", "4294967295"],
  ...["1.3.6.1.4.1.99999.1.3", "c", "9"],
  ...["1.3.6.1.4.1.99999.1.4", "t", "100"],
  ...["1.3.6.1.4.1.99999.1.5", "a", "192.0.2.1"],
  ...["1.3.6.1.4.1.99999.1.6", "o", "1.3.6.1.4.1.1"],
  ...["1.3.6.1.4.1.99999.1.7", "s", "h\u00e9llo {{trap}}"],
  ...["1.3.6.1.4.1.99999.1.8", "x", "00 1b 21 ff"],
  ...["1.3.6.1.4.1.99999.1.9", "d", "1 2 255"],
  ...["1.3.6.1.4.1.99999.1.10", "b", "0 9"],
  ...["1.3.6.1.4.1.99999.1.11", "n", ""],
  ...["1.3.6.1.4.1.99999.1.12", "U", "18446744073709551615"],
  ...["1.3.6.1.4.1.99999.1.13", "I", "-2"],
  ...["1.3.6.1.4.1.99999.1.14", "F", "1.5"],
  ...["1.3.6.1.4.1.99999.1.15", "D", "-2.25"],
];

describe("a trap from snmptrap's arguments", () => {
  it("v2c: the same event as the one snmptrap's datagram becomes, for every type letter", async () => {
    const [received, built] = await both("2c", ["4242", "1.3.6.1.4.1.99999.0.1"], EVERY_TYPE);
    expect(comparable(built)).toEqual(comparable(received));
  });

  it("v1 enterprise-specific and generic traps: the same event as snmptrap's", async () => {
    const specific = await both(
      "1",
      ["1.3.6.1.4.1.32473.1", "192.0.2.7", "6", "2", "77"],
      EVERY_TYPE.slice(0, 9),
    );
    expect(comparable(specific[1])).toEqual(comparable(specific[0]));
    const linkUp = await both("1", ["1.3.6.1.4.1.8072.3.2.10", "192.0.2.7", "3", "0", "5"], []);
    expect(comparable(linkUp[1])).toEqual(comparable(linkUp[0]));
    expect(linkUp[1].snmp.trapOid).toBe("1.3.6.1.6.3.1.1.5.4");
  });

  it("names through the MIBs, enumeration labels for i; what snmptrap would refuse is a usage error", () => {
    const args = (positionals: string[]) => ({
      version: "2c" as const,
      community: "public",
      from: "192.0.2.7",
      positionals,
    });
    const n = notificationFromArgs(
      args(["h", "", "ACME-PDU-MIB::outletFault", "ACME-PDU-MIB::outletState.4", "i", "fault"]),
      store,
    );
    expect(n.pdu.varbinds.slice(1)).toEqual([
      { oid: "1.3.6.1.6.3.1.1.4.1.0", type: 6, value: "1.3.6.1.4.1.32473.1.0.1" },
      { oid: "1.3.6.1.4.1.32473.1.1.2.1.3.4", type: 2, value: 3 },
    ]);
    const v3 = trapEventFrom(
      notificationFromArgs({ ...args(["h", "", "IF-MIB::linkUp"]), version: "3", user: "ops" }, store),
    );
    expect(v3.ok && v3.event.snmp).toEqual({
      version: "v3",
      pdu: "trap",
      user: "ops",
      uptime: 0,
      trapOid: "1.3.6.1.6.3.1.1.5.4",
    });
    for (const bad of [
      ["h", "", "ACME-PDU-MIB::outletFire"],
      ["h", "", "1.3.6", "1.3.6.1", "i"],
      ["h", "", "1.3.6", "1.3.6.1", "i", "many"],
      ["h", "", "1.3.6", "1.3.6.1", "a", "300.1.1.1"],
      ["h", "", "1.3.6", "1.3.6.1", "x", "abc"],
      ["h", "", "1.3.6", "1.3.6.1", "q", "1"],
      ["h", "0"],
    ])
      expect(() => notificationFromArgs(args(bad), store), bad.join(" ")).toThrow(UsageError);
  });
});
