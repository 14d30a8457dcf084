// The chaos soak's PET sender, a child process (its own event loop, so the pacing does not wait on the
// harness): event i comes from BMC i mod N, from that BMC's own loopback address, as a distinct alert.
//
//   node dist/bench/chaos/sender.js '{"port":…,"host":…,"rate":…,"total":…,"sources":[…],"guid":"…"}'
import dgram from "node:dgram";
import { once } from "node:events";
import { eventDataWithIndex, petDatagramMaker } from "../pet-datagram.js";
import { repoRoot } from "../root.js";

export interface SenderOptions {
  port: number;
  host: string;
  rate: number;
  total: number;
  /** The simulated BMCs' addresses: PET i is sent from sources[i mod N]. */
  sources: string[];
  /** The fleet's first system GUID (hex); BMC b's is that + b in its last two bytes (fleet.ts). */
  guid: string;
}

/** What the sender reports every 250 ms and at the end. */
export interface SenderReport {
  sent: number;
  errors: number;
  /** PET Acknowledges received from the listener (sent once the event was durable). */
  acks: number;
  /** [first index sent in a 1 ms slice, epoch ms]: the send time of each event, to the slice. */
  marks: Array<[number, number]>;
  done: boolean;
}

/**
 * Event i of BMC b = i mod N is that BMC's k-th (k = i div N): sensor device and number from k, so
 * each is its own alert (alertKey), up to 65,536 per BMC; event data bytes 5–8 carry i.
 */
export function chaosDatagrams(guidHex: string, bmcs: number): (i: number) => Buffer {
  const { base, make } = petDatagramMaker(repoRoot);
  const first = Buffer.from(guidHex, "hex");
  return (i) => {
    const b = i % bmcs;
    const k = Math.floor(i / bmcs);
    if (k > 0xffff) throw new RangeError(`more than 65,536 events from one BMC (event ${i})`);
    const guid = Buffer.from(first);
    guid.writeUInt16BE((first.readUInt16BE(14) + b) & 0xffff, 14);
    return make({
      guid,
      sequence: k & 0xffff,
      sensorDevice: (k >> 8) & 0xff,
      sensorNumber: k & 0xff,
      eventData: eventDataWithIndex(base.eventData, i),
    });
  };
}

async function main(o: SenderOptions): Promise<void> {
  const datagram = chaosDatagrams(o.guid, o.sources.length);
  const report: SenderReport = { sent: 0, errors: 0, acks: 0, marks: [], done: false };
  const sockets = await Promise.all(
    o.sources.map(async (address) => {
      const socket = dgram.createSocket("udp4");
      socket.on("error", () => undefined);
      socket.on("message", () => report.acks++);
      socket.bind(0, address);
      await once(socket, "listening");
      return socket;
    }),
  );
  const flush = () => {
    process.send?.(report);
    report.marks = [];
  };
  const progress = setInterval(flush, 250);
  const start = performance.now();
  let issued = 0;
  while (issued < o.total) {
    const due = Math.min(o.total, Math.floor(((performance.now() - start) * o.rate) / 1000));
    if (due > issued) report.marks.push([issued, performance.timeOrigin + performance.now()]);
    for (; issued < due; issued++) {
      (sockets[issued % sockets.length] as dgram.Socket).send(datagram(issued), o.port, o.host, (err) => {
        if (err) report.errors++;
        else report.sent++;
      });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  while (report.sent + report.errors < o.total) await new Promise((r) => setTimeout(r, 5));
  // Acks of the last events still come in while the pipeline drains: keep counting until told to stop.
  report.done = true;
  flush();
  clearInterval(progress);
  setInterval(flush, 1_000);
  process.on("disconnect", () => process.exit(0));
}

if (process.argv[2]?.startsWith("{")) await main(JSON.parse(process.argv[2]) as SenderOptions);
