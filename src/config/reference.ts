import { z } from "zod";
import { configSchema } from "./schema.js";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

/** The configuration reference as a Markdown table, generated from the zod schema (the one source of truth). */
export function configReference(): string {
  const root = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"];
  walk(root, "", rows);
  return rows.join("\n");
}

function walk(node: JsonSchema, path: string, rows: string[]): void {
  if (path !== "") {
    const shownDefault =
      node.default === undefined || node.type === "object" ? "" : `\`${JSON.stringify(node.default)}\``;
    rows.push(`| \`${path}\` | ${typeName(node)} | ${shownDefault} | ${node.description ?? ""} |`);
  }
  // A list of objects documents its items' keys as `path[].key`.
  const [props, prefix] = node.items?.properties
    ? [node.items.properties, `${path}[]`]
    : [node.properties, path];
  for (const [key, child] of Object.entries(props ?? {}))
    walk(child, prefix ? `${prefix}.${key}` : key, rows);
}

function typeName(node: JsonSchema): string {
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  if (node.type === "array") return `list of ${node.items ? typeName(node.items) : "any"}`;
  if (node.anyOf)
    return node.anyOf.map(typeName).join(node.anyOf.every((n) => n.const !== undefined) ? " \\| " : " or ");
  return Array.isArray(node.type) ? node.type.join(" or ") : (node.type ?? "any");
}
