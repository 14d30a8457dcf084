import { z } from "zod";
import type { ResponseSpec, Route } from "./routes.js";

/** The OpenAPI 3.1 document of `routes`, from the zod schemas they are validated with. */
export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.hidden) continue;
    const path = r.url.replace(/:(\w+)/g, "{$1}");
    const parameters = [...parametersOf(r.params, "path"), ...parametersOf(r.query, "query")];
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      ...(parameters.length > 0 && { parameters }),
      ...(r.body && {
        requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body) } } },
      }),
      ...(r.mutating && { security: [{ bearer: [] }] }),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, spec]) => [status, response(spec)]),
      ),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "petgate",
      version,
      description:
        "IPMI alert gateway: recent events, BMC health, queues and silences. Mutating calls need `Authorization: Bearer <http.token>`.",
    },
    paths,
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  };
}

function parametersOf(schema: z.ZodObject | undefined, where: "query" | "path"): unknown[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...rest } = jsonSchema(field as z.ZodType);
    return {
      name,
      in: where,
      required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
      ...(description !== undefined && { description }),
      schema: rest,
    };
  });
}

function response(spec: ResponseSpec): Record<string, unknown> {
  const media = spec.schema ? "application/json" : spec.type;
  return {
    description: spec.description,
    ...(media && { content: { [media]: spec.schema ? { schema: jsonSchema(spec.schema) } : {} } }),
  };
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return rest;
}
