import { type AddressInfo, createServer } from "node:net";

/** A loopback TCP port with nothing listening on it: connect() is refused until someone binds it. */
export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
