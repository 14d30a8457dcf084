import type { IpmiCommand } from "../ipmi/commands/command.js";
import { IpmiDecodeError } from "../ipmi/errors.js";

/** Who is asking: the session a request arrived on (IPMI 2.0 §6.8 privilege levels). */
export interface RequestContext {
  /** Privilege level the session runs at (1 callback … 4 administrator). */
  privilege: number;
  userId: number;
  sessionId: number;
}

/** What a handler answers: a completion code and the response data after it. */
export interface HandlerResult {
  completionCode: number;
  data: Buffer;
}

/** Serves one command: request data in (after the command byte), result out. */
export type Handler = (request: Buffer, context: RequestContext) => HandlerResult | Promise<HandlerResult>;

/** A completion code a handler throws to answer with it (e.g. new CompletionCode(0xcb) for "not present"). */
export class CompletionCode extends Error {
  constructor(readonly code: number) {
    super(`completion code ${code.toString(16)}h`);
    this.name = "CompletionCode";
  }
}

/** Map key of a command: "netFn:cmd" with the request netFn. */
export function commandKey(netFn: number, cmd: number): string {
  return `${netFn}:${cmd}`;
}

/**
 * Serves a command from its shared definition: decodes the request with the same codec the client
 * encodes it with, and encodes the typed response. Malformed request data answers C7h (length
 * invalid) or CCh (invalid data field); a thrown CompletionCode answers that code; a session below `minPrivilege`
 * gets D4h (IPMI 2.0 §5.2).
 */
export function serve<Req, Res>(
  command: IpmiCommand<Req, Res>,
  minPrivilege: number,
  fn: (request: Req, context: RequestContext) => Res | Promise<Res>,
): [string, Handler] {
  const handler: Handler = async (data, context) => {
    if (context.privilege < minPrivilege) return { completionCode: 0xd4, data: Buffer.alloc(0) };
    let request: Req;
    try {
      request = command.decodeRequest(data);
    } catch (err) {
      if (err instanceof IpmiDecodeError) {
        return { completionCode: err.kind === "length" ? 0xc7 : 0xcc, data: Buffer.alloc(0) };
      }
      if (err instanceof RangeError) return { completionCode: 0xcc, data: Buffer.alloc(0) };
      throw err;
    }
    try {
      return { completionCode: 0, data: command.encodeResponse(await fn(request, context)) };
    } catch (err) {
      if (err instanceof CompletionCode) return { completionCode: err.code, data: Buffer.alloc(0) };
      throw err;
    }
  };
  return [commandKey(command.netFn, command.cmd), handler];
}
