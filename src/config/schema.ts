import { z } from "zod";
import { parseCidr, parseHostPort } from "../net/address.js";
import { DEFAULT_UNKNOWN_SEVERITY, PET_TABLE_SEVERITIES } from "../pet/tables/severity.js";
import { inhibitRulesSchema } from "../pipeline/alerting/inhibit.js";
import { duration, routeIntervalPaths, routesSchema } from "../pipeline/alerting/route.js";
import { stormSchema } from "../pipeline/alerting/storm.js";
import { timeIntervalsSchema } from "../pipeline/alerting/time-intervals.js";
import { SYSLOG_FACILITIES, type SyslogFacility } from "../sinks/syslog.js";
import { historySchema } from "./history.js";
import { mibsSchema } from "./mibs.js";
import { selSchema } from "./sel.js";
import { trapRulesSchema } from "./traps.js";

/** A secret is read from an environment variable or a file, never written in the config itself. */
const secretRef = (what: string) =>
  z
    .object({
      env: z.string().min(1).optional().describe(`environment variable holding the ${what}`),
      file: z.string().min(1).optional().describe(`file holding the ${what} (trailing newline ignored)`),
    })
    .strict()
    .refine((s) => (s.env === undefined) !== (s.file === undefined), {
      message: "give exactly one of env or file",
    });

const usmUser = z
  .object({
    name: z.string().min(1).max(32).describe("SNMPv3 USM user name"),
    level: z
      .enum(["noAuthNoPriv", "authNoPriv", "authPriv"])
      .default("authPriv")
      .describe("USM security level"),
    authProtocol: z.enum(["sha", "sha256", "sha512"]).optional().describe("HMAC for authNoPriv/authPriv"),
    authKey: secretRef("authentication passphrase")
      .optional()
      .describe("authentication passphrase: env or file"),
    privProtocol: z
      .enum(["aes", "aes256b", "aes256r"])
      .optional()
      .describe("cipher for authPriv (aes = AES-128-CFB)"),
    privKey: secretRef("privacy passphrase").optional().describe("privacy passphrase: env or file"),
  })
  .strict()
  .superRefine((u, ctx) => {
    const needsAuth = u.level !== "noAuthNoPriv";
    const needsPriv = u.level === "authPriv";
    if (needsAuth && !(u.authProtocol && u.authKey)) {
      ctx.addIssue({
        code: "custom",
        message: `${u.level} needs authProtocol and authKey`,
        path: ["authKey"],
      });
    }
    if (needsPriv && !(u.privProtocol && u.privKey)) {
      ctx.addIssue({ code: "custom", message: "authPriv needs privProtocol and privKey", path: ["privKey"] });
    }
  });

/** An IP address or CIDR block, as src/net/address.ts's AddressAllowList takes them. */
const addressOrCidr = z.string().refine((s) => parseCidr(s) !== undefined, "not an IP address or CIDR block");

export const listenerSchema = z
  .object({
    bind: z
      .string()
      .refine((s) => isHostPort(s), "expected HOST:PORT, e.g. 0.0.0.0:162 or [::]:162")
      .optional()
      .describe("UDP HOST:PORT; default 0.0.0.0:162 as root, else 0.0.0.0:1162"),
    communities: z.array(z.string().min(1)).default(["public"]).describe("SNMPv1/v2c communities accepted"),
    allowSources: z
      .array(addressOrCidr)
      .default([])
      .describe("source addresses or CIDR blocks accepted; empty accepts any"),
    receiveBufferBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe(
        "UDP receive buffer asked for; Linux caps it at net.core.rmem_max (a 100k burst needs ~64 MiB)",
      ),
    users: z.array(usmUser).default([]).describe("SNMPv3 USM users (traps and informs)"),
    unknownSeverity: z
      .enum(PET_TABLE_SEVERITIES)
      .default(DEFAULT_UNKNOWN_SEVERITY)
      .describe(
        "what a PET whose severity byte is outside PET 1.0 Table 3-2 alerts at (its raw byte is kept and shown)",
      ),
  })
  .strict();

/** A PET's source address is not proof of its sender (UDP): PET Acknowledge goes to known BMCs only. */
const ackSchema = z
  .object({
    allowSources: z
      .array(addressOrCidr)
      .default([])
      .describe("sources besides the inventory's BMCs sent PET Acknowledge (to UDP 623); empty: none"),
  })
  .strict();

function isHostPort(s: string): boolean {
  try {
    parseHostPort(s, { host: "0.0.0.0", port: 162 });
    return true;
  } catch {
    return false;
  }
}

const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, "expected an IPv4 address");
const mac = z
  .string()
  .regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, "expected a MAC address aa:bb:cc:dd:ee:ff");
const byteOrAny = z.union([z.literal("any"), z.number().int().min(0).max(254)]);

/** How petgate reaches one BMC; `defaults` fills what an entry leaves out. */
const bmcConnection = {
  username: z.string().min(1).max(16).optional().describe("IPMI user name"),
  passwordEnv: z.string().min(1).optional().describe("environment variable holding the password"),
  passwordFile: z.string().min(1).optional().describe("file holding the password"),
  password: z
    .string()
    .optional()
    .describe("the password itself; refused unless insecureInlinePassword is true"),
  insecureInlinePassword: z.boolean().optional().describe("allow `password` written in this file"),
  cipherSuite: z
    .union([z.literal(17), z.literal(16), z.literal(15), z.literal(3), z.literal(2), z.literal(1)])
    .optional()
    .describe("RMCP+ cipher suite (default 17)"),
  allowCipherFallback: z.boolean().optional().describe("fall back to suite 3 when the BMC refuses 17"),
  ipmi: z
    .enum(["auto", "2.0", "1.5"])
    .optional()
    .describe(
      'IPMI session: "2.0" RMCP+, "1.5" (ipmitool -I lan; MD5 or straight password), auto: RMCP+ when the BMC offers it, else 1.5 (default auto; quote the number)',
    ),
  allowAuthNone: z
    .boolean()
    .optional()
    .describe(
      "allow an IPMI 1.5 session with auth type none (no authentication) when the BMC offers nothing else",
    ),
  kgEnv: z.string().min(1).optional().describe("environment variable holding the BMC key K_g (hex)"),
  labels: z.record(z.string(), z.string()).optional().describe("labels for routing (rack, role, …)"),
};

const bmcEntry = z
  .object({
    name: z.string().min(1).describe("a name unique in the inventory"),
    host: z.string().min(1).describe("HOST[:PORT] of the BMC's LAN channel (port 623 by default)"),
    ...bmcConnection,
  })
  .strict();

const eventFilter = z
  .object({
    description: z.string().optional().describe("what the filter is for"),
    sensorType: byteOrAny.default("any").describe("sensor type code (1 temperature, 4 fan, …) or any"),
    sensorNumber: byteOrAny.default("any").describe("sensor number or any"),
    trigger: byteOrAny
      .default("any")
      .describe("event/reading type: 1 threshold, 0x6f sensor-specific, … or any"),
    offsets: z
      .union([z.literal("any"), z.array(z.number().int().min(0).max(15))])
      .default("any")
      .describe("event offsets (bit numbers) or any"),
    severity: z
      .enum(["monitor", "information", "ok", "non-critical", "critical", "non-recoverable"])
      .default("critical"),
    policy: z.number().int().min(1).max(15).default(1).describe("alert policy number"),
  })
  .strict();

const alertPolicy = z
  .object({
    number: z.number().int().min(1).max(15).default(1).describe("policy set number"),
    destination: z.number().int().min(1).max(15).default(1).describe("LAN destination selector"),
    type: z
      .enum(["always", "next-if-ok", "stop-if-ok", "next-channel-if-ok", "next-type-if-ok"])
      .default("always"),
  })
  .strict();

const alertDestination = z
  .object({
    selector: z.number().int().min(1).max(15).default(1).describe("LAN destination selector"),
    ip: ipv4.describe("where PETs go: the gateway's listener"),
    mac: mac
      .optional()
      .describe("its MAC; default: from the ARP table, else 00:00:00:00:00:00 (via the gateway)"),
    acknowledge: z.boolean().default(false).describe("the BMC resends until petgate acknowledges"),
    timeoutSeconds: z.number().int().min(0).max(255).default(3).describe("seconds between resends"),
    retries: z.number().int().min(0).max(7).default(3).describe("resends after the first"),
  })
  .strict();

const pefSchema = z
  .object({
    enable: z.boolean().default(true).describe("PEF on, with the alert action"),
    channel: z.number().int().min(1).max(15).default(1).describe("the BMC's LAN channel"),
    community: z
      .string()
      .min(1)
      .max(18)
      .default("public")
      .describe("SNMP community of the PETs (LAN parameter 16)"),
    filters: z
      .union([z.literal("default"), z.array(z.union([z.literal("default"), eventFilter]))])
      .default("default")
      .describe('"default" (src/pef/default-filters.ts) and/or custom filters, in table order'),
    policies: z
      .array(alertPolicy)
      .default([{ number: 1, destination: 1, type: "always" }])
      .describe("alert policy entries"),
    destinations: z.array(alertDestination).min(1).describe("alert destinations (LAN parameters 18, 19)"),
    sel_time_tolerance: duration(true)
      .default("5s")
      .describe("apply sets the BMC's SEL clock to petgate's when it is off by more than this"),
  })
  .strict();

const timeoutMs = z.number().int().positive();

const emailReceiver = z
  .object({
    host: z.string().min(1).describe("SMTP relay host"),
    port: z.number().int().min(1).max(65535).describe("SMTP relay port (25, 465 or 587)"),
    secure: z.boolean().optional().describe("implicit TLS from the first byte (port 465)"),
    requireTLS: z.boolean().optional().describe("refuse to send unless the relay upgrades with STARTTLS"),
    username: z.string().min(1).optional().describe("SMTP AUTH user name"),
    password: secretRef("SMTP AUTH password").optional().describe("SMTP AUTH password: env or file"),
    from: z.string().min(1).describe("sender address"),
    to: z.array(z.string().min(1)).min(1).describe("recipient addresses"),
  })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.username === undefined) !== (e.password === undefined))
      ctx.addIssue({
        code: "custom",
        path: [e.username === undefined ? "username" : "password"],
        message: "give both username and password, or neither",
      });
  });

const webhookReceiver = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe("where each group of notifications is POSTed as JSON"),
    format: z
      .enum(["petgate", "alertmanager"])
      .optional()
      .describe("the body: petgate's (default) or Alertmanager's webhook payload (version 4)"),
    secret: secretRef("HMAC-SHA256 signing key")
      .optional()
      .describe("signing key of X-Petgate-Signature: env or file"),
    timeoutMs: timeoutMs.optional().describe("limit of one request, response included (default 5000)"),
  })
  .strict();

const alertmanagerReceiver = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .describe("Alertmanager's base URL; user:password@ becomes Basic auth"),
    timeoutMs: timeoutMs.optional().describe("limit of one request (default 5000)"),
  })
  .strict();

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const execReceiver = z
  .object({
    command: z
      .array(z.string().min(1))
      .min(1)
      .describe("the program and its arguments, run without a shell; the group's JSON on its stdin"),
    timeoutMs: timeoutMs.optional().describe("killed when still running after this (default 10000)"),
    env: z
      .record(z.string().regex(ENV_NAME, "must be an environment variable name"), z.string())
      .optional()
      .describe("its environment besides PATH and PETGATE_RECEIVER (nothing of petgate's is passed on)"),
  })
  .strict();

const syslogReceiver = z
  .object({
    address: z
      .string()
      .regex(/^(udp|tcp|tls):\/\/.+:\d+$/, "must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT")
      .describe("the collector: udp:// (RFC 5426), tcp:// (RFC 6587, octet counting) or tls:// (RFC 5425)"),
    facility: z
      .enum(Object.keys(SYSLOG_FACILITIES) as [SyslogFacility, ...SyslogFacility[]])
      .optional()
      .describe("RFC 5424 facility by name (default daemon)"),
    appName: z
      .string()
      .regex(/^[\x21-\x7e]{1,48}$/, "must be 1 to 48 printable ASCII characters")
      .optional()
      .describe('APP-NAME of every message (default "petgate")'),
    ca: z
      .string()
      .min(1)
      .optional()
      .describe(
        "tls://: a PEM file of the CAs the collector's certificate must chain to (default the system's)",
      ),
    timeoutMs: timeoutMs.optional().describe("connecting and writing one group (default 5000)"),
  })
  .strict();

const RECEIVER_KINDS = ["email", "webhook", "alertmanager", "exec", "syslog"] as const;

const receiverSchema = z
  .object({
    name: z.string().min(1).describe("the name routes send to, unique among receivers"),
    email: emailReceiver.optional().describe("send each group of notifications as one mail"),
    webhook: webhookReceiver.optional().describe("POST each group of notifications as JSON"),
    alertmanager: alertmanagerReceiver
      .optional()
      .describe("post the notifications of each flush as Alertmanager alerts, in one request"),
    exec: execReceiver
      .optional()
      .describe("run a program per group: exit 0 delivered, 75 (EX_TEMPFAIL) retried, any other failed"),
    syslog: syslogReceiver
      .optional()
      .describe("one RFC 5424 message per notification to a syslog collector or SIEM"),
  })
  .strict()
  .superRefine((r, ctx) => {
    const kinds = RECEIVER_KINDS.filter((k) => r[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: "custom",
        message: `give exactly one of ${RECEIVER_KINDS.join(", ")}${kinds.length > 1 ? ` (got ${kinds.join(", ")})` : ""}`,
      });
  });

/** The receivers a routes section names, each with its path in the config. */
function routeReceiverPaths(
  route: { receiver?: string | undefined; routes?: readonly unknown[] | undefined },
  path: (string | number)[],
): { receiver: string; path: (string | number)[] }[] {
  const own = route.receiver === undefined ? [] : [{ receiver: route.receiver, path: [...path, "receiver"] }];
  const children = (route.routes ?? []).flatMap((child, i) =>
    routeReceiverPaths(child as typeof route, [...path, "routes", i]),
  );
  return [...own, ...children];
}

const redisNodes = (what: string) =>
  z
    .array(z.string().refine((s) => isHostPort(s), "expected HOST[:PORT], e.g. 127.0.0.1:26379"))
    .min(1)
    .max(64)
    .describe(what);

/** Which Redis: one of url, sentinels (with master) or cluster. */
const redisSchema = z
  .object({
    url: z
      .string()
      .regex(/^(rediss?:\/\/|\/)/, "expected redis://HOST:PORT, rediss://… or a unix socket path")
      .optional()
      .describe("redis://[user@]HOST:PORT[/DB], rediss://… (TLS) or a unix socket path"),
    sentinels: redisNodes(
      "Redis Sentinels, HOST:PORT each: the master is asked of them, and again on failover",
    ).optional(),
    master: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("the master's name the sentinels monitor (with sentinels)"),
    sentinelPassword: secretRef("Sentinel password")
      .optional()
      .describe("the sentinels' AUTH password, if they have one: env or file"),
    cluster: redisNodes(
      "Redis Cluster seed nodes, HOST[:PORT] each (port 6379 if none; the rest are discovered)",
    ).optional(),
    username: z.string().min(1).max(256).optional().describe("Redis ACL user (with sentinels or cluster)"),
    password: secretRef("Redis password").optional().describe("Redis AUTH password: env or file"),
    replicaAcks: z
      .number()
      .int()
      .min(0)
      .max(16)
      .optional()
      .describe(
        "replicas that must hold a batch before petgate acknowledges it or sends a notification (Redis WAIT); default 1 with sentinels, else 0",
      ),
    prefix: z
      .string()
      .min(1)
      .default("petgate")
      .describe('key prefix of every queue and key; on Redis Cluster a hash tag, e.g. "{petgate}"'),
  })
  .strict()
  .superRefine((r, ctx) => {
    const given = (["url", "sentinels", "cluster"] as const).filter((k) => r[k] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: given.length > 1 ? [given[1] as string] : [],
        message:
          given.length > 1
            ? `give one of url, sentinels or cluster, not ${given.join(" and ")}`
            : "give one of url, sentinels (with master) or cluster",
      });
    if (r.sentinels !== undefined && r.master === undefined)
      ctx.addIssue({ code: "custom", path: ["master"], message: "sentinels need the master's name" });
    if (r.master !== undefined && r.sentinels === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["master"],
        message: "master is the name the sentinels know it by: give sentinels",
      });
    if (r.sentinelPassword !== undefined && r.sentinels === undefined)
      ctx.addIssue({ code: "custom", path: ["sentinelPassword"], message: "only with sentinels" });
    if (r.username !== undefined && r.url !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["username"],
        message: "with url, give the user in it (redis://USER@HOST)",
      });
    // Every key of petgate must hash to one slot: BullMQ's and petgate's scripts touch many at once.
    if (r.cluster !== undefined && !/\{[^{}]+\}/.test(r.prefix))
      ctx.addIssue({
        code: "custom",
        path: ["prefix"],
        message: `on Redis Cluster the prefix must hold a hash tag, e.g. "{${r.prefix}}", so that every key hashes to one slot`,
      });
    if (r.replicaAcks !== undefined && r.replicaAcks > 0 && r.cluster !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["replicaAcks"],
        message: "not on Redis Cluster: WAIT is per node there (use sentinels for replicated writes)",
      });
  });

const httpSchema = z
  .object({
    bind: z
      .string()
      .refine((s) => isHostPort(s), "expected HOST:PORT, e.g. 127.0.0.1:8162")
      .default("127.0.0.1:8162")
      .describe("TCP HOST:PORT of the HTTP API, /metrics and the web page"),
    token: secretRef("API token")
      .optional()
      .describe("bearer token required by mutating API calls: env or file; absent: they are refused"),
    allowedHosts: z
      .array(z.string().regex(/^(\*|\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?)$/, "a host name, .domain or *"))
      .default([])
      .describe(
        "Host header names answered besides IP literals, localhost and this machine's name (DNS rebinding defence): name, .domain (and below) or *",
      ),
  })
  .strict();

const healthSchema = z
  .object({
    interval: duration(true).default("60s").describe("time between two rounds of probes"),
    probe_deadline: duration(true).default("5s").describe("deadline of each probe command"),
    failures_before_alert: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe("consecutive bad probes before BMC unresponsive fires"),
    auto_cold_reset: z
      .object({
        enabled: z.boolean().default(false).describe("send Cold Reset to a wedged BMC"),
        min_interval: duration(true).default("30m").describe("least time between two resets of one BMC"),
        max_per_hour: z.number().int().positive().default(5).describe("resets in any hour, fleet-wide"),
      })
      .strict()
      .default({ enabled: false, min_interval: "30m", max_per_hour: 5 })
      .describe("automatic Cold Reset of wedged BMCs (off by default, rate-limited, logged)"),
  })
  .strict();

/** Reports every entry whose name an earlier one has; returns the names. */
function uniqueNames(
  items: readonly { name: string }[],
  key: string,
  what: string,
  ctx: z.RefinementCtx,
): Set<string> {
  const names = new Set<string>();
  for (const [i, { name }] of items.entries()) {
    if (names.has(name))
      ctx.addIssue({ code: "custom", path: [key, i, "name"], message: `duplicate ${what} name "${name}"` });
    names.add(name);
  }
  return names;
}

export const configSchema = z
  .object({
    listener: listenerSchema
      .default(listenerSchema.parse({}))
      .describe("SNMP trap listener (petgate listen)"),
    ack: ackSchema
      .default({ allowSources: [] })
      .describe("PET Acknowledge: sent to inventory BMCs (their host:port) and to ack.allowSources only"),
    defaults: z
      .object(bmcConnection)
      .strict()
      .default({})
      .describe("connection settings every BMC entry inherits"),
    bmcs: z.array(bmcEntry).default([]).describe("the BMC inventory"),
    pef: pefSchema.optional().describe("the PEF and alerting every BMC should have (petgate pef plan/apply)"),
    routes: routesSchema.optional().describe("routing: the route tree (Alertmanager-like)"),
    time_intervals: timeIntervalsSchema,
    inhibit_rules: inhibitRulesSchema.describe("alerts that mute others while they fire"),
    mibs: mibsSchema
      .default(mibsSchema.parse({}))
      .describe("MIB modules that name traps and their varbinds (petgate serve, petgate traps test)"),
    traps: trapRulesSchema.default([]),
    storm: stormSchema.default(stormSchema.parse({})).describe("storm control, per BMC and fleet-wide"),
    receivers: z
      .array(receiverSchema)
      .optional()
      .describe("where notifications go: each route's receiver names one (petgate's delivery workers)"),
    redis: redisSchema
      .optional()
      .describe("the Redis the queues live in; absent: petgate serve starts its own"),
    http: httpSchema.default(httpSchema.parse({})).describe("HTTP API, metrics and web page (petgate serve)"),
    health: healthSchema
      .default(healthSchema.parse({}))
      .describe("BMC health probes and the BMC-unresponsive alert"),
    history: historySchema
      .default(historySchema.parse({}))
      .describe("alert history: every event, notification and delivery (GET /api/history, petgate history)"),
    sel: selSchema
      .default(selSchema.parse({}))
      .describe("SEL reconciliation (records whose PET never arrived) and SEL health, per inventory BMC"),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.receivers) {
      const names = uniqueNames(c.receivers, "receivers", "receiver", ctx);
      if (c.routes)
        for (const { receiver, path } of routeReceiverPaths(c.routes, ["routes"]))
          if (!names.has(receiver))
            ctx.addIssue({ code: "custom", path, message: `no receiver named "${receiver}" in receivers` });
    }
    uniqueNames(c.bmcs, "bmcs", "BMC", ctx);
    uniqueNames(c.traps, "traps", "trap rule", ctx);
    const intervals = uniqueNames(c.time_intervals, "time_intervals", "time interval", ctx);
    for (const { name, path } of c.routes ? routeIntervalPaths(c.routes, ["routes"]) : [])
      if (!intervals.has(name))
        ctx.addIssue({ code: "custom", path, message: `no time interval named "${name}" in time_intervals` });
    for (const [i, b] of c.bmcs.entries()) {
      const merged = { ...c.defaults, ...b };
      const sources = [merged.passwordEnv, merged.passwordFile, merged.password].filter(
        (x) => x !== undefined,
      );
      if (sources.length !== 1) {
        ctx.addIssue({
          code: "custom",
          path: ["bmcs", i],
          message: "give exactly one of passwordEnv, passwordFile or password (here or in defaults)",
        });
      } else if (merged.password !== undefined && merged.insecureInlinePassword !== true) {
        ctx.addIssue({
          code: "custom",
          path: ["bmcs", i, "password"],
          message: "a password in the file needs insecureInlinePassword: true",
        });
      }
    }
  });

export type BmcEntry = z.infer<typeof bmcEntry>;
export type PefConfig = z.infer<typeof pefSchema>;
export type EventFilterConfig = z.infer<typeof eventFilter>;

export type Config = z.infer<typeof configSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type ReceiverConfig = z.infer<typeof receiverSchema>;
export type SecretRef = z.infer<ReturnType<typeof secretRef>>;
