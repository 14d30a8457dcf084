/*
 * Parsed modules into resolved definitions: each module after the modules it imports, every import
 * checked, every OID value made numeric, every SYNTAX followed through its textual conventions.
 */
import type { ParsedModule, ParsedNode, ParsedSyntax, ParsedType } from "./parse.js";
import type { MibNotification, MibObject, MibProblem } from "./types.js";

/** A defined OID: what the store keeps per node. */
export interface MibDefinition {
  module: string;
  name: string;
  oid: string;
  object?: MibObject;
  notification?: MibNotification;
}

/** X.660 roots every module may name without importing. */
const ROOTS: Readonly<Record<string, string>> = { ccitt: "0", iso: "1", "joint-iso-ccitt": "2" };

/** SMI base types (RFC 2578 §7.1, RFC 1155 §3.2): a SYNTAX chain stops at these. */
const BASE_TYPES = new Set([
  "INTEGER",
  "Integer32",
  "Unsigned32",
  "Counter32",
  "Counter64",
  "Gauge32",
  "TimeTicks",
  "IpAddress",
  "Opaque",
  "OCTET STRING",
  "OBJECT IDENTIFIER",
  "BITS",
  "Counter",
  "Gauge",
  "NetworkAddress",
]);

/** RFC 3584 §3.1.2: the RFC 1215 generic traps, ENTERPRISE snmp ::= n, are snmpTraps.(n+1). */
const SNMP_OID = "1.3.6.1.2.1.11";
const SNMP_TRAPS_OID = "1.3.6.1.6.3.1.1.5";

/** RFC 2578 §3.5: an OID has at most 128 sub-identifiers. */
const MAX_ARCS = 128;
/**
 * Modules importing modules that import…: IF-MIB's chain is 3 deep; a file of thousands of modules
 * each importing the next would otherwise recurse past the stack.
 */
const MAX_IMPORT_DEPTH = 100;

interface Linked {
  module: ParsedModule;
  oids: Map<string, string>;
  types: Map<string, ParsedType>;
}

/**
 * Links modules in the order given (the first of two with one name wins). A module importing from a
 * module that is missing or skipped, or a symbol its source does not define, is skipped as a problem.
 * Definitions of SMIv2 modules come first: where an SMIv1 module (RFC1158-MIB, RFC-1215) names the
 * same OID, the SMIv2 name (SNMPv2-MIB::sysDescr, the NOTIFICATION-TYPE coldStart) is the one shown.
 */
export function linkModules(modules: readonly ParsedModule[]): {
  definitions: MibDefinition[];
  /** Those linked, each after the modules it imports. */
  modules: ParsedModule[];
  problems: MibProblem[];
} {
  const byName = new Map<string, ParsedModule>();
  for (const m of modules) if (!byName.has(m.name)) byName.set(m.name, m);
  const linked = new Map<string, Linked | undefined>();
  const globalOids = new Map<string, string>();
  const globalTypes = new Map<string, ParsedType>();
  const definitions = { v1: [] as MibDefinition[], v2: [] as MibDefinition[] };
  const problems: MibProblem[] = [];

  const link = (module: ParsedModule, trail: readonly string[]): Linked | undefined => {
    if (linked.has(module.name)) return linked.get(module.name);
    const problem = (line: number, message: string, missing?: string) => {
      problems.push({
        file: module.file,
        line,
        module: module.name,
        message,
        ...(missing !== undefined && { missing }),
      });
      linked.set(module.name, undefined);
      return undefined;
    };
    if (trail.length >= MAX_IMPORT_DEPTH) {
      return problem(module.line, `imports nest more than ${MAX_IMPORT_DEPTH} modules deep (skipped)`);
    }
    try {
      return linkModule(module, trail, problem);
    } catch (err) {
      // A module this linker does not foresee costs that module, not the start.
      return problem(module.line, `cannot be linked: ${(err as Error).message} (skipped)`);
    }
  };

  const linkModule = (
    module: ParsedModule,
    trail: readonly string[],
    problem: (line: number, message: string, missing?: string) => undefined,
  ): Linked | undefined => {
    const scope: Linked = { module, oids: new Map(), types: new Map() };
    for (const imp of module.imports) {
      if (trail.includes(imp.module)) {
        return problem(imp.line, `imports from ${imp.module}, which imports ${module.name} (a cycle)`);
      }
      const source = byName.get(imp.module);
      if (source === undefined) {
        return problem(imp.line, `imports from ${imp.module}, which is not loaded`, imp.module);
      }
      const from = link(source, [...trail, module.name]);
      if (from === undefined) return problem(imp.line, `imports from ${imp.module}, which was skipped`);
      for (const symbol of imp.symbols) {
        const oid = from.oids.get(symbol);
        const type = from.types.get(symbol);
        if (oid !== undefined) scope.oids.set(symbol, oid);
        else if (type !== undefined) scope.types.set(symbol, type);
        else if (!source.macros.includes(symbol)) {
          return problem(imp.line, `imports ${symbol} from ${imp.module}, which does not define it`);
        }
      }
    }
    for (const type of module.types) scope.types.set(type.name, type);
    const oids = nodeOids(module, (name) => scope.oids.get(name) ?? ROOTS[name] ?? globalOids.get(name));
    const typeOf = (name: string) => scope.types.get(name) ?? globalTypes.get(name);
    const smiV2 = module.name === "SNMPv2-SMI" || module.imports.some((imp) => imp.module === "SNMPv2-SMI");
    const own: MibDefinition[] = [];
    for (const node of module.nodes) {
      const oid = oids.resolved.get(node);
      if (oid == null) continue;
      scope.oids.set(node.name, oid);
      own.push(definition(module, node, oid, typeOf));
    }
    problems.push(...oids.problems);
    (smiV2 ? definitions.v2 : definitions.v1).push(...own);
    for (const [name, oid] of scope.oids) if (!globalOids.has(name)) globalOids.set(name, oid);
    for (const type of module.types) if (!globalTypes.has(type.name)) globalTypes.set(type.name, type);
    linked.set(module.name, scope);
    return scope;
  };

  for (const module of byName.values()) link(module, []);
  const loaded = [...linked.values()].flatMap((l) => (l === undefined ? [] : [l.module]));
  return { definitions: [...definitions.v2, ...definitions.v1], modules: loaded, problems };
}

/**
 * Each node's numeric OID, whatever the order of parents and children in the module: up a chain to
 * a node already known or rooted outside the module, then down again, iteratively (a chain of
 * thousands must not exhaust the stack). A node under one no module defines, under itself, or past
 * 128 arcs is a problem; the nodes under it are skipped with it, unnamed.
 */
function nodeOids(
  module: ParsedModule,
  outer: (name: string) => string | undefined,
): { resolved: Map<ParsedNode, string | null>; problems: MibProblem[] } {
  const local = new Map(module.nodes.map((n) => [n.name, n]));
  /** null: skipped, or while its chain is walked, not known yet. */
  const resolved = new Map<ParsedNode, string | null>();
  const problems: MibProblem[] = [];
  const skip = (node: ParsedNode, message: string) => {
    problems.push({ file: module.file, line: node.line, module: module.name, message });
  };
  for (const start of module.nodes) {
    const chain: ParsedNode[] = [];
    let above: ParsedNode | undefined = start;
    while (above !== undefined && !resolved.has(above)) {
      resolved.set(above, null);
      chain.push(above);
      above = above.parent === undefined ? undefined : local.get(above.parent);
    }
    const top = chain[chain.length - 1];
    if (top === undefined) continue; // known already
    let base: string | null | undefined;
    if (above !== undefined) {
      base = resolved.get(above);
      if (chain.includes(above)) skip(above, `${above.name} is under itself (skipped)`);
    } else if (top.parent === undefined) {
      base = "";
    } else {
      base = outer(top.parent);
      if (base === undefined) {
        skip(top, `${top.name} is under ${top.parent}, which no loaded module defines (skipped)`);
      }
    }
    if (base == null) continue; // the chain stays skipped
    let oid = base;
    let arcs = oid === "" ? 0 : oid.split(".").length;
    for (let i = chain.length - 1; i >= 0; i--) {
      const node = chain[i] as ParsedNode;
      arcs += node.arcs.length;
      if (arcs > MAX_ARCS) {
        skip(
          node,
          `${node.name} is ${arcs} arcs deep, past the ${MAX_ARCS} of RFC 2578 §3.5 (skipped, and the nodes under it)`,
        );
        break;
      }
      oid = [...(oid === "" ? [] : [oid]), ...node.arcs].join(".");
      resolved.set(node, oid);
    }
  }
  return { resolved, problems };
}

function definition(
  module: ParsedModule,
  node: ParsedNode,
  oid: string,
  typeOf: (name: string) => ParsedType | undefined,
): MibDefinition {
  const name = { module: module.name, name: node.name };
  if (node.macro === "OBJECT-TYPE" && node.syntax !== undefined) {
    const object: MibObject = { ...name, oid, index: "", ...syntaxOf(node.syntax, typeOf) };
    if (node.description !== undefined) object.description = node.description;
    return { ...name, oid, object };
  }
  if (node.macro === "NOTIFICATION-TYPE" || node.macro === "TRAP-TYPE") {
    const trapOid = node.macro === "TRAP-TYPE" ? rfc3584TrapOid(oid) : oid;
    const notification: MibNotification = {
      ...name,
      oid: trapOid,
      index: "",
      kind: node.macro,
      objects: node.objects ?? [],
      file: module.file,
      line: node.line,
    };
    if (node.description !== undefined) notification.description = node.description;
    return { ...name, oid: trapOid, notification };
  }
  return { ...name, oid };
}

/** A TRAP-TYPE's enterprise.0.n, or snmpTraps.(n+1) for the generic traps (RFC 3584 §3.1.2). */
function rfc3584TrapOid(oid: string): string {
  const generic = oid.startsWith(`${SNMP_OID}.0.`) ? Number(oid.slice(SNMP_OID.length + 3)) : Number.NaN;
  return generic >= 0 && generic <= 5 ? `${SNMP_TRAPS_OID}.${generic + 1}` : oid;
}

/** The base type, the textual convention named, its DISPLAY-HINT and enumeration (RFC 2579 §3). */
function syntaxOf(
  syntax: ParsedSyntax,
  typeOf: (name: string) => ParsedType | undefined,
): Pick<MibObject, "syntax" | "tc" | "enums" | "displayHint"> {
  const out: Pick<MibObject, "syntax" | "tc" | "enums" | "displayHint"> = { syntax: syntax.type };
  if (syntax.enums !== undefined) out.enums = syntax.enums;
  let current = syntax;
  const seen = new Set<string>();
  while (!BASE_TYPES.has(current.type) && !seen.has(current.type)) {
    seen.add(current.type);
    const type = typeOf(current.type);
    if (type === undefined) break;
    out.tc ??= type.name;
    if (type.displayHint !== undefined) out.displayHint ??= type.displayHint;
    if (type.syntax.enums !== undefined) out.enums ??= type.syntax.enums;
    current = type.syntax;
  }
  out.syntax = current.type;
  return out;
}
