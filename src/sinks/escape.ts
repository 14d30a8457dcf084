/**
 * Trap- and BMC-supplied text as data: every control character (C0, DEL, C1), the Unicode line and
 * paragraph separators and the bidirectional overrides become visible escapes ("\r", "\n", "\t",
 * "\x1b", "\u202e"), so no such text can start a line, a header or a reordering in what a sink
 * renders. A backslash is left as it is: the result is the same escaped once or twice.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Readonly<Record<string, string>> = { "\r": "\\r", "\n": "\\n", "\t": "\\t" };

export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`);
  });
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}
