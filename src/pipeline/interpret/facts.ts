import type { MibStore } from "../../mib/store.js";
import type { RenderedVarbind } from "../../mib/types.js";
import type { TrapEvent } from "../../pet/trap.js";
import type { QueuedEvent } from "../intake/event.js";
import type { TranslatedTrap } from "./types.js";

/** The inventory BMC a trap came from, as enrichment found it. */
export interface BmcFacts {
  name: string;
  address: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * The names trap rules match on and templates expand, besides `label_NAME` (a BMC label), each
 * varbind's object name (`ifIndex`) and `NAME_index` (its instance, "3" for ifIndex.3). SMI
 * descriptors have no "_" (RFC 2578 §3.1), so `NAME_index` names no MIB object; where a MIB object
 * is named like one of these (`description`), these win.
 */
export const FACT_NAMES: ReadonlySet<string> = new Set([
  "trap",
  "trap_oid",
  "source",
  "bmc",
  "version",
  // Generic traps.
  "description",
  "varbinds",
  // PETs.
  "sensor_type",
  "sensor_number",
  "sensor",
  "event",
  "severity",
  "direction",
  "entity",
]);

export const INDEX_SUFFIX = "_index";

/** What rules see of one event: its facts by name and, for a generic trap, its MIB translation. */
export interface EventFacts {
  facts: Map<string, string>;
  trap?: TranslatedTrap;
}

/**
 * The facts of an event. `sensor` is the SDR name enrichment found for a PET's sensor, when it did.
 * Varbind values are rendered through the MIBs (enumeration labels, display hints); a varbind's
 * object seen twice keeps its first value.
 */
export function eventFacts(
  event: QueuedEvent,
  bmc: BmcFacts | undefined,
  store: MibStore,
  sensor?: string,
): EventFacts {
  const { trap } = event;
  const facts = new Map<string, string>();
  if (bmc) for (const [k, v] of Object.entries(bmc.labels)) facts.set(`label_${k}`, v);
  let translated: TranslatedTrap | undefined;
  if (trap.kind === "pet") {
    const p = trap.pet;
    facts.set("sensor_type", p.sensorTypeName ?? "");
    facts.set("sensor_number", String(p.sensorNumber));
    facts.set("sensor", sensor ?? "");
    facts.set("event", p.event ?? "");
    facts.set("severity", p.severity);
    facts.set("direction", p.eventDirection);
    facts.set("entity", p.entityName);
  } else {
    translated = translateTrap(trap, store);
    for (const vb of translated.varbinds) {
      if (vb.name === undefined || facts.has(vb.name) || FACT_NAMES.has(vb.name)) continue;
      facts.set(vb.name, vb.value);
      if (vb.index !== "") facts.set(`${vb.name}${INDEX_SUFFIX}`, vb.index.slice(1));
    }
    facts.set("description", translated.description ?? "");
    facts.set("varbinds", translated.varbinds.map(varbindText).join("; "));
  }
  facts.set("trap", translated?.name ?? namedTrap(store, trap.kind, trap.snmp.trapOid).name);
  facts.set("trap_oid", trap.snmp.trapOid);
  facts.set("source", trap.source.address);
  facts.set("bmc", bmc?.name ?? trap.source.address);
  facts.set("version", trap.snmp.version);
  return translated ? { facts, trap: translated } : { facts };
}

/**
 * A trap OID's name ("IF-MIB::linkDown", the OID where no loaded MIB names it) and, for a generic
 * trap, its NOTIFICATION-TYPE's DESCRIPTION. A PET is named by the node its OID is under.
 */
export function namedTrap(
  store: MibStore,
  kind: TrapEvent["kind"],
  trapOid: string,
): { name: string; description?: string } {
  const notification = kind === "trap" ? store.notification(trapOid) : undefined;
  const named = notification ?? store.name(trapOid);
  const name = named ? `${named.module}::${named.name}${named.index}` : trapOid;
  return notification?.description === undefined ? { name } : { name, description: notification.description };
}

/** A generic trap named and its varbinds rendered through the MIBs. */
export function translateTrap(trap: Extract<TrapEvent, { kind: "trap" }>, store: MibStore): TranslatedTrap {
  const { name, description } = namedTrap(store, "trap", trap.snmp.trapOid);
  return {
    name,
    oid: trap.snmp.trapOid,
    ...(description !== undefined && { description }),
    varbinds: trap.varbinds.map((vb) => store.render(vb)),
  };
}

/** `ifDescr.3 = eth0`, or the numeric OID where no loaded MIB names the object. */
function varbindText(vb: RenderedVarbind): string {
  return `${vb.name === undefined ? vb.oid : `${vb.name}${vb.index}`} = ${vb.value}`;
}
