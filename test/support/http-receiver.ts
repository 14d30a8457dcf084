import type { ServerResponse } from "node:http";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { idempotencyKey } from "../../src/pipeline/notify/deliver.js";
import { type CaughtRequest, startWebhookCatcher } from "../../src/serve/catchers.js";
import type { NotificationGroup } from "../../src/sinks/sink.js";
import { PETGATE_BODY_VERSION, type PetgateWebhookBody } from "../../src/sinks/webhook.js";

/** What the receiver answers to one request; "hang" never answers. */
export type ReceiverReply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export type ReceivedRequest = CaughtRequest;

export interface HttpReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Distinct idempotency keys (one per group send) in arrival order. */
  idempotencyKeys(): string[];
  /** The notifications of every `format: petgate` request in arrival order, repeats included. */
  notifications(): Notification[];
  /** Distinct notification ids in arrival order. */
  notificationIds(): string[];
  close(): Promise<void>;
}

export interface HttpReceiverOptions {
  /** Verify X-Petgate-Signature with this key. */
  secret?: string;
  /** Replies in order, one per request; after they run out, `otherwise`. */
  script?: ReceiverReply[];
  otherwise?: ReceiverReply;
  /** A reply chosen by what was received (before the script); undefined falls through to it. */
  replyTo?: (request: ReceivedRequest) => ReceiverReply | undefined;
}

/** The demo's webhook catcher (real node:http), keeping every request and answering from a script. */
export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const script = [...(options.script ?? [])];
  const catcher = await startWebhookCatcher({
    keep: Number.POSITIVE_INFINITY,
    ...(options.secret !== undefined && { secret: options.secret }),
    respond(request, res: ServerResponse) {
      const reply = options.replyTo?.(request) ?? script.shift() ?? options.otherwise ?? { status: 200 };
      if (reply === "hang") return; // close() ends it
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? "");
    },
  });
  return {
    url: catcher.url,
    requests: catcher.requests,
    idempotencyKeys: () => [
      ...new Set(catcher.requests.map((r) => r.idempotencyKey).filter((k): k is string => k !== undefined)),
    ],
    notifications: () => catcher.requests.flatMap(notificationsOf),
    notificationIds: () => [...new Set(catcher.requests.flatMap(notificationsOf).map((n) => n.id))],
    close: catcher.close,
  };
}

/** The `format: petgate` body of a request, or undefined when it is none. */
export function petgateBodyOf(request: ReceivedRequest): PetgateWebhookBody | undefined {
  try {
    const body = JSON.parse(request.body.toString("utf8")) as Partial<PetgateWebhookBody> | null;
    return body?.version === PETGATE_BODY_VERSION ? (body as PetgateWebhookBody) : undefined;
  } catch {
    return undefined;
  }
}

function notificationsOf(request: ReceivedRequest): Notification[] {
  return petgateBodyOf(request)?.notifications ?? [];
}

/** The group a delivery worker would send `receiver`: its idempotency key as the worker derives it. */
export function sampleGroup(
  notifications: readonly Notification[] = [sampleNotification()],
  overrides: Partial<Omit<NotificationGroup, "idempotencyKey">> = {},
): NotificationGroup {
  const receiver = overrides.receiver ?? "ops-webhook";
  return {
    receiver,
    groupKey: '{}:{bmc="bmc-07"}',
    groupLabels: { bmc: "bmc-07" },
    notifications,
    ...overrides,
    idempotencyKey: idempotencyKey(
      receiver,
      notifications.map((n) => n.id),
    ),
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
