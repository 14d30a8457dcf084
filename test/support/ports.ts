import dgram from "node:dgram";
import { type AddressInfo, createServer } from "node:net";

/** A UDP port on a loopback address that was free a moment ago (bound, read, released). */
export async function freeUdpPort(host = "127.0.0.1"): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, host, r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A loopback TCP port with nothing listening on it: connect() is refused until someone binds it. */
export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
