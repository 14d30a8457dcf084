import { hexByte } from "../ipmi/bytes.js";
import type { AlertPolicyEntry, EventFilterEntry } from "../ipmi/pef.js";
import { eventReadingClass, genericOffsetText } from "../pet/tables/event-reading-types.js";
import { sensorSpecificOffsetText } from "../pet/tables/sensor-specific.js";
import { sensorTypeName } from "../pet/tables/sensor-types.js";
import { petSeverity } from "../pet/tables/severity.js";

const ANY = 0xff;

/**
 * An event filter in words (IPMI 2.0 §17.7), e.g.
 * "Temperature, any sensor, Threshold: Upper Critical - going high, … (critical) → alert, policy 1".
 */
export function describeFilter(f: EventFilterEntry): string {
  if (!f.enabled) return "disabled";
  const type = f.sensorType === ANY ? "any sensor type" : sensorTypeName(f.sensorType);
  const sensor = f.sensorNumber === ANY ? "any sensor" : `sensor #${f.sensorNumber}`;
  const generator = f.generatorId1 === ANY ? "" : `, generator ${hexByte(f.generatorId1)}h`;
  const offsets = describeOffsets(f);
  const severity = petSeverity(f.severity) ?? `severity ${hexByte(f.severity)}h`;
  const actions = Object.entries(f.actions)
    .filter(([, on]) => on)
    .map(([name]) => name);
  const then = actions.length === 0 ? "no action" : actions.join(" + ");
  const policy = f.actions.alert ? `, policy ${f.alertPolicyNumber}` : "";
  return `${type}, ${sensor}${generator}, ${offsets} (${severity}) → ${then}${policy}`;
}

function describeOffsets(f: EventFilterEntry): string {
  if (f.eventTrigger === ANY) return "any event";
  const kind = eventReadingClass(f.eventTrigger);
  const names: string[] = [];
  for (let offset = 0; offset < 16; offset++) {
    if ((f.eventData1OffsetMask & (1 << offset)) === 0) continue;
    const text =
      kind === "sensor-specific"
        ? sensorSpecificOffsetText(f.sensorType, offset)
        : genericOffsetText(f.eventTrigger, offset);
    names.push(text ?? `offset ${offset}`);
  }
  if (names.length === 0) return "no event offsets";
  return names.join(", ");
}

/** An alert policy entry in words (IPMI 2.0 §17.11). */
export function describePolicy(p: AlertPolicyEntry): string {
  const state = p.enabled ? "enabled" : "disabled";
  return `policy ${p.policyNumber} (${state}): channel ${p.channel}, destination ${p.destinationSelector}, type ${p.policyType}`;
}
