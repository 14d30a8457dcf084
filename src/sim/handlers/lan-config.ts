import { PrivilegeLevel } from "../../ipmi/commands/app.js";
import {
  encodeLanParameter,
  getLanConfigurationParameters,
  LAN_PARAMETER_REVISION,
  LAN_PARAMETER_SELECTORS,
  type LanParameter,
  setLanConfigurationParameters,
} from "../../ipmi/commands/transport.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import type { AlertDestination, BmcState, LanConfig } from "../state.js";

/** The simulated BMC's one LAN channel; 0Eh names the channel a request arrives on (IPMI 2.0 §6.3). */
export const LAN_CHANNEL = 1;
const CURRENT_CHANNEL = 0x0e;

const NOT_SUPPORTED = 0x80;
const READ_ONLY = 0x82;
const LENGTH_INVALID = 0xc7;
const OUT_OF_RANGE = 0xc9;
const INVALID_DATA = 0xcc;

function checkChannel(channel: number): void {
  if (channel !== LAN_CHANNEL && channel !== CURRENT_CHANNEL) throw new CompletionCode(INVALID_DATA);
}

/** Destination selector N (parameters 18, 19, 25); C9h past the table. */
function destination(c: LanConfig, set: number): AlertDestination {
  const found = c.destinations[set];
  if (!found) throw new CompletionCode(OUT_OF_RANGE);
  return found;
}

/** A parameter as Get LAN Configuration Parameters answers it (IPMI 2.0 §23.2, Table 23-4). */
function lanParameter(state: BmcState, selector: number, set: number): LanParameter {
  const c = state.lan.current;
  switch (selector) {
    case LAN_PARAMETER_SELECTORS.setInProgress:
      return { parameter: "setInProgress", state: state.lan.inProgress ? "setInProgress" : "setComplete" };
    case LAN_PARAMETER_SELECTORS.authTypeSupport:
      return { parameter: "authTypeSupport", types: state.authTypeSupport };
    case LAN_PARAMETER_SELECTORS.authTypeEnables:
      return { parameter: "authTypeEnables", ...c.authTypeEnables };
    case LAN_PARAMETER_SELECTORS.ipAddress:
      return { parameter: "ipAddress", ip: c.ipAddress };
    case LAN_PARAMETER_SELECTORS.ipAddressSource:
      return { parameter: "ipAddressSource", source: c.ipAddressSource };
    case LAN_PARAMETER_SELECTORS.macAddress:
      return { parameter: "macAddress", mac: c.macAddress };
    case LAN_PARAMETER_SELECTORS.subnetMask:
      return { parameter: "subnetMask", mask: c.subnetMask };
    case LAN_PARAMETER_SELECTORS.ipv4HeaderParameters:
      return { parameter: "ipv4HeaderParameters", ...c.ipv4Header };
    case LAN_PARAMETER_SELECTORS.primaryRmcpPort:
      return { parameter: "primaryRmcpPort", port: c.primaryRmcpPort };
    case LAN_PARAMETER_SELECTORS.secondaryRmcpPort:
      return { parameter: "secondaryRmcpPort", port: c.secondaryRmcpPort };
    case LAN_PARAMETER_SELECTORS.bmcGeneratedArpControl:
      return { parameter: "bmcGeneratedArpControl", ...c.arp };
    case LAN_PARAMETER_SELECTORS.gratuitousArpInterval:
      return { parameter: "gratuitousArpInterval", interval: c.gratuitousArpInterval };
    case LAN_PARAMETER_SELECTORS.defaultGatewayAddress:
      return { parameter: "defaultGatewayAddress", ip: c.defaultGateway.ip };
    case LAN_PARAMETER_SELECTORS.defaultGatewayMacAddress:
      return { parameter: "defaultGatewayMacAddress", mac: c.defaultGateway.mac };
    case LAN_PARAMETER_SELECTORS.backupGatewayAddress:
      return { parameter: "backupGatewayAddress", ip: c.backupGateway.ip };
    case LAN_PARAMETER_SELECTORS.backupGatewayMacAddress:
      return { parameter: "backupGatewayMacAddress", mac: c.backupGateway.mac };
    case LAN_PARAMETER_SELECTORS.community:
      return { parameter: "community", community: c.community };
    case LAN_PARAMETER_SELECTORS.destinationCount:
      return { parameter: "destinationCount", count: c.destinations.length - 1 };
    case LAN_PARAMETER_SELECTORS.destinationType: {
      const { acknowledge, type, ackTimeoutSeconds, retries } = destination(c, set);
      return { parameter: "destinationType", set, acknowledge, type, ackTimeoutSeconds, retries };
    }
    case LAN_PARAMETER_SELECTORS.destinationAddress: {
      const { gateway, ip, mac } = destination(c, set);
      return { parameter: "destinationAddress", set, gateway, ip, mac };
    }
    case LAN_PARAMETER_SELECTORS.vlanId:
      return { parameter: "vlanId", ...c.vlan };
    case LAN_PARAMETER_SELECTORS.vlanPriority:
      return { parameter: "vlanPriority", priority: c.vlanPriority };
    case LAN_PARAMETER_SELECTORS.cipherSuiteEntrySupport:
      return { parameter: "cipherSuiteEntrySupport", count: state.cipherSuites.length };
    case LAN_PARAMETER_SELECTORS.cipherSuiteEntries:
      return { parameter: "cipherSuiteEntries", ids: [...state.cipherSuites] };
    case LAN_PARAMETER_SELECTORS.cipherSuitePrivilegeLevels:
      return { parameter: "cipherSuitePrivilegeLevels", levels: [...c.cipherSuitePrivileges] };
    case LAN_PARAMETER_SELECTORS.destinationVlanTag:
      return { parameter: "destinationVlanTag", set, ...destination(c, set).vlan };
    case LAN_PARAMETER_SELECTORS.badPasswordThreshold:
      return { parameter: "badPasswordThreshold", ...c.badPassword };
    default: {
      const oem = c.oemParameters[selector];
      if (!oem) throw new CompletionCode(NOT_SUPPORTED);
      return { parameter: "raw", selector, data: oem };
    }
  }
}

/** Applies Set LAN Configuration Parameters (IPMI 2.0 §23.1) to the staged or live configuration. */
function setLanParameter(state: BmcState, p: LanParameter): void {
  const c = state.lan.current;
  switch (p.parameter) {
    case "setInProgress":
      if (p.state === "reserved") throw new CompletionCode(INVALID_DATA);
      state.lan.setInProgress(
        p.state === "setComplete" ? "complete" : p.state === "setInProgress" ? "inProgress" : "commitWrite",
      );
      return;
    case "authTypeSupport":
    case "destinationCount":
    case "cipherSuiteEntrySupport":
    case "cipherSuiteEntries":
      throw new CompletionCode(READ_ONLY);
    case "authTypeEnables": {
      const { parameter: _, ...enables } = p;
      c.authTypeEnables = enables;
      return;
    }
    case "ipAddress":
      c.ipAddress = p.ip;
      return;
    case "ipAddressSource":
      c.ipAddressSource = p.source;
      return;
    case "macAddress":
      c.macAddress = p.mac;
      return;
    case "subnetMask":
      c.subnetMask = p.mask;
      return;
    case "ipv4HeaderParameters": {
      const { parameter: _, ...header } = p;
      c.ipv4Header = header;
      return;
    }
    case "primaryRmcpPort":
      c.primaryRmcpPort = p.port;
      return;
    case "secondaryRmcpPort":
      c.secondaryRmcpPort = p.port;
      return;
    case "bmcGeneratedArpControl":
      c.arp = { arpResponses: p.arpResponses, gratuitousArps: p.gratuitousArps };
      return;
    case "gratuitousArpInterval":
      c.gratuitousArpInterval = p.interval;
      return;
    case "defaultGatewayAddress":
      c.defaultGateway.ip = p.ip;
      return;
    case "defaultGatewayMacAddress":
      c.defaultGateway.mac = p.mac;
      return;
    case "backupGatewayAddress":
      c.backupGateway.ip = p.ip;
      return;
    case "backupGatewayMacAddress":
      c.backupGateway.mac = p.mac;
      return;
    case "community":
      c.community = p.community;
      return;
    case "destinationType": {
      const { parameter: _, set, ...type } = p;
      Object.assign(destination(c, set), type);
      return;
    }
    case "destinationAddress": {
      const { parameter: _, set, ...address } = p;
      Object.assign(destination(c, set), address);
      return;
    }
    case "vlanId":
      c.vlan = { enabled: p.enabled, vlanId: p.vlanId };
      return;
    case "vlanPriority":
      c.vlanPriority = p.priority;
      return;
    case "cipherSuitePrivilegeLevels":
      // Entries past those sent keep their level.
      c.cipherSuitePrivileges.splice(0, p.levels.length, ...p.levels);
      return;
    case "destinationVlanTag":
      destination(c, p.set).vlan = { format: p.format, vlanTag: p.vlanTag };
      return;
    case "badPasswordThreshold": {
      const { parameter: _, ...threshold } = p;
      c.badPassword = threshold;
      return;
    }
    case "raw": {
      // A known selector comes raw only in a format it does not define (e.g. a non-IPv4 destination).
      if (p.selector <= LAN_PARAMETER_SELECTORS.badPasswordThreshold) throw new CompletionCode(INVALID_DATA);
      const oem = c.oemParameters[p.selector];
      if (!oem) throw new CompletionCode(NOT_SUPPORTED);
      if (p.data.length !== oem.length) throw new CompletionCode(LENGTH_INVALID);
      c.oemParameters[p.selector] = Buffer.from(p.data);
      return;
    }
  }
}

/** Set LAN at administrator, Get at operator (IPMI 2.0 Appendix G); channel 1 or 0Eh, CCh otherwise. */
export function lanConfigHandlers(state: BmcState): [string, Handler][] {
  return [
    serve(setLanConfigurationParameters, PrivilegeLevel.Administrator, ({ channel, parameter }) => {
      checkChannel(channel);
      setLanParameter(state, parameter);
    }),
    serve(getLanConfigurationParameters, PrivilegeLevel.Operator, (q) => {
      checkChannel(q.channel);
      const { data } = encodeLanParameter(lanParameter(state, q.selector, q.setSelector));
      return { revision: LAN_PARAMETER_REVISION, data: q.revisionOnly ? Buffer.alloc(0) : data };
    }),
  ];
}
