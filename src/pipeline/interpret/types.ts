import type { RenderedVarbind } from "../../mib/types.js";
import type { PetSeverity } from "../../pet/tables/severity.js";

/** What `traps:` rules do with a trap they match (petgate.yml). */
export type TrapAction = "notify" | "log" | "drop";

/** A generic trap translated through the loaded MIBs (kept on its notification). */
export interface TranslatedTrap {
  /** "IF-MIB::linkDown", or the numeric OID when no loaded MIB names it. */
  name: string;
  oid: string;
  /** The MIB's DESCRIPTION of the notification, when known. */
  description?: string;
  varbinds: readonly RenderedVarbind[];
}

/**
 * What the interpret stage decided for one event: the rule that applied (first match wins), what to
 * do, and what the notification says. A PET keeps its own alert identity (IPMI assertion and
 * deassertion); a generic trap has one only when its rule gives `key` or `resolved_by`.
 */
export interface Verdict {
  /** The rule's name; undefined when no rule applied (the catch-all). */
  rule?: string;
  action: TrapAction;
  /** Overrides the PET's severity / a generic trap's default ("information"). */
  severity?: PetSeverity;
  summary?: string;
  detail?: string;
  /** The rule's labels, rendered (route matchers see them by name). */
  labels: Readonly<Record<string, string>>;
  /**
   * A generic trap's alert: "trap:" and a digest of rule, BMC or source and `key` values;
   * deassertion when `resolved_by` matched.
   */
  alert?: { key: string; direction: "assertion" | "deassertion" };
  /** Set for a generic trap. */
  trap?: TranslatedTrap;
}
