import { request } from "node:http";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServer, startHttp } from "../../src/http/server.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/** A GET with the Host header as given (fetch would set its own); status, headers and body. */
function get(
  port: number,
  path: string,
  host: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP hardening", () => {
  let server: TestRedis;
  let redis: Redis;
  let http: HttpServer;
  let port: number;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.socket);
    http = await startHttp({
      bind: { host: "127.0.0.1", port: 0 },
      redis,
      allowedHosts: ["petgate.example.net", ".ops.example"],
      extraRoutes: (app) => {
        app.get("/extra", async (_req, reply) => reply.type("text/html; charset=utf-8").send("<p>hi</p>"));
      },
      log: () => undefined,
    });
    port = http.address().port;
  });
  afterAll(async () => {
    await http.close();
    redis.disconnect();
    await server.dispose();
  });

  it.each([
    "127.0.0.1",
    "localhost",
    "[::1]",
    "petgate.example.net",
    "PETGATE.example.net.",
    "ops.example",
    "rack12.ops.example",
    hostname(),
  ])("answers a request whose Host is %s", async (name) => {
    const r = await get(port, "/api/bmcs", `${name}:${port}`);
    expect(r.status).toBe(200);
  });

  it.each(["rebind.attacker.example", "evilops.example", "petgate.example.net.attacker.example", "a b"])(
    "refuses a request whose Host is %s (DNS rebinding) with 403, on the API and the page",
    async (name) => {
      for (const path of ["/api/bmcs", "/api/events", "/", "/metrics"]) {
        const r = await get(port, path, `${name}:${port}`);
        expect(r.status, path).toBe(403);
        expect(JSON.parse(r.body).error.code, path).toBe("host-not-allowed");
        expect(r.body).not.toContain(name);
      }
    },
  );

  it("logs the first refused Host, quoted, and not every refusal after it", async () => {
    const lines: string[] = [];
    const quiet = await startHttp({ bind: { host: "127.0.0.1", port: 0 }, redis, log: (l) => lines.push(l) });
    try {
      const at = quiet.address().port;
      expect((await get(at, "/metrics", 'scrape".attacker.example')).status).toBe(403);
      expect((await get(at, "/metrics", "second.attacker.example")).status).toBe(403);
      expect(lines).toEqual([
        'http: refused Host "scrape\\".attacker.example": not an IP literal, localhost, this host\'s name or in http.allowedHosts (further refusals unlogged for a minute)',
      ]);
    } finally {
      await quiet.close();
    }
  });

  it("sends X-Content-Type-Options: nosniff on every response, errors included", async () => {
    const host = `127.0.0.1:${port}`;
    for (const [path, status] of [
      ["/", 200],
      ["/app.js", 200],
      ["/api/bmcs", 200],
      ["/metrics", 200],
      ["/openapi.json", 200],
      ["/extra", 200],
      ["/no/such/route", 404],
      ["/api/events?limit=abc", 400],
    ] as const) {
      const r = await get(port, path, host);
      expect(r.status, path).toBe(status);
      expect(r.headers["x-content-type-options"], path).toBe("nosniff");
    }
    const refused = await get(port, "/", "attacker.example");
    expect(refused.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("puts a Content-Security-Policy on every HTML page: the page's own, else one allowing no script", async () => {
    const page = await get(port, "/", `localhost:${port}`);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    const extra = await get(port, "/extra", `localhost:${port}`);
    expect(extra.headers["content-type"]).toMatch(/^text\/html/);
    const csp = String(extra.headers["content-security-policy"]);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/script-src/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
  });
});
