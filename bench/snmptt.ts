// The anchor of bench/traps.ts: what a site runs instead of petgate's trap rules — net-snmp's
// snmptrapd with snmptt's embedded handler (a Perl handler inside snmptrapd writing one spool file per
// trap) and snmptt in daemon mode (EVENT/FORMAT lines, net_snmp_perl_enable: OIDs and values
// translated through the same MIBs), the fastest set-up snmptt documents. Both are Debian packages
// (snmptrapd, snmptt, libsnmp-perl); without them the anchor is skipped and says why.
//
// The same datagrams petgate is sent go to snmptrapd on loopback; the figure is the CPU time of
// snmptrapd and snmptt (/proc, user + system) from before the first datagram until snmptt has
// logged every trap, per trap. snmptt's own sleep between spool scans adds wall time, not CPU.
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freeUdpPort, treeCpuMs } from "./kernel.js";

const SNMPTT = "/usr/sbin/snmptt";
const EMBEDDED_HANDLER = "/usr/lib/snmptt/snmptthandler-embedded";

export interface SnmpttEvent {
  name: string;
  /** Numeric OID, or a subtree ending in ".*" (snmptt's wildcard EVENT). */
  oid: string;
  severity: string;
  /** snmptt's FORMAT: $1…$n the trap's varbinds, $* all of them. */
  format: string;
}

export interface SnmpttResult {
  traps: number;
  events: number;
  logged: number;
  cpuMs: { snmptrapd: number; snmptt: number };
  cpuUsPerTrap: number;
  wallMs: number;
  /** A logged line of each distinct trap, for the reader to compare with petgate's summaries. */
  sampleLines: string[];
}

/** Why the anchor cannot run here, or undefined when it can. */
export function snmpttMissing(): string | undefined {
  for (const path of [SNMPTT, EMBEDDED_HANDLER, "/usr/sbin/snmptrapd"])
    if (!existsSync(path)) return `${path} is not installed (apt-get install snmptt snmptrapd libsnmp-perl)`;
  return undefined;
}

/** Runs snmptrapd + snmptt over `datagrams` (each sent `rounds` times, paced at `perSecond`). */
export async function runSnmptt(options: {
  scratch: string;
  mibDirs: readonly string[];
  events: readonly SnmpttEvent[];
  datagrams: readonly Buffer[];
  rounds: number;
  perSecond: number;
}): Promise<SnmpttResult> {
  const dir = join(options.scratch, "snmptt");
  const spool = join(dir, "spool");
  mkdirSync(spool, { recursive: true });
  const ini = join(dir, "snmptt.ini");
  const log = join(dir, "snmptt.log");
  const unknown = join(dir, "unknown.log");
  writeFileSync(ini, iniText({ dir, spool, log, unknown }));
  writeFileSync(
    join(dir, "snmptt.conf"),
    options.events
      .map((e) => `EVENT ${e.name} .${e.oid} "Status Events" ${e.severity}\nFORMAT ${e.format}\n`)
      .join(""),
  );
  // The handler reads its ini from a fixed place unless the copy says otherwise (its $ini).
  const handler = join(dir, "handler.pl");
  writeFileSync(
    handler,
    readFileSync(EMBEDDED_HANDLER, "utf8").replace(/^my \$ini = '';/m, `my $ini = '${ini}';`),
  );
  // Traps go to the handler only, not also to snmptrapd's log: petgate's side logs nothing either.
  writeFileSync(
    join(dir, "snmptrapd.conf"),
    `disableAuthorization yes\ndoNotLogTraps yes\nperl do "${handler}";\n`,
  );

  const mibPath = options.mibDirs.join(":");
  const env = { ...process.env, MIBDIRS: mibPath, MIBS: "ALL", SNMPCONFPATH: dir };
  const port = await freeUdpPort();
  const trapdLog = join(dir, "snmptrapd.log");
  const children: ChildProcess[] = [];
  try {
    const snmptrapd = spawn(
      "snmptrapd",
      [
        "-f",
        "-On",
        "-Lf",
        trapdLog,
        "-C",
        "-c",
        join(dir, "snmptrapd.conf"),
        "-M",
        mibPath,
        "-m",
        "ALL",
        `udp:127.0.0.1:${port}`,
      ],
      { env, stdio: "ignore" },
    );
    const snmptt = spawn(SNMPTT, ["--daemon", `--ini=${ini}`], { env, stdio: "ignore" });
    children.push(snmptrapd, snmptt);
    await until("snmptrapd to start", 30_000, () => readIfExists(trapdLog).includes("NET-SNMP version"));
    const pids = { snmptrapd: snmptrapd.pid ?? 0, snmptt: snmptt.pid ?? 0 };
    // snmptt says nothing once it has read its MIBs and EVENTs: it has when its CPU time stands still.
    await settled(pids.snmptt);
    const cpu0 = { snmptrapd: treeCpuMs(pids.snmptrapd) ?? 0, snmptt: treeCpuMs(pids.snmptt) ?? 0 };
    const t0 = performance.now();
    const traps = options.datagrams.length * options.rounds;
    await sendPaced(port, options.datagrams, options.rounds, options.perSecond);
    await until(`snmptt to log ${traps} traps`, 300_000, () => logged(log, unknown) >= traps);
    const wallMs = performance.now() - t0;
    const cpuMs = {
      snmptrapd: (treeCpuMs(pids.snmptrapd) ?? 0) - cpu0.snmptrapd,
      snmptt: (treeCpuMs(pids.snmptt) ?? 0) - cpu0.snmptt,
    };
    const lines = readIfExists(log).split("\n").filter(Boolean);
    return {
      traps,
      events: options.events.length,
      logged: logged(log, unknown),
      cpuMs,
      cpuUsPerTrap: Math.round(((cpuMs.snmptrapd + cpuMs.snmptt) * 1000) / traps),
      wallMs: Math.round(wallMs),
      sampleLines: lines
        .slice(0, options.datagrams.length)
        .map((l) => l.replace(/^\S+ \S+ \S+ \S+ \S+ /, "")),
    };
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, "exit") : undefined)));
  }
}

/** Traps snmptt has written: one line each in its log, one "Unknown trap" entry each in the other. */
function logged(log: string, unknown: string): number {
  const known = readIfExists(log).split("\n").filter(Boolean).length;
  return known + (readIfExists(unknown).match(/: Unknown trap /g)?.length ?? 0);
}

function iniText(p: { dir: string; spool: string; log: string; unknown: string }): string {
  return `[General]
snmptt_system_name = bench
mode = daemon
multiple_event = 0
dns_enable = 0
net_snmp_perl_enable = 1
net_snmp_perl_cache_enable = 1
translate_value_oids = 1
translate_enterprise_oid_format = 1
translate_trap_oid_format = 1
translate_varname_oid_format = 1
translate_integers = 1
[DaemonMode]
daemon_fork = 0
daemon_uid =
pid_file = ${join(p.dir, "snmptt.pid")}
spool_directory = ${p.spool}/
sleep = 1
use_trap_time = 1
keep_unlogged_traps = 0
[Logging]
stdout_enable = 0
log_enable = 1
log_file = ${p.log}
log_system_enable = 0
unknown_trap_log_enable = 1
unknown_trap_log_file = ${p.unknown}
syslog_enable = 0
syslog_system_enable = 0
[Debugging]
DEBUGGING = 0
[TrapFiles]
snmptt_conf_files = <<END
${join(p.dir, "snmptt.conf")}
END
`;
}

/** `rounds` times every datagram, at most `perSecond` a second (snmptrapd's Perl handler is not hurried into drops). */
export async function sendPaced(
  port: number,
  datagrams: readonly Buffer[],
  rounds: number,
  perSecond: number,
) {
  const socket = dgram.createSocket("udp4");
  const started = performance.now();
  try {
    let sent = 0;
    for (let r = 0; r < rounds; r++)
      for (const d of datagrams) {
        await new Promise<void>((ok, fail) => socket.send(d, port, "127.0.0.1", (e) => (e ? fail(e) : ok())));
        sent += 1;
        const ahead = (sent * 1000) / perSecond - (performance.now() - started);
        if (ahead > 1) await sleep(ahead);
      }
  } finally {
    socket.close();
  }
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Waits until a process's CPU time has not moved for three looks in a row (it sleeps, idle). */
async function settled(pid: number): Promise<void> {
  let last = -1;
  let still = 0;
  const deadline = Date.now() + 60_000;
  while (still < 3) {
    if (Date.now() > deadline) throw new Error(`process ${pid} never went idle`);
    const now = treeCpuMs(pid);
    if (now === undefined) throw new Error(`process ${pid} exited`);
    still = now === last ? still + 1 : 0;
    last = now;
    await sleep(500);
  }
}

async function until(what: string, timeoutMs: number, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
