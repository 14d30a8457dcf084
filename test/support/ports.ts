import dgram from "node:dgram";

/** A UDP port on a loopback address that was free a moment ago (bound, read, released). */
export async function freeUdpPort(host = "127.0.0.1"): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, host, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export { freeTcpPort } from "../../bench/ports.js";
