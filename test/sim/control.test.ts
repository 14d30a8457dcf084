import { request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, startControlApi } from "../../src/sim/control.js";
import { startSims } from "../support/sim.js";

type Sims = Awaited<ReturnType<typeof startSims>>;
let sims: Sims;
beforeAll(async () => {
  sims = await startSims();
});
afterAll(() => sims.fleet.stop());

async function api(token?: string): Promise<{ server: Server; base: string; port: number }> {
  const server = await startControlApi(sims.fleet, { host: "127.0.0.1", port: 0 }, token ? { token } : {});
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { server, base: `http://127.0.0.1:${port}`, port };
}

/** POSTs `size` bytes in one chunked write (no Content-Length) and resolves with the status. */
function postChunked(port: number, path: string, size: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST" }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end(Buffer.alloc(size, 0x20));
  });
}

describe("the control API's bounds", () => {
  it("refuses a body over the limit with 413, declared or streamed, and changes nothing", async () => {
    const { server, base, port } = await api();
    try {
      const big = `{"slowMs":5,"pad":"${"x".repeat(MAX_BODY_BYTES)}"}`;
      const declared = await fetch(`${base}/bmcs/0/faults`, { method: "POST", body: big });
      expect(declared.status).toBe(413);
      expect(await declared.json()).toEqual({ error: `request body over ${MAX_BODY_BYTES} bytes` });
      expect(await postChunked(port, "/bmcs/0/faults", MAX_BODY_BYTES + 1)).toBe(413);
      expect(sims.sim?.server.faults.slowMs).toBe(0);
      // At the limit it is read (and, being spaces, is no JSON: 400, not 413).
      expect(await postChunked(port, "/bmcs/0/faults", MAX_BODY_BYTES)).toBe(400);
    } finally {
      server.close();
    }
  });

  it("with a token, answers 401 without it or with another, and serves with it", async () => {
    const { server, base } = await api("ctl-Token-7");
    try {
      const none = await fetch(`${base}/bmcs`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe("Bearer");
      const wrong = await fetch(`${base}/bmcs/0/faults`, {
        method: "POST",
        headers: { authorization: "Bearer ctl-Token-8" },
        body: JSON.stringify({ hang: true }),
      });
      expect(wrong.status).toBe(401);
      expect(sims.sim?.server.faults.hang).toBe(false);
      const right = await fetch(`${base}/counters`, { headers: { authorization: "Bearer ctl-Token-7" } });
      expect(right.status).toBe(200);
      expect(await right.json()).toMatchObject({ sessionsActive: 0 });
    } finally {
      server.close();
    }
  });
});
