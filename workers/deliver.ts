/**
 * The delivery worker as a process: `node dist/workers/deliver.js petgate.yml` (or the file in
 * PETGATE_CONFIG). Its sinks are the config's `receivers:`. Redis from PETGATE_REDIS (redis://,
 * rediss://, or a unix socket path; default redis://127.0.0.1:6379), key prefix from PETGATE_PREFIX
 * (default "petgate"). Stops on SIGTERM/SIGINT after the deliveries in hand.
 */
import { loadConfig } from "../src/config/load.js";
import { startDeliveryWorker } from "../src/pipeline/deliver.js";
import { buildSinks } from "../src/sinks/build.js";

const file = process.argv[2] ?? process.env.PETGATE_CONFIG ?? "petgate.yml";
const log = (m: string) => process.stderr.write(`petgate: ${m}\n`);
const sinks = buildSinks(loadConfig(file));
if (sinks.size === 0) log(`${file} has no receivers: every delivery will be dead-lettered`);
const worker = await startDeliveryWorker({
  connection: process.env.PETGATE_REDIS ?? "redis://127.0.0.1:6379",
  ...(process.env.PETGATE_PREFIX && { prefix: process.env.PETGATE_PREFIX }),
  sinks,
  log,
});
log(`delivery worker started (${file}: ${[...sinks.keys()].join(", ") || "no receivers"})`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  worker
    .close()
    .then(() => Promise.all([...sinks.values()].map((s) => s.close?.())))
    .then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`petgate: ${String(err)}\n`);
        process.exit(1);
      },
    );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
