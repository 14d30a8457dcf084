/*
 * Loaded MIB definitions by OID and by name. name()/render() run per varbind on the events path: an
 * OID is looked up whole, then with its last arc cut, until a defined node answers.
 */
import type { VarbindJson } from "../pet/trap.js";
import type { MibDefinition } from "./link.js";
import { receivedValue, type ValueRenderer, valueRenderer } from "./render.js";
import type { MibNotification, MibObject, OidName, RenderedVarbind } from "./types.js";

const NUMERIC_OID = /^\.?(\d+(?:\.\d+)*)$/;

export class MibStore {
  private readonly byOid = new Map<string, MibDefinition>();
  private readonly byName = new Map<string, string>();
  private readonly renderers = new Map<string, ValueRenderer>();
  private readonly names = new Set<string>();

  /** Of two definitions at one OID or of one name, the first stays (linkModules puts SMIv2 first). */
  constructor(
    definitions: readonly MibDefinition[],
    private readonly moduleNames: readonly string[],
  ) {
    for (const d of definitions) {
      if (!this.byOid.has(d.oid)) this.byOid.set(d.oid, d);
      const qualified = `${d.module}::${d.name}`;
      if (!this.byName.has(qualified)) this.byName.set(qualified, d.oid);
      if (!this.byName.has(d.name)) this.byName.set(d.name, d.oid);
      if (d.object !== undefined) this.names.add(d.name);
    }
  }

  static empty(): MibStore {
    return new MibStore([], []);
  }

  modules(): readonly string[] {
    return this.moduleNames;
  }

  /** Every OBJECT-TYPE name, for checking the names rules and templates use. */
  objectNames(): ReadonlySet<string> {
    return this.names;
  }

  /** The longest defined prefix of a numeric OID, and what follows it as the index. */
  name(oid: string): OidName | undefined {
    const found = this.definitionOf(oid);
    if (found === undefined) return undefined;
    const [d, full] = found;
    return { module: d.module, name: d.name, oid: d.oid, index: full.slice(d.oid.length) };
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
    const object = found?.[0].object;
    return object === undefined
      ? undefined
      : { ...object, index: (found?.[1] ?? "").slice(object.oid.length) };
  }

  /** A trap OID's NOTIFICATION-TYPE, or TRAP-TYPE under its RFC 3584 §3.1.2 OID. */
  notification(trapOid: string): MibNotification | undefined {
    const oid = trapOid.startsWith(".") ? trapOid.slice(1) : trapOid;
    return this.byOid.get(oid)?.notification;
  }

  render(vb: VarbindJson): RenderedVarbind {
    const found = this.definitionOf(vb.oid);
    if (found === undefined) return { oid: vb.oid, index: "", value: receivedValue(vb), type: vb.type };
    const [d, full] = found;
    const value = d.object === undefined ? receivedValue(vb) : this.rendererOf(d.object)(vb);
    return {
      oid: vb.oid,
      name: d.name,
      module: d.module,
      index: full.slice(d.oid.length),
      value,
      type: vb.type,
    };
  }

  private rendererOf(object: MibObject): ValueRenderer {
    let renderer = this.renderers.get(object.oid);
    if (renderer === undefined) {
      renderer = valueRenderer(object, (oid) => this.qualifiedName(oid));
      this.renderers.set(object.oid, renderer);
    }
    return renderer;
  }

  private qualifiedName(oid: string): string | undefined {
    const n = this.name(oid);
    return n === undefined ? undefined : `${n.module}::${n.name}${n.index}`;
  }

  private definitionOf(oid: string): [MibDefinition, string] | undefined {
    const full = oid.startsWith(".") ? oid.slice(1) : oid;
    for (let key = full; ; ) {
      const d = this.byOid.get(key);
      if (d !== undefined) return [d, full];
      const dot = key.lastIndexOf(".");
      if (dot === -1) return undefined;
      key = key.slice(0, dot);
    }
  }
}
