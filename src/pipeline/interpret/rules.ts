import { createHash } from "node:crypto";
import { type Matcher, MatcherError, parseMatcher } from "../../config/matchers.js";
import type { TrapRuleConfig } from "../../config/traps.js";
import type { MibStore } from "../../mib/store.js";
import type { PetSeverity } from "../../pet/tables/severity.js";
import type { TrapEvent } from "../../pet/trap.js";
import { matcherMatchesValue } from "../alerting/route.js";
import type { QueuedEvent } from "../intake/event.js";
import { type BmcFacts, eventFacts, FACT_NAMES, INDEX_SUFFIX, namedTrap, translateTrap } from "./facts.js";
import { compileTemplate, type Template, TemplateError } from "./template.js";
import type { TranslatedTrap, TrapAction, Verdict } from "./types.js";

/** Bounds of rendered text: a summary is one line for subjects, a label value an index key. */
const MAX_SUMMARY = 512;
const MAX_DETAIL = 4096;
const MAX_LABEL_VALUE = 128;
/** Trap OIDs whose candidate rules are remembered (a sender can make up OIDs). */
const MAX_TRAP_OIDS = 1024;

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

/** A matcher on `trap` or `trap_oid`: decided by the trap OID alone, as its name follows from it. */
type OidTest = (name: string, oid: string) => boolean;

/** The matchers of a rule's `match` or `resolved_by`, split by what decides them. */
interface RuleMatchers {
  byOid: readonly OidTest[];
  byFacts: readonly FactTest[];
}

interface CompiledRule {
  name: string;
  action: TrapAction;
  severity?: PetSeverity;
  match: RuleMatchers;
  resolvedBy?: RuleMatchers;
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

  // The rules naming a trap's OID exactly and those naming none, in order.
  const unindexed = compiled.filter((r) => r.oids.length === 0);
  const byOid = new Map<string, CompiledRule[]>();
  for (const oid of new Set(compiled.flatMap((r) => r.oids)))
    byOid.set(
      oid,
      compiled.filter((r) => r.oids.length === 0 || r.oids.includes(oid)),
    );
  // Of those, the ones whose trap and trap_oid matchers hold, found once per kind and OID (PETs have
  // their own: the name differs, and resolved_by is not theirs): a trap is tried against those only.
  const candidates = new Map<string, readonly Candidate[]>();
  const candidatesOf = (kind: TrapEvent["kind"], oid: string): readonly Candidate[] => {
    const at = `${kind} ${oid}`;
    let found = candidates.get(at);
    if (found === undefined) {
      const rules = byOid.get(oid) ?? unindexed;
      const { name } = rules.length > 0 ? namedTrap(store, kind, oid) : { name: oid };
      found = rules.flatMap((rule): Candidate[] => {
        const fires = rule.match.byOid.every((t) => t(name, oid));
        const resolves = kind === "trap" && rule.resolvedBy?.byOid.every((t) => t(name, oid)) === true;
        return fires || resolves ? [{ rule, fires, resolves }] : [];
      });
      if (candidates.size >= MAX_TRAP_OIDS) candidates.clear();
      candidates.set(at, found);
    }
    return found;
  };

  return {
    store,
    interpret(event, bmc, sensor) {
      const rules = candidatesOf(event.trap.kind, event.trap.snmp.trapOid);
      // No rule can apply: the catch-all, without building the facts.
      if (rules.length === 0)
        return catchAll(event.trap.kind === "trap" ? translateTrap(event.trap, store) : undefined);
      const { facts, trap } = eventFacts(event, bmc, store, sensor);
      for (const { rule, fires, resolves } of rules) {
        const direction =
          fires && rule.match.byFacts.every((t) => t(facts))
            ? "assertion"
            : resolves && rule.resolvedBy?.byFacts.every((t) => t(facts))
              ? "deassertion"
              : undefined;
        if (direction === undefined) continue;
        const detail = rule.detail?.render(facts) ?? trap?.description?.slice(0, MAX_DETAIL);
        const identified = trap !== undefined && (rule.key !== undefined || rule.resolvedBy !== undefined);
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
      return catchAll(trap);
    },
  };
}

/** A rule that may apply to traps of one OID: by its match (fires), by its resolved_by (resolves). */
interface Candidate {
  rule: CompiledRule;
  fires: boolean;
  resolves: boolean;
}

/** What no rule applied to becomes: notified, a generic trap with its MIB name and DESCRIPTION. */
function catchAll(trap: TranslatedTrap | undefined): Verdict {
  const detail = trap?.description?.slice(0, MAX_DETAIL);
  return { action: "notify", labels: {}, ...(detail !== undefined && { detail }), ...(trap && { trap }) };
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
  const split = (compiledMatchers: readonly CompiledMatcher[]): RuleMatchers => ({
    byOid: compiledMatchers.flatMap((m) => (m.on === "oid" ? [m.test] : [])),
    byFacts: compiledMatchers.flatMap((m) => (m.on === "facts" ? [m.test] : [])),
  });
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
    compiledMatchers?.flatMap((m) => (m.on === "oid" && m.exactOid !== undefined ? [m.exactOid] : []))[0];
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
    match: split(match),
    ...(resolvedBy && { resolvedBy: split(resolvedBy) }),
    ...(summary && { summary }),
    ...(detail && { detail }),
    labels,
    ...(rule.key && { key: rule.key }),
    oids,
  };
}

type CompiledMatcher =
  | { on: "facts"; test: FactTest }
  /** exactOid: set for trap="…", the OID every trap it matches has. */
  | { on: "oid"; test: OidTest; exactOid?: string };

/**
 * A matcher. `trap` = / != compare OIDs (the name resolved now); `trap` =~ / !~ hold when the regex
 * matches the MIB name or the numeric OID (so a subtree can be written either way). Matchers on
 * `trap` and `trap_oid` are decided per trap OID (candidatesOf), the others per event.
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
  if (m.name === "trap_oid") return { on: "oid", test: (_, oid) => matcherMatchesValue(m, oid) };
  if (m.name !== "trap")
    return { on: "facts", test: (facts) => matcherMatchesValue(m, facts.get(m.name) ?? "") };
  if (m.op === "=~" || m.op === "!~") {
    const re = m.regex as RegExp;
    const either = (name: string, oid: string) => re.test(name) || re.test(oid);
    return { on: "oid", test: m.op === "=~" ? either : (name, oid) => !either(name, oid) };
  }
  const oid = store.oid(m.value);
  if (oid === undefined) throw new TrapRuleError(path, `no loaded MIB defines the trap "${m.value}"`);
  if (m.op === "=") return { on: "oid", test: (_, trapOid) => trapOid === oid, exactOid: oid };
  return { on: "oid", test: (_, trapOid) => trapOid !== oid };
}
