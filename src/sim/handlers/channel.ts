import {
  type ChannelAccess,
  ChannelMedium,
  getChannelAccess,
  getChannelInfo,
  getLastProcessedEventId,
  getUserAccess,
  getUserName,
  setChannelAccess,
} from "../../ipmi/commands/channel.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import type { BmcState } from "../state.js";
import { LAN_CHANNEL } from "./lan-config.js";

const CURRENT_CHANNEL = 0x0e;
/** IANA number of the IPMI forum, the body that defines IPMB (IPMI 2.0 §22.24). */
const IPMI_FORUM_IANA = 7154;

/** Channel 1's access settings, non-volatile and volatile (IPMI 2.0 §6.6); PEF alerting checks them. */
export interface ChannelAccessState {
  nonVolatile: ChannelAccess;
  volatile: ChannelAccess;
}

export function defaultChannelAccess(): ChannelAccessState {
  const access = {
    pefAlertingDisabled: false,
    perMessageAuthDisabled: false,
    userLevelAuthDisabled: false,
    accessMode: 2,
    privilegeLimit: 4,
  };
  return { nonVolatile: { ...access }, volatile: { ...access } };
}

function lanChannel(channel: number): number {
  if (channel !== LAN_CHANNEL && channel !== CURRENT_CHANNEL) throw new CompletionCode(0xcc);
  return LAN_CHANNEL;
}

/** Channel, user and event-ID commands that ipmitool and ipmiutil ask before LAN and PEF work. */
export function channelHandlers(
  state: BmcState,
  access: ChannelAccessState,
  activeSessions: () => number,
): [string, Handler][] {
  return [
    // Channel 0 is the primary IPMB (IPMI 2.0 §6.3); tools ask about it for unset policy entries.
    serve(getChannelInfo, 1, (req) =>
      req.channel === 0
        ? {
            channel: 0,
            medium: ChannelMedium.Ipmb,
            protocol: 0x01,
            sessionSupport: 0,
            activeSessions: 0,
            vendorId: IPMI_FORUM_IANA,
            auxiliary: 0,
          }
        : {
            channel: lanChannel(req.channel),
            medium: ChannelMedium.Lan8023,
            protocol: 0x01,
            sessionSupport: 2,
            activeSessions: activeSessions(),
            vendorId: IPMI_FORUM_IANA,
            auxiliary: 0,
          },
    ),
    serve(getChannelAccess, 2, (req) => {
      lanChannel(req.channel);
      return { ...access[req.which] };
    }),
    serve(setChannelAccess, 4, (req) => {
      lanChannel(req.channel);
      if (req.accessSet !== "none") Object.assign(access[req.accessSet], req.access);
      if (req.privilegeSet !== "none") access[req.privilegeSet].privilegeLimit = req.privilegeLimit;
    }),
    serve(getUserAccess, 2, (req) => {
      lanChannel(req.channel);
      const user = state.users.find((u) => u.id === req.userId);
      return {
        maxUserIds: 16,
        enabledUserIds: state.users.filter((u) => u.enabled).length,
        fixedNameUserIds: 1,
        callbackOnly: false,
        linkAuthentication: false,
        ipmiMessaging: user?.enabled ?? false,
        privilegeLimit: user?.enabled ? user.maxPrivilege : 0x0f,
      };
    }),
    serve(getUserName, 2, (req) => {
      if (req.userId === 0 || req.userId > 16) throw new CompletionCode(0xcc);
      return { name: state.users.find((u) => u.id === req.userId)?.name ?? "" };
    }),
    serve(getLastProcessedEventId, 2, () => {
      const last = state.sel.records.at(-1)?.recordId ?? 0xffff;
      return {
        mostRecentAddition: state.sel.mostRecentAddition ?? 0xffffffff,
        lastRecordId: last,
        lastSoftwareProcessedId: last,
        lastBmcProcessedId: last,
      };
    }),
  ];
}
