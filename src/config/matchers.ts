import { z } from "zod";

/*
 * The matcher syntax of Alertmanager (pkg/labels), shared by routes, silences, inhibit rules and trap
 * rules: parsed here, where the configuration is checked; matched in src/pipeline/alerting/route.ts.
 */

export type MatchOperator = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  readonly name: string;
  readonly op: MatchOperator;
  readonly value: string;
  /** For =~ and !~: the value anchored at both ends, as Alertmanager anchors it. */
  readonly regex?: RegExp;
}

/** A matcher that does not parse: `matcher` is the text given, the message says what is wrong. */
export class MatcherError extends Error {
  override name = "MatcherError";
  readonly code = "invalid-matcher";
  constructor(
    readonly matcher: string,
    reason: string,
  ) {
    super(`invalid matcher ${JSON.stringify(matcher)}: ${reason}`);
  }
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/**
 * Parses one matcher as Alertmanager writes it: `severity="critical"`, `bmc=~"bmc-0[1-5]"`,
 * `sensor_type!="Fan"`, `label_rack!~"r[12]"`; the value may also be unquoted (`bmc=bmc-07`). In a
 * quoted value `\"`, `\\` and `\n` are escapes and any other backslash is kept, so `"bmc-\d+"` is
 * the regex bmc-\d+ (Alertmanager's pkg/labels does the same).
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new MatcherError(text, 'expected NAME="VALUE" with one of = != =~ !~');
  const [, name = "", op = "=", raw = ""] = m;
  if (!raw.startsWith('"') && /^[=~!]|"/.test(raw))
    throw new MatcherError(text, 'expected NAME="VALUE" with one of = != =~ !~');
  const value = raw.startsWith('"') ? unquote(text, raw) : raw;
  if (op === "=~" || op === "!~") {
    try {
      return { name, op, value, regex: new RegExp(`^(?:${value})$`) };
    } catch (err) {
      throw new MatcherError(text, (err as Error).message);
    }
  }
  return { name, op: op as MatchOperator, value };
}

function unquote(text: string, raw: string): string {
  if (raw.length < 2 || !raw.endsWith('"')) throw new MatcherError(text, "unterminated quoted value");
  let value = "";
  let escaped = false;
  for (const c of raw.slice(1, -1)) {
    if (escaped) {
      escaped = false;
      if (c === "n") value += "\n";
      else if (c === '"' || c === "\\") value += c;
      else value += `\\${c}`;
    } else if (c === "\\") escaped = true;
    else if (c === '"') throw new MatcherError(text, 'unescaped " inside the quoted value');
    else value += c;
  }
  if (escaped) throw new MatcherError(text, "unterminated quoted value");
  return value;
}

/** A matcher string that parses (its regex compiles). */
export const matcherString = z.string().superRefine((s, ctx) => {
  try {
    parseMatcher(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});
