import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { buildSinks, ReceiverError } from "../../src/sinks/build.js";
import { SyslogSink } from "../../src/sinks/syslog.js";
import { sampleGroup, sampleNotification } from "../support/http-receiver.js";
import { freeTcpPort, freeUdpPort } from "../support/ports.js";

/*
 * Against a real rsyslogd (Debian rsyslog, rsyslog-gnutls), started per test on free loopback ports
 * with a config of its own: it parses each message as RFC 5424 and writes the fields it found, one
 * line per message, to a file the test reads.
 */

const dir = mkdtempSync(join(tmpdir(), "petgate-syslog-"));
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = ["pri", "hostname", "app-name", "procid", "msgid", "structured-data", "msg"];

interface Rsyslog {
  out: string;
  lines(): string[][];
  stop(): void;
}

async function rsyslog(inputs: string, globals = ""): Promise<Rsyslog> {
  const work = mkdtempSync(join(dir, "rsyslog-"));
  const out = join(work, "out.log");
  const conf = join(work, "rsyslog.conf");
  writeFileSync(
    conf,
    [
      `global(workDirectory="${work}" ${globals})`,
      inputs,
      'template(name="fields" type="list") {',
      ...FIELDS.map((f) => `  property(name="${f}") constant(value="\\t")`),
      '  constant(value="\\n")',
      "}",
      `action(type="omfile" file="${out}" template="fields")`,
    ].join("\n"),
  );
  const child = spawn("rsyslogd", ["-n", "-f", conf, "-i", join(work, "pid")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.push(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = () =>
    existsSync(out)
      ? readFileSync(out, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split("\t"))
      : [];
  return {
    out,
    lines,
    stop: () => child.kill("SIGKILL"),
    ...{ stderr: () => stderr },
  };
}

/** Polls `get` every 50 ms until it gives something, at most 20 s. */
async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const listening = (port: number) =>
  new Promise<true | undefined>((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    }).on("error", () => resolve(undefined));
  });

const firing = sampleNotification({
  id: "aa11",
  severity: "critical",
  summary: 'bmc-07: CPU1 Temp\r\n<13>1 forged "] \u001b[2J',
});
const resolved = sampleNotification({
  id: "bb22",
  status: "resolved",
  severity: "critical",
  summary: "bmc-07: ok",
});

describe("syslog receiver against a real rsyslogd", () => {
  it("udp://: one RFC 5424 datagram per notification: PRI from facility and severity, MSGID, structured data, the summary escaped", async () => {
    const port = await freeUdpPort();
    const r = await rsyslog(`module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${port}")`);
    // Ready once a probe datagram is written out (UDP has no handshake to wait on).
    const probe = dgram.createSocket("udp4");
    await until("rsyslogd's UDP input", () => {
      probe.send("<14>1 - - probe - - - ready", port, "127.0.0.1");
      return r.lines().length > 0 || undefined;
    });
    probe.close();
    const before = r.lines().length;

    const sink = new SyslogSink({
      name: "siem",
      address: `udp://127.0.0.1:${port}`,
      facility: "local3",
      appName: "petgate-test",
    });
    expect(await sink.send(sampleGroup([firing, resolved], { receiver: "siem" }))).toEqual({
      outcome: "delivered",
    });
    const got = await until("both messages", () =>
      r.lines().length >= before + 2 ? r.lines().slice(before) : undefined,
    );
    await sink.close();
    const byMsgid = new Map(got.map((f) => [f[4], f]));
    // local3 = 19: critical firing is crit (2), resolved is notice (5).
    expect(byMsgid.get("FIRING")?.slice(0, 5)).toEqual([
      "154",
      expect.any(String),
      "petgate-test",
      String(process.pid),
      "FIRING",
    ]);
    expect(byMsgid.get("RESOLVED")?.[0]).toBe("157");
    const sd = byMsgid.get("FIRING")?.[5] ?? "";
    expect(sd).toMatch(/^\[petgate@32473 id="aa11" bmc="bmc-07" /);
    expect(sd).toContain('severity="critical"');
    // One line: CR/LF and ESC shown as escapes; the forged header is text inside MSG.
    expect(byMsgid.get("FIRING")?.[6]).toBe('bmc-07: CPU1 Temp\\r\\n<13>1 forged "] \\x1b[2J');
  });

  it("tcp://: octet-counted frames on one connection; a collector gone is retryable, and the sink reconnects", async () => {
    const port = await freeTcpPort();
    const inputs = `module(load="imtcp")\ninput(type="imtcp" address="127.0.0.1" port="${port}")`;
    let r = await rsyslog(inputs);
    await until("rsyslogd's TCP input", () => listening(port));
    const sink = new SyslogSink({ name: "siem", address: `tcp://127.0.0.1:${port}` });
    const long = sampleNotification({ id: "cc33", summary: `bmc-07: ${"x".repeat(3000)}` });
    expect(await sink.send(sampleGroup([firing, long, resolved]))).toEqual({ outcome: "delivered" });
    let got = await until("three messages", () => (r.lines().length >= 3 ? r.lines() : undefined));
    expect(got.map((f) => f[4])).toEqual(["FIRING", "FIRING", "RESOLVED"]);
    expect(got[1]?.[6]).toBe(`bmc-07: ${"x".repeat(3000)}`);
    expect(got[0]?.[0]).toBe(String(3 * 8 + 2)); // daemon, crit

    r.stop();
    await until("the collector gone", async () => ((await listening(port)) ? undefined : true));
    const down = await until("a refused send", async () => {
      const result = await sink.send(sampleGroup([resolved]));
      return result.outcome === "retryable" ? result : undefined;
    });
    expect(down).toMatchObject({
      outcome: "retryable",
      reason: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+: /),
    });

    r = await rsyslog(inputs);
    await until("rsyslogd's TCP input again", () => listening(port));
    expect(await sink.send(sampleGroup([firing]))).toEqual({ outcome: "delivered" });
    got = await until("the message after the restart", () => (r.lines().length >= 1 ? r.lines() : undefined));
    expect(got[0]?.[4]).toBe("FIRING");
    await sink.close();
  });

  it("tls://: RFC 5425 to rsyslog's gtls driver, the collector's certificate checked against ca", async () => {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
        ...[
          "-keyout",
          key,
          "-out",
          cert,
          "-subj",
          "/CN=syslog.test",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
      ],
      { stdio: "ignore" },
    );
    const port = await freeTcpPort();
    const r = await rsyslog(
      `module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="anon")\ninput(type="imtcp" address="127.0.0.1" port="${port}")`,
      `DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${cert}" DefaultNetstreamDriverCertFile="${cert}" DefaultNetstreamDriverKeyFile="${key}"`,
    );
    await until("rsyslogd's TLS input", () => listening(port));

    const trusted = new SyslogSink({
      name: "siem",
      address: `tls://127.0.0.1:${port}`,
      ca: readFileSync(cert, "utf8"),
    });
    expect(await trusted.send(sampleGroup([firing]))).toEqual({ outcome: "delivered" });
    const got = await until("the message", () => (r.lines().length >= 1 ? r.lines() : undefined));
    expect(got[0]?.[4]).toBe("FIRING");
    await trusted.close();

    // Without the CA the self-signed collector is not trusted: nothing is sent.
    const untrusted = new SyslogSink({ name: "siem", address: `tls://127.0.0.1:${port}` });
    const refused = await untrusted.send(sampleGroup([resolved]));
    expect(refused).toMatchObject({ outcome: "retryable", reason: expect.stringContaining("SELF_SIGNED") });
    expect(r.lines()).toHaveLength(1);
  });

  it("petgate.yml: a syslog receiver builds its sink; a bad address, facility or unreadable ca fails naming it", () => {
    const yaml = (syslog: string) => `
receivers:
  - name: siem
    syslog: ${syslog}
routes:
  receiver: siem
`;
    const sinks = buildSinks(
      parseConfig(yaml(`{ address: "udp://127.0.0.1:514", facility: local0 }`), "petgate.yml"),
    );
    expect(sinks.get("siem")).toBeInstanceOf(SyslogSink);
    expect(() => parseConfig(yaml(`{ address: "http://127.0.0.1:514" }`), "petgate.yml")).toThrow(
      /petgate\.yml:\d+: receivers\[0\]\.syslog\.address: must be udp:\/\/HOST:PORT/,
    );
    expect(() => parseConfig(yaml(`{ address: "udp://h:514", facility: local9 }`), "petgate.yml")).toThrow(
      /receivers\[0\]\.syslog\.facility/,
    );
    const missing = join(dir, "no-such-ca.pem");
    expect(() =>
      buildSinks(parseConfig(yaml(`{ address: "tls://h:6514", ca: "${missing}" }`), "petgate.yml")),
    ).toThrow(new ReceiverError("siem", `ca ${missing}: ENOENT`));
  });
});
