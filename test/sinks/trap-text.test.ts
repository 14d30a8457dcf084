import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrapEvent } from "../../src/pet/trap.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { buildNotification } from "../../src/pipeline/alerting/notification.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import type { PostableAlert } from "../../src/sinks/alert.js";
import { AlertmanagerSink } from "../../src/sinks/alertmanager.js";
import { EmailSink } from "../../src/sinks/email.js";
import { escapeControls } from "../../src/sinks/escape.js";
import {
  type AlertmanagerWebhookBody,
  type PetgateWebhookBody,
  WebhookSink,
} from "../../src/sinks/webhook.js";
import { type HttpReceiver, sampleGroup, startHttpReceiver } from "../support/http-receiver.js";
import { netSnmp, type RunningListener, securityArgs, startListener, waitFor } from "../support/listener.js";
import { parseMessage, startSmtp, type TestSmtp } from "../support/smtp.js";

/*
 * What a trap says reaches the receivers as data: a v2c trap sent over UDP by net-snmp's snmptrap,
 * received by the listener, made a notification as the pipeline makes it, and delivered by each sink
 * to a real receiver (SMTP server, HTTP server).
 */

/** Text a trap carries as an OctetString (printable: kept as text, not hex). */
const INJECTION = "door open\r\nBcc: victim@example.test\r\n\r\nforged body";
const ESCAPED = "door open\\r\\nBcc: victim@example.test\\r\\n\\r\\nforged body";

let listener: RunningListener;
let smtp: TestSmtp;
let http: HttpReceiver;
let notification: Notification;

beforeAll(async () => {
  [listener, smtp, http] = await Promise.all([startListener(), startSmtp(), startHttpReceiver()]);
  await netSnmp("snmptrap", [
    ...securityArgs({ version: "2c", community: "public" }),
    listener.target,
    "",
    "1.3.6.1.4.1.99999.0.1",
    "1.3.6.1.4.1.99999.1",
    "s",
    INJECTION,
  ]);
  const trap: TrapEvent = await waitFor("the trap", () => listener.events[0]);
  notification = buildNotification({ id: eventId(trap), trap }, { status: "unknown-bmc" });
});

afterAll(async () => {
  await Promise.all([listener?.close(), smtp?.close(), http?.close()]);
});

describe("trap-supplied text in every sink", () => {
  it("escapes controls as visible \\r \\n \\xNN \\uNNNN, and leaves other text alone", () => {
    expect(escapeControls(INJECTION)).toBe(ESCAPED);
    expect(escapeControls(ESCAPED)).toBe(ESCAPED);
    expect(escapeControls("a\u001b[2Jb\u0085c\u2028d\u202ee")).toBe("a\\x1b[2Jb\\x85c\\u2028d\\u202ee");
    expect(escapeControls("CPU1 Temp: 92 °C, tab\there")).toBe("CPU1 Temp: 92 °C, tab\\there");
    expect(escapeControls("a\u200eb\u200fc\u061cd\ufeffe")).toBe("a\\u200eb\\u200fc\\u061cd\\ufeffe");
  });

  it("email: the Bcc: line stays text in both bodies, no header or recipient is added", async () => {
    const sink = new EmailSink({
      name: "email",
      transport: { host: "127.0.0.1", port: smtp.port, timeoutMs: 5_000 },
      from: "petgate@example.test",
      to: ["ops@example.test"],
    });
    try {
      expect(await sink.send(sampleGroup([notification]))).toEqual({ outcome: "delivered" });
    } finally {
      await sink.close();
    }
    const mail = await waitFor("the mail", () => smtp.messages[0]);
    expect(mail.to).toEqual(["ops@example.test"]);
    const { headers, parts } = await parseMessage(mail.raw);
    expect([...headers.keys()].map((h) => h.toLowerCase())).not.toContain("bcc");
    const text = parts.find((p) => p.contentType === "text/plain")?.body ?? "";
    const html = parts.find((p) => p.contentType === "text/html")?.body ?? "";
    expect(text).not.toMatch(/^Bcc:/m);
    // The varbind as a row of the Trap section, named by its OID (no MIB here).
    expect(text).toContain(`1.3.6.1.4.1.99999.1:  ${ESCAPED}`);
    expect(html).not.toMatch(/^Bcc:/m);
    expect(html).toContain("door open\\r\\nBcc: victim@example.test");
  });

  it("email with custom templates: they render the trap's text escaped, in the subject and both bodies", async () => {
    const sink = new EmailSink({
      name: "email",
      transport: { host: "127.0.0.1", port: smtp.port, timeoutMs: 5_000 },
      from: "petgate@example.test",
      to: ["ops@example.test"],
      templates: {
        subject: (n) => `trap: ${n.trap?.varbinds[0]?.value}`,
        text: (n) => `${n.summary}\n${n.trap?.varbinds[0]?.value}\n`,
        html: (n) => `<pre>${n.trap?.varbinds[0]?.value}</pre>`,
      },
    });
    const before = smtp.messages.length;
    try {
      expect(await sink.send(sampleGroup([notification]))).toEqual({ outcome: "delivered" });
    } finally {
      await sink.close();
    }
    const mail = await waitFor("the mail", () => smtp.messages[before]);
    expect(mail.to).toEqual(["ops@example.test"]);
    const { headers, parts } = await parseMessage(mail.raw);
    expect([...headers.keys()].map((h) => h.toLowerCase())).not.toContain("bcc");
    expect(headers.get("subject")).toContain(ESCAPED);
    for (const type of ["text/plain", "text/html"]) {
      const body = parts.find((p) => p.contentType === type)?.body ?? "";
      expect(body).toContain(ESCAPED);
      expect(body).not.toMatch(/^Bcc:/m);
    }
  });

  it("webhook: the JSON body's strings carry the text escaped, and no header carries any of it", async () => {
    const sink = new WebhookSink({ name: "webhook", url: http.url, timeoutMs: 5_000 });
    const before = http.requests.length;
    try {
      expect(await sink.send(sampleGroup([notification], { groupLabels: { event: INJECTION } }))).toEqual({
        outcome: "delivered",
      });
    } finally {
      await sink.close();
    }
    const request = await waitFor("the POST", () => http.requests[before]);
    const group = JSON.parse(request.body.toString("utf8")) as PetgateWebhookBody;
    expect(group.groupLabels.event).toBe(ESCAPED);
    const [body] = group.notifications as [Notification];
    expect(body.trap?.varbinds[0]).toEqual({ name: "1.3.6.1.4.1.99999.1", value: ESCAPED });
    expect(body.summary).toBe(notification.summary);
    expect(body.event.eventData).toBe(notification.event.eventData);
    for (const value of Object.values(request.headers)) expect(String(value)).not.toMatch(/victim|door/);
  });

  it("webhook format alertmanager: group labels, labels and annotations carry the text escaped", async () => {
    const sink = new WebhookSink({
      name: "webhook",
      url: http.url,
      timeoutMs: 5_000,
      format: "alertmanager",
    });
    const before = http.requests.length;
    try {
      expect(await sink.send(sampleGroup([notification], { groupLabels: { event: INJECTION } }))).toEqual({
        outcome: "delivered",
      });
    } finally {
      await sink.close();
    }
    const request = await waitFor("the POST", () => http.requests[before]);
    const body = JSON.parse(request.body.toString("utf8")) as AlertmanagerWebhookBody;
    expect(body.groupLabels.event).toBe(ESCAPED);
    const [alert] = body.alerts;
    const values = [...Object.values(alert?.labels ?? {}), ...Object.values(alert?.annotations ?? {})];
    expect(values.join("\n")).toContain(ESCAPED);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    for (const value of values) expect(value.split("\n").join("")).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    for (const value of Object.values(request.headers)) expect(String(value)).not.toMatch(/victim|door/);
  });

  it("Alertmanager: labels and annotations carry the text escaped", async () => {
    const sink = new AlertmanagerSink({ name: "am", url: http.url, timeoutMs: 5_000 });
    const before = http.requests.length;
    expect(await sink.send(sampleGroup([notification]))).toEqual({ outcome: "delivered" });
    const request = await waitFor("the POST", () => http.requests[before]);
    const [alert] = JSON.parse(request.body.toString("utf8")) as PostableAlert[];
    const values = [...Object.values(alert?.labels ?? {}), ...Object.values(alert?.annotations ?? {})];
    expect(values.join("\n")).toContain(ESCAPED);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    for (const value of values) expect(value.split("\n").join("")).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    for (const value of Object.values(request.headers)) expect(String(value)).not.toMatch(/victim|door/);
  });
});
