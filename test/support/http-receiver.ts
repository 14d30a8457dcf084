import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Notification } from "../../src/sinks/sink.js";
import { verifySignature } from "../../src/sinks/webhook.js";

/** What the receiver answers to one request; "hang" never answers. */
export type ReceiverReply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** undefined when the receiver has no secret; otherwise whether X-Petgate-Signature verified. */
  signatureValid: boolean | undefined;
  idempotencyKey: string | undefined;
}

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Distinct idempotency keys in arrival order. */
  idempotencyKeys(): string[];
  close(): Promise<void>;
}

export interface HttpReceiverOptions {
  /** Verify X-Petgate-Signature with this key. */
  secret?: string;
  /** Replies in order, one per request; after they run out, `otherwise`. */
  script?: ReceiverReply[];
  otherwise?: ReceiverReply;
}

/** A real node:http webhook receiver that verifies signatures and answers from a script. */
export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const script = [...(options.script ?? [])];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const signature = req.headers["x-petgate-signature"];
      const key = req.headers["x-petgate-idempotency-key"];
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        signatureValid:
          options.secret === undefined
            ? undefined
            : typeof signature === "string" && verifySignature(body, signature, options.secret),
        idempotencyKey: typeof key === "string" ? key : undefined,
      });
      const reply = script.shift() ?? options.otherwise ?? { status: 200 };
      if (reply === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    idempotencyKeys: () => [
      ...new Set(requests.map((r) => r.idempotencyKey).filter((k): k is string => k !== undefined)),
    ],
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A representative notification for sink tests; override any field. */
export function sampleNotification(overrides: Partial<Notification> = {}): Notification {
  return {
    version: 1,
    id: "n-4f2a9c1e-firing",
    status: "firing",
    severity: "critical",
    summary: "bmc-07: Temperature CPU1 Temp: Upper Critical - going high",
    bmc: { name: "bmc-07", address: "10.20.0.7", labels: { site: "fra1", rack: "r12" } },
    event: {
      time: "2025-03-04T10:11:12.000Z",
      sensorType: "Temperature",
      sensorNumber: 0x30,
      text: "Upper Critical - going high",
      direction: "assertion",
      eventData: "0159ff0000000000",
    },
    sensor: {
      name: "CPU1 Temp",
      reading: 92,
      unit: "degrees C",
      thresholds: { upperNonCritical: 80, upperCritical: 90, upperNonRecoverable: 100 },
    },
    enrichment: "ok",
    receivedAt: "2025-03-04T10:11:12.345Z",
    startsAt: "2025-03-04T10:11:12.345Z",
    ...overrides,
  };
}
