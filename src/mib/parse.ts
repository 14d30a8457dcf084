/*
 * SMIv1 (RFC 1155, 1212, 1215) and SMIv2 (RFC 2578, 2579) modules into plain JSON-serialisable
 * definitions: OID assignments, types and textual conventions, imports, each with its line. Macros
 * whose details translation does not need (OBJECT-GROUP, MODULE-COMPLIANCE, AGENT-CAPABILITIES, …)
 * still name their OID; MACRO definitions are skipped.
 */

import { MibSyntaxError, type Token, tokenize } from "./lexer.js";
import type { MibProblem } from "./types.js";

/** A SYNTAX: the type it names (a base type or a textual convention), and its enumeration if any. */
export interface ParsedSyntax {
  type: string;
  /** INTEGER { up(1), down(2) } or BITS { … } labels by number. */
  enums?: Record<number, string>;
}

/** A name given an OID: `{ parent arc… }`, or for a TRAP-TYPE (RFC 1215) ENTERPRISE with arcs [0, n]. */
export interface ParsedNode {
  name: string;
  line: number;
  /** "OBJECT IDENTIFIER", "OBJECT-TYPE", "NOTIFICATION-TYPE", "TRAP-TYPE", "MODULE-IDENTITY", … */
  macro: string;
  /** The named node the OID is under; undefined when the value is all numbers. */
  parent?: string;
  arcs: number[];
  syntax?: ParsedSyntax;
  description?: string;
  /** OBJECTS of a NOTIFICATION-TYPE, VARIABLES of a TRAP-TYPE. */
  objects?: string[];
}

/** A type assignment or TEXTUAL-CONVENTION (RFC 2579 §3). */
export interface ParsedType {
  name: string;
  line: number;
  syntax: ParsedSyntax;
  displayHint?: string;
}

export interface ParsedImport {
  module: string;
  symbols: string[];
  line: number;
}

export interface ParsedModule {
  name: string;
  file: string;
  line: number;
  imports: ParsedImport[];
  nodes: ParsedNode[];
  types: ParsedType[];
  /** MACRO definitions (RFC 2578 §3: OBJECT-TYPE …), which other modules import by name. */
  macros: string[];
}

/** Every module of a MIB file; a module that does not parse is a problem at its line, the others stay. */
export function parseMibText(
  text: string,
  file: string,
): { modules: ParsedModule[]; problems: MibProblem[] } {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (err) {
    if (!(err instanceof MibSyntaxError)) throw err;
    return { modules: [], problems: [{ file, line: err.line, message: err.message }] };
  }
  const modules: ParsedModule[] = [];
  const problems: MibProblem[] = [];
  const parser = new Parser(tokens, file);
  while (!parser.atEnd()) {
    const start = parser.nextModuleStart();
    if (start === undefined) {
      if (modules.length === 0 && problems.length === 0) {
        problems.push({
          file,
          line: tokens[0]?.line ?? 0,
          message: "no module (NAME DEFINITIONS ::= BEGIN)",
        });
      }
      break;
    }
    const name = tokens[start]?.text as string;
    try {
      modules.push(parser.module(start));
    } catch (err) {
      if (!(err instanceof MibSyntaxError)) throw err;
      problems.push({ file, line: err.line, module: name, message: err.message });
    }
  }
  return { modules, problems };
}

/** Macros whose clauses are read; any other macro only names its OID. */
const DETAILED = new Set(["OBJECT-TYPE", "NOTIFICATION-TYPE", "TRAP-TYPE"]);

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  /** Index of the next `NAME DEFINITIONS`, from the current position; the position moves past it. */
  nextModuleStart(): number | undefined {
    for (let i = this.pos; i + 1 < this.tokens.length; i++) {
      if (this.tokens[i + 1]?.text === "DEFINITIONS" && this.tokens[i]?.kind === "word") {
        this.pos = i;
        return i;
      }
    }
    this.pos = this.tokens.length;
    return undefined;
  }

  module(start: number): ParsedModule {
    const head = this.next();
    this.pos = start + 2;
    // RFC 2578 §3: NAME DEFINITIONS ::= BEGIN; the module OID of X.680 may sit between (rare).
    if (this.peek()?.text === "{") this.skipBalanced();
    this.expect("::=");
    this.expect("BEGIN");
    const module: ParsedModule = {
      name: head.text,
      file: this.file,
      line: head.line,
      imports: [],
      nodes: [],
      types: [],
      macros: [],
    };
    for (;;) {
      const token = this.next();
      if (token.text === "END") return module;
      if (token.text === "IMPORTS") module.imports = this.imports();
      else if (token.text === "EXPORTS") this.skipPast(";");
      else if (token.kind === "word") this.assignment(token, module);
      else throw new MibSyntaxError(`expected a definition, found "${token.text}"`, token.line);
    }
  }

  private imports(): ParsedImport[] {
    const imports: ParsedImport[] = [];
    let symbols: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.text === ";") break;
      if (token.text === ",") continue;
      if (token.text === "FROM") {
        const from = this.word();
        imports.push({ module: from.text, symbols, line: from.line });
        symbols = [];
        if (this.peek()?.text === "{") this.skipBalanced();
      } else if (token.kind === "word") symbols.push(token.text);
      else throw new MibSyntaxError(`unexpected "${token.text}" in IMPORTS`, token.line);
    }
    if (symbols.length > 0) {
      throw new MibSyntaxError(`IMPORTS of ${symbols.join(", ")} name no module (FROM)`, this.previousLine());
    }
    return imports;
  }

  private assignment(name: Token, module: ParsedModule): void {
    const token = this.next();
    if (token.text === "MACRO") {
      module.macros.push(name.text);
      this.skipPast("END");
    } else if (token.text === "::=") {
      module.types.push(this.typeAssignment(name));
    } else if (token.kind === "word") {
      const macro =
        token.text === "OBJECT" && this.peek()?.text === "IDENTIFIER" ? this.objectIdentifier() : token.text;
      const node = this.valueAssignment(name, macro);
      if (node) module.nodes.push(node);
    } else {
      throw new MibSyntaxError(
        `expected a type or macro after "${name.text}", found "${token.text}"`,
        token.line,
      );
    }
  }

  private objectIdentifier(): string {
    this.next();
    return "OBJECT IDENTIFIER";
  }

  /** `Name ::= TEXTUAL-CONVENTION … SYNTAX type` (RFC 2579 §3) or `Name ::= type`. */
  private typeAssignment(name: Token): ParsedType {
    if (this.peek()?.text !== "TEXTUAL-CONVENTION")
      return { name: name.text, line: name.line, syntax: this.type() };
    this.next();
    let displayHint: string | undefined;
    for (;;) {
      const clause = this.next();
      if (clause.text === "SYNTAX") break;
      if (clause.text === "DISPLAY-HINT") displayHint = this.string();
      else if (clause.text === "DESCRIPTION" || clause.text === "REFERENCE") this.string();
      else if (clause.text === "STATUS") this.word();
      else
        throw new MibSyntaxError(
          `unexpected "${clause.text}" in TEXTUAL-CONVENTION ${name.text}`,
          clause.line,
        );
    }
    const type: ParsedType = { name: name.text, line: name.line, syntax: this.type() };
    if (displayHint !== undefined) type.displayHint = displayHint;
    return type;
  }

  /** `name MACRO clauses ::= value`; undefined for a value that is no OID (`x INTEGER ::= 5`). */
  private valueAssignment(name: Token, macro: string): ParsedNode | undefined {
    const node: ParsedNode = { name: name.text, line: name.line, macro, arcs: [] };
    const detailed = DETAILED.has(macro);
    for (;;) {
      const token = this.next();
      if (token.text === "::=") break;
      if (!detailed) {
        if (token.text === "{" || token.text === "(") this.skipBalanced(token);
        continue;
      }
      this.clause(token, node);
    }
    if (macro === "TRAP-TYPE") {
      if (node.parent === undefined)
        throw new MibSyntaxError(`TRAP-TYPE ${name.text} has no ENTERPRISE`, name.line);
      node.arcs = [0, this.number()];
      return node;
    }
    if (this.peek()?.text !== "{") {
      this.next();
      return undefined;
    }
    this.oidValue(node);
    return node;
  }

  private clause(token: Token, node: ParsedNode): void {
    switch (token.text) {
      case "SYNTAX":
        node.syntax = this.type();
        return;
      case "UNITS":
        this.string(); // what a value counts, which nothing shows yet
        return;
      case "DESCRIPTION":
        node.description = normalizeText(this.string());
        return;
      case "OBJECTS":
      case "VARIABLES":
        node.objects = this.nameList();
        return;
      case "ENTERPRISE":
        node.parent = this.word().text;
        return;
      default:
        if (token.text === "{" || token.text === "(") this.skipBalanced(token);
    }
  }

  /** RFC 2578 §3.4 / X.680: `[APPLICATION n] IMPLICIT` base or named type, enumeration, constraint. */
  private type(): ParsedSyntax {
    if (this.peek()?.text === "[") this.skipBalanced();
    if (this.peek()?.text === "IMPLICIT" || this.peek()?.text === "EXPLICIT") this.next();
    const first = this.word();
    let type = first.text;
    if (type === "OCTET" || type === "OBJECT") type = `${type} ${this.word().text}`;
    const syntax: ParsedSyntax = { type };
    if (type === "SEQUENCE" || type === "CHOICE") {
      if (this.peek()?.text === "OF") {
        this.next();
        syntax.type = `SEQUENCE OF ${this.word().text}`;
      } else this.skipBalanced();
    } else if (this.peek()?.text === "{") {
      syntax.enums = this.enumeration();
    }
    if (this.peek()?.text === "(") this.skipBalanced();
    return syntax;
  }

  /** `{ label(n), … }` of an INTEGER (RFC 2578 §7.1.1) or BITS (§7.1.4). */
  private enumeration(): Record<number, string> {
    this.expect("{");
    const enums: Record<number, string> = {};
    for (;;) {
      const label = this.word();
      this.expect("(");
      enums[this.number()] = label.text;
      this.expect(")");
      const sep = this.next();
      if (sep.text === "}") return enums;
      if (sep.text !== ",")
        throw new MibSyntaxError(`expected "," or "}" in an enumeration, found "${sep.text}"`, sep.line);
    }
  }

  /** `{ parent arc… }`, an arc a number or name(number) (RFC 2578 §3.5, X.680 §31). */
  private oidValue(node: ParsedNode): void {
    this.expect("{");
    for (let first = true; ; first = false) {
      const token = this.next();
      if (token.text === "}") break;
      if (token.kind === "number") {
        node.arcs.push(this.arc(token));
      } else if (token.kind === "word") {
        const numbered = this.peek()?.text === "(";
        if (numbered) {
          this.next();
          const arc = this.number();
          this.expect(")");
          if (!first) node.arcs.push(arc);
          else node.parent = token.text;
        } else if (first) node.parent = token.text;
        else throw new MibSyntaxError(`"${token.text}" inside an OID value must be name(number)`, token.line);
      } else {
        throw new MibSyntaxError(`unexpected "${token.text}" in an OID value`, token.line);
      }
    }
    if (node.parent === undefined && node.arcs.length === 0) {
      throw new MibSyntaxError(`OID value of ${node.name} is empty`, node.line);
    }
  }

  private nameList(): string[] {
    this.expect("{");
    const names: string[] = [];
    for (;;) {
      names.push(this.word().text);
      const sep = this.next();
      if (sep.text === "}") return names;
      if (sep.text !== ",") throw new MibSyntaxError(`expected "," or "}", found "${sep.text}"`, sep.line);
    }
  }

  private arc(token: Token): number {
    const n = Number(token.text);
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
      throw new MibSyntaxError(`"${token.text}" is no OID sub-identifier (0..4294967295)`, token.line);
    }
    return n;
  }

  private number(): number {
    const token = this.next();
    if (token.kind !== "number")
      throw new MibSyntaxError(`expected a number, found "${token.text}"`, token.line);
    const n = Number(token.text);
    if (!Number.isSafeInteger(n)) throw new MibSyntaxError(`${token.text} is out of range`, token.line);
    return n;
  }

  private string(): string {
    const token = this.next();
    if (token.kind !== "string")
      throw new MibSyntaxError(`expected a quoted string, found "${token.text}"`, token.line);
    return token.text;
  }

  private word(): Token {
    const token = this.next();
    if (token.kind !== "word") throw new MibSyntaxError(`expected a name, found "${token.text}"`, token.line);
    return token;
  }

  private expect(text: string): void {
    const token = this.next();
    if (token.text !== text)
      throw new MibSyntaxError(`expected "${text}", found "${token.text}"`, token.line);
  }

  /** From an opening bracket (the next token, or the one given) past its matching close. */
  private skipBalanced(open: Token = this.next()): void {
    const close = { "{": "}", "(": ")", "[": "]" }[open.text];
    if (close === undefined) throw new MibSyntaxError(`expected a bracket, found "${open.text}"`, open.line);
    let depth = 1;
    while (depth > 0) {
      const token = this.next();
      if (token.text === open.text) depth++;
      else if (token.text === close) depth--;
    }
  }

  private skipPast(text: string): void {
    while (this.next().text !== text);
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const token = this.tokens[this.pos++];
    if (token === undefined) throw new MibSyntaxError("the module ends without END", this.previousLine());
    return token;
  }

  private previousLine(): number {
    return this.tokens[Math.min(this.pos, this.tokens.length) - 1]?.line ?? 0;
  }
}

/** A DESCRIPTION as prose: each paragraph's lines joined, indentation gone. */
function normalizeText(text: string): string {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter((p) => p.length > 0)
    .join("\n");
}
