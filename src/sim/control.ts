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
 */
export async function startControlApi(fleet: SimulatorFleet, listen: HostPort): Promise<Server> {
  const server = createServer((req, res) => {
    route(fleet, req)
      .then(({ status, body }) => send(res, status, body))
      .catch((err: Error) => send(res, 400, { error: err.message }));
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

async function json(req: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(
    `${JSON.stringify(body, (_k, v) => (v && v.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v))}\n`,
  );
}
