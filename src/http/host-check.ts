import { isIP } from "node:net";
import { hostname } from "node:os";

/*
 * DNS rebinding defence. A page on attacker.example whose name is re-pointed at petgate's address
 * makes the victim's browser send `Host: attacker.example` with every request; the same-origin policy
 * then lets that page read the answers (the GET API needs no token). So a request is served only
 * when its Host names petgate itself: an IP literal (a rebinding needs a DNS name), `localhost`, this
 * machine's hostname, or a name the operator lists in `http.allowedHosts` (RFC 9110 §7.2 Host).
 */

/** `http.allowedHosts` entries: "petgate.example.com", ".example.com" (that domain and below), "*" (any). */
export type AllowedHosts = readonly string[];

export function hostAllowedBy(allowed: AllowedHosts): (hostHeader: string | undefined) => boolean {
  const names = new Set(["localhost", hostname().toLowerCase()]);
  const suffixes: string[] = [];
  let any = false;
  for (const entry of allowed) {
    const e = entry.toLowerCase();
    if (e === "*") any = true;
    else if (e.startsWith(".")) suffixes.push(e);
    else names.add(e);
  }
  return (hostHeader) => {
    // HTTP/1.0 without Host: no browser sends that, so no rebinding.
    if (any || hostHeader === undefined) return true;
    const name = hostOf(hostHeader);
    if (name === undefined) return false;
    if (isIP(name) !== 0 || names.has(name)) return true;
    return suffixes.some((s) => name.endsWith(s) || name === s.slice(1));
  };
}

/** The host part of a Host header ("[::1]:8162" → "::1", "Name.Example.:80" → "name.example"). */
function hostOf(header: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d*)?$/.exec(header.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? "").toLowerCase().replace(/\.$/, "");
}
