import { type AddressInfo, createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpGate {
  readonly port: number;
  /** Forwarding (true) or resetting every connection (false). */
  up: boolean;
  /** Connections reset while down. */
  refused: number;
  /** Down: open connections are cut as well, as when the server behind goes away. */
  setUp(up: boolean): void;
  close(): Promise<void>;
}

/**
 * A TCP front on a loopback port for a server that can be taken down and brought back without
 * changing its address: while down it accepts and at once resets every connection (counted in
 * `refused`); up, it forwards to 127.0.0.1:targetPort.
 */
export async function startTcpGate(targetPort: number, up = true): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (!gate.up) {
      gate.refused++;
      client.resetAndDestroy();
      return;
    }
    // Nagle off both ways: a proxy that held small writes for the delayed ACK would add 40 ms a message.
    client.setNoDelay(true);
    const upstream = createConnection({ port: targetPort, host: "127.0.0.1", noDelay: true });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const gate: TcpGate = {
    port: (server.address() as AddressInfo).port,
    up,
    refused: 0,
    setUp(value) {
      gate.up = value;
      if (!value) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return gate;
}
