import { BlockList, isIP } from "node:net";

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port", "[v6]:port" or ":port" (host defaults); throws a RangeError naming the input. */
export function parseHostPort(text: string, defaults: HostPort): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text.trim());
  const port = m?.[3] === undefined ? defaults.port : Number(m[3]);
  if (!m || port < 0 || port > 65535) {
    throw new RangeError(`"${text}" is not HOST:PORT (e.g. 0.0.0.0:162 or [::]:162)`);
  }
  return { host: m[1] ?? (m[2] || defaults.host), port };
}

/** Parses "10.0.0.0/8", "::1" or "fd00::/8"; undefined when it is neither an address nor a CIDR block. */
export function parseCidr(
  entry: string,
): { address: string; prefix: number; type: "ipv4" | "ipv6" } | undefined {
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d+$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (!(bits >= 0 && bits <= max)) return undefined;
  return { address, prefix: bits, type: family === 4 ? "ipv4" : "ipv6" };
}

/** An allow-list of addresses and CIDR blocks ("10.0.0.0/8", "::1"); empty means everything is allowed. */
export class AddressAllowList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (!cidr) throw new RangeError(`"${entry}" is not an IP address or CIDR block`);
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.type);
    }
    this.size = entries.length;
  }

  allows(address: string): boolean {
    if (this.size === 0) return true;
    const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = v4mapped ?? address;
    return this.list.check(plain, isIP(plain) === 6 ? "ipv6" : "ipv4");
  }
}
