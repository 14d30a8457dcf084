import { z } from "zod";

/**
 * One HTTP route as data: Fastify serves it and the OpenAPI document describes it, from the same
 * zod schemas (query, body and path parameters are validated against them; a failure is a 400 naming
 * the field).
 */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  /** Fastify syntax: "/api/silences/:id". */
  url: string;
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  params?: z.ZodObject;
  /** Needs `Authorization: Bearer <token>`; refused when no token is configured. */
  mutating?: boolean;
  /** Left out of the OpenAPI document (static assets). */
  hidden?: boolean;
  responses: Record<number, ResponseSpec>;
  handle(input: { query: unknown; body: unknown; params: unknown }): Promise<Reply>;
}

export interface ResponseSpec {
  description: string;
  /** JSON body; without one, `type` names the media type. */
  schema?: z.ZodType;
  type?: string;
}

export interface Reply {
  status?: number;
  body: unknown;
  /** Media type of a body that is not JSON. */
  type?: string;
  headers?: Record<string, string>;
}

/** A Route whose handler sees its inputs typed as the schemas parse them. */
export function route<
  Q extends z.ZodObject = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodUndefined,
  P extends z.ZodObject = z.ZodObject<Record<string, never>>,
>(
  r: Omit<Route, "handle" | "query" | "body" | "params"> & {
    query?: Q;
    body?: B;
    params?: P;
    handle(input: { query: z.output<Q>; body: z.output<B>; params: z.output<P> }): Promise<Reply>;
  },
): Route {
  return r as Route;
}

/** The JSON body of every error: a code to act on, a sentence, and the bad field when there is one. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  body(): z.infer<typeof errorSchema> {
    return { error: { code: this.code, message: this.message, ...(this.field && { field: this.field }) } };
  }
}

/** Parses one input; the first issue becomes a 400 naming its field ("severity", "matchers.0"). */
export function parseInput(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.join(".") ?? "";
  const field = path !== "" ? path : issue?.code === "unrecognized_keys" ? issue.keys.join(", ") : undefined;
  const what = field ? `${where} ${field}` : where;
  throw new HttpError(400, `invalid-${where}`, `${what}: ${issue?.message ?? "invalid"}`, field);
}
