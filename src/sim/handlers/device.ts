import {
  coldReset,
  getDeviceId,
  getSelfTestResults,
  getSystemGuid,
  PrivilegeLevel,
} from "../../ipmi/commands/app.js";
import { getChassisStatus } from "../../ipmi/commands/chassis.js";
import { type Handler, serve } from "../handler.js";
import type { BmcHooks } from "../handlers.js";
import type { BmcState } from "../state.js";

/** Device and chassis commands; privileges per IPMI 2.0 Appendix G. */
export function deviceHandlers(state: BmcState, hooks: Pick<BmcHooks, "coldReset">): [string, Handler][] {
  return [
    // §20.1
    serve(getDeviceId, PrivilegeLevel.User, () => state.deviceId),
    // §20.2: the answer goes out first, then the controller resets.
    serve(coldReset, PrivilegeLevel.Administrator, () => {
      setImmediate(() => hooks.coldReset());
    }),
    // §20.4
    serve(getSelfTestResults, PrivilegeLevel.User, () => ({ result: "passed" as const })),
    // §20.8
    serve(getSystemGuid, PrivilegeLevel.User, () => ({ guid: state.systemGuid })),
    // §28.2
    serve(getChassisStatus, PrivilegeLevel.User, () => state.chassis),
  ];
}
