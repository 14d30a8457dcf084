/** A name a template or matcher may use: the matcher name syntax of route.ts. */
export const FACT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A template that names something no trap can have; the message quotes the offending {{…}}. */
export class TemplateError extends Error {
  override name = "TemplateError";
}

/**
 * A `{{name}}` template compiled once: literal parts and fact names alternate. Rendering is one pass
 * over the parts, so a value that itself contains `{{x}}` is copied as it is, never expanded.
 */
export interface Template {
  render(facts: ReadonlyMap<string, string>): string;
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/**
 * Compiles `text`; every {{name}} must be a name `known` accepts. The rendered text is cut to `max`
 * characters (a value can be up to 512 bytes of a varbind, and a trap has up to 32 of them).
 */
export function compileTemplate(text: string, known: (name: string) => boolean, max: number): Template {
  const literals: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = (m[1] ?? "").trim();
    if (!FACT_NAME.test(name)) throw new TemplateError(`{{${m[1]}}} is not a name`);
    if (!known(name)) throw new TemplateError(`unknown name {{${name}}}`);
    literals.push(text.slice(last, m.index));
    names.push(name);
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  return {
    render(facts) {
      let out = literals[0] ?? "";
      for (let i = 0; i < names.length && out.length < max; i++)
        out += (facts.get(names[i] as string) ?? "") + literals[i + 1];
      return out.length > max ? out.slice(0, max) : out;
    },
  };
}
