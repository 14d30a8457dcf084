import type { BmcTarget } from "../../config/inventory.js";
import { readSensors, type SensorView } from "../../ipmi/sensors.js";
import { executeUntil } from "../enrich/sdr-cache.js";
import type { EventsWorker } from "../events-worker.js";

/** Why a BMC's sensors were not read: the circuit is open (the BMC is wedged or silent). */
export class SensorsUnavailable extends Error {}

/**
 * A BMC's sensors read now (the page's view of one BMC), over the events worker's pooled session and
 * its cached SDR, within `deadlineMs`; undefined for a BMC not in the inventory. A BMC whose circuit
 * is open is not asked: its health alert says why.
 */
export async function sensorsNow(
  events: Pick<EventsWorker, "pool" | "sdr" | "breaker">,
  inventory: readonly BmcTarget[],
  name: string,
  deadlineMs = 5_000,
): Promise<SensorView[] | undefined> {
  const target = inventory.find((b) => b.name === name);
  if (!target) return undefined;
  if (events.breaker.state(name) === "open")
    throw new SensorsUnavailable(`${name} is not answering (its circuit is open): not asked`);
  const client = events.pool.get(target);
  const deadline = Date.now() + deadlineMs;
  const records = await events.sdr.records(name, client, deadline);
  return readSensors(executeUntil(client, deadline, "the sensor read deadline"), records);
}
