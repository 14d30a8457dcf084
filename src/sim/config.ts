import { z } from "zod";
import { type HostPort, parseHostPort } from "../net/address.js";
import { simFruSchema } from "./fru.js";
import { DEFAULT_SEL_CAPACITY } from "./state.js";

/** The roles a simulated user may be limited to, by name, and their IPMI privilege levels (admin: ipmitool's and FreeIPMI's word). */
export const PRIVILEGES = { user: 2, operator: 3, administrator: 4, admin: 4 } as const;

const simUser = z
  .object({
    name: z.string().min(1).max(16).describe("user name"),
    password: z.string().max(20).optional().describe("password (the simulator's own test users only)"),
    passwordEnv: z.string().min(1).optional().describe("environment variable holding the password"),
    passwordFile: z.string().min(1).optional().describe("file whose first line is the password"),
    privilege: z
      .enum(["user", "operator", "administrator", "admin"])
      .default("administrator")
      .describe("highest privilege"),
  })
  .strict()
  .refine((u) => [u.password, u.passwordEnv, u.passwordFile].filter((p) => p !== undefined).length === 1, {
    message: "give exactly one of password, passwordEnv or passwordFile",
  });

const hostPort = z.string().refine((s) => {
  try {
    parseHostPort(s, { host: "127.0.0.1", port: 623 });
    return true;
  } catch {
    return false;
  }
}, "expected HOST:PORT");

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^(0x)?[0-9a-fA-F]{2,${bytes * 2}}$`), `expected up to ${bytes} bytes of hex`);

/** `petgate sim` options; the same keys in a YAML file (`--config`). */
export const simConfigSchema = z
  .object({
    listen: hostPort
      .optional()
      .describe("UDP HOST:PORT of the first BMC; default 127.0.0.1:623 (127.1.0.1 for a fleet)"),
    count: z.number().int().min(1).max(10_000).default(1).describe("how many BMCs"),
    spread: z
      .enum(["address", "port"])
      .default("address")
      .describe("a fleet on consecutive loopback addresses or ports"),
    users: z
      .array(simUser)
      .min(1)
      .optional()
      .describe("users, read at every start (never stored in stateDir); default admin with --password-env"),
    kg: hex(20).optional().describe("BMC key K_g (hex)"),
    guid: hex(16).optional().describe("system GUID of the first BMC (hex); later ones count up"),
    manufacturerId: z
      .number()
      .int()
      .min(0)
      .max(0xfffff)
      .default(343)
      .describe("IANA manufacturer ID (default Intel)"),
    productId: z.number().int().min(0).max(0xffff).default(0x0100).describe("product ID"),
    sdr: z.string().default("default").describe('SDR repository: "default" or a JSON file'),
    stateDir: z
      .string()
      .optional()
      .describe("keeps SEL, PEF and LAN settings across restarts (files 0600 in a 0700 directory)"),
    trapPort: z.number().int().min(1).max(65535).default(162).describe("UDP port PETs are sent to"),
    control: hostPort.optional().describe("HTTP control API HOST:PORT"),
    controlTokenEnv: z
      .string()
      .min(1)
      .optional()
      .describe("environment variable holding the control API's bearer token (required on every request)"),
    rebootMs: z.number().int().min(0).default(3000).describe("how long a cold reset keeps the BMC silent"),
    authTypeNone: z
      .boolean()
      .default(false)
      .describe("IPMI 1.5 sessions may use auth type none (no authentication); MD5 and password always"),
    selCapacity: z
      .number()
      .int()
      .min(1)
      .max(0xfffe)
      .default(DEFAULT_SEL_CAPACITY)
      .describe("SEL records each BMC holds; when full it logs no more and sets the overflow flag"),
    fru: simFruSchema
      .default(simFruSchema.parse({}))
      .describe('FRU inventory (device 0): chassis, board and product fields; "{n}" = the BMC\'s number'),
  })
  .strict();

export type SimConfig = z.infer<typeof simConfigSchema>;

export function privilegeLevel(name: keyof typeof PRIVILEGES): number {
  return PRIVILEGES[name];
}

/**
 * Where each BMC of a fleet listens. One BMC: `listen`. A fleet spread by address: consecutive
 * loopback addresses from `listen` (default 127.1.0.1), so each sends its PETs from an address of
 * its own; by port: consecutive ports on one address.
 */
export function simAddresses(config: Pick<SimConfig, "listen" | "count" | "spread">): HostPort[] {
  const defaults = {
    host: config.count > 1 && config.spread === "address" ? "127.1.0.1" : "127.0.0.1",
    port: 623,
  };
  const first = parseHostPort(config.listen ?? "", defaults);
  return Array.from({ length: config.count }, (_, i) =>
    config.spread === "port"
      ? { host: first.host, port: first.port + i }
      : { host: addIpv4(first.host, i), port: first.port },
  );
}

function addIpv4(address: string, n: number): string {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`a fleet spread by address needs an IPv4 first address, not ${address}`);
  }
  const value =
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) +
    n;
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join(".");
}
