import { describe, expect, it } from "vitest";
import { ByteReader } from "../../src/ipmi/bytes.js";
import { decodeAlertPolicyEntry, decodeEventFilterEntry, type EventFilterEntry } from "../../src/ipmi/pef.js";
import {
  eventDataMatches,
  highestSeverity,
  matchEventFilters,
  type NumberedFilter,
} from "../../src/ipmi/pef-match.js";
import { decodeSelRecord, type SystemEventRecord } from "../../src/ipmi/sel.js";
import { type AlertRequest, type NumberedPolicy, runAlertPolicies } from "../../src/sim/pef-engine.js";

const hex = (s: string) => Buffer.from(s.replaceAll(" ", ""), "hex");

function filter(number: number, bytes: string, change: Partial<EventFilterEntry> = {}): NumberedFilter {
  return { number, entry: { ...decodeEventFilterEntry(new ByteReader(hex(bytes))), ...change } };
}

function policy(number: number, bytes: string): NumberedPolicy {
  return { number, entry: decodeAlertPolicyEntry(new ByteReader(hex(bytes))) };
}

function event(bytes: string): SystemEventRecord {
  const record = decodeSelRecord(hex(bytes));
  if (record.kind !== "system") throw new Error("not a system event record");
  return record;
}

// ipmiutil `lan -e` default filters 1 and 4 as written to ipmi_sim (PROTOCOL.md §6), 20 bytes each.
const TEMPERATURE = filter(1, "80 01 01 10 ffff 01 ff 01 950a 000000 000000 000000");
const CHASSIS_INTRUSION = filter(4, "80 01 01 08 ffff 05 05 03 0100 000000 000000 000000");

// SEL records: ID, 02, timestamp LE, generator 20h (BMC) ch 0 LUN 0, EvMRev 04, then the event.
/** Temperature sensor 01h, threshold (01h), assertion, UCR going high (offset 9): `ipmitool event 1`. */
const UCR_HIGH = event("0100 02 761ea84f 2000 04 01 01 01 09ffff");
const UCR_HIGH_DEASSERTED = event("0200 02 761ea84f 2000 04 01 01 81 09ffff");
const UCR_LOW = event("0300 02 761ea84f 2000 04 01 01 01 08ffff");
const UNC_HIGH = event("0400 02 761ea84f 2000 04 01 01 01 07ffff");
/** Physical security sensor 73h, sensor-specific (6Fh), general chassis intrusion (offset 0), as Dell's. */
const INTRUSION_73 = event("0500 02 761ea84f 2000 04 05 73 6f 00ffff");
const STATE_05 = event("0600 02 761ea84f 2000 04 05 05 03 00ffff");
const FROM_SMS_LUN1 = event("0700 02 761ea84f 4101 04 01 01 01 09ffff");

const numbers = (fs: NumberedFilter[]) => fs.map((f) => f.number);

describe("matchEventFilters", () => {
  it.each([
    ["temperature UCR going high vs ipmiutil filter 1", TEMPERATURE, UCR_HIGH, true],
    ["UNC going high is in filter 1's offset mask 0A95h", TEMPERATURE, UNC_HIGH, true],
    ["UCR going low (offset 8) is not", TEMPERATURE, UCR_LOW, false],
    ["a deassertion against trigger 01h", TEMPERATURE, UCR_HIGH_DEASSERTED, false],
    [
      "a deassertion against trigger 81h",
      filter(1, "80 01 01 10 ffff 01 ff 81 950a 000000 000000 000000"),
      UCR_HIGH_DEASSERTED,
      true,
    ],
    [
      "a deassertion against trigger FFh",
      { ...TEMPERATURE, entry: { ...TEMPERATURE.entry, eventTrigger: 0xff } },
      UCR_HIGH_DEASSERTED,
      true,
    ],
    ["chassis intrusion filter 4 (sensor 05h) vs sensor 73h", CHASSIS_INTRUSION, INTRUSION_73, false],
    ["filter 4 vs its own sensor 05h, state offset 0", CHASSIS_INTRUSION, STATE_05, true],
    [
      "filter 4 with sensor number and trigger FFh vs sensor 73h",
      filter(4, "80 01 01 08 ffff 05 ff ff 0100 000000 000000 000000"),
      INTRUSION_73,
      true,
    ],
    ["a disabled filter", filter(1, "00 01 01 10 ffff 01 ff 01 950a 000000 000000 000000"), UCR_HIGH, false],
    [
      "generator 20h vs the BMC",
      filter(1, "80 01 01 10 20ff 01 ff 01 950a 000000 000000 000000"),
      UCR_HIGH,
      true,
    ],
    [
      "generator 20h vs SMS 41h",
      filter(1, "80 01 01 10 20ff 01 ff 01 950a 000000 000000 000000"),
      FROM_SMS_LUN1,
      false,
    ],
    [
      "channel 0 LUN 0 vs LUN 1",
      filter(1, "80 01 01 10 ff00 01 ff 01 950a 000000 000000 000000"),
      FROM_SMS_LUN1,
      false,
    ],
    [
      "channel 0 LUN 1 vs LUN 1",
      filter(1, "80 01 01 10 ff01 01 ff 01 950a 000000 000000 000000"),
      FROM_SMS_LUN1,
      true,
    ],
    [
      "event data 2 must be FFh: it is",
      filter(1, "80 01 01 10 ffff 01 ff 01 950a 000000 ffffff 000000"),
      UCR_HIGH,
      true,
    ],
    [
      "event data 3 must be 00h: it is FFh",
      filter(1, "80 01 01 10 ffff 01 ff 01 950a 000000 000000 ffff00"),
      UCR_HIGH,
      false,
    ],
  ])("%s", (_, f, e, matches) => {
    expect(numbers(matchEventFilters([f], e))).toEqual(matches ? [f.number] : []);
  });

  it("returns every matching filter in table order", () => {
    const critical = filter(2, "80 01 02 20 ffff 01 01 01 0002 000000 000000 000000");
    expect(numbers(matchEventFilters([critical, CHASSIS_INTRUSION, TEMPERATURE], UCR_HIGH))).toEqual([1, 2]);
  });
});

describe("eventDataMatches (AND mask, Compare 1 exact bits, Compare 2 values)", () => {
  // OpenIPMI's example: AND 0Fh, Compare 1 0Ch, Compare 2 0Ah = (bit0 == 0 || bit1 == 1) && bit2 == 0 && bit3 == 1.
  const example = { andMask: 0x0f, compare1: 0x0c, compare2: 0x0a };
  it.each([
    [0x08, true], // bit0 = 0
    [0x0b, true], // bit1 = 1
    [0x0a, true],
    [0xf8, true], // bits 7-4 are masked off
    [0x09, false], // bit0 = 1 and bit1 = 0: neither "one or more" bit matches
    [0x0c, false], // bit2 must be 0
    [0x00, false], // bit3 must be 1
  ])("OpenIPMI example vs %i", (value, matches) => {
    expect(eventDataMatches(value, example)).toBe(matches);
  });

  it("an all-zero AND mask matches anything", () => {
    for (const value of [0x00, 0x5a, 0xff]) {
      expect(eventDataMatches(value, { andMask: 0, compare1: 0xff, compare2: 0x12 })).toBe(true);
    }
  });

  it("all-exact compares the masked byte", () => {
    const f = { andMask: 0xf0, compare1: 0xff, compare2: 0x40 };
    expect(eventDataMatches(0x4f, f)).toBe(true);
    expect(eventDataMatches(0x5f, f)).toBe(false);
  });

  it("all-'one or more' needs one bit equal to Compare 2", () => {
    const anySet = { andMask: 0x03, compare1: 0x00, compare2: 0x03 };
    expect(eventDataMatches(0x02, anySet)).toBe(true);
    expect(eventDataMatches(0x00, anySet)).toBe(false);
    const anyClear = { andMask: 0x03, compare1: 0x00, compare2: 0x00 };
    expect(eventDataMatches(0x01, anyClear)).toBe(true);
    expect(eventDataMatches(0x03, anyClear)).toBe(false);
  });
});

describe("highestSeverity", () => {
  it("is the most severe matched filter's, 0 for none", () => {
    expect(highestSeverity([CHASSIS_INTRUSION, TEMPERATURE])).toBe(0x10);
    expect(highestSeverity([])).toBe(0);
  });
});

describe("runAlertPolicies", () => {
  /** Delivers to the destination selectors listed as failing; records every call. */
  function deliverer(failing: number[] = []) {
    const calls: AlertRequest[] = [];
    return {
      calls,
      deliver: (a: AlertRequest) => {
        calls.push(a);
        return !failing.includes(a.destinationSelector);
      },
    };
  }
  const sent = (calls: AlertRequest[]) =>
    calls.map((c) => `${c.policyNumber}:${c.channel}/${c.destinationSelector}`);

  it("ipmiutil's policy entry 18 11 00 sends filter 1's alert to channel 1 destination 1", async () => {
    const d = deliverer();
    const attempts = await runAlertPolicies([TEMPERATURE], [policy(1, "18 11 00")], d);
    expect(sent(d.calls)).toEqual(["1:1/1"]);
    expect(attempts).toMatchObject([{ entryNumber: 1, delivered: true, filters: [TEMPERATURE] }]);
  });

  it("sends nothing for filters without the alert action or for disabled entries", async () => {
    const noAlert = filter(1, "80 00 01 10 ffff 01 ff 01 950a 000000 000000 000000");
    const d = deliverer();
    expect(await runAlertPolicies([noAlert], [policy(1, "18 11 00")], d)).toEqual([]);
    expect(await runAlertPolicies([TEMPERATURE], [policy(1, "10 11 00")], d)).toEqual([]);
    expect(d.calls).toEqual([]);
  });

  it("runs each selected set once, in policy number order", async () => {
    const toSet2 = filter(2, "80 01 02 08 ffff 01 ff 01 950a 000000 000000 000000");
    const d = deliverer();
    const policies = [policy(1, "28 13 00"), policy(2, "18 11 00"), policy(3, "38 14 00")];
    await runAlertPolicies([toSet2, TEMPERATURE, TEMPERATURE], policies, d);
    expect(sent(d.calls)).toEqual(["1:1/1", "2:1/3"]);
  });

  // Policy set 1: entry 1 type 1 -> destination 1, entry 2 type 1 -> destination 2 (failover).
  const failover = [policy(1, "19 11 00"), policy(2, "19 12 00")];

  it("type 1 skips a destination once an earlier one succeeded", async () => {
    const d = deliverer();
    await runAlertPolicies([TEMPERATURE], failover, d);
    expect(sent(d.calls)).toEqual(["1:1/1"]);
  });

  it("type 1 tries the next destination when the earlier one failed", async () => {
    const d = deliverer([1]);
    const attempts = await runAlertPolicies([TEMPERATURE], failover, d);
    expect(attempts.map((a) => [a.destinationSelector, a.delivered])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it("type 2 stops the set after a success, except for type 0 entries", async () => {
    const d = deliverer();
    const policies = [
      policy(1, "19 11 00"),
      policy(2, "1a 12 00"), // type 2: skipped (1 succeeded), stop
      policy(3, "19 13 00"), // not reached
      policy(4, "18 24 00"), // type 0, channel 2: always
    ];
    await runAlertPolicies([TEMPERATURE], policies, d);
    expect(sent(d.calls)).toEqual(["1:1/1", "1:2/4"]);
  });

  it("type 3 passes over the rest of its channel; type 4 over its destination type", async () => {
    const channels = [
      policy(1, "19 11 00"),
      policy(2, "1b 12 00"), // type 3 on channel 1: skipped, go to another channel
      policy(3, "18 13 00"), // type 0: always sent
      policy(4, "19 14 00"), // channel 1: passed over
      policy(5, "19 25 00"), // channel 2: reached, skipped (type 1, success so far)
    ];
    const d = deliverer();
    await runAlertPolicies([TEMPERATURE], channels, d);
    expect(sent(d.calls)).toEqual(["1:1/1", "1:1/3"]);

    const types = [
      policy(1, "19 11 00"),
      policy(2, "1c 12 00"),
      policy(3, "19 13 00"),
      policy(4, "18 14 00"),
    ];
    const typed = deliverer();
    await runAlertPolicies([TEMPERATURE], types, {
      ...typed,
      destinationType: (dest) => (dest.destinationSelector === 3 ? "oem1" : "pet"),
    });
    // Entry 2 (PET) is skipped; entry 3 (OEM 1) is a different type, reached and skipped as type 1.
    expect(sent(typed.calls)).toEqual(["1:1/1", "1:1/4"]);
  });

  it("waits for each delivery before deciding the next", async () => {
    const order: string[] = [];
    await runAlertPolicies([TEMPERATURE], failover, {
      deliver: async (a) => {
        order.push(`start ${a.destinationSelector}`);
        await new Promise((r) => setImmediate(r));
        order.push(`end ${a.destinationSelector}`);
        return false;
      },
    });
    expect(order).toEqual(["start 1", "end 1", "start 2", "end 2"]);
  });
});
