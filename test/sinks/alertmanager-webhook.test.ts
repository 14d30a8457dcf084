import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { AlertmanagerSink } from "../../src/sinks/alertmanager.js";
import { type AlertmanagerWebhookBody, WebhookSink } from "../../src/sinks/webhook.js";
import { type Alertmanager, startAlertmanager } from "../support/alertmanager.js";
import {
  type HttpReceiver,
  type ReceivedRequest,
  sampleGroup,
  sampleNotification,
  startHttpReceiver,
} from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";

/*
 * `format: alertmanager` against the real thing: the same notifications go to a real Alertmanager
 * (through petgate's Alertmanager sink), which groups them and calls its webhook on a real HTTP
 * receiver; petgate's webhook sink sends the same group in `format: alertmanager` to that receiver.
 * Both bodies must have the same keys and value types at every level, and agree on what petgate can
 * know: labels, annotations, fingerprints, common labels and annotations, statuses.
 */

const RECEIVER = "ops-webhook";

/** Keys and value types at every level: what a receiver written for one payload relies on. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shape(v)]),
    );
  return value === null ? "null" : typeof value;
}

function body(request: ReceivedRequest | undefined): AlertmanagerWebhookBody {
  return JSON.parse(request?.body.toString("utf8") ?? "") as AlertmanagerWebhookBody;
}

describe("webhook format alertmanager next to a real Alertmanager's webhook", () => {
  let am: Alertmanager;
  let hook: HttpReceiver;

  beforeAll(async () => {
    hook = await startHttpReceiver();
    // One group per rack; group_wait lets both alerts of the one POST below into its first notification.
    am = await startAlertmanager(`route:
  receiver: ${RECEIVER}
  group_by: [rack]
  group_wait: 1s
receivers:
  - name: ${RECEIVER}
    webhook_configs:
      - url: ${hook.url}
`);
  });
  afterAll(async () => {
    await am?.stop();
    await hook?.close();
  });

  it("has the same keys and value types at every level, version 4, and the same alerts", async () => {
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const at = (n: Notification): Notification => ({ ...n, receivedAt: startsAt, startsAt });
    const notifications = [
      at(sampleNotification({ id: "n-1-firing" })),
      at(sampleNotification({ id: "n-2-firing", bmc: { ...sampleNotification().bmc, name: "bmc-08" } })),
    ];
    const group = sampleGroup(notifications, { receiver: RECEIVER, groupLabels: { rack: "r12" } });

    const toAlertmanager = new AlertmanagerSink({ name: "am", url: am.url });
    expect(await toAlertmanager.send(group)).toEqual({ outcome: "delivered" });
    const fromAlertmanager = await waitFor("Alertmanager's webhook call", () =>
      hook.requests.find((r) => r.headers["user-agent"]?.startsWith("Alertmanager/")),
    );

    const webhook = new WebhookSink({ name: RECEIVER, url: hook.url, format: "alertmanager" });
    try {
      expect(await webhook.send(group)).toEqual({ outcome: "delivered" });
    } finally {
      await webhook.close();
    }
    const theirs = body(fromAlertmanager);
    const ours = body(hook.requests.find((r) => r.headers["user-agent"]?.startsWith("petgate/")));

    expect(theirs.version).toBe("4");
    expect(theirs.alerts).toHaveLength(2);
    expect(shape(ours)).toEqual(shape(theirs));
    const byFingerprint = (b: AlertmanagerWebhookBody) =>
      [...b.alerts]
        .sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1))
        .map(({ status, labels, annotations, endsAt, generatorURL, fingerprint }) => ({
          status,
          labels,
          annotations,
          endsAt,
          generatorURL,
          fingerprint,
        }));
    expect(byFingerprint(ours)).toEqual(byFingerprint(theirs));
    const agreed = (b: AlertmanagerWebhookBody) => {
      const { version, status, receiver, truncatedAlerts, groupLabels, commonLabels, commonAnnotations } = b;
      return { version, status, receiver, truncatedAlerts, groupLabels, commonLabels, commonAnnotations };
    };
    expect(agreed(ours)).toEqual(agreed(theirs));
  });
});
