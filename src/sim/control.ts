import { createHash, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { HostPort } from "../net/address.js";
import type { SimulatorFleet } from "./fleet.js";
import { setSensorStates, setSensorValue } from "./sensors.js";
import type { BmcSimulator } from "./simulator.js";

/**
 * The simulator's HTTP control API: read counters and state, set sensors, inject events, set faults.
 *
 *   GET  /bmcs                       every BMC: address, counters, faults
 *   GET  /bmcs/N                     one BMC (0-based), with its sensors and SEL size
 *   POST /bmcs/N/sensors/NUM         {"value": 95.5} (threshold) or {"states": 2} (discrete)
 *   POST /bmcs/N/events              {"sensorType":1,"sensorNumber":48,"eventType":1,"direction":"assertion","eventData":[89,165,144]}
 *   POST /bmcs/N/faults              {"hang":true} {"wedged":true} {"slowMs":500} {"dropPercent":20} {"garbage":true}
 *   POST /bmcs/N/reboot              a cold reset, as `mc reset cold` does
 *   GET  /counters                   the fleet's totals
 *
 * With a token, every request needs `Authorization: Bearer TOKEN` (else 401). Bodies are at most
 * MAX_BODY_BYTES (else 413).
 */
export async function startControlApi(
  fleet: SimulatorFleet,
  listen: HostPort,
  options: { token?: string } = {},
): Promise<Server> {
  const expected = options.token === undefined ? undefined : digest(options.token);
  const server = createServer((req, res) => {
    if (expected && !authorized(req, expected)) {
      send(
        res,
        401,
        { error: "a bearer token is required (Authorization: Bearer TOKEN)" },
        {
          "www-authenticate": "Bearer",
        },
      );
      return;
    }
    route(fleet, req)
      .then(({ status, body }) => send(res, status, body))
      .catch((err: Error) =>
        err instanceof BodyTooLarge
          ? send(res, 413, { error: err.message }, { connection: "close" })
          : send(res, 400, { error: err.message }),
      );
  });
  server.listen(listen.port, listen.host);
  await once(server, "listening");
  return server;
}

async function route(
  fleet: SimulatorFleet,
  req: IncomingMessage,
): Promise<{ status: number; body: unknown }> {
  const parts = (req.url ?? "/").split("?")[0]?.split("/").filter(Boolean) ?? [];
  const method = req.method ?? "GET";
  if (method === "GET" && parts[0] === "counters" && parts.length === 1) return ok(fleet.counters());
  if (parts[0] !== "bmcs") return notFound();
  if (parts.length === 1 && method === "GET") return ok(fleet.simulators.map((s, i) => summary(s, i)));
  const index = Number(parts[1]);
  const sim = Number.isInteger(index) ? fleet.simulators[index] : undefined;
  if (!sim) return notFound();
  if (parts.length === 2 && method === "GET") {
    return ok({
      ...summary(sim, index),
      deviceId: sim.state.deviceId,
      sensors: [...sim.state.sensors.values()],
      selEntries: sim.state.sel.records.length,
    });
  }
  if (method !== "POST") return notFound();
  const body = (await json(req)) as Record<string, unknown>;
  switch (parts[2]) {
    case "sensors": {
      const number = Number(parts[3]);
      const events =
        typeof body.value === "number"
          ? setSensorValue(sim.state, number, body.value)
          : setSensorStates(sim.state, number, Number(body.states));
      return ok({ events });
    }
    case "events": {
      const record = sim.state.logEvent({
        generatorId: { id: 0x41, channel: 0, lun: 0 },
        evmRev: 0x04,
        sensorType: Number(body.sensorType),
        sensorNumber: Number(body.sensorNumber),
        eventDirection: body.direction === "deassertion" ? "deassertion" : "assertion",
        eventType: Number(body.eventType),
        eventData: (body.eventData as [number, number, number] | undefined) ?? [0, 0xff, 0xff],
      });
      return ok({ record });
    }
    case "faults":
      sim.setFaults(body);
      return ok(summary(sim, index));
    case "reboot":
      sim.coldReset();
      return ok(summary(sim, index));
    default:
      return notFound();
  }
}

function summary(sim: BmcSimulator, index: number) {
  const { rebootingUntil, ...faults } = sim.server.faults;
  return {
    index,
    address: sim.address,
    counters: sim.counters(),
    faults: { ...faults, rebooting: Date.now() < rebootingUntil },
  };
}

const ok = (body: unknown) => ({ status: 200, body });
const notFound = () => ({ status: 404, body: { error: "no such resource" } });

/** Every request body the API takes is a small JSON object. */
export const MAX_BODY_BYTES = 16 * 1024;

class BodyTooLarge extends Error {
  constructor() {
    super(`request body over ${MAX_BODY_BYTES} bytes`);
  }
}

/** The body as JSON, read up to MAX_BODY_BYTES; past that the rest is discarded unread into memory. */
function json(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.resume();
      reject(new BodyTooLarge());
    };
    req.on("data", onData);
    req.on("error", reject);
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** SHA-256 of a token: equal-length values for timingSafeEqual, whatever was sent. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(
    `${JSON.stringify(body, (_k, v) => (v && v.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v))}\n`,
  );
}
