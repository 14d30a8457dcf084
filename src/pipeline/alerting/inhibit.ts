import { z } from "zod";
import { type Matcher, matcherString, parseMatcher } from "../../config/matchers.js";
import { notificationOf, type Stage } from "../stage.js";
import type { Notification } from "./notification.js";
import { alertFingerprint, allMatch, isOneShot, notificationLabels } from "./route.js";

/*
 * Inhibition after Alertmanager's inhibit/inhibit.go: while an alert matching a rule's
 * source_matchers is firing, notifications matching its target_matchers that have the same values
 * as the source for every label in `equal` are muted. An alert never inhibits itself, even when it
 * matches both sides. A missing label counts as "" on both sides, so `equal` on a label neither
 * has is satisfied. Labels are those of notificationLabels (route.ts).
 */

const inhibitRule = z
  .object({
    source_matchers: z
      .array(matcherString)
      .min(1)
      .describe('matchers of the inhibiting alert, e.g. event="BMC unresponsive"'),
    target_matchers: z
      .array(matcherString)
      .default([])
      .describe("matchers of the alerts it mutes (default: any)"),
    equal: z
      .array(z.string().min(1))
      .default([])
      .describe('labels source and target must share, e.g. ["bmc"]: only that BMC\'s alerts are muted'),
  })
  .strict();

/** `inhibit_rules:` in petgate.yml. */
export const inhibitRulesSchema = z.array(inhibitRule).default([]);

export type InhibitRuleConfig = z.infer<typeof inhibitRule>;

interface Rule {
  readonly source: readonly Matcher[];
  readonly target: readonly Matcher[];
  readonly equal: readonly string[];
  /** Firing sources by their `equal` label values, then by alertFingerprint. */
  readonly firing: Map<string, Map<string, Notification>>;
}

/**
 * Pure state: observe() every notification (including those that end up muted: a muted alert still
 * inhibits), then ask inhibitedBy() whether one is to be muted.
 */
export class Inhibitor {
  private readonly rules: Rule[];

  constructor(rules: readonly InhibitRuleConfig[]) {
    this.rules = rules.map((r) => ({
      source: r.source_matchers.map(parseMatcher),
      target: (r.target_matchers ?? []).map(parseMatcher),
      equal: r.equal ?? [],
      firing: new Map(),
    }));
  }

  /**
   * Records a firing source alert, or forgets one that resolved. A one-shot (a generic trap without
   * a rule's key) is no source: nothing resolves it, so it would mute its targets for ever.
   */
  observe(n: Notification): void {
    if (isOneShot(n)) return;
    const labels = notificationLabels(n);
    for (const rule of this.rules) {
      if (!allMatch(rule.source, labels)) continue;
      const key = equalKey(rule, labels);
      const fingerprint = alertFingerprint(n);
      const sources = rule.firing.get(key);
      if (n.status === "firing") {
        if (sources) sources.set(fingerprint, n);
        else rule.firing.set(key, new Map([[fingerprint, n]]));
      } else if (sources) {
        sources.delete(fingerprint);
        if (sources.size === 0) rule.firing.delete(key);
      }
    }
  }

  /** The firing alert that mutes `n`, or undefined when nothing does. */
  inhibitedBy(n: Notification): Notification | undefined {
    const labels = notificationLabels(n);
    const fingerprint = alertFingerprint(n);
    for (const rule of this.rules) {
      if (!allMatch(rule.target, labels)) continue;
      const sources = rule.firing.get(equalKey(rule, labels));
      if (!sources) continue;
      for (const [fp, source] of sources) if (fp !== fingerprint) return source;
    }
    return undefined;
  }

  isInhibited(n: Notification): boolean {
    return this.inhibitedBy(n) !== undefined;
  }

  /** Firing source alerts held (over all rules). */
  get sources(): number {
    let count = 0;
    for (const rule of this.rules) for (const s of rule.firing.values()) count += s.size;
    return count;
  }
}

/**
 * Inhibition, in batch order: each notification is observed (a muted alert still inhibits), then
 * stopped ("inhibited") if a firing source mutes it.
 */
export function inhibitStage(inhibitor: Inhibitor): Stage {
  return {
    name: "inhibit",
    exec: (items) =>
      items.filter((item) => {
        const n = notificationOf(item);
        inhibitor.observe(n);
        if (!inhibitor.isInhibited(n)) return true;
        item.outcome = "inhibited";
        return false;
      }),
  };
}

function equalKey(rule: Rule, labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(rule.equal.map((l) => labels[l] ?? ""));
}
