import { createHash } from "node:crypto";
import type { TrapRuleConfig } from "../../config/traps.js";
import type { MibStore } from "../../mib/store.js";
import type { PetSeverity } from "../../pet/tables/severity.js";
import { type Matcher, MatcherError, matcherMatchesValue, parseMatcher } from "../alerting/route.js";
import type { QueuedEvent } from "../intake/event.js";
import { type BmcFacts, eventFacts, FACT_NAMES, INDEX_SUFFIX } from "./facts.js";
import { compileTemplate, type Template, TemplateError } from "./template.js";
import type { TrapAction, Verdict } from "./types.js";

/** Bounds of rendered text: a summary is one line for subjects, a label value an index key. */
const MAX_SUMMARY = 512;
const MAX_DETAIL = 4096;
const MAX_LABEL_VALUE = 128;
/** Trap OIDs a trap=~ matcher remembers its answer for. */
const MAX_TRAP_ANSWERS = 1024;

/**
 * Labels every notification has (route.ts notificationLabels) or its Alertmanager alert is given
 * (sinks/alert.ts: alertname, notification_id): a rule's label cannot be one.
 */
const RESERVED_LABELS: ReadonlySet<string> = new Set([
  "severity",
  "status",
  "sensor_type",
  "sensor_number",
  "event",
  "direction",
  "bmc",
  "instance",
  "trap",
  "trap_oid",
  "alert_key",
  "alertname",
  "notification_id",
  "rule",
]);

/** A trap rule that cannot be used: `path` is where in petgate.yml, e.g. ["traps", 2, "match", 0]. */
export class TrapRuleError extends Error {
  override name = "TrapRuleError";
  readonly code = "invalid-trap-rule";
  constructor(
    readonly path: readonly (string | number)[],
    reason: string,
  ) {
    super(`${configPath(path)}: ${reason}`);
  }
}

/** ["traps", 2, "match", 0] as the config loader writes paths: traps[2].match[0]. */
function configPath(path: readonly (string | number)[]): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`))
    .join("")
    .slice(1);
}

/** A matcher over an event's facts. */
type FactTest = (facts: ReadonlyMap<string, string>) => boolean;

interface CompiledRule {
  name: string;
  action: TrapAction;
  severity?: PetSeverity;
  match: readonly FactTest[];
  resolvedBy?: readonly FactTest[];
  summary?: Template;
  detail?: Template;
  labels: readonly [string, Template][];
  key?: readonly string[];
  /** The trap OID every trap it applies to has (an exact trap= in match and in resolved_by), if any. */
  oids: readonly string[];
}

/** The compiled `traps:` rules of a configuration. */
export interface TrapRules {
  /** The MIBs the rules were compiled against (and translate traps through). */
  readonly store: MibStore;
  /**
   * What to do with an event (first rule that applies wins; none: the catch-all, notify). `sensor` is
   * a PET's SDR sensor name when enrichment found it.
   */
  interpret(event: QueuedEvent, bmc?: BmcFacts, sensor?: string): Verdict;
}

/**
 * Compiles rules against the loaded MIBs: trap names resolve to OIDs now, so a name no MIB defines,
 * a template or matcher naming nothing a trap can have, and a reserved label name fail here, with
 * their place in petgate.yml. Key and resolved_by apply to generic traps only: a PET keeps its IPMI
 * identity (assertion and deassertion of the same offset).
 */
export function compileTrapRules(rules: readonly TrapRuleConfig[], store: MibStore): TrapRules {
  const objects = store.objectNames();
  const known = (name: string) =>
    FACT_NAMES.has(name) ||
    name.startsWith("label_") ||
    objects.has(name) ||
    (name.endsWith(INDEX_SUFFIX) && objects.has(name.slice(0, -INDEX_SUFFIX.length)));
  const compiled = rules.map((rule, i) => compileRule(rule, ["traps", i], store, known));

  // A trap is tried only against the rules naming its OID exactly and those naming none, in order.
  const unindexed = compiled.filter((r) => r.oids.length === 0);
  const byOid = new Map<string, CompiledRule[]>();
  for (const oid of new Set(compiled.flatMap((r) => r.oids)))
    byOid.set(
      oid,
      compiled.filter((r) => r.oids.length === 0 || r.oids.includes(oid)),
    );

  return {
    store,
    interpret(event, bmc, sensor) {
      const { facts, trap } = eventFacts(event, bmc, store, sensor);
      const generic = event.trap.kind === "trap";
      for (const rule of byOid.get(event.trap.snmp.trapOid) ?? unindexed) {
        const direction = rule.match.every((t) => t(facts))
          ? "assertion"
          : generic && rule.resolvedBy?.every((t) => t(facts))
            ? "deassertion"
            : undefined;
        if (direction === undefined) continue;
        const detail = rule.detail?.render(facts) ?? trap?.description?.slice(0, MAX_DETAIL);
        const identified = generic && (rule.key !== undefined || rule.resolvedBy !== undefined);
        return {
          rule: rule.name,
          action: rule.action,
          ...(rule.severity !== undefined && { severity: rule.severity }),
          ...(rule.summary && { summary: rule.summary.render(facts) }),
          ...(detail !== undefined && { detail }),
          labels: Object.fromEntries(rule.labels.map(([name, t]) => [name, t.render(facts)])),
          ...(identified && {
            alert: { key: alertKey(rule, facts), direction },
          }),
          ...(trap && { trap }),
        };
      }
      const detail = trap?.description?.slice(0, MAX_DETAIL);
      return { action: "notify", labels: {}, ...(detail !== undefined && { detail }), ...(trap && { trap }) };
    },
  };
}

/**
 * The alert of a trap: the same for a trap and the one that resolves it. A digest of the rule, BMC
 * or source and key values as a JSON array, so that values holding any separator stay apart and a
 * key of 32 varbinds of 512 bytes is still a short Redis field and Alertmanager label.
 */
function alertKey(rule: CompiledRule, facts: ReadonlyMap<string, string>): string {
  const values = (rule.key ?? []).map((name) => facts.get(name) ?? "");
  const parts = JSON.stringify([rule.name, facts.get("bmc") ?? "", ...values]);
  return `trap:${createHash("sha256").update(parts).digest("hex").slice(0, 32)}`;
}

function compileRule(
  rule: TrapRuleConfig,
  path: (string | number)[],
  store: MibStore,
  known: (name: string) => boolean,
): CompiledRule {
  const matchers = (key: "match" | "resolved_by", texts: readonly string[]) =>
    texts.map((text, j) => compileMatcher(text, [...path, key, j], store, known));
  const match = matchers("match", rule.match);
  const resolvedBy = rule.resolved_by && matchers("resolved_by", rule.resolved_by);
  const template = (text: string | undefined, at: (string | number)[], max: number) => {
    if (text === undefined) return undefined;
    try {
      return compileTemplate(text, known, max);
    } catch (err) {
      if (err instanceof TemplateError) throw new TrapRuleError(at, err.message);
      throw err;
    }
  };
  const labels = Object.entries(rule.labels ?? {}).map(([name, text]): [string, Template] => {
    const at = [...path, "labels", name];
    if (RESERVED_LABELS.has(name) || name.startsWith("label_"))
      throw new TrapRuleError(at, `"${name}" is a label every notification has: not a rule label`);
    return [name, template(text, at, MAX_LABEL_VALUE) as Template];
  });
  for (const [j, name] of (rule.key ?? []).entries())
    if (!known(name)) throw new TrapRuleError([...path, "key", j], `unknown name "${name}"`);
  const exact = (compiledMatchers: readonly CompiledMatcher[] | undefined) =>
    compiledMatchers?.find((m) => m.exactOid !== undefined)?.exactOid;
  const matchOid = exact(match);
  const resolvedOid = exact(resolvedBy);
  const oids =
    matchOid === undefined || (resolvedBy && resolvedOid === undefined)
      ? []
      : [matchOid, ...(resolvedOid === undefined ? [] : [resolvedOid])];
  const summary = template(rule.summary, [...path, "summary"], MAX_SUMMARY);
  const detail = template(rule.detail, [...path, "detail"], MAX_DETAIL);
  return {
    name: rule.name,
    action: rule.action,
    ...(rule.severity !== undefined && { severity: rule.severity }),
    match: match.map((m) => m.test),
    ...(resolvedBy && { resolvedBy: resolvedBy.map((m) => m.test) }),
    ...(summary && { summary }),
    ...(detail && { detail }),
    labels,
    ...(rule.key && { key: rule.key }),
    oids,
  };
}

interface CompiledMatcher {
  test: FactTest;
  /** Set for trap="…": the OID a matching trap has. */
  exactOid?: string;
}

/**
 * A matcher over facts. `trap` = / != compare OIDs (the name resolved now); `trap` =~ / !~ hold when
 * the regex matches the MIB name or the numeric OID (so a subtree can be written either way).
 */
function compileMatcher(
  text: string,
  path: (string | number)[],
  store: MibStore,
  known: (name: string) => boolean,
): CompiledMatcher {
  let m: Matcher;
  try {
    m = parseMatcher(text);
  } catch (err) {
    if (err instanceof MatcherError) throw new TrapRuleError(path, err.message);
    throw err;
  }
  if (!known(m.name)) throw new TrapRuleError(path, `unknown name "${m.name}"`);
  if (m.name !== "trap") return { test: (facts) => matcherMatchesValue(m, facts.get(m.name) ?? "") };
  if (m.op === "=~" || m.op === "!~") {
    const re = m.regex as RegExp;
    // The trap's name follows from its OID (the store is fixed): the answer is kept per OID, so a
    // regex runs once per kind of trap, not per trap. Bounded: a sender can make up OIDs.
    const answers = new Map<string, boolean>();
    const either = (facts: ReadonlyMap<string, string>) => {
      const oid = facts.get("trap_oid") ?? "";
      let answer = answers.get(oid);
      if (answer === undefined) {
        answer = re.test(facts.get("trap") ?? "") || re.test(oid);
        if (answers.size >= MAX_TRAP_ANSWERS) answers.clear();
        answers.set(oid, answer);
      }
      return answer;
    };
    return { test: m.op === "=~" ? either : (facts) => !either(facts) };
  }
  const oid = store.oid(m.value);
  if (oid === undefined) throw new TrapRuleError(path, `no loaded MIB defines the trap "${m.value}"`);
  if (m.op === "=") return { test: (facts) => facts.get("trap_oid") === oid, exactOid: oid };
  return { test: (facts) => facts.get("trap_oid") !== oid };
}
