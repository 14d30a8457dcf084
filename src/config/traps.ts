import { z } from "zod";
import { PET_TABLE_SEVERITIES } from "../pet/tables/severity.js";
import { matcherString } from "./matchers.js";

const WHAT_TRAP_MATCHERS =
  'Alertmanager matchers on trap (MIB name or numeric OID; =~ for subtrees), trap_oid, source, bmc, version, label_NAME, each varbind by its object name (and NAME_index, its instance), and for PETs sensor_type, sensor_number, sensor, event, severity, direction, entity: NAME="v", NAME!="v", NAME=~"regex", NAME!~"regex"';

const TEMPLATE_NAMES =
  "{{name}} is replaced by the fact of that name (the names matchers see, plus description and varbinds); nothing else is expanded";

/** Prometheus' label name syntax: the Alertmanager sink sends a rule's labels as alert labels. */
const labelName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a label name [A-Za-z_][A-Za-z0-9_]*");

const trapRule = z
  .object({
    name: z
      .string()
      .min(1)
      .describe("the rule's name, unique among traps (shown on notifications and in /metrics)"),
    match: z.array(matcherString).min(1).describe(`${WHAT_TRAP_MATCHERS}; all must match (an alert fires)`),
    resolved_by: z
      .array(matcherString)
      .min(1)
      .optional()
      .describe(
        "matchers of the trap that resolves the alert of the same key (generic traps only); all must match",
      ),
    action: z
      .enum(["notify", "log", "drop"])
      .default("notify")
      .describe("notify (routed), log (recorded in recent events, not routed) or drop (only counted)"),
    severity: z
      .enum(PET_TABLE_SEVERITIES)
      .optional()
      .describe("what the alert fires at (default: the PET's severity; information for other traps)"),
    summary: z
      .string()
      .min(1)
      .optional()
      .describe(`one-line summary, at most 512 characters; ${TEMPLATE_NAMES}`),
    detail: z
      .string()
      .optional()
      .describe(
        `more for a person, at most 4096 characters (default: the MIB's DESCRIPTION); ${TEMPLATE_NAMES}`,
      ),
    labels: z
      .record(labelName, z.string())
      .optional()
      .describe(
        "labels routes, silences and inhibit rules match on; values are templates (at most 128 characters)",
      ),
    key: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "fact names (varbinds) whose values, with the rule and the BMC or source, make a generic trap's alert, which a resolved_by trap of the same values resolves (so key needs resolved_by); ignored for PETs",
      ),
  })
  .strict()
  // An alert nothing resolves stays open in the alert book: every later trap of its key is "unchanged".
  .refine((rule) => rule.key === undefined || rule.resolved_by !== undefined, {
    message:
      "a key needs resolved_by: without it the alert fires once and, never resolved, keeps every later trap of its key quiet",
    path: ["key"],
  });

/**
 * `traps:` in petgate.yml: what a trap becomes, snmptt's EVENT/MATCH/FORMAT in Alertmanager's matcher
 * syntax. Names are checked unique in configSchema, beside the other named lists.
 */
export const trapRulesSchema = z
  .array(trapRule)
  .describe("trap rules, tried in order; the first whose match (or resolved_by) matches applies");

export type TrapRuleConfig = z.infer<typeof trapRule>;
