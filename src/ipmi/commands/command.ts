import { ByteReader, TruncatedError } from "../bytes.js";
import { IpmiDecodeError } from "../errors.js";

/** Network function codes of requests (IPMI 2.0 §5.1, Table 5-1); a response's netFn is this + 1. */
export const NetFn = {
  Chassis: 0x00,
  SensorEvent: 0x04,
  App: 0x06,
  Storage: 0x0a,
  Transport: 0x0c,
} as const;
export type NetFn = (typeof NetFn)[keyof typeof NetFn];

/**
 * One IPMI command as one typed definition, shared by the client (encode request, decode response)
 * and the simulator (decode request, encode response). Response data excludes the completion code:
 * it is decoded only when the completion code is 00h.
 */
export interface IpmiCommand<Req, Res> {
  /** The spec's name, e.g. "Get Device ID". */
  name: string;
  netFn: NetFn;
  cmd: number;
  /** Names of the completion codes this command defines (80h-BEh), beside the generic ones. */
  completionCodes?: Readonly<Record<number, string>>;
  encodeRequest(req: Req): Buffer;
  decodeRequest(data: Buffer): Req;
  encodeResponse(res: Res): Buffer;
  decodeResponse(data: Buffer): Res;
}

/** Defines a command whose decoders read with a ByteReader; running short becomes an IpmiDecodeError. */
export function defineCommand<Req, Res>(def: {
  name: string;
  netFn: NetFn;
  cmd: number;
  completionCodes?: Readonly<Record<number, string>>;
  encodeRequest(req: Req): Buffer;
  decodeRequest(r: ByteReader): Req;
  encodeResponse(res: Res): Buffer;
  decodeResponse(r: ByteReader): Res;
}): IpmiCommand<Req, Res> {
  const read =
    <T>(what: string, decode: (r: ByteReader) => T) =>
    (data: Buffer): T => {
      try {
        return decode(new ByteReader(data));
      } catch (err) {
        if (err instanceof TruncatedError)
          throw new IpmiDecodeError(`${def.name} ${what}`, err.message, "length");
        throw err;
      }
    };
  return {
    name: def.name,
    netFn: def.netFn,
    cmd: def.cmd,
    ...(def.completionCodes && { completionCodes: def.completionCodes }),
    encodeRequest: def.encodeRequest,
    encodeResponse: def.encodeResponse,
    decodeRequest: read("request", def.decodeRequest),
    decodeResponse: read("response", def.decodeResponse),
  };
}

/** For commands whose request or response carries no data. */
export const empty = {
  encode: (): Buffer => Buffer.alloc(0),
  decode: (): void => undefined,
};

/**
 * Sends one command and resolves with its decoded response; rejects with CompletionCodeError for a
 * completion code other than 00h. An IpmiClient session provides it; so can anything else that
 * carries IPMI messages.
 */
export type Execute = <Req, Res>(command: IpmiCommand<Req, Res>, request: Req) => Promise<Res>;

/** Rejects bytes past the end of what a command defines. */
export function expectEnd(r: ByteReader, what: string): void {
  if (r.remaining > 0)
    throw new IpmiDecodeError(what, `${r.remaining} unexpected trailing byte(s)`, "length");
}
