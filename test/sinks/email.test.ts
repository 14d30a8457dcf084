import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpGate } from "../../bench/tcp-gate.js";
import { EmailSink, type EmailSinkOptions } from "../../src/sinks/email.js";
import { defaultHtml, defaultSubject, defaultText } from "../../src/sinks/templates/email.js";
import { sampleGroup, sampleNotification } from "../support/http-receiver.js";
import { freeTcpPort } from "../support/ports.js";
import {
  parseMessage,
  selfSignedCert,
  startSilentServer,
  startSmtp,
  type TestSmtp,
} from "../support/smtp.js";

const PASSWORD = "s3cr3t-Pa55word!";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function smtp(options: Parameters<typeof startSmtp>[0] = {}): Promise<TestSmtp> {
  const s = await startSmtp(options);
  cleanups.push(() => s.close());
  return s;
}

function sink(port: number, overrides: Partial<EmailSinkOptions> = {}, transport = {}): EmailSink {
  const s = new EmailSink({
    name: "ops-mail",
    transport: { host: "127.0.0.1", port, timeoutMs: 5000, ...transport },
    from: "petgate@example.net",
    to: ["ops@example.net", "oncall@example.net"],
    ...overrides,
  });
  cleanups.push(() => s.close());
  return s;
}

describe("default email templates", () => {
  it("subject carries severity, BMC, sensor and event", () => {
    expect(defaultSubject(sampleNotification())).toBe(
      "[CRITICAL] bmc-07 Temperature CPU1 Temp: Upper Critical - going high",
    );
  });

  it("subject says RESOLVED when resolved", () => {
    const n = sampleNotification({ status: "resolved", endsAt: "2025-03-04T10:20:00.000Z" });
    expect(defaultSubject(n)).toBe("[RESOLVED] bmc-07 Temperature CPU1 Temp: Upper Critical - going high");
  });

  it("subject falls back to the sensor number and event data, and shows line breaks as escapes", () => {
    const n = sampleNotification({
      severity: "non-critical",
      bmc: { name: "bmc\r\nBcc: x@y", address: "10.0.0.1", labels: {} },
      event: { ...sampleNotification().event, sensorType: null, text: null },
    });
    delete n.sensor;
    expect(defaultSubject(n)).toBe(
      "[NON-CRITICAL] bmc\\r\\nBcc: x@y sensor #48: event data 0159ff0000000000",
    );
  });

  it("text body shows BMC, event, sensor context, enrichment and the notification id", () => {
    const text = defaultText(sampleNotification());
    for (const expected of [
      "FIRING: bmc-07: Temperature CPU1 Temp: Upper Critical - going high",
      "bmc-07",
      "10.20.0.7",
      "rack=r12, site=fra1",
      "2025-03-04T10:11:12.000Z",
      "Temperature",
      "0x30 (48)",
      "CPU1 Temp",
      "Upper Critical - going high",
      "assertion",
      "0159ff0000000000",
      "92 degrees C",
      "upperCritical=90",
      "Enrichment:",
      "ok (SEL/SDR context read from the BMC)",
      "n-4f2a9c1e-firing",
    ]) {
      expect(text).toContain(expected);
    }
  });

  it("text body omits the sensor section when there is no sensor context", () => {
    const n = sampleNotification({ enrichment: "timeout" });
    delete n.sensor;
    const text = defaultText(n);
    expect(text).not.toContain("Reading:");
    expect(text).toContain("timeout (the BMC did not answer in time");
  });

  it("HTML body escapes BMC-supplied strings", () => {
    const html = defaultHtml(sampleNotification({ bmc: { name: "<b>x</b>", address: "a&b", labels: {} } }));
    expect(html).toContain("&#60;b&#62;x&#60;/b&#62;");
    expect(html).toContain("a&#38;b");
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain("n-4f2a9c1e-firing");
  });
});

describe("EmailSink against a real SMTP server", () => {
  it("delivers subject, text and HTML bodies, and the notification id headers", async () => {
    const server = await smtp();
    const group = sampleGroup();
    const result = await sink(server.port).send(group);
    expect(result).toEqual({ outcome: "delivered" });
    expect(server.messages).toHaveLength(1);
    const msg = server.messages[0];
    expect(msg?.from).toBe("petgate@example.net");
    expect(msg?.to).toEqual(["ops@example.net", "oncall@example.net"]);
    const { headers, parts } = await parseMessage(msg?.raw ?? "");
    expect(headers.get("subject")).toBe(
      "[FIRING:1] [CRITICAL] bmc-07 Temperature CPU1 Temp: Upper Critical - going high",
    );
    expect(headers.get("x-petgate-notification-ids")).toBe("n-4f2a9c1e-firing");
    expect(headers.get("message-id")).toBe(`<${group.idempotencyKey}@petgate>`);
    const text = parts.find((p) => p.contentType === "text/plain")?.body ?? "";
    const html = parts.find((p) => p.contentType === "text/html")?.body ?? "";
    expect(text).toBe(`${defaultText(sampleNotification())}\n-- \npetgate\n`);
    expect(html).toContain(defaultHtml(sampleNotification()));
    expect(html).toContain("n-4f2a9c1e-firing");
  });

  it("sends one message per group: counts and group labels in the subject, every notification in both bodies", async () => {
    const server = await smtp();
    const s = sink(server.port);
    const group = sampleGroup(
      [
        sampleNotification({ id: "n-1-firing" }),
        sampleNotification({ id: "n-2-firing", bmc: { name: "bmc-08", address: "10.20.0.8", labels: {} } }),
        sampleNotification({ id: "n-3-resolved", status: "resolved", endsAt: "2025-03-04T10:20:00.000Z" }),
      ],
      { groupLabels: { site: "fra1", rack: "r12" } },
    );
    expect(await s.send(group)).toEqual({ outcome: "delivered" });
    expect(await s.send(group)).toEqual({ outcome: "delivered" });
    expect(server.messages).toHaveLength(2);
    const [first, again] = await Promise.all(server.messages.map((m) => parseMessage(m.raw)));
    expect(first?.headers.get("subject")).toBe("[FIRING:2, RESOLVED:1] r12 fra1");
    expect(first?.headers.get("x-petgate-notification-ids")).toBe("n-1-firing n-2-firing n-3-resolved");
    // The same send (a re-run) keeps its Message-ID, so a mail system can drop the copy.
    expect(again?.headers.get("message-id")).toBe(first?.headers.get("message-id"));
    for (const type of ["text/plain", "text/html"]) {
      const body = first?.parts.find((p) => p.contentType === type)?.body ?? "";
      for (const id of ["n-1-firing", "n-2-firing", "n-3-resolved"]) expect(body).toContain(id);
      expect(body.match(/FIRING: /g)).toHaveLength(2);
      expect(body.match(/RESOLVED: /g)).toHaveLength(1);
    }
  });

  it("a generic trap's subject is its summary (escaped), not the PET sensor line", async () => {
    const server = await smtp();
    const trap = sampleNotification({
      id: "n-trap-firing",
      summary: "Outlet Rack 12\r\nBcc: x@y (5) is fault",
      bmc: { name: "10.30.4.7", address: "10.30.4.7", labels: {} },
      event: { ...sampleNotification().event, sensorType: null, sensorNumber: 0, text: null },
      rule: "outlet-fault",
      trap: {
        name: "ACME-PDU-MIB::outletFault",
        oid: "1.3.6.1.4.1.32473.1.0.1",
        rule: "outlet-fault",
        key: "outlet-fault|10.30.4.7|5",
        varbinds: [{ name: "outletIndex.5", value: "5" }],
      },
    });
    delete trap.sensor;
    expect(await sink(server.port).send(sampleGroup([trap]))).toEqual({ outcome: "delivered" });
    expect((await parseMessage(server.messages[0]?.raw ?? "")).headers.get("subject")).toBe(
      "[FIRING:1] [CRITICAL] Outlet Rack 12\\r\\nBcc: x@y (5) is fault",
    );
    expect(defaultSubject({ ...trap, status: "resolved" })).toBe(
      "[RESOLVED] Outlet Rack 12\\r\\nBcc: x@y (5) is fault",
    );
  });

  it("uses templates passed in options", async () => {
    const server = await smtp();
    const s = sink(server.port, {
      templates: { subject: (n) => `alert ${n.id}`, text: (n) => `custom body for ${n.bmc.name}\n` },
    });
    expect(await s.send(sampleGroup())).toEqual({ outcome: "delivered" });
    const { headers, parts } = await parseMessage(server.messages[0]?.raw ?? "");
    expect(headers.get("subject")).toBe("[FIRING:1] alert n-4f2a9c1e-firing");
    expect(parts.find((p) => p.contentType === "text/plain")?.body).toBe(
      "custom body for bmc-07\n\n-- \npetgate\n",
    );
    // The HTML template was not overridden, so the default one is still sent.
    expect(parts.find((p) => p.contentType === "text/html")?.body).toContain("<table");
  });

  it("a template that throws is a permanent failure", async () => {
    const server = await smtp();
    const s = sink(server.port, {
      templates: {
        html: () => {
          throw new Error("boom");
        },
      },
    });
    expect(await s.send(sampleGroup())).toEqual({
      outcome: "permanent",
      reason: "template failed: boom",
    });
    expect(server.messages).toHaveLength(0);
  });

  it("upgrades with STARTTLS and authenticates with AUTH PLAIN", async () => {
    const cert = selfSignedCert();
    const server = await smtp({ tls: cert, users: { alerts: PASSWORD } });
    const s = sink(
      server.port,
      {},
      { requireTLS: true, auth: { user: "alerts", pass: PASSWORD }, tls: { ca: cert.cert } },
    );
    expect(await s.send(sampleGroup())).toEqual({ outcome: "delivered" });
    expect(server.messages[0]?.secure).toBe(true);
    expect(server.messages[0]?.user).toBe("alerts");
    expect(server.authAttempts).toEqual(["PLAIN alerts"]);
  });

  it("does not trust a self-signed certificate it was not given (retryable, nothing sent)", async () => {
    const server = await smtp({ tls: selfSignedCert() });
    const result = await sink(server.port, {}, { requireTLS: true }).send(sampleGroup());
    expect(result.outcome).toBe("retryable");
    expect(server.messages).toHaveLength(0);
  });

  it("requireTLS against a server without STARTTLS is permanent, nothing sent in the clear", async () => {
    const server = await smtp();
    const result = await sink(server.port, {}, { requireTLS: true }).send(sampleGroup());
    expect(result.outcome).toBe("permanent");
    expect(server.messages).toHaveLength(0);
  });

  it("authenticates with AUTH LOGIN when that is all the server offers", async () => {
    const server = await smtp({ users: { alerts: PASSWORD }, authMethods: ["LOGIN"] });
    const s = sink(server.port, {}, { auth: { user: "alerts", pass: PASSWORD } });
    expect(await s.send(sampleGroup())).toEqual({ outcome: "delivered" });
    expect(server.messages[0]?.user).toBe("alerts");
    expect(server.authAttempts).toEqual(["LOGIN alerts"]);
  });

  it("a rejected login (535) is permanent and the reason never contains the password", async () => {
    const server = await smtp({ users: { alerts: "the-right-one" } });
    const result = await sink(server.port, {}, { auth: { user: "alerts", pass: PASSWORD } }).send(
      sampleGroup(),
    );
    expect(result.outcome).toBe("permanent");
    if (result.outcome !== "permanent") return;
    expect(result.reason).toContain("535");
    expect(result.reason).not.toContain(PASSWORD);
    expect(result.reason).not.toContain(Buffer.from(PASSWORD).toString("base64"));
    expect(result.reason).not.toContain(Buffer.from(`\u0000alerts\u0000${PASSWORD}`).toString("base64"));
    expect(server.authAttempts).toEqual(["PLAIN alerts"]);
    expect(server.messages).toHaveLength(0);
  });

  it("a password quoted back by the server is redacted from the reason", async () => {
    const server = await smtp({ users: { alerts: "the-right-one" }, echoPasswordOnFailure: true });
    const result = await sink(server.port, {}, { auth: { user: "alerts", pass: PASSWORD } }).send(
      sampleGroup(),
    );
    expect(result.outcome).toBe("permanent");
    if (result.outcome !== "permanent") return;
    expect(result.reason).toContain("(password [redacted])");
    expect(result.reason).not.toContain(PASSWORD);
  });

  it("a 550 mailbox unavailable is permanent", async () => {
    const server = await smtp({
      rejectRecipients: {
        "ops@example.net": { code: 550, message: "5.1.1 Mailbox unavailable" },
        "oncall@example.net": { code: 550, message: "5.1.1 Mailbox unavailable" },
      },
    });
    const result = await sink(server.port).send(sampleGroup());
    expect(result.outcome).toBe("permanent");
    expect(result.outcome === "permanent" && result.reason).toContain("550");
  });

  it("a 451 try-again-later reply is retryable", async () => {
    const server = await smtp({
      rejectRecipients: {
        "ops@example.net": { code: 451, message: "4.7.1 Greylisted, try again later" },
        "oncall@example.net": { code: 451, message: "4.7.1 Greylisted, try again later" },
      },
    });
    const result = await sink(server.port).send(sampleGroup());
    expect(result.outcome).toBe("retryable");
    expect(result.outcome === "retryable" && result.reason).toContain("451");
  });

  it("one recipient rejected and one accepted counts as delivered (a resend would duplicate)", async () => {
    const server = await smtp({
      rejectRecipients: { "oncall@example.net": { code: 550, message: "5.1.1 Mailbox unavailable" } },
    });
    expect(await sink(server.port).send(sampleGroup())).toEqual({ outcome: "delivered" });
    expect(server.messages[0]?.to).toEqual(["ops@example.net"]);
  });

  it("a server that is down is retryable", async () => {
    const result = await sink(await freeTcpPort()).send(sampleGroup());
    expect(result.outcome).toBe("retryable");
    expect(result.outcome === "retryable" && result.reason).toContain("ECONNREFUSED");
  });

  it("after the relay reset every connection for a while, the pool sends again once it is back", async () => {
    const server = await smtp();
    const gate = await startTcpGate(server.port);
    cleanups.push(() => gate.close());
    const s = sink(gate.port, {}, { timeoutMs: 1000 });
    const burst = (from: number) =>
      Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          s.send(sampleGroup([sampleNotification({ id: `n${from + i}` })])),
        ),
      );
    expect(new Set((await burst(0)).map((r) => r.outcome))).toEqual(new Set(["delivered"]));
    gate.setUp(false);
    // More failed connection attempts than the pool has connections: none may stay counted in it.
    for (let round = 0; round < 3; round++)
      expect(new Set((await burst(100 * (round + 1))).map((r) => r.outcome))).toEqual(new Set(["retryable"]));
    gate.setUp(true);
    expect(new Set((await burst(1000)).map((r) => r.outcome))).toEqual(new Set(["delivered"]));
    expect(server.messages).toHaveLength(48);
  });

  it("a relay that trickles its reply forever (never idle, never done) is retryable at the send's deadline", async () => {
    const trickle = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.write("220 slow.example ESMTP\r\n");
      // The EHLO reply, one byte every 50 ms and never its end: no socket timeout ever fires.
      socket.once("data", () => {
        const timer = setInterval(() => socket.write("2"), 50);
        socket.on("close", () => clearInterval(timer));
      });
    });
    await new Promise<void>((r) => trickle.listen(0, "127.0.0.1", r));
    const sockets = new Set<Socket>();
    trickle.on("connection", (s) => sockets.add(s));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => trickle.close(() => r()));
    });
    const result = await sink((trickle.address() as AddressInfo).port, {}, { timeoutMs: 300 }).send(
      sampleGroup(),
    );
    expect(result.outcome).toBe("retryable");
    expect(result.outcome === "retryable" && result.reason).toMatch(
      /ETIMEDOUT.*no end to the send within 900 ms/,
    );
  });

  it("a server that never greets is retryable after the timeout", async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const result = await sink(silent.port, {}, { timeoutMs: 300 }).send(sampleGroup());
    expect(result.outcome).toBe("retryable");
    expect(result.outcome === "retryable" && result.reason).toMatch(/ETIMEDOUT/);
  });
});
