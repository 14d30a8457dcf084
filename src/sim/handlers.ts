import type { PetAcknowledgeRequest } from "../ipmi/commands/sensor-event.js";
import type { Handler } from "./handler.js";
import { deviceHandlers } from "./handlers/device.js";
import { eventHandlers } from "./handlers/event.js";
import { lanConfigHandlers } from "./handlers/lan-config.js";
import { pefConfigHandlers } from "./handlers/pef-config.js";
import { solConfigHandlers } from "./handlers/sol-config.js";
import { storageHandlers } from "./handlers/storage.js";
import type { BmcState } from "./state.js";

/** What the BMC asks of the server around it. */
export interface BmcHooks {
  /** Called after Cold Reset's answer has gone out. */
  coldReset(): void;
  /** True if the acknowledgement matched a PET waiting for one. */
  petAcknowledge(ack: PetAcknowledgeRequest): boolean;
}

/**
 * The simulated BMC's commands, keyed by commandKey(netFn, cmd). Session commands (authentication
 * capabilities, cipher suites, session privilege, close) belong to the session server.
 */
export function bmcHandlers(state: BmcState, hooks: BmcHooks): Map<string, Handler> {
  return new Map([
    ...deviceHandlers(state, hooks),
    ...eventHandlers(state, hooks),
    ...pefConfigHandlers(state),
    ...storageHandlers(state),
    ...lanConfigHandlers(state),
    ...solConfigHandlers(state),
  ]);
}
