import { readSecret } from "../config/load.js";
import type { ListenerConfig } from "../config/schema.js";
import { parseHostPort } from "../net/address.js";
import type { ListenerOptions, UsmUser } from "./listener.js";

/**
 * The config's `listener:` as TrapListener options: the default port (162 as root, else 1162) and the
 * USM keys read from their secret references. Used by `petgate listen`, `event test` and the intake.
 */
export function listenerOptions(cfg: ListenerConfig): ListenerOptions {
  const defaultPort = process.getuid?.() === 0 ? 162 : 1162;
  return {
    bind: parseHostPort(cfg.bind ?? "", { host: "0.0.0.0", port: defaultPort }),
    communities: cfg.communities,
    allowSources: cfg.allowSources,
    receiveBufferBytes: cfg.receiveBufferBytes,
    users: cfg.users.map(
      (u, i): UsmUser => ({
        name: u.name,
        level: u.level,
        ...(u.authProtocol && { authProtocol: u.authProtocol }),
        ...(u.authKey && { authKey: readSecret(u.authKey, `listener.users[${i}].authKey`) }),
        ...(u.privProtocol && { privProtocol: u.privProtocol }),
        ...(u.privKey && { privKey: readSecret(u.privKey, `listener.users[${i}].privKey`) }),
      }),
    ),
  };
}
