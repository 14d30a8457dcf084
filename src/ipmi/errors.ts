/**
 * Bytes that do not form what the IPMI spec says they should; `what` names the structure, `kind` says
 * whether its length or a value was wrong (a BMC answers C7h or CCh for them, IPMI 2.0 §5.2).
 */
export class IpmiDecodeError extends Error {
  constructor(
    readonly what: string,
    detail: string,
    readonly kind: "length" | "value" = "value",
  ) {
    super(`malformed ${what}: ${detail}`);
    this.name = "IpmiDecodeError";
  }
}

/** A BMC answered with a completion code other than 00h. */
export class CompletionCodeError extends Error {
  constructor(
    readonly command: string,
    readonly code: number,
    readonly codeName: string,
  ) {
    super(`${command}: completion code ${code.toString(16).toUpperCase().padStart(2, "0")}h (${codeName})`);
    this.name = "CompletionCodeError";
  }
}
