import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MibStore } from "../../src/mib/store.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { eventFacts } from "../../src/pipeline/interpret/facts.js";
import { netSnmp, type RunningListener, startListener, waitFor } from "../support/listener.js";
import { assertedPetFrom } from "../support/redis.js";
import { exampleStore, queuedEvent } from "./traps.js";

let store: MibStore;
let running: RunningListener;
beforeAll(async () => {
  store = await exampleStore();
  running = await startListener();
});
afterAll(() => running.close());

/** What the listener makes of the trap net-snmp's snmptrap sends with these arguments (numeric OIDs). */
async function sent(args: string[]): Promise<TrapEvent> {
  const before = running.events.length;
  await netSnmp("snmptrap", ["-c", "public", ...args.slice(0, 1), running.target, ...args.slice(1)]);
  return waitFor("the trap", () => running.events[before]);
}

const factsOf = (trap: TrapEvent, bmc?: Parameters<typeof eventFacts>[1]) =>
  Object.fromEntries(eventFacts(queuedEvent(trap), bmc, store).facts);

describe("facts of real traps", () => {
  it("an IF-MIB linkDown from snmptrap -v 2c: its name, varbinds by object name with enum labels, and the BMC's labels", async () => {
    const trap = await sent([
      "-v2c",
      "",
      "1.3.6.1.6.3.1.1.5.3",
      "1.3.6.1.2.1.2.2.1.1.3",
      "i",
      "3",
      "1.3.6.1.2.1.2.2.1.7.3",
      "i",
      "1",
      "1.3.6.1.2.1.2.2.1.8.3",
      "i",
      "2",
      "1.3.6.1.2.1.2.2.1.2.3",
      "s",
      "eth3 {{trap}}",
    ]);
    const facts = factsOf(trap, { name: "sw-01", address: "127.0.0.1", labels: { rack: "r1" } });
    expect(facts).toMatchObject({
      trap: "IF-MIB::linkDown",
      trap_oid: "1.3.6.1.6.3.1.1.5.3",
      source: "127.0.0.1",
      bmc: "sw-01",
      label_rack: "r1",
      version: "v2c",
      ifIndex: "3",
      ifIndex_index: "3",
      ifAdminStatus: "up",
      ifOperStatus: "down",
      ifDescr: "eth3 {{trap}}",
      varbinds: "ifIndex.3 = 3; ifAdminStatus.3 = up; ifOperStatus.3 = down; ifDescr.3 = eth3 {{trap}}",
    });
    expect(facts.description).toMatch(/^A linkDown trap signifies that the SNMP entity/);
    // Without an inventory BMC, bmc is the sender's address.
    expect(factsOf(trap).bmc).toBe("127.0.0.1");
  });

  it("an SNMPv1 enterprise trap from snmptrap -v 1 is its NOTIFICATION-TYPE (RFC 3584 §3.1.2), values hinted", async () => {
    const trap = await sent([
      "-v1",
      "1.3.6.1.4.1.32473.1",
      "192.0.2.7",
      "6",
      "1",
      "",
      "1.3.6.1.4.1.32473.1.1.2.1.1.4",
      "i",
      "4",
      "1.3.6.1.4.1.32473.1.1.2.1.2.4",
      "s",
      "web-01",
      "1.3.6.1.4.1.32473.1.1.2.1.3.4",
      "i",
      "3",
      "1.3.6.1.4.1.32473.1.1.2.1.4.4",
      "u",
      "123",
    ]);
    const { facts, trap: translated } = eventFacts(queuedEvent(trap), undefined, store);
    expect(Object.fromEntries(facts)).toMatchObject({
      trap: "ACME-PDU-MIB::outletFault",
      trap_oid: "1.3.6.1.4.1.32473.1.0.1",
      version: "v1",
      outletIndex: "4",
      outletName: "web-01",
      outletState: "fault",
      outletState_index: "4",
      outletCurrent: "12.3",
    });
    expect(translated).toMatchObject({
      name: "ACME-PDU-MIB::outletFault",
      oid: "1.3.6.1.4.1.32473.1.0.1",
      description: expect.stringMatching(/^An outlet went to fault/),
    });
  });

  it("a trap no loaded MIB names keeps its numeric OIDs", async () => {
    const trap = await sent(["-v2c", "", "1.3.6.1.4.1.99999.0.7", "1.3.6.1.4.1.99999.1.1", "s", "x"]);
    const facts = factsOf(trap);
    expect(facts.trap).toBe("SNMPv2-SMI::enterprises.99999.0.7");
    expect(facts.trap_oid).toBe("1.3.6.1.4.1.99999.0.7");
    expect(facts.description).toBe("");
  });

  it("a PET: sensor type, number, event, severity, direction and entity as decoded, the SDR name given", () => {
    const trap = assertedPetFrom("192.0.2.10", "44454c4c-3000-1010-8030-b4c04f4d5a31");
    const { facts, trap: translated } = eventFacts(queuedEvent(trap), undefined, store, "Intrusion");
    expect(Object.fromEntries(facts)).toEqual({
      trap: "SNMPv2-SMI::enterprises.3183.1.1.0.356224",
      trap_oid: "1.3.6.1.4.1.3183.1.1.0.356224",
      source: "192.0.2.10",
      bmc: "192.0.2.10",
      version: "v1",
      sensor_type: "Physical Security",
      sensor_number: "115",
      sensor: "Intrusion",
      event: "General Chassis Intrusion",
      severity: "ok",
      direction: "assertion",
      entity: "Sub-chassis",
    });
    expect(translated).toBeUndefined();
  });
});
