import { lookup } from "node:dns/promises";
import { isIP, isIPv6, SocketAddress } from "node:net";
import { bmcHostPort } from "../config/inventory.js";
import type { Config } from "../config/schema.js";
import { AddressAllowList, type HostPort } from "../net/address.js";
import { type AckDestination, PET_ACK_PORT, unmapIpv4 } from "./ack.js";
import type { TrapSource } from "./trap.js";

/** The addresses a host name resolves to (default: the system resolver, dns.lookup). */
export type ResolveHost = (host: string) => Promise<readonly { address: string }[]>;

/**
 * Where PET Acknowledge may go. A PET's source address proves nothing (UDP is spoofed at will), so an
 * acknowledgement to every source would make the gateway a reflector towards anyone's UDP 623. It
 * goes to an inventory BMC, at its configured host and port, or to a source `ack.allowSources`
 * covers, at UDP 623; to any other source nothing is sent.
 */
export class AckDestinations {
  /** Inventory ports by address; host names are added once resolved (resolveNames). */
  private readonly ports = new Map<string, number[]>();
  private readonly named: HostPort[] = [];

  constructor(
    bmcs: readonly HostPort[],
    private readonly allowSources: AddressAllowList,
    private readonly resolve: ResolveHost = (host) => lookup(host, { all: true }),
  ) {
    for (const bmc of bmcs) {
      if (isIP(bmc.host) === 0) this.named.push(bmc);
      else this.addPort(bmc.host, bmc.port);
    }
  }

  static fromConfig(config: Pick<Config, "bmcs" | "ack">, resolve?: ResolveHost): AckDestinations {
    return new AckDestinations(
      config.bmcs.map((b) => bmcHostPort(b.host)),
      new AddressAllowList(config.ack.allowSources),
      resolve,
    );
  }

  /**
   * The acknowledgement's destination for a PET from `source`, or undefined: nothing is sent. Of
   * several BMCs at one address (ports forwarded by a NAT gateway), the one at the PET's source port,
   * else the first.
   */
  to(source: TrapSource): AckDestination | undefined {
    const address = canonicalAddress(source.address);
    const ports = this.ports.get(address);
    if (ports) return { address, port: ports.includes(source.port) ? source.port : (ports[0] as number) };
    // An empty allow-list allows everything (the listener's sense); here it allows nothing.
    if (this.allowSources.size > 0 && this.allowSources.allows(address))
      return { address, port: PET_ACK_PORT };
    return undefined;
  }

  /**
   * Resolves the inventory hosts that are names (as enrichment does, src/pipeline/bmc/bmc-pool.ts); one that does not
   * resolve is not acknowledged unless ack.allowSources covers it. Never rejects.
   */
  async resolveNames(): Promise<void> {
    await Promise.all(
      this.named.map(async (bmc) => {
        const found = await this.resolve(bmc.host).catch(() => []);
        for (const { address } of found) this.addPort(address, bmc.port);
      }),
    );
  }

  private addPort(address: string, port: number): void {
    const key = canonicalAddress(address);
    const ports = this.ports.get(key) ?? [];
    if (!ports.includes(port)) ports.push(port);
    this.ports.set(key, ports);
  }
}

/**
 * An address as Node reports a PET's source: IPv4-mapped IPv6 as IPv4, other IPv6 in the RFC 5952
 * text form (lower case, longest zero run compressed: "2001:DB8:0::1" is "2001:db8::1"), zone kept.
 */
function canonicalAddress(address: string): string {
  if (!isIPv6(address)) return address;
  const [plain = "", zone] = address.split("%");
  const text = new SocketAddress({ address: plain, family: "ipv6" }).address;
  return unmapIpv4(zone === undefined ? text : `${text}%${zone}`);
}
