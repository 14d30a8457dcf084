import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeControls, escapeStrings } from "../../src/sinks/escape.js";

const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

describe("escapeControls / escapeStrings", () => {
  it("controls, separators and bidi marks become visible escapes; plain text is the same string", () => {
    expect(escapeControls("a\r\nb\tc\x1bd\u202ee\u2028f\ufeff")).toBe(
      "a\\r\\nb\\tc\\x1bd\\u202ee\\u2028f\\ufeff",
    );
    const plain = "CPU1 Temp: Upper Critical going high (92 °C) — rack 12";
    expect(escapeControls(plain)).toBe(plain);
  });

  it("any string: nothing unsafe is left, escaping again changes nothing, safe text is untouched", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const once = escapeControls(text);
        expect(UNSAFE.test(once)).toBe(false);
        expect(escapeControls(once)).toBe(once);
        if (!UNSAFE.test(text)) expect(once).toBe(text);
      }),
    );
  });

  it("a notification-like value: the same shape, every string and record name escaped, other values kept", () => {
    const value = { "lab\nel": ["x\x07", 3, null, { deep: "\u202egnp.exe" }], ok: true, n: 1.5 };
    expect(escapeStrings(value)).toEqual({
      "lab\\nel": ["x\\x07", 3, null, { deep: "\\u202egnp.exe" }],
      ok: true,
      n: 1.5,
    });
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const escaped = escapeStrings(json);
        expect(UNSAFE.test(JSON.stringify(escaped).replace(/\\u[0-9a-f]{4}/g, ""))).toBe(false);
        expect(escapeStrings(escaped)).toEqual(escaped);
      }),
    );
  });
});
