import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema, type SecretRef } from "./schema.js";

/** A configuration that cannot be used; every problem is listed with its path and line in the file. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(file: string): Config {
  return loadYaml(configSchema, file);
}

export function parseConfig(text: string, file: string): Config {
  return parseYaml(configSchema, text, file);
}

/** Reads a YAML file and validates it against a zod schema; problems name their line and path. */
export function loadYaml<T extends z.ZodType>(schema: T, file: string): z.infer<T> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseYaml(schema, text, file);
}

export function parseYaml<T extends z.ZodType>(schema: T, text: string, file: string): z.infer<T> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `${file}:${lines.linePos(e.pos[0]).line}: YAML: ${e.message.split("\n")[0]}`),
    );
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) =>
    // An unknown key is reported at the key itself, one problem each.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) =>
          describeIssue({ ...issue, path: [...issue.path, key], message: "unknown key" }, doc, lines, file),
        )
      : [describeIssue(issue, doc, lines, file)],
  );
  throw new ConfigError(file, problems);
}

function describeIssue(
  issue: z.core.$ZodIssue,
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  file: string,
): string {
  const path = issue.path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
    .join("")
    .slice(1);
  const line = nodeLine(doc, lines, issue.path as (string | number)[]);
  return `${file}${line === undefined ? "" : `:${line}`}: ${path || "(top level)"}: ${issue.message}`;
}

/**
 * The line of `path` in a parsed document: the deepest node that exists locates it (a missing key
 * points at its parent).
 */
function nodeLine(
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * The line of `path` (["traps", 2, "match", 0]) in a configuration file, for a problem found after
 * it loaded (a trap rule that does not compile); undefined when the file cannot be read again.
 */
export function lineOf(file: string, path: readonly (string | number)[]): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const lines = new LineCounter();
  return nodeLine(parseDocument(text, { lineCounter: lines }), lines, path);
}

/** A secret that could not be read; names where it looked, never what it found. */
export class SecretError extends Error {
  override name = "SecretError";
}

/** Reads a secret reference. */
export function readSecret(ref: SecretRef, what: string): string {
  if (ref.env !== undefined) {
    const value = process.env[ref.env];
    if (!value) throw new SecretError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  try {
    return readFileSync(ref.file as string, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new SecretError(
      `${what}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}
