// Paced UDP sending for the socket targets: at most `window` datagrams on their way at once, where
// "arrived" is what the target counted plus what the kernel dropped for its socket.
import dgram from "node:dgram";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { HostPort } from "../../src/net/address.js";
import { loopbackSocket } from "../kernel.js";

export interface Arrivals {
  /** Datagrams the target has counted. */
  counted(): number;
}

export interface SendResult {
  sent: number;
  sendErrors: number;
  /** Drops of the target's socket (/proc/net/udp) over the run. */
  kernelDrops: number;
  /** Datagrams neither counted nor dropped when the wait for them ended: must be 0. */
  unaccounted: number;
  seconds: number;
}

/** The target socket's drop counter (bench/kernel.ts reads sockets on 127.0.0.1 only). */
function drops(target: HostPort): number {
  if (target.host !== "127.0.0.1") throw new RangeError(`fuzz targets bind 127.0.0.1, not ${target.host}`);
  return loopbackSocket(target.port)?.drops ?? 0;
}

/**
 * Sends every datagram to `target`, waiting whenever `window` are unaccounted for, then waits (at
 * most `settleMs`) until every sent one is counted or dropped. A target that stops counting for
 * `settleMs` does not stall the run: those datagrams are left to the final tally.
 */
export async function pacedSend(
  target: HostPort,
  datagrams: Iterable<Buffer>,
  arrivals: Arrivals,
  options: { window: number; settleMs?: number; socket?: dgram.Socket },
): Promise<SendResult> {
  const socket = options.socket ?? dgram.createSocket("udp4");
  if (!options.socket) await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  const started = performance.now();
  const counted0 = arrivals.counted();
  const drops0 = drops(target);
  let sent = 0;
  let sendErrors = 0;
  let checkedDrops = 0;
  // Datagrams given up on after the target stopped counting for settleMs: the final tally reports them.
  let given = 0;
  const settleMs = options.settleMs ?? 5_000;
  const arrived = () => arrivals.counted() - counted0 + checkedDrops;
  const inFlight = () => sent - sendErrors - arrived() - given;
  try {
    for (const d of datagrams) {
      let progress = { arrived: arrived(), at: performance.now() };
      while (inFlight() >= options.window) {
        await yieldToLoop();
        // Reading /proc costs; only when the window stays full is a drop worth looking for.
        if (inFlight() >= options.window) checkedDrops = drops(target) - drops0;
        if (arrived() !== progress.arrived) progress = { arrived: arrived(), at: performance.now() };
        else if (performance.now() - progress.at > settleMs) given += inFlight();
      }
      sent++;
      socket.send(d, target.port, target.host, (err) => {
        if (err) sendErrors++;
      });
    }
    const deadline = performance.now() + settleMs;
    while (performance.now() < deadline) {
      checkedDrops = drops(target) - drops0;
      if (sent - sendErrors - arrived() <= 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    if (!options.socket) socket.close();
  }
  const kernelDrops = drops(target) - drops0;
  return {
    sent,
    sendErrors,
    kernelDrops,
    unaccounted: sent - sendErrors - (arrivals.counted() - counted0) - kernelDrops,
    seconds: (performance.now() - started) / 1000,
  };
}
