/** Who and how `ipmitool -I lanplus` logs in to a BMC (command-line options of the third-party peers). */
export interface LanplusLogin {
  host?: string;
  /** Omitted: ipmitool's default, 623. */
  port?: number;
  user?: string;
  password: string;
  /** Cipher suite ID (-C). */
  suite: string;
  /** Requested maximum privilege (-L), e.g. OPERATOR. */
  privilege?: string;
  /** BMC key K_g in hex (-y), for two-key login. */
  kg?: string;
}

/** The `ipmitool -I lanplus` session options for a login; the command follows them. */
export function lanplus(login: LanplusLogin): string[] {
  return [
    ...["-I", "lanplus", "-H", login.host ?? "127.0.0.1"],
    ...(login.port === undefined ? [] : ["-p", String(login.port)]),
    ...["-U", login.user ?? "admin", "-P", login.password, "-C", login.suite],
    ...(login.privilege ? ["-L", login.privilege] : []),
    ...(login.kg ? ["-y", login.kg] : []),
  ];
}

/** The `ipmitool -I lan` (IPMI 1.5) session options: auth type MD5 or PASSWORD, administrator. */
export function lan(login: {
  host?: string;
  port?: number;
  user?: string;
  password: string;
  authType: string;
}): string[] {
  return [
    ...["-I", "lan", "-H", login.host ?? "127.0.0.1"],
    ...(login.port === undefined ? [] : ["-p", String(login.port)]),
    ...["-U", login.user ?? "admin", "-P", login.password, "-A", login.authType],
  ];
}

/** FreeIPMI's out-of-band options for an IPMI 1.5 login (-D LAN) with the given auth type. */
export function freeipmiLan15(login: {
  host?: string;
  port?: number;
  password: string;
  authType: string;
}): string[] {
  const host = login.host ?? "127.0.0.1";
  return [
    ...["-h", login.port === undefined ? host : `${host}:${login.port}`, "-u", "admin", "-p", login.password],
    ...["-D", "LAN", "--authentication-type", login.authType, "-l", "ADMIN"],
  ];
}

/**
 * FreeIPMI's out-of-band options for the same kind of login, always admin at ADMIN privilege over
 * IPMI 2.0 with cipher suite 17; the port, when given, goes in the host as FreeIPMI takes it.
 */
export function freeipmiLan20(login: { host?: string; port?: number; password: string }): string[] {
  const host = login.host ?? "127.0.0.1";
  return [
    ...["-h", login.port === undefined ? host : `${host}:${login.port}`, "-u", "admin", "-p", login.password],
    ...["-D", "LAN_2_0", "-I", "17", "-l", "ADMIN"],
  ];
}
