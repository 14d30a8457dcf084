/*
 * Tokens of an SMI module (the ASN.1 subset of RFC 2578 §3 and RFC 1155), each with its 1-based line.
 * A comment runs from "--" to the end of the line: ASN.1 also ends one at the next "--", but MIBs in
 * the wild draw lines of dashes of any length, which that rule would turn into stray hyphens.
 */

export type TokenKind = "word" | "number" | "string" | "binary" | "symbol";

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

/** Text no token can start with, or a string left open: where, and why. */
export class MibSyntaxError extends Error {
  override name = "MibSyntaxError";
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const SYMBOLS = ["::=", "..", "{", "}", "(", ")", "[", "]", ",", ";", "|", ".", "<", ">", "=", "@", "!", "*"];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
    } else if (c === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end;
    } else if (c === '"') {
      const end = readString(text, i, line, tokens);
      line += countLines(text, i, end);
      i = end;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const kind = text[end + 1];
      if (end === -1 || (kind !== "H" && kind !== "h" && kind !== "B" && kind !== "b")) {
        throw new MibSyntaxError("a quoted binary or hex string is not closed by 'H or 'B", line);
      }
      tokens.push({ kind: "binary", text: text.slice(i, end + 2), line });
      i = end + 2;
    } else if (isWordStart(c) || (c === "-" && isDigit(text[i + 1]))) {
      let end = i + 1;
      while (end < text.length && isWordChar(text[end] as string)) end++;
      // A word ends before a "--" comment that follows it without a space.
      const word = text.slice(i, end).split("--")[0] as string;
      tokens.push({ kind: isDigit(word[0]) || word[0] === "-" ? "number" : "word", text: word, line });
      i += word.length;
    } else {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
      if (symbol === undefined) throw new MibSyntaxError(`unexpected character ${JSON.stringify(c)}`, line);
      tokens.push({ kind: "symbol", text: symbol, line });
      i += symbol.length;
    }
  }
  return tokens;
}

/** A "…" string, which may span lines; "" inside is one quote (X.680 §11.14). Returns the index after it. */
function readString(text: string, start: number, line: number, tokens: Token[]): number {
  let value = "";
  let i = start + 1;
  for (;;) {
    const end = text.indexOf('"', i);
    if (end === -1) throw new MibSyntaxError("a quoted string is not closed", line);
    value += text.slice(i, end);
    if (text[end + 1] !== '"') {
      tokens.push({ kind: "string", text: value, line });
      return end + 1;
    }
    value += '"';
    i = end + 2;
  }
}

function countLines(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", start); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function isWordStart(c: string): boolean {
  return (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || isDigit(c);
}

function isWordChar(c: string): boolean {
  return isWordStart(c) || c === "-" || c === "_";
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}
