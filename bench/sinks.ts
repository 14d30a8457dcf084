// `node dist/bench/sinks.js [--messages N] [--concurrency C] [--group G]`: what one process can send
// through each sink to a local receiver (the demo's catchers, src/serve/catchers.ts: smtp-server and
// node:http), one at a time and with C sends in flight, each send a group of one notification (as
// group_by ['...'] flushes) and of G: notifications/s, and CPU per notification (both ends, one process).
// It shows what bounds the email sink: nodemailer writes a message in pieces, so with Nagle's
// algorithm on each message waits for the receiver's delayed ACK (40 ms on Linux), whatever the CPU.
// A bench, not a test: writes bench/results/sinks-latest.json and prints a table.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Notification } from "../src/pipeline/alerting/notification.js";
import { startMailCatcher, startWebhookCatcher } from "../src/serve/catchers.js";
import { EmailSink } from "../src/sinks/email.js";
import type { NotificationGroup, Sink } from "../src/sinks/sink.js";
import { WebhookSink } from "../src/sinks/webhook.js";
import { repoRoot } from "./root.js";

const { values } = parseArgs({
  options: { messages: { type: "string" }, concurrency: { type: "string" }, group: { type: "string" } },
});
const messages = Number(values.messages ?? 2000);
const concurrency = Number(values.concurrency ?? 64);
const groupSize = Number(values.group ?? 10);
if (!(messages > 0) || !(concurrency > 0) || !(groupSize > 0))
  throw new RangeError("--messages, --concurrency and --group must be > 0");

const now = new Date().toISOString();
const notification = (id: string): Notification => ({
  version: 1,
  id,
  status: "firing",
  severity: "critical",
  summary: "bmc-01: Temperature CPU1 Temp: Upper Critical - going high",
  bmc: { name: "bmc-01", address: "127.0.0.1", labels: { rack: "r1" } },
  event: {
    time: now,
    sensorType: "Temperature",
    sensorNumber: 1,
    text: "Upper Critical - going high",
    direction: "assertion",
    eventData: "5201ff0000000000",
  },
  sensor: { name: "CPU1 Temp", reading: 92, unit: "degrees C", thresholds: { uc: 90 } },
  enrichment: "ok",
  receivedAt: now,
  startsAt: now,
});

/** The `size` notifications from `first` on, as one group. */
const groupOf = (first: string, size: number): NotificationGroup => {
  const notifications = Array.from({ length: size }, (_, i) => notification(`${first}-${i}`));
  return {
    receiver: "bench",
    groupKey: `{}:{first="${first}"}`,
    groupLabels: { rack: "r1" },
    notifications,
    idempotencyKey: first,
  };
};

interface Row {
  sink: string;
  group: number;
  inFlight: number;
  notifications: number;
  perSecond: number;
  cpuMsPerNotification: number;
}

/** `count` notifications sent in groups of `group`, `inFlight` sends at a time. */
async function measure(
  name: string,
  sink: Sink,
  count: number,
  group: number,
  inFlight: number,
): Promise<Row> {
  let next = 0;
  const sends = Math.ceil(count / group);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const lane = async () => {
    while (next < sends) {
      const result = await sink.send(groupOf(`${name}-${group}-${inFlight}-${next++}`, group));
      if (result.outcome !== "delivered") throw new Error(`${name}: ${JSON.stringify(result)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const sent = sends * group;
  return {
    sink: name,
    group,
    inFlight,
    notifications: sent,
    perSecond: Math.round((sent / ms) * 1000),
    cpuMsPerNotification: Number(((used.user + used.system) / 1000 / sent).toFixed(3)),
  };
}

const mail = await startMailCatcher({ keep: 0 });
const hook = await startWebhookCatcher({ keep: 0 });
const email = new EmailSink({
  name: "email",
  transport: { host: mail.host, port: mail.port },
  from: "petgate@bench.test",
  to: ["ops@bench.test"],
});
const webhook = new WebhookSink({ name: "webhook", url: hook.url });
const rows: Row[] = [];
try {
  const serial = Math.min(messages, 100);
  for (const [name, sink] of [
    ["email", email],
    ["webhook", webhook],
  ] as const) {
    rows.push(await measure(name, sink, serial, 1, 1));
    rows.push(await measure(name, sink, messages, 1, concurrency));
    rows.push(await measure(name, sink, messages, groupSize, concurrency));
  }
} finally {
  await email.close();
  await webhook.close();
  await mail.close();
  await hook.close();
}

const result = { cpus: cpus().length, node: process.version, loadAverage: loadavg()[0], rows };
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/sinks-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  [
    "| sink | notifications a send | sends in flight | notifications | notifications/s | CPU per notification (both ends) |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.sink} | ${r.group} | ${r.inFlight} | ${r.notifications} | ${r.perSecond} | ${r.cpuMsPerNotification} ms |`,
    ),
    "",
  ].join("\n"),
);
