// `node dist/bench/sinks.js [--messages N] [--concurrency C]`: what one process can send through each
// sink to a local receiver (the demo's catchers, src/serve/catchers.ts: smtp-server and node:http),
// one at a time and with C sends in flight: messages/s, and CPU per message (both ends, one process).
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

const { values } = parseArgs({ options: { messages: { type: "string" }, concurrency: { type: "string" } } });
const messages = Number(values.messages ?? 2000);
const concurrency = Number(values.concurrency ?? 64);
if (!(messages > 0) || !(concurrency > 0)) throw new RangeError("--messages and --concurrency must be > 0");

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

/** A group of one, as group_by ['...'] flushes every alert. */
const groupOf = (n: Notification): NotificationGroup => ({
  receiver: "bench",
  groupKey: `{}:{id="${n.id}"}`,
  groupLabels: {},
  notifications: [n],
  idempotencyKey: n.id,
});

interface Row {
  sink: string;
  inFlight: number;
  messages: number;
  perSecond: number;
  cpuMsPerMessage: number;
}

async function measure(name: string, sink: Sink, count: number, inFlight: number): Promise<Row> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const result = await sink.send(groupOf(notification(`${name}-${inFlight}-${next++}`)));
      if (result.outcome !== "delivered") throw new Error(`${name}: ${JSON.stringify(result)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    sink: name,
    inFlight,
    messages: count,
    perSecond: Math.round((count / ms) * 1000),
    cpuMsPerMessage: Number(((used.user + used.system) / 1000 / count).toFixed(2)),
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
  rows.push(await measure("email", email, serial, 1));
  rows.push(await measure("email", email, messages, concurrency));
  rows.push(await measure("webhook", webhook, serial, 1));
  rows.push(await measure("webhook", webhook, messages, concurrency));
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
    "| sink | sends in flight | messages | messages/s | CPU per message (both ends) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) => `| ${r.sink} | ${r.inFlight} | ${r.messages} | ${r.perSecond} | ${r.cpuMsPerMessage} ms |`,
    ),
    "",
  ].join("\n"),
);
