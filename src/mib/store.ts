/*
 * Loaded MIB definitions by OID and by name. name()/render() run per varbind on the events path: an
 * OID is looked up whole, then with its last arc cut, until a defined node answers.
 */
import type { VarbindJson } from "../pet/trap.js";
import { receivedValue, type ValueRenderer, valueRenderer } from "./render.js";
import { emptyTable, type MibTable, NOTIFICATION_TYPE, OBJECT_TYPE, TRAP_TYPE } from "./table.js";
import type { MibNotification, MibObject, OidName, RenderedVarbind } from "./types.js";

const NUMERIC_OID = /^\.?(\d+(?:\.\d+)*)$/;

export class MibStore {
  /** Definition index by OID, and OID by MODULE::name and by bare name. */
  private readonly byOid = new Map<string, number>();
  private readonly byName = new Map<string, string>();
  private readonly renderers = new Map<number, ValueRenderer>();
  /** Built on first use, by definition index (a few are asked for, one per trap). */
  private readonly notifications = new Map<number, MibNotification>();
  private readonly names = new Set<string>();

  /**
   * Of two definitions at one OID or of one name, the first stays (linkModules puts SMIv2 first).
   * `files` is the list the table's `moduleFile` indexes: the files as they are named now.
   */
  constructor(
    private readonly table: MibTable,
    private readonly files: readonly string[],
  ) {
    const { module, name, oid, kind, modules } = table;
    for (let i = 0; i < oid.length; i++) {
      const at = oid[i] as string;
      const own = name[i] as string;
      if (!this.byOid.has(at)) this.byOid.set(at, i);
      const qualified = `${modules[module[i] as number]}::${own}`;
      if (!this.byName.has(qualified)) this.byName.set(qualified, at);
      if (!this.byName.has(own)) this.byName.set(own, at);
      if (kind[i] === OBJECT_TYPE) this.names.add(own);
    }
  }

  static empty(): MibStore {
    return new MibStore(emptyTable(), []);
  }

  modules(): readonly string[] {
    return this.table.modules;
  }

  /** Every OBJECT-TYPE name, for checking the names rules and templates use. */
  objectNames(): ReadonlySet<string> {
    return this.names;
  }

  /** The longest defined prefix of a numeric OID, and what follows it as the index. */
  name(oid: string): OidName | undefined {
    const found = this.definitionOf(oid);
    return found === undefined ? undefined : this.oidName(found[0], found[1]);
  }

  /** "IF-MIB::linkDown", "linkDown", "IF-MIB::ifIndex.3", "1.3.6.1…" or ".1.3.6.1…" as a numeric OID. */
  oid(text: string): string | undefined {
    const numeric = NUMERIC_OID.exec(text);
    if (numeric !== null) return numeric[1];
    const sep = text.indexOf("::");
    const nameStart = sep === -1 ? 0 : sep + 2;
    const dot = text.indexOf(".", nameStart);
    const name = dot === -1 ? text : text.slice(0, dot);
    const base = this.byName.get(name);
    if (base === undefined || dot === -1) return base;
    const index = NUMERIC_OID.exec(text.slice(dot));
    return index === null ? undefined : `${base}.${index[1]}`;
  }

  /** The OBJECT-TYPE an OID is, or is an instance of. */
  object(oid: string): MibObject | undefined {
    const found = this.definitionOf(oid);
    return found === undefined || this.table.kind[found[0]] !== OBJECT_TYPE
      ? undefined
      : this.objectAt(found[0], found[1]);
  }

  /** A trap OID's NOTIFICATION-TYPE, or TRAP-TYPE under its RFC 3584 §3.1.2 OID. */
  notification(trapOid: string): MibNotification | undefined {
    const i = this.byOid.get(trapOid.startsWith(".") ? trapOid.slice(1) : trapOid);
    if (i === undefined) return undefined;
    let notification = this.notifications.get(i);
    if (notification === undefined) {
      notification = this.notificationAt(i);
      if (notification !== undefined) this.notifications.set(i, notification);
    }
    return notification;
  }

  render(vb: VarbindJson): RenderedVarbind {
    const found = this.definitionOf(vb.oid);
    if (found === undefined) return { oid: vb.oid, index: "", value: receivedValue(vb), type: vb.type };
    const [i, full] = found;
    const { module, name, index } = this.oidName(i, full);
    const value = this.table.kind[i] === OBJECT_TYPE ? this.rendererOf(i)(vb) : receivedValue(vb);
    return { oid: vb.oid, name, module, index, value, type: vb.type };
  }

  private oidName(i: number, full: string): OidName {
    const t = this.table;
    const oid = t.oid[i] as string;
    return {
      module: t.modules[t.module[i] as number] as string,
      name: t.name[i] as string,
      oid,
      index: full.slice(oid.length),
    };
  }

  // Objects are built as literals with fields added after: spreading oidName() into a literal that
  // fields are then added to took V8 ~7 µs per object, too slow for a path run per trap.
  private objectAt(i: number, full: string): MibObject {
    const t = this.table;
    const { module, name, oid, index } = this.oidName(i, full);
    const object: MibObject = { module, name, oid, index, syntax: t.syntax[i] as string };
    const tc = t.tc[i];
    const enums = t.enums[i];
    const displayHint = t.displayHint[i];
    const description = t.description[i];
    if (tc != null) object.tc = tc;
    if (enums != null) object.enums = enums;
    if (displayHint != null) object.displayHint = displayHint;
    if (description != null) object.description = description;
    return object;
  }

  private notificationAt(i: number): MibNotification | undefined {
    const t = this.table;
    const kind = t.kind[i];
    if (kind !== NOTIFICATION_TYPE && kind !== TRAP_TYPE) return undefined;
    const { module, name, oid } = this.oidName(i, t.oid[i] as string);
    const objects = t.objects[i];
    const notification: MibNotification = {
      module,
      name,
      oid,
      index: "",
      kind: kind === TRAP_TYPE ? "TRAP-TYPE" : "NOTIFICATION-TYPE",
      objects: objects ? objects.split(" ") : [],
      file: this.files[t.moduleFile[t.module[i] as number] as number] ?? "",
      line: t.line[i] as number,
    };
    const description = t.description[i];
    if (description != null) notification.description = description;
    return notification;
  }

  private rendererOf(i: number): ValueRenderer {
    let renderer = this.renderers.get(i);
    if (renderer === undefined) {
      renderer = valueRenderer(this.objectAt(i, this.table.oid[i] as string), (oid) =>
        this.qualifiedName(oid),
      );
      this.renderers.set(i, renderer);
    }
    return renderer;
  }

  private qualifiedName(oid: string): string | undefined {
    const n = this.name(oid);
    return n === undefined ? undefined : `${n.module}::${n.name}${n.index}`;
  }

  /** The index of the longest defined prefix of an OID, and the OID without its leading dot. */
  private definitionOf(oid: string): [number, string] | undefined {
    const full = oid.startsWith(".") ? oid.slice(1) : oid;
    for (let key = full; ; ) {
      const i = this.byOid.get(key);
      if (i !== undefined) return [i, full];
      const dot = key.lastIndexOf(".");
      if (dot === -1) return undefined;
      key = key.slice(0, dot);
    }
  }
}
