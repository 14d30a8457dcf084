import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CaughtMail, startMailCatcher } from "../../src/serve/catchers.js";

export { type MimePart, parseMessage } from "../../src/serve/mime.js";
export type CapturedMessage = CaughtMail;

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

/** The demo's mail catcher (a real smtp-server) on a free loopback port, with the AUTH and TLS asked for, keeping every message. */
export async function startSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const authAttempts: string[] = [];
  const disabled: string[] = [];
  if (!options.users) disabled.push("AUTH");
  if (!options.tls) disabled.push("STARTTLS");
  const catcher = await startMailCatcher({
    keep: Number.POSITIVE_INFINITY,
    smtpOptions: {
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
    },
  });
  return { port: catcher.port, messages: catcher.messages, authAttempts, close: catcher.close };
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
