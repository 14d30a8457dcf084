import { describe, expect, it } from "vitest";
import { listenerExposure } from "../../src/serve/exposure.js";

const open = { communities: ["public"], allowSources: [] };

describe("the listener exposure warning", () => {
  it("is given for a non-loopback listener that accepts any source with community public", () => {
    expect(listenerExposure({ host: "0.0.0.0", port: 162 }, open)).toEqual([
      'warning: the trap listener on 0.0.0.0:162 accepts any source with community "public": ' +
        "set listener.allowSources to the BMCs' network (and a community of your own)",
    ]);
    expect(listenerExposure({ host: "::", port: 1162 }, open)).toEqual([
      expect.stringContaining("the trap listener on [::]:1162 accepts any source"),
    ]);
    expect(
      listenerExposure({ host: "10.20.0.5", port: 162 }, { ...open, communities: ["x", "public"] }),
    ).toHaveLength(1);
  });

  it("is not given on loopback", () => {
    for (const host of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "localhost"])
      expect(listenerExposure({ host, port: 162 }, open), host).toEqual([]);
  });

  it("is not given with listener.allowSources, or without community public", () => {
    expect(
      listenerExposure({ host: "0.0.0.0", port: 162 }, { ...open, allowSources: ["10.20.0.0/16"] }),
    ).toEqual([]);
    expect(
      listenerExposure({ host: "0.0.0.0", port: 162 }, { ...open, communities: ["s3cret-bmcs"] }),
    ).toEqual([]);
  });
});
