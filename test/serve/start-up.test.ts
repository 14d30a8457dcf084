import { describe, expect, it } from "vitest";
import { StartAborted, untilAborted } from "../../src/serve/start-up.js";

/** A promise and its resolve, for a step that settles when the test says. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("untilAborted", () => {
  it("on a signal rejects only once the step has settled and what it made is stopped", async () => {
    const happened: string[] = [];
    const step = deferred<string>();
    const stopping = deferred<void>();
    const controller = new AbortController();
    const outcome = untilAborted(step.promise, controller.signal, async (made) => {
      happened.push(`stopping ${made}`);
      await stopping.promise;
      happened.push(`stopped ${made}`);
    }).catch((err: unknown) => {
      happened.push(err instanceof StartAborted ? "rejected StartAborted" : String(err));
    });
    controller.abort();
    step.resolve("intake");
    await new Promise((r) => setImmediate(r));
    expect(happened).toEqual(["stopping intake"]);
    stopping.resolve();
    await outcome;
    expect(happened).toEqual(["stopping intake", "stopped intake", "rejected StartAborted"]);
  });

  it("a step that never settles: rejects with StartAborted after the grace", async () => {
    const controller = new AbortController();
    controller.abort();
    const never = new Promise<void>(() => undefined);
    await expect(untilAborted(never, controller.signal, async () => undefined, 10)).rejects.toThrow(
      StartAborted,
    );
  });

  it("a step that settles before any signal gives its value, and its error", async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve(7), signal, async () => undefined)).resolves.toBe(7);
    await expect(
      untilAborted(Promise.reject(new Error("bind")), signal, async () => undefined),
    ).rejects.toThrow("bind");
  });
});
