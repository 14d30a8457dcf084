import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Config } from "../config/schema.js";
import { AddressAllowList, type HostPort, parseHostPort } from "../net/address.js";
import { type AckDestination, PET_ACK_PORT, unmapIpv4 } from "./ack.js";
import type { TrapSource } from "./trap.js";

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
  ) {
    for (const bmc of bmcs) {
      if (isIP(bmc.host) === 0) this.named.push(bmc);
      else this.addPort(bmc.host, bmc.port);
    }
  }

  static fromConfig(config: Pick<Config, "bmcs" | "ack">): AckDestinations {
    return new AckDestinations(
      config.bmcs.map((b) => parseHostPort(b.host, { host: "", port: PET_ACK_PORT })),
      new AddressAllowList(config.ack.allowSources),
    );
  }

  /**
   * The acknowledgement's destination for a PET from `source`, or undefined: nothing is sent. Of
   * several BMCs at one address (ports forwarded by a NAT gateway), the one at the PET's source port,
   * else the first.
   */
  to(source: TrapSource): AckDestination | undefined {
    const address = unmapIpv4(source.address);
    const ports = this.ports.get(address);
    if (ports) return { address, port: ports.includes(source.port) ? source.port : (ports[0] as number) };
    // An empty allow-list allows everything (the listener's sense); here it allows nothing.
    if (this.allowSources.size > 0 && this.allowSources.allows(address))
      return { address, port: PET_ACK_PORT };
    return undefined;
  }

  /**
   * Resolves the inventory hosts that are names (as enrichment does, bmc-pool.ts); one that does not
   * resolve is not acknowledged unless ack.allowSources covers it. Never rejects.
   */
  async resolveNames(): Promise<void> {
    await Promise.all(
      this.named.map(async (bmc) => {
        const found = await lookup(bmc.host, { all: true }).catch(() => []);
        for (const { address } of found) this.addPort(unmapIpv4(address), bmc.port);
      }),
    );
  }

  private addPort(address: string, port: number): void {
    const key = unmapIpv4(address.toLowerCase()); // as Node reports sources
    const ports = this.ports.get(key) ?? [];
    if (!ports.includes(port)) ports.push(port);
    this.ports.set(key, ports);
  }
}
