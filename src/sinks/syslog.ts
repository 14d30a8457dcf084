import dgram from "node:dgram";
import net from "node:net";
import { hostname } from "node:os";
import tls from "node:tls";
import { withTimeout } from "../io/timeout.js";
import type { Notification } from "../pipeline/alerting/notification.js";
import { escapeControls } from "./escape.js";
import type { DeliveryResult, NotificationGroup, Sink } from "./sink.js";

/** RFC 5424 §6.2.1 facility codes by name. */
export const SYSLOG_FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

export interface SyslogSinkOptions {
  name: string;
  /** udp://HOST:PORT (RFC 5426), tcp://HOST:PORT (RFC 6587 octet counting), tls://HOST:PORT (RFC 5425). */
  address: string;
  /** Default daemon. */
  facility?: SyslogFacility;
  /** APP-NAME; default "petgate". */
  appName?: string;
  /** PEM CA certificates a tls:// collector's certificate must chain to; default the system's. */
  ca?: string;
  /** Connecting and writing one group; default 5000 ms. */
  timeoutMs?: number;
}

/** RFC 5424 §7.2.2: an SD-ID with "@" names its owner by IANA enterprise number; 32473 is the one for documentation (RFC 5612). */
const SD_ID = "petgate@32473";
/** RFC 5426 §3.2: IPv4 receivers must take 480 octets and should take 2048. */
const UDP_MAX = 2048;
/** A TCP/TLS frame at most; receivers must take 2048 and usually take 8 KiB (rsyslog's default). */
const STREAM_MAX = 8192;
const NILVALUE = "-";

/**
 * One RFC 5424 message per notification of a group: PRI from the facility and the notification's
 * severity, the time, this host, APP-NAME, PROCID, MSGID FIRING/RESOLVED, structured data
 * `[petgate@32473 id= bmc= address= severity= sensorType= event=]` and the summary as MSG, all
 * trap-supplied text escaped. A group's messages go in one datagram each (UDP) or one write
 * (octet-counted frames on one TCP or TLS connection, kept open between groups).
 */
export class SyslogSink implements Sink {
  readonly name: string;
  private readonly url: URL;
  private readonly facility: number;
  private readonly appName: string;
  private readonly host: string;
  private readonly timeoutMs: number;
  private stream: net.Socket | undefined;
  private udp: dgram.Socket | undefined;

  constructor(private readonly options: SyslogSinkOptions) {
    this.name = options.name;
    this.url = parseAddress(options.address);
    this.facility = SYSLOG_FACILITIES[options.facility ?? "daemon"];
    this.appName = printable(options.appName ?? "petgate", 48);
    if (this.appName === NILVALUE) throw new Error("appName must be printable ASCII");
    this.host = printable(hostname(), 255);
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async send(group: NotificationGroup): Promise<DeliveryResult> {
    const now = new Date();
    const messages = group.notifications.map((n) => this.format(n, now));
    try {
      if (this.url.protocol === "udp:") await this.sendUdp(messages);
      else await this.sendStream(messages);
      return { outcome: "delivered" };
    } catch (err) {
      this.stream?.destroy();
      this.stream = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      return {
        outcome: "retryable",
        reason: `${this.url.protocol}//${this.url.host}: ${code ?? (err as Error).message}`,
      };
    }
  }

  async close(): Promise<void> {
    this.stream?.end();
    this.stream = undefined;
    this.udp?.close();
    this.udp = undefined;
  }

  private format(n: Notification, now: Date): string {
    const pri = this.facility * 8 + syslogSeverity(n);
    const sd = [
      ["id", n.id],
      ["bmc", n.bmc.name],
      ["address", n.bmc.address],
      ["severity", n.severity],
      ["sensorType", n.event.sensorType ?? ""],
      ["event", n.event.text ?? ""],
    ]
      .map(([k, v]) => `${k}="${sdValue(v ?? "")}"`)
      .join(" ");
    const msgid = n.status === "firing" ? "FIRING" : "RESOLVED";
    const head = `<${pri}>1 ${now.toISOString()} ${this.host} ${this.appName} ${process.pid} ${msgid} [${SD_ID} ${sd}] `;
    const max = this.url.protocol === "udp:" ? UDP_MAX : STREAM_MAX;
    return head + cutToOctets(escapeControls(n.summary), max - Buffer.byteLength(head));
  }

  private async sendUdp(messages: readonly string[]): Promise<void> {
    const port = Number(this.url.port);
    const host = unbracket(this.url.hostname);
    this.udp ??= dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4").on("error", () => undefined);
    const socket = this.udp;
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(m), port, host, (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  private async sendStream(messages: readonly string[]): Promise<void> {
    const socket = await this.connected();
    // RFC 6587 §3.4.1 / RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG, the length in octets.
    const frames = messages.map((m) => `${Buffer.byteLength(m)} ${m}`).join("");
    await withTimeout(
      new Promise<void>((resolve, reject) => socket.write(frames, (err) => (err ? reject(err) : resolve()))),
      this.timeoutMs,
      `no write within ${this.timeoutMs} ms`,
    );
  }

  private async connected(): Promise<net.Socket> {
    if (this.stream && !this.stream.destroyed) return this.stream;
    const host = unbracket(this.url.hostname);
    const port = Number(this.url.port);
    const socket =
      this.url.protocol === "tls:"
        ? tls.connect({
            host,
            port,
            servername: net.isIP(host) ? undefined : host,
            ...(this.options.ca !== undefined && { ca: this.options.ca }),
          })
        : net.connect({ host, port });
    socket.on("error", () => undefined); // each write reports its own failure
    socket.on("close", () => {
      if (this.stream === socket) this.stream = undefined;
    });
    const ready = this.url.protocol === "tls:" ? "secureConnect" : "connect";
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once(ready, resolve);
          socket.once("error", reject);
        }),
        this.timeoutMs,
        `no connection within ${this.timeoutMs} ms`,
      );
    } catch (err) {
      socket.destroy();
      throw err;
    }
    this.stream = socket;
    return socket;
  }
}

/** The syslog severity (RFC 5424 §6.2.1) of a notification: its PET severity when firing, notice when resolved. */
export function syslogSeverity(n: Notification): number {
  if (n.status === "resolved") return 5;
  switch (n.severity) {
    case "non-recoverable":
      return 1; // alert
    case "critical":
      return 2; // crit
    case "non-critical":
      return 4; // warning
    case "monitor":
      return 5; // notice
    default:
      return 6; // info: information, ok, unspecified
  }
}

/** udp://, tcp:// or tls:// with a host and a port; refused otherwise (at start-up). */
function parseAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new Error("address must look like udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT");
  }
  if (!["udp:", "tcp:", "tls:"].includes(url.protocol))
    throw new Error(`address must be udp://, tcp:// or tls://, not ${url.protocol}//`);
  if (url.hostname === "" || url.port === "" || url.pathname.replace(/^\/$/, "") !== "")
    throw new Error("address must be SCHEME://HOST:PORT, with a port and nothing after it");
  return url;
}

function unbracket(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** RFC 5424 §6.3.3: '"', '\' and ']' escaped with a backslash; controls made visible as everywhere else. */
function sdValue(text: string): string {
  return escapeControls(text).replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII only (RFC 5424 §6), at most `max` characters; "-" when empty. */
function printable(text: string, max: number): string {
  const kept = text.replace(/[^\x21-\x7e]/g, "").slice(0, max);
  return kept === "" ? NILVALUE : kept;
}

/** `text` cut to `bytes` UTF-8 octets, never inside a character. */
function cutToOctets(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = Buffer.from(text)
    .subarray(0, Math.max(0, bytes - 3))
    .toString("utf8");
  if (cut.endsWith("\ufffd")) cut = cut.slice(0, -1);
  return `${cut}…`;
}
