import { type HostPort, parseHostPort } from "../net/address.js";
import { readSecret } from "./load.js";
import type { Config } from "./schema.js";

/** One BMC, ready to connect to: the inventory entry with `defaults` merged and its secrets read. */
export interface BmcTarget {
  name: string;
  host: string;
  port: number;
  username: string;
  password: string;
  cipherSuite: number;
  allowCipherFallback: boolean;
  /** Which IPMI session to open (IpmiClient's `ipmi`); absent = auto. */
  ipmi?: "auto" | "2.0" | "1.5";
  /** IPMI 1.5 auth type none is allowed (IpmiClient's `allowInsecure`); absent = refused. */
  allowAuthNone?: boolean;
  kg?: Buffer;
  labels: Record<string, string>;
}

/** Where an inventory entry's `host` (HOST[:PORT]) points: its LAN channel, UDP 623 by default. */
export function bmcHostPort(host: string): HostPort {
  return parseHostPort(host, { host: "", port: 623 });
}

/** Resolves the inventory; a secret that cannot be read names the BMC and where it looked. */
export function resolveBmcs(config: Config, names?: readonly string[]): BmcTarget[] {
  const unknown = names?.filter((n) => !config.bmcs.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) throw new RangeError(`not in the inventory: ${unknown.join(", ")}`);
  return config.bmcs
    .filter((b) => !names || names.includes(b.name))
    .map((entry) => {
      const b = { ...config.defaults, ...entry, labels: { ...config.defaults.labels, ...entry.labels } };
      const { host, port } = bmcHostPort(b.host);
      const what = `bmcs.${b.name}`;
      const password =
        b.password ??
        readSecret(
          b.passwordEnv !== undefined ? { env: b.passwordEnv } : { file: b.passwordFile as string },
          `${what} password`,
        );
      const kg =
        b.kgEnv === undefined
          ? undefined
          : Buffer.from(readSecret({ env: b.kgEnv }, `${what} K_g`).replace(/^0x/i, ""), "hex");
      return {
        name: b.name,
        host,
        port,
        username: b.username ?? "admin",
        password,
        cipherSuite: b.cipherSuite ?? 17,
        allowCipherFallback: b.allowCipherFallback ?? false,
        ipmi: b.ipmi ?? "auto",
        allowAuthNone: b.allowAuthNone ?? false,
        ...(kg && { kg }),
        labels: b.labels,
      };
    });
}
