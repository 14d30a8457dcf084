import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { type BmcTarget, resolveBmcs } from "../config/inventory.js";
import { parseConfig, readSecret } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { HostPort } from "../net/address.js";
import { provision } from "../pef/apply.js";
import { desiredPefState } from "../pef/desired.js";
import { injectSampleEvent, SAMPLE_EVENTS, type SampleEvent } from "../pef/event-test.js";
import { runFleet } from "../pef/fleet.js";
import { simAddresses, simConfigSchema } from "../sim/config.js";
import { SimulatorFleet } from "../sim/fleet.js";
import { type MailCatcher, startMailCatcher, startWebhookCatcher, type WebhookCatcher } from "./catchers.js";

export { catcherRoutes } from "./catchers.js";

export interface DemoOptions {
  /** The demo keeps its generated secrets in `<dataDir>/demo/` and its config in `<dataDir>/petgate.demo.yml`. */
  dataDir: string;
  /** Where petgate's trap listener is: the simulated BMCs' PET destination. */
  listenerAddress: HostPort;
  log: (line: string) => void;
  /** Time between two test events (default 5000 ms); the first comes one interval after start. */
  intervalMs?: number;
  /** The first simulated BMC; the others follow on the next loopback addresses. Default 127.77.0.1:623 (root) or :1623. */
  firstBmc?: HostPort;
}

export interface Demo {
  /** What serve runs with: the simulated BMCs, their PEF, the catchers as receivers, routes to both. */
  config: Config;
  /** Where that config was written (`<dataDir>/petgate.demo.yml`). */
  configFile: string;
  catchers: { mail: MailCatcher; webhook: WebhookCatcher };
  close(): Promise<void>;
}

/** A demo piece could not be set up (a BMC that would not take its PEF configuration, say). */
export class DemoError extends Error {
  override name = "DemoError";
}

const BMC_COUNT = 10;
const DEFAULT_INTERVAL_MS = 5000;
const PROVISION_DEADLINE_MS = 30_000;

/**
 * `petgate serve --demo`: 10 simulated BMCs with a generated admin password, a mail catcher and a
 * webhook catcher, and a config that routes to both. The BMCs are provisioned by the code of `petgate
 * pef apply`; then every interval one BMC gets a sample event of `petgate event test`, in rounds over
 * the fleet: event 1 asserted on every BMC, then deasserted, then event 2, and so on.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { log } = options;
  const dataDir = resolve(options.dataDir);
  const dir = join(dataDir, "demo");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const passwordFile = secretFile(join(dir, "bmc-password"));
  const webhookSecretFile = secretFile(join(dir, "webhook-secret"));

  const cleanup: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  };
  try {
    const mail = await startMailCatcher();
    cleanup.push(mail.close);
    const webhook = await startWebhookCatcher({
      secret: readSecret({ file: webhookSecretFile }, "webhook secret"),
    });
    cleanup.push(webhook.close);

    const first = options.firstBmc ?? { host: "127.77.0.1", port: process.getuid?.() === 0 ? 623 : 1623 };
    const simConfig = simConfigSchema.parse({
      listen: hostPort(first),
      count: BMC_COUNT,
      spread: "address",
      trapPort: options.listenerAddress.port,
    });
    const fleet = await SimulatorFleet.start(simConfig, {
      adminPassword: readSecret({ file: passwordFile }, "demo BMC password"),
    });
    cleanup.push(() => fleet.stop());

    const file = join(dataDir, "petgate.demo.yml");
    const text = demoConfigYaml({
      bmcs: simAddresses(simConfig),
      passwordFile,
      listener: options.listenerAddress,
      mail,
      webhook: { url: webhook.url, secretFile: webhookSecretFile },
    });
    writeFileSync(file, text);
    const config = parseConfig(text, file);
    const targets = resolveBmcs(config);
    await provisionFleet(config, targets, log);
    log(`demo: ${targets.length} simulated BMCs from ${hostPort(first)} provisioned; config in ${file}`);

    const stopEvents = testEvents(targets, options.intervalMs ?? DEFAULT_INTERVAL_MS, log);
    cleanup.push(stopEvents);
    return { config, configFile: file, catchers: { mail, webhook }, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** `petgate pef apply` on the fleet; any BMC left unprovisioned fails the demo. */
async function provisionFleet(
  config: Config,
  targets: BmcTarget[],
  log: (line: string) => void,
): Promise<void> {
  const pef = config.pef as NonNullable<Config["pef"]>;
  const outcomes = await runFleet(
    targets,
    (execute) => provision(execute, (capacity) => desiredPefState(pef, capacity), pef.channel),
    { concurrency: targets.length, deadlineMs: PROVISION_DEADLINE_MS, log },
  );
  const failed = outcomes.flatMap((o) =>
    !o.ok ? [`${o.bmc}: ${o.error}`] : o.value.status === "failed" ? [`${o.bmc}: ${o.value.error}`] : [],
  );
  if (failed.length > 0) throw new DemoError(`provisioning the demo BMCs failed: ${failed.join("; ")}`);
}

/** Sends the next test event every `intervalMs` (never two at once); returns the stop function. */
function testEvents(
  targets: BmcTarget[],
  intervalMs: number,
  log: (line: string) => void,
): () => Promise<void> {
  let tick = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const send = async () => {
    const k = tick++;
    const target = targets[k % targets.length] as BmcTarget;
    const round = Math.floor(k / targets.length);
    const sample = ((Math.floor(round / 2) % 3) + 1) as SampleEvent;
    const direction = round % 2 === 0 ? "assertion" : "deassertion";
    const [outcome] = await runFleet([target], (execute) => injectSampleEvent(execute, sample, direction), {
      concurrency: 1,
      deadlineMs: Math.max(intervalMs, 5000),
    });
    if (outcome?.ok)
      log(`demo: ${target.name}: test event ${sample} (${SAMPLE_EVENTS[sample].text}), ${direction}`);
    else log(`demo: ${target.name}: test event ${sample} not sent: ${outcome?.error}`);
  };
  const schedule = () => {
    timer = setTimeout(() => {
      sending = send().finally(() => {
        if (!stopped) schedule();
      });
    }, intervalMs);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await sending;
  };
}

/**
 * The demo's petgate.yml. Secrets only as file references. The default filters alert on assertions
 * only; a 16th filter (any trigger: both directions) makes the BMCs send deassertions too, so the
 * demo's alerts resolve.
 */
function demoConfigYaml(d: {
  bmcs: HostPort[];
  passwordFile: string;
  listener: HostPort;
  mail: { host: string; port: number };
  webhook: { url: string; secretFile: string };
}): string {
  const config = {
    listener: { bind: hostPort(d.listener) },
    defaults: { username: "admin", passwordFile: d.passwordFile, cipherSuite: 17 },
    bmcs: d.bmcs.map((address, i) => ({
      name: `demo-bmc-${String(i + 1).padStart(2, "0")}`,
      host: hostPort(address),
      labels: {
        site: "demo",
        rack: `rack-${i < BMC_COUNT / 2 ? 1 : 2}`,
        role: i % 2 === 0 ? "compute" : "storage",
      },
    })),
    pef: {
      community: "public",
      filters: [
        "default",
        {
          description: "deassertions (and anything else): the demo's alerts resolve",
          sensorType: "any",
          trigger: "any",
          offsets: "any",
          severity: "ok",
        },
      ],
      destinations: [{ ip: petDestination(d.listener) }],
    },
    receivers: [
      {
        name: "demo-mail",
        email: {
          host: d.mail.host,
          port: d.mail.port,
          from: "petgate-demo@localhost",
          to: ["oncall@localhost"],
        },
      },
      { name: "demo-webhook", webhook: { url: d.webhook.url, secret: { file: d.webhook.secretFile } } },
    ],
    routes: {
      receiver: "demo-mail",
      group_by: ["bmc"],
      // Short waits so a newcomer sees alerts within seconds.
      group_wait: "1s",
      group_interval: "10s",
      repeat_interval: "1h",
      routes: [{ receiver: "demo-webhook", continue: true }, { receiver: "demo-mail" }],
    },
  };
  return `# Generated by petgate serve --demo: simulated BMCs, a mail catcher and a webhook catcher.
# Secrets are in the files named here, never in this file. See /demo on the HTTP server.
${stringify(config)}`;
}

/** A generated secret in a 0600 file, kept across restarts. */
function secretFile(path: string): string {
  try {
    writeFileSync(path, `${randomBytes(12).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  chmodSync(path, 0o600);
  return path;
}

/** Where the BMCs send PETs: the listener's address, or loopback when it listens on every address. */
function petDestination(listener: HostPort): string {
  return /^\d+\.\d+\.\d+\.\d+$/.test(listener.host) && listener.host !== "0.0.0.0"
    ? listener.host
    : "127.0.0.1";
}

function hostPort(a: HostPort): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
