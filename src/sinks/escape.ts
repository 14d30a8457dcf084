/**
 * C0, DEL and C1 controls, the Unicode line and paragraph separators, the bidirectional marks,
 * embeddings, overrides and isolates (UAX #9: LRM, RLM, ALM; LRE…RLO; LRI…PDI), and the byte order
 * mark U+FEFF (a zero-width no-break space mid-text).
 */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

const NAMED: Readonly<Record<string, string>> = { "\r": "\\r", "\n": "\\n", "\t": "\\t" };

/**
 * Trap- and BMC-supplied text as data, for every sink: each unsafe character becomes a visible
 * escape ("\r", "\n", "\t", "\x1b", "\u202e"), so no such text can start a line or a header, or
 * reorder what is shown. A backslash is left as it is, so escaping twice changes nothing.
 */
export function escapeControls(text: string): string {
  // Nearly all text has nothing to escape: one scan, and the same string back.
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`);
  });
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}

/**
 * A copy of a JSON-like value (a notification) with every string in it escaped as escapeControls
 * does, names of its records too: what code outside petgate's own templates renders or decodes from
 * it shows trap- and BMC-supplied text as data. Hex and other plain text is unchanged.
 */
export function escapeStrings<T>(value: T): T {
  if (typeof value === "string") return escapeControls(value) as T;
  if (Array.isArray(value)) return value.map(escapeStrings) as T;
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const name in value) {
    if (Object.hasOwn(value, name)) copy[escapeControls(name)] = escapeStrings(value[name]);
  }
  return copy as T;
}
