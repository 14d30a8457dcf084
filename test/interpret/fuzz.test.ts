import fc from "fast-check";
import snmp from "net-snmp";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/load.js";
import type { MibStore } from "../../src/mib/store.js";
import { eventFacts } from "../../src/pipeline/interpret/facts.js";
import { TrapRuleError } from "../../src/pipeline/interpret/rules.js";
import { compileTemplate } from "../../src/pipeline/interpret/template.js";
import {
  exampleStore,
  IF_DESCR,
  IF_INDEX,
  LINK_DOWN,
  OUTLET_NAME,
  OUTLET_STATE,
  queued,
  rulesFrom,
} from "./traps.js";

let store: MibStore;
beforeAll(async () => {
  store = await exampleStore();
});

const OID_POOL = [IF_INDEX, IF_DESCR, OUTLET_NAME, OUTLET_STATE, "1.3.6.1.4.1.99999.1", "1.3.6.1.2.1.1.5"];
const TRAP_POOL = [
  LINK_DOWN,
  "1.3.6.1.4.1.32473.1.0.1",
  "1.3.6.1.6.3.1.1.5.1",
  "1.3.6.1.4.1.99999.0.3",
  "1.3.6",
];

/** Text a sender may put in a value, with template and matcher syntax mixed in. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom("{{trap}}", "{{ifDescr}}", "{{{{x}}}}", '"}}', "\\", "a\nb", ".*", "$&", "__proto__"),
  fc
    .array(fc.constantFrom("{{", "}}", "trap", "ifDescr", "\\", '"', "=~", " ", "\u0000", "é"), {
      maxLength: 12,
    })
    .map((a) => a.join("")),
);

const varbind = fc.oneof(
  fc.record({
    oid: fc.tuple(fc.constantFrom(...OID_POOL), fc.nat(70000)).map(([o, i]) => `${o}.${i}`),
    type: fc.constant(snmp.ObjectType.OctetString),
    value: fc.oneof(
      hostileText.map((s) => Buffer.from(s, "utf8")),
      fc.uint8Array({ maxLength: 600 }).map(Buffer.from),
    ),
  }),
  fc.record({
    oid: fc.tuple(fc.constantFrom(...OID_POOL), fc.nat(9)).map(([o, i]) => `${o}.${i}`),
    type: fc.constant(snmp.ObjectType.Integer),
    value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  }),
  fc.record({
    oid: fc.constantFrom(...OID_POOL),
    type: fc.constant(snmp.ObjectType.OID),
    value: fc.constantFrom(...TRAP_POOL),
  }),
);

const trapEvent = fc
  .record({
    trapOid: fc.constantFrom(...TRAP_POOL),
    varbinds: fc.array(varbind, { maxLength: 40 }),
    address: fc.constantFrom("192.0.2.7", "::1", "10.30.0.1"),
  })
  .map(({ trapOid, varbinds, address }) =>
    queued({
      pdu: {
        type: snmp.PduType.TrapV2,
        community: "public",
        varbinds: [{ oid: "1.3.6.1.6.3.1.1.4.1.0", type: snmp.ObjectType.OID, value: trapOid }, ...varbinds],
      },
      rinfo: { address, port: 162 },
    }),
  );

const NAMES = [
  "trap",
  "trap_oid",
  "source",
  "bmc",
  "ifDescr",
  "ifIndex",
  "ifIndex_index",
  "outletName",
  "outletState",
  "varbinds",
  "description",
  "label_rack",
];

describe("templates and matchers over arbitrary trap contents", () => {
  it("a template renders each fact's value as it is, {{…}} inside values never expanded, within its bound", () => {
    fc.assert(
      fc.property(
        trapEvent,
        fc.array(
          fc.tuple(
            hostileText.filter((s) => !/\{\{|\}\}/.test(s)),
            fc.constantFrom(...NAMES),
          ),
          { maxLength: 6 },
        ),
        (event, parts) => {
          const text = parts.map(([lit, name]) => `${lit}{{${name}}}`).join("");
          const { facts } = eventFacts(
            event,
            { name: "b", address: "192.0.2.7", labels: { rack: "{{trap}}" } },
            store,
          );
          const expected = parts.map(([lit, name]) => lit + (facts.get(name) ?? "")).join("");
          const rendered = compileTemplate(text, () => true, 512).render(facts);
          expect(rendered).toBe(expected.slice(0, 512));
        },
      ),
      { numRuns: 400, seed: 0x15 },
    );
  });

  it("rules with arbitrary matcher values compile or fail with a TrapRuleError, and never throw on a trap", () => {
    const matcher = fc
      .tuple(fc.constantFrom(...NAMES), fc.constantFrom("=", "!=", "=~", "!~"), hostileText)
      .map(([name, op, value]) => `${name}${op}${JSON.stringify(value)}`);
    fc.assert(
      fc.property(
        fc.array(matcher, { minLength: 1, maxLength: 4 }),
        fc.array(trapEvent, { maxLength: 5 }),
        (matchers, events) => {
          let rules: ReturnType<typeof rulesFrom>;
          const yaml = `traps:\n  - name: r\n    match: ${JSON.stringify(matchers)}\n    summary: '{{ifDescr}} {{trap}}'\n    key: [ifIndex]\n    resolved_by: ['trap="IF-MIB::linkUp"']\n`;
          try {
            rules = rulesFrom(yaml, store);
          } catch (err) {
            // A regex that does not compile, or trap="…" naming nothing loaded.
            if (err instanceof TrapRuleError || err instanceof ConfigError) return;
            throw err;
          }
          for (const event of events) {
            const v = rules.interpret(event);
            expect(v.action).toBe("notify");
            if (v.rule === "r") expect(v.summary?.length).toBeLessThanOrEqual(512);
          }
        },
      ),
      { numRuns: 300, seed: 0x15 },
    );
    expect(() => rulesFrom(`traps:\n  - { name: r, match: ['trap=~"("'] }\n`, store)).toThrow(
      /invalid matcher/,
    );
  });
});
