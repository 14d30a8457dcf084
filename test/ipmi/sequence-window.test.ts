import { describe, expect, it } from "vitest";
import { SequenceWindow } from "../../src/ipmi/client/sequence-window.js";

describe("inbound session sequence window (IPMI 2.0 §6.12.13)", () => {
  it("accepts each number once, late ones within the window, and never 0", () => {
    const w = new SequenceWindow(16);
    expect(w.accept(0)).toBe(false);
    expect(w.accept(5)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(7)).toBe(true);
    expect(w.accept(6)).toBe(true);
    expect(w.accept(6)).toBe(false);
    expect(w.accept(100)).toBe(true);
    expect(w.accept(85)).toBe(true);
    expect(w.accept(84)).toBe(false);
  });

  it("follows the numbers across the 32-bit wrap", () => {
    const w = new SequenceWindow(16);
    expect(w.accept(0xfffffffe)).toBe(true);
    expect(w.accept(0xffffffff)).toBe(true);
    expect(w.accept(1)).toBe(true);
    expect(w.accept(0xfffffffe)).toBe(false);
    expect(w.accept(0xfffffffd)).toBe(true);
  });
});
