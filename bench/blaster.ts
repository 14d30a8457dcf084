// UDP blaster for the ingest bench, run as its own process (`node dist/bench/blaster.js ...`) so that it
// never shares an event loop with a receiver. Sends one datagram to 127.0.0.1:PORT, either paced at
// --rate per second for --duration ms, or --count of them as fast as the socket takes them (--rate 0),
// then prints one JSON line (BlastResult) on stdout. With --number-at OFFSET each datagram carries its
// index as a big-endian uint32 at that byte offset, so that no two are the same trap.
import dgram from "node:dgram";
import { once } from "node:events";
import { parseArgs } from "node:util";

export interface BlastResult {
  /** Datagrams handed to the kernel without error. */
  sent: number;
  /** Sends that failed (callback error). */
  errors: number;
  /** From the first send to the last send's completion. */
  elapsedMs: number;
  achievedPerSec: number;
}

/** Time slice of the pacer: every slice sends the quota due since the start. */
const SLICE_MS = 1;
/** Sends not yet completed before the burst yields to let libuv drain its queue. */
const MAX_IN_FLIGHT = 4096;
/** A paced run may overrun its duration by this much before it gives up on the remainder. */
const OVERRUN_MS = 2000;

async function blast(
  port: number,
  packet: Buffer,
  rate: number,
  durationMs: number,
  count: number,
  numberAt: number | undefined,
) {
  const socket = dgram.createSocket("udp4");
  socket.on("error", () => {}); // send errors arrive through the callbacks
  socket.connect(port, "127.0.0.1");
  await once(socket, "connect");

  const total = rate > 0 ? Math.round((rate * durationMs) / 1000) : count;
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let lastDone = 0;
  const onSent = (err: Error | null): void => {
    completed++;
    if (err) errors++;
    lastDone = performance.now();
  };

  const start = performance.now();
  const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  while (issued < total) {
    const now = performance.now();
    if (rate > 0 && now - start > durationMs + OVERRUN_MS) break;
    const due = rate > 0 ? Math.min(total, Math.floor(((now - start) * rate) / 1000)) : total;
    const room = MAX_IN_FLIGHT - (issued - completed);
    for (let n = Math.min(due - issued, room); n > 0; n--, issued++) {
      if (numberAt === undefined) socket.send(packet, onSent);
      else {
        // A copy per send: libuv reads the buffer when it sends, after this loop has moved on.
        const numbered = Buffer.from(packet);
        numbered.writeUInt32BE(issued >>> 0, numberAt);
        socket.send(numbered, onSent);
      }
    }
    if (rate > 0) await sleep(SLICE_MS);
    else await yieldNow();
  }
  const deadline = performance.now() + 5000;
  while (completed < issued && performance.now() < deadline) await sleep(1);
  socket.close();

  const elapsedMs = (lastDone || performance.now()) - start;
  const sent = completed - errors;
  const result: BlastResult = {
    sent,
    errors: errors + (issued - completed),
    elapsedMs: Math.round(elapsedMs * 10) / 10,
    achievedPerSec: elapsedMs > 0 ? Math.round((sent * 1000) / elapsedMs) : 0,
  };
  return result;
}

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    hex: { type: "string" },
    rate: { type: "string", default: "0" },
    duration: { type: "string", default: "0" },
    count: { type: "string", default: "0" },
    "number-at": { type: "string" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || values.hex === undefined) {
  process.stderr.write("usage: blaster --port PORT --hex DATAGRAM (--rate N --duration MS | --count N)\n");
  process.exit(2);
}
const result = await blast(
  port,
  Buffer.from(values.hex, "hex"),
  Number(values.rate),
  Number(values.duration),
  Number(values.count),
  values["number-at"] === undefined ? undefined : Number(values["number-at"]),
);
process.stdout.write(`${JSON.stringify(result)}\n`);
