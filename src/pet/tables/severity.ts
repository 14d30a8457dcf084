// PET 1.0 Table 3-2, Event Severity (the same codes as the PEF filter severity, IPMI 2.0 Table 30-2).
export type PetSeverity =
  | "unspecified"
  | "monitor"
  | "information"
  | "ok"
  | "non-critical"
  | "critical"
  | "non-recoverable";

const SEVERITY_CODES: Readonly<Record<PetSeverity, number>> = {
  unspecified: 0x00,
  monitor: 0x01,
  information: 0x02,
  ok: 0x04,
  "non-critical": 0x08,
  critical: 0x10,
  "non-recoverable": 0x20,
};

/**
 * A decoded PET's severity: a Table 3-2 value, or "unknown" for a byte the table does not define
 * (0x03, 0x0C, 0x40 are seen from vendors; FreeIPMI ipmi-pet decodes them too). The byte itself is
 * kept as `severityRaw`.
 */
export type PetEventSeverity = PetSeverity | "unknown";

/** The severities Table 3-2 defines, from "unspecified" to "non-recoverable". */
export const PET_TABLE_SEVERITIES = Object.keys(SEVERITY_CODES) as readonly PetSeverity[];

/** Every severity a decoded PET can have: Table 3-2's, then "unknown". */
export const PET_SEVERITIES: readonly PetEventSeverity[] = [...PET_TABLE_SEVERITIES, "unknown"];

/** What a PET of severity "unknown" alerts at unless `listener.unknownSeverity` says otherwise. */
export const DEFAULT_UNKNOWN_SEVERITY: PetSeverity = "critical";

const SEVERITY_BY_CODE: ReadonlyMap<number, PetSeverity> = new Map(
  Object.entries(SEVERITY_CODES).map(([name, code]) => [code, name as PetSeverity]),
);

/** The severity a PET byte 26 code names; undefined for any value the spec does not define. */
export function petSeverity(code: number): PetSeverity | undefined {
  return SEVERITY_BY_CODE.get(code);
}

export function petSeverityCode(s: PetSeverity): number {
  return SEVERITY_CODES[s];
}
