import { BlockList, isIP } from "node:net";
import type { ListenerConfig } from "../config/schema.js";
import type { HostPort } from "../net/address.js";

/** 127.0.0.0/8 and ::1 (and IPv4-mapped loopback): what only this host can send to. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** SNMPv1/v2c's default community: every tool and BMC knows it, so it authenticates nothing. */
const DEFAULT_COMMUNITY = "public";

/**
 * The start-up warnings about a trap listener bound at `bind` with this configuration: one when it
 * is reachable from other hosts, accepts any source and takes community "public" (anyone on the
 * network can then raise alerts and send PETs); none otherwise.
 */
export function listenerExposure(
  bind: HostPort,
  listener: Pick<ListenerConfig, "communities" | "allowSources">,
): string[] {
  if (isLoopback(bind.host) || listener.allowSources.length > 0) return [];
  if (!listener.communities.includes(DEFAULT_COMMUNITY)) return [];
  const at = isIP(bind.host) === 6 ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`;
  return [
    `warning: the trap listener on ${at} accepts any source with community "${DEFAULT_COMMUNITY}": ` +
      "set listener.allowSources to the BMCs' network (and a community of your own)",
  ];
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)?.[1];
  const address = mapped ?? host;
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? "ipv4" : "ipv6");
}
