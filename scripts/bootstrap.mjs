#!/usr/bin/env node
// Bootstrap for `npm start` and `npm test` on a fresh clone: Debian packages when missing,
// npm dependencies when missing or stale, then the TypeScript build when stale.
// Plain Node, no dependencies: it runs before `npm ci` has.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// Debian package → a command it provides (to check non-Debian hosts by PATH instead).
const debianPackages = {
  "redis-server": "redis-server",
  "redis-sentinel": "redis-sentinel", // test/serve/redis-ha.test.ts: Sentinel failover
  ipmitool: "ipmitool",
  "freeipmi-tools": "ipmi-pet",
  ipmiutil: "ipmiutil",
  openipmi: "ipmi_sim",
  snmp: "snmptrap",
  snmptrapd: "snmptrapd",
  snmptt: "snmptt", // bench/traps.ts: the anchor of the trap rules (snmptrapd + snmptt)
  "prometheus-alertmanager": "prometheus-alertmanager",
  prometheus: "prometheus",
  chromium: "chromium",
  rsyslog: "rsyslogd", // test/sinks/syslog.test.ts: the syslog receiver's peer
  "rsyslog-gnutls": "rsyslogd", // its TLS driver (RFC 5425)
  systemd: "systemd-analyze", // test/deploy: the units checked offline (nothing is started)
  "docker-compose": "docker-compose",
};

function log(line) {
  process.stderr.write(`bootstrap: ${line}\n`);
}

function tryRun(cmd, args, env = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } }).status === 0;
}

function run(cmd, args, env = {}) {
  if (!tryRun(cmd, args, env)) {
    log(`\`${cmd} ${args.join(" ")}\` failed`);
    process.exit(1);
  }
}

function hasCommand(name) {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

function debianInstalled(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

function ensureSystemPackages() {
  const isDebian = hasCommand("dpkg-query") && hasCommand("apt-get");
  const missing = Object.entries(debianPackages)
    .filter(([pkg, cmd]) => (isDebian ? !debianInstalled(pkg) : !hasCommand(cmd)))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (!isDebian || process.getuid?.() !== 0) {
    log(`missing system packages: ${missing.join(", ")}`);
    log(isDebian ? `install them as root: ${command}` : `install the equivalents of: ${missing.join(" ")}`);
    process.exit(1);
  }
  log(`installing ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], env);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], env);
}

function fileHash(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function ensureNodeModules() {
  const stamp = join(root, "node_modules", ".petgate-lock-sha256");
  const want = fileHash(join(root, "package-lock.json"));
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  log("installing npm dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
  writeFileSync(stamp, want);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuild() {
  const stamp = join(root, "dist", ".build-stamp");
  const inputs = ["src", "workers", "bench"].filter((d) => existsSync(join(root, d)));
  const newest = Math.max(
    ...inputs.map((d) => newestMtime(join(root, d))),
    ...["tsconfig.json", "tsconfig.build.json", "package-lock.json"].map(
      (f) => statSync(join(root, f)).mtimeMs,
    ),
  );
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest) return;
  log("building (tsc)");
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

ensureSystemPackages();
ensureNodeModules();
ensureBuild();
