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

/** An allow-list of addresses and CIDR blocks ("10.0.0.0/8", "::1"); empty means everything is allowed. */
export class AddressAllowList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = "", prefix] = entry.split("/");
      const family = isIP(address);
      if (family === 0) throw new RangeError(`"${entry}" is not an IP address or CIDR block`);
      const type = family === 4 ? "ipv4" : "ipv6";
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
        throw new RangeError(`"${entry}" has an impossible prefix length`);
      }
      this.list.addSubnet(address, bits, type);
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
