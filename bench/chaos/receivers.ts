// The chaos soak's receivers: the demo's webhook and mail catchers (src/serve/catchers.ts), tallying
// what each accepted per event index instead of keeping every message (a soak sends millions).

import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { startMailCatcher, startWebhookCatcher } from "../../src/serve/catchers.js";
import { parseMessage } from "../../src/serve/mime.js";
import { indexOfEventData } from "../pet-datagram.js";
import { startTcpGate } from "../tcp-gate.js";

export const HEALTH_TEXT = "BMC unresponsive";

export interface HealthArrival {
  bmc: string;
  status: Notification["status"];
  id: string;
  at: number;
  detail: string;
}

/**
 * What one receiver accepted. A key names one delivery: the webhook's Idempotency-Key or the mail's
 * Message-ID (one per group), with the notification's id or event index.
 */
export class Tally {
  /** Event index → epoch ms of its first accepted arrival. */
  readonly firstAt = new Map<number, number>();
  private readonly keys = new Set<string>();
  private readonly keyOf = new Map<number, string>();
  accepted = 0;
  /** Refused with 500 (webhook) while failing on purpose. */
  refused = 0;
  /** An event accepted under a second, different key: a duplicate notification. */
  duplicates = 0;
  /** The same key accepted again (a worker killed between send and its delivered marker). */
  redeliveries = 0;
  /** Accepted with neither an event index nor the health text. */
  unknown = 0;
  /** Webhook requests whose X-Petgate-Signature did not verify. */
  badSignatures = 0;
  readonly health: HealthArrival[] = [];

  accept(key: string, index: number | undefined, at: number): void {
    this.accepted++;
    if (this.keys.has(key)) {
      this.redeliveries++;
      return;
    }
    this.keys.add(key);
    if (index === undefined) return;
    const first = this.keyOf.get(index);
    if (first === undefined) {
      this.keyOf.set(index, key);
      this.firstAt.set(index, at);
    } else if (first !== key) this.duplicates++;
  }

  /** Indices in [0, total) never accepted. */
  missing(total: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < total; i++) if (!this.firstAt.has(i)) out.push(i);
    return out;
  }
}

export interface ChaosWebhook {
  url: string;
  tally: Tally;
  /** While true every request is answered 500. */
  failing: boolean;
  close(): Promise<void>;
}

/** The webhook catcher: 200 (tallied) or, while `failing`, 500; signatures checked with `secret`. */
export async function startChaosWebhook(secret: string): Promise<ChaosWebhook> {
  const tally = new Tally();
  const hook: ChaosWebhook = {
    url: "",
    tally,
    failing: false,
    close: async () => undefined,
  };
  const catcher = await startWebhookCatcher({
    keep: 0,
    secret,
    respond(request, res) {
      if (hook.failing) {
        tally.refused++;
        res.writeHead(500).end();
        return;
      }
      if (request.signatureValid !== true) tally.badSignatures++;
      const notifications = parseNotifications(request.body);
      if (notifications.length === 0) {
        tally.unknown++;
        res.writeHead(400).end();
        return;
      }
      const at = Date.now();
      for (const n of notifications) {
        if (n.event.text === HEALTH_TEXT)
          tally.health.push({ bmc: n.bmc.name, status: n.status, id: n.id, at, detail: n.detail ?? "" });
        const index = indexOfEventData(n.event.eventData);
        if (index === undefined && n.event.text !== HEALTH_TEXT) tally.unknown++;
        // One request carries a group: its key and the notification's id name one delivery.
        tally.accept(`${request.idempotencyKey ?? "no-key"}/${n.id}`, index, at);
      }
      res.writeHead(200).end();
    },
  });
  hook.url = catcher.url;
  hook.close = catcher.close;
  return hook;
}

/** The notifications of a petgate webhook body (format petgate: a group); none for a stray request. */
function parseNotifications(body: Buffer): Notification[] {
  try {
    const group = JSON.parse(body.toString("utf8")) as { notifications?: Partial<Notification>[] };
    const all = Array.isArray(group.notifications) ? group.notifications : [];
    return all.filter(
      (n): n is Notification => typeof n.event?.eventData === "string" && typeof n.bmc?.name === "string",
    );
  } catch {
    return [];
  }
}

export interface ChaosMail {
  /** Where the email receiver connects: the gate in front of the catcher. */
  port: number;
  tally: Tally;
  /** Takes SMTP down (connections reset) or brings it back. */
  setUp(up: boolean): void;
  close(): Promise<void>;
}

/** The mail catcher behind a TCP gate; messages are tallied (Message-ID, "Event data") and dropped. */
export async function startChaosMail(): Promise<ChaosMail> {
  const tally = new Tally();
  const catcher = await startMailCatcher({ keep: Number.POSITIVE_INFINITY });
  const gate = await startTcpGate(catcher.port);
  // One drain at a time, in order: each waits for the one before it.
  let draining = Promise.resolve();
  const drain = () => (draining = draining.then(() => drainOnce()));
  const drainOnce = async () => {
    for (const m of catcher.messages.splice(0)) {
      const { headers, parts } = await parseMessage(m.raw);
      const text = parts.find((p) => p.contentType === "text/plain")?.body ?? "";
      // One message per group: an "Event data" line per notification.
      const indices = [...text.matchAll(/^\s*Event data:\s+([0-9a-f]{16})\s*$/gm)].map((e) =>
        indexOfEventData(e[1] as string),
      );
      const at = Date.parse(m.receivedAt);
      const id = headers.get("message-id") ?? "";
      if (indices.length === 0) {
        if (!text.includes(HEALTH_TEXT)) tally.unknown++;
        tally.accept(id, undefined, at);
      }
      for (const index of indices) tally.accept(`${id}/${index}`, index, at);
    }
  };
  const timer = setInterval(() => void drain(), 100);
  return {
    port: gate.port,
    tally,
    setUp: (up) => gate.setUp(up),
    async close() {
      clearInterval(timer);
      await drain();
      await gate.close();
      await catcher.close();
    },
  };
}
