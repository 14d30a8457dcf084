import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";

export interface CapturedMessage {
  from: string | undefined;
  to: string[];
  /** The whole message as received (CRLF line ends). */
  raw: string;
  /** Whether the session had been upgraded to TLS when DATA was sent. */
  secure: boolean;
  /** The authenticated user, if any. */
  user: string | undefined;
}

export interface TestSmtpOptions {
  /** Accepted AUTH PLAIN/LOGIN users and passwords; any other login gets 535. Omit to disable AUTH. */
  users?: Record<string, string>;
  /** Like a careless server, quote the rejected password back in the 535 reply. */
  echoPasswordOnFailure?: boolean;
  /** AUTH mechanisms offered; PLAIN and LOGIN unless told. */
  authMethods?: Array<"PLAIN" | "LOGIN">;
  /** Offer STARTTLS with this key and certificate; omitted, STARTTLS is not offered. */
  tls?: { key: string; cert: string };
  /** Reply to RCPT TO with this SMTP error for any recipient listed. */
  rejectRecipients?: Record<string, { code: number; message: string }>;
}

export interface TestSmtp {
  port: number;
  messages: CapturedMessage[];
  /** AUTH attempts as the server saw them: "PLAIN alerts" (mechanism and user name, no password). */
  authAttempts: string[];
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A real SMTP server (smtp-server) on a free loopback port, capturing what it accepts. */
export async function startSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const messages: CapturedMessage[] = [];
  const authAttempts: string[] = [];
  const disabled: string[] = [];
  if (!options.users) disabled.push("AUTH");
  if (!options.tls) disabled.push("STARTTLS");
  const server = new SMTPServer({
    logger: false,
    disabledCommands: disabled,
    authMethods: options.authMethods ?? ["PLAIN", "LOGIN"],
    // Auth over plain TCP only in the tests that do not exercise STARTTLS.
    allowInsecureAuth: !options.tls,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    onAuth(auth, _session, callback) {
      authAttempts.push(`${auth.method} ${auth.username ?? ""}`);
      const expected = auth.username !== undefined ? options.users?.[auth.username] : undefined;
      if (expected !== undefined && auth.password === expected)
        return callback(null, { user: auth.username });
      const quoted = options.echoPasswordOnFailure ? ` (password ${auth.password ?? ""})` : "";
      return callback(smtpError(535, `5.7.8 Authentication credentials invalid${quoted}`));
    },
    onRcptTo(address, _session, callback) {
      const reject = options.rejectRecipients?.[address.address];
      if (reject) return callback(smtpError(reject.code, reject.message));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          secure: session.secure,
          user: typeof session.user === "string" ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    authAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Accepts TCP connections and never says a word (no SMTP greeting, no HTTP response). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        s.close(() => resolve());
      }),
  };
}

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl at test time. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "petgate-cert-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
      ],
      { stdio: "ignore" },
    );
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MimePart {
  contentType: string;
  body: string;
}

/** Just enough MIME to read back nodemailer's output: headers, and decoded leaf parts. */
export function parseMessage(raw: string): { headers: Map<string, string>; parts: MimePart[] } {
  const [head, body] = splitHeadBody(raw);
  const headers = parseHeaders(head);
  return { headers, parts: leafParts(headers, body) };
}

function splitHeadBody(raw: string): [string, string] {
  const i = raw.indexOf("\r\n\r\n");
  return i < 0 ? [raw, ""] : [raw.slice(0, i), raw.slice(i + 4)];
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function leafParts(headers: Map<string, string>, body: string): MimePart[] {
  const contentType = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (contentType.toLowerCase().startsWith("multipart/") && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith("--"))
      .flatMap((chunk) => {
        const [h, b] = splitHeadBody(chunk.replace(/^\r\n/, ""));
        return leafParts(parseHeaders(h), b.replace(/\r\n$/, ""));
      });
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  let decoded = body;
  if (encoding === "base64") decoded = Buffer.from(body, "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    decoded = Buffer.from(
      body
        .replace(/=\r\n/g, "")
        .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      "latin1",
    ).toString("utf8");
  }
  return [
    {
      contentType: contentType.split(";")[0]?.trim().toLowerCase() ?? "",
      body: decoded.replace(/\r\n/g, "\n"),
    },
  ];
}
