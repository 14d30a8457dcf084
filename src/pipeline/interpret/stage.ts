import { DEFAULT_UNKNOWN_SEVERITY, type PetSeverity } from "../../pet/tables/severity.js";
import { buildNotification } from "../alerting/notification.js";
import { eventOf, type Stage } from "../stage.js";
import type { TrapRules } from "./rules.js";

/*
 * Interpret: each enriched event through the `traps:` rules (rules.ts: first rule that applies wins,
 * none gives the catch-all verdict). What a rule drops stops here, counted only ("dropped"); what it
 * logs stops here too, its notification made for the recent events but not routed ("logged"), and
 * neither touches the alert book. The rest go on to alert state with their verdict.
 */

export function interpretStage(
  rules: TrapRules,
  unknownSeverity: PetSeverity = DEFAULT_UNKNOWN_SEVERITY,
): Stage {
  return {
    name: "interpret",
    exec: (items) =>
      items.filter((item) => {
        const event = eventOf(item);
        const facts = item.enrichment ?? { status: "none" };
        const verdict = rules.interpret(event, facts.bmc, facts.sensor?.name);
        item.verdict = verdict;
        if (verdict.action === "notify") return true;
        if (verdict.action === "log")
          item.notification = buildNotification(event, facts, { verdict, unknownSeverity });
        item.outcome = verdict.action === "log" ? "logged" : "dropped";
        return false;
      }),
  };
}
