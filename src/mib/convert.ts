/*
 * Trap rule stubs from MIB modules, as snmpttconvertmib writes EVENT/FORMAT stanzas: one rule per
 * NOTIFICATION-TYPE or TRAP-TYPE, its objects in the summary, its DESCRIPTION as the detail, and a
 * severity guessed from its name that a person is to review.
 */
import { Document, isMap, isScalar, isSeq } from "yaml";
import type { PetSeverity } from "../pet/tables/severity.js";
import type { ParsedModule } from "./parse.js";

/** Words of a notification name (camelCase or hyphenated) and the severity they suggest, first match wins. */
const SEVERITY_WORDS: readonly [PetSeverity, RegExp][] = [
  ["critical", /^(fail|fault|down$|critical|error)/],
  ["non-critical", /^(warn|degrad|threshold)/],
  ["ok", /^(up$|ok$|clear|restor|normal)/],
];

const REVIEW = " review: guessed from the trap's name";

export function guessSeverity(name: string): PetSeverity {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  for (const [severity, pattern] of SEVERITY_WORDS) if (words.some((w) => pattern.test(w))) return severity;
  return "information";
}

/** `traps:` YAML with one stub per notification of the modules, ready to paste into petgate.yml. */
export function trapRuleStubs(modules: readonly ParsedModule[]): string {
  const names = new Set<string>();
  const rules: Record<string, unknown>[] = [];
  for (const module of modules) {
    for (const node of module.nodes) {
      if (node.macro !== "NOTIFICATION-TYPE" && node.macro !== "TRAP-TYPE") continue;
      const name = names.has(node.name) ? `${module.name}-${node.name}` : node.name;
      names.add(name);
      const objects = (node.objects ?? []).map((o) => `${o}={{${o}}}`).join(" ");
      const rule: Record<string, unknown> = {
        name,
        match: [`trap="${module.name}::${node.name}"`],
        severity: guessSeverity(node.name),
        summary: objects === "" ? node.name : `${node.name}: ${objects}`,
      };
      // A DESCRIPTION is prose, not a template: "{{" in it would name a fact.
      if (node.description !== undefined) rule.detail = node.description.replaceAll("{{", "{ {");
      rules.push(rule);
    }
  }
  const doc = new Document({ traps: rules });
  const seq = doc.get("traps");
  if (isSeq(seq)) {
    for (const item of seq.items) {
      const severity = isMap(item) ? item.get("severity", true) : undefined;
      if (isScalar(severity)) severity.comment = REVIEW;
    }
  }
  return doc.toString({ lineWidth: 110 });
}
