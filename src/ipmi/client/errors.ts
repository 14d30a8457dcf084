/** The BMC did not answer in time; `phase` says what petgate was waiting for. */
export class IpmiTimeoutError extends Error {
  constructor(
    readonly bmc: string,
    readonly phase: string,
    readonly elapsedMs: number,
  ) {
    super(`${bmc}: no answer to ${phase} within ${elapsedMs} ms`);
    this.name = "IpmiTimeoutError";
  }
}

/**
 * Session set-up failed; `step` is where (RMCP+: IPMI 2.0 §13.17-13.23; IPMI 1.5: §22.16-22.17),
 * `reason` what a person should check.
 */
export class IpmiAuthError extends Error {
  constructor(
    readonly bmc: string,
    readonly step:
      | "channel-auth-capabilities"
      | "open-session"
      | "rakp2"
      | "rakp4"
      | "session-challenge"
      | "activate-session"
      | "set-session-privilege",
    readonly reason: string,
  ) {
    super(`${bmc}: session set-up failed at ${step}: ${reason}`);
    this.name = "IpmiAuthError";
  }
}

/** Refused by petgate's own policy before anything was sent (cipher suite 0, unknown suite, full queue). */
export class IpmiRefusedError extends Error {
  constructor(
    readonly bmc: string,
    reason: string,
  ) {
    super(`${bmc}: ${reason}`);
    this.name = "IpmiRefusedError";
  }
}

/** The client was closed while the call waited or ran. */
export class IpmiClosedError extends Error {
  constructor(readonly bmc: string) {
    super(`${bmc}: client closed`);
    this.name = "IpmiClosedError";
  }
}
