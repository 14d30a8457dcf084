/** Why a PET could not be decoded; `code` is stable for counters and tests, `message` is for people. */
export type PetDecodeErrorCode =
  | "bad-input"
  | "too-short"
  | "too-long"
  | "bad-specific-trap"
  | "bad-utc-offset"
  | "oem-overrun";

export class PetDecodeError extends Error {
  constructor(
    readonly code: PetDecodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "PetDecodeError";
  }
}
