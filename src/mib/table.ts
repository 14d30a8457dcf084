/*
 * Linked MIB definitions column by column: one array per field instead of objects per node, so the
 * linked cache is read back as a few large arrays (little to allocate and collect) and MibStore
 * indexes them as they are.
 */
import type { MibDefinition } from "./link.js";
import type { ParsedModule } from "./parse.js";

/** What a definition is, by its macro; numbers, which cost nothing to read back (a string each would). */
export const NODE = 0; // OBJECT IDENTIFIER, OBJECT-IDENTITY, MODULE-IDENTITY…
export const OBJECT_TYPE = 1;
export const NOTIFICATION_TYPE = 2;
export const TRAP_TYPE = 3;

export interface MibTable {
  /** Modules loaded, in link order. */
  modules: string[];
  /** Per module: the index of its file in the list of files loaded. */
  moduleFile: number[];
  /** Per definition, in the order MibStore takes them (first of one OID or name wins): */
  module: number[];
  name: string[];
  /** A TRAP-TYPE's is its RFC 3584 §3.1.2 OID. */
  oid: string[];
  kind: number[];
  /** OBJECT-TYPE fields (MibObject), null where the definition has none. */
  syntax: (string | null)[];
  tc: (string | null)[];
  enums: (Readonly<Record<number, string>> | null)[];
  displayHint: (string | null)[];
  /** OBJECT-TYPE and notification DESCRIPTION. */
  description: (string | null)[];
  /**
   * Notification fields (MibNotification): OBJECTS / VARIABLES, their names joined by a space (one
   * string per notification rather than an array of strings), and the line it is defined at.
   */
  objects: (string | null)[];
  line: number[];
}

export function emptyTable(): MibTable {
  return {
    modules: [],
    moduleFile: [],
    module: [],
    name: [],
    oid: [],
    kind: [],
    syntax: [],
    tc: [],
    enums: [],
    displayHint: [],
    description: [],
    objects: [],
    line: [],
  };
}

/** The linked modules and their definitions as columns; `fileIndex` numbers the files they were read from. */
export function mibTable(
  modules: readonly ParsedModule[],
  definitions: readonly MibDefinition[],
  fileIndex: ReadonlyMap<string, number>,
): MibTable {
  const table = emptyTable();
  const moduleIndex = new Map<string, number>();
  for (const m of modules) {
    moduleIndex.set(m.name, table.modules.length);
    table.modules.push(m.name);
    table.moduleFile.push(fileIndex.get(m.file) ?? -1);
  }
  for (const d of definitions) {
    const { object, notification } = d;
    table.module.push(moduleIndex.get(d.module) ?? -1);
    table.name.push(d.name);
    table.oid.push(d.oid);
    table.kind.push(
      object !== undefined
        ? OBJECT_TYPE
        : notification === undefined
          ? NODE
          : notification.kind === "TRAP-TYPE"
            ? TRAP_TYPE
            : NOTIFICATION_TYPE,
    );
    table.syntax.push(object?.syntax ?? null);
    table.tc.push(object?.tc ?? null);
    table.enums.push(object?.enums ?? null);
    table.displayHint.push(object?.displayHint ?? null);
    table.description.push(object?.description ?? notification?.description ?? null);
    table.objects.push(notification?.objects.join(" ") ?? null);
    table.line.push(notification?.line ?? 0);
  }
  return table;
}
