import type { Execute } from "../ipmi/commands/command.js";
import { getPefCapabilities, readPefParameter } from "../ipmi/commands/sensor-event.js";
import {
  decodeLanParameter,
  getLanConfigurationParameters,
  LAN_PARAMETER_SELECTORS,
  type LanParameter,
} from "../ipmi/commands/transport.js";
import { CompletionCodeError, IpmiDecodeError } from "../ipmi/errors.js";
import { type PefParameter, PefParameterSelector } from "../ipmi/pef.js";
import type { AlertDestination, PefCapacity, PefState } from "./state.js";

/** Narrows a decoded PEF parameter to the kind its selector promises. */
function expectPef<K extends PefParameter["parameter"]>(
  p: PefParameter,
  kind: K,
): Extract<PefParameter, { parameter: K }> {
  if (p.parameter !== kind) throw new IpmiDecodeError(`PEF parameter ${kind}`, `decoded as ${p.parameter}`);
  return p as Extract<PefParameter, { parameter: K }>;
}

function expectLan<K extends LanParameter["parameter"]>(
  p: LanParameter,
  kind: K,
): Extract<LanParameter, { parameter: K }> | undefined {
  return p.parameter === kind ? (p as Extract<LanParameter, { parameter: K }>) : undefined;
}

/** Reads one LAN configuration parameter of a channel and decodes it by its selector. */
export async function readLanParameter(
  execute: Execute,
  channel: number,
  selector: number,
  setSelector = 0,
): Promise<LanParameter> {
  return decodeLanParameter(selector, await readLanData(execute, channel, selector, setSelector));
}

/** Reads the raw data of one LAN configuration parameter (IPMI 2.0 §23.2). */
async function readLanData(execute: Execute, channel: number, selector: number, setSelector: number) {
  const res = await execute(getLanConfigurationParameters, {
    revisionOnly: false,
    channel,
    selector,
    setSelector,
    blockSelector: 0,
  });
  return res.data;
}

/** Decodes a LAN parameter into the kind asked for; undefined if it is malformed, reserved or another format. */
function tryDecode<K extends LanParameter["parameter"]>(
  selector: number,
  data: Buffer,
  kind: K,
): Extract<LanParameter, { parameter: K }> | undefined {
  try {
    return expectLan(decodeLanParameter(selector, data), kind);
  } catch (err) {
    if (err instanceof IpmiDecodeError) return undefined;
    throw err;
  }
}

/** Runs a read; a completion code other than 00h (the BMC does not serve it) becomes undefined. */
async function unlessRefused<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof CompletionCodeError) return undefined;
    throw err;
  }
}

/** Reads table entries 1..`count`, stopping at the first one the BMC refuses. */
async function readTable<T>(count: number, read: (n: number) => Promise<T>): Promise<T[]> {
  const entries: T[] = [];
  for (let n = 1; n <= count; n++) {
    const entry = await unlessRefused(() => read(n));
    if (entry === undefined) break;
    entries.push(entry);
  }
  return entries;
}

/**
 * Reads what petgate manages of a BMC's PEF and LAN alerting configuration (IPMI 2.0 §30.4, §23.2),
 * and the table sizes it actually serves:
 *
 * - filters: PEF parameter 5 (else Get PEF Capabilities) says how many; entries are read up to the
 *   first one the BMC refuses, which bounds the capacity (ipmi_sim advertises 16 and refuses 16);
 * - policies: parameter 8, then entries up to the first refused;
 * - destinations: LAN parameter 17, then 18/19 per selector up to the first refused (ipmi_sim: 17 = 0,
 *   18/19 answer 80h). A destination whose address is not IPv4 is read as `undefined` (unknown).
 *
 * Transport failures (timeouts) propagate; so do refusals of parameters 1, 2 and 16, which every
 * PEF-capable BMC serves.
 */
export async function readPefState(
  execute: Execute,
  channel: number,
): Promise<{ state: PefState; capacity: PefCapacity }> {
  const caps = await execute(getPefCapabilities, undefined);
  const control = expectPef(await readPefParameter(execute, PefParameterSelector.PefControl), "pefControl");
  const actions = expectPef(
    await readPefParameter(execute, PefParameterSelector.ActionGlobalControl),
    "actionGlobalControl",
  ).actions;

  const filterCount = await unlessRefused(
    async () =>
      expectPef(
        await readPefParameter(execute, PefParameterSelector.NumberOfEventFilters),
        "numberOfEventFilters",
      ).count,
  );
  const filters = await readTable(
    filterCount ?? caps.filterTableSize,
    async (n) =>
      expectPef(await readPefParameter(execute, PefParameterSelector.EventFilter, n), "eventFilter").entry,
  );

  const policyCount = await unlessRefused(
    async () =>
      expectPef(
        await readPefParameter(execute, PefParameterSelector.NumberOfAlertPolicyEntries),
        "numberOfAlertPolicyEntries",
      ).count,
  );
  const policies = await readTable(
    policyCount ?? 0,
    async (n) =>
      expectPef(await readPefParameter(execute, PefParameterSelector.AlertPolicy, n), "alertPolicy").entry,
  );

  const community = expectLan(
    await readLanParameter(execute, channel, LAN_PARAMETER_SELECTORS.community),
    "community",
  );
  if (!community) throw new IpmiDecodeError("LAN parameter 16", "not a community string");
  const count = await unlessRefused(
    async () =>
      expectLan(
        await readLanParameter(execute, channel, LAN_PARAMETER_SELECTORS.destinationCount),
        "destinationCount",
      )?.count ?? 0,
  );
  const destinations: (AlertDestination | undefined)[] = [];
  for (let set = 1; set <= (count ?? 0); set++) {
    const type = await unlessRefused(() =>
      readLanData(execute, channel, LAN_PARAMETER_SELECTORS.destinationType, set),
    );
    const address =
      type &&
      (await unlessRefused(() =>
        readLanData(execute, channel, LAN_PARAMETER_SELECTORS.destinationAddress, set),
      ));
    if (!type || !address) break;
    const t = tryDecode(LAN_PARAMETER_SELECTORS.destinationType, type, "destinationType");
    const a = tryDecode(LAN_PARAMETER_SELECTORS.destinationAddress, address, "destinationAddress");
    // A reserved destination type or a non-IPv4 address: present, but not something petgate models.
    destinations.push(
      t && a
        ? {
            type: t.type,
            acknowledge: t.acknowledge,
            ackTimeoutSeconds: t.ackTimeoutSeconds,
            retries: t.retries,
            gateway: a.gateway,
            ip: a.ip,
            mac: a.mac,
          }
        : undefined,
    );
  }

  return {
    state: {
      control: {
        enable: control.enable,
        eventMessages: control.eventMessages,
        startupDelay: control.startupDelay,
        alertStartupDelay: control.alertStartupDelay,
      },
      actions,
      filters,
      policies,
      lan: { channel, community: community.community, destinations },
    },
    capacity: { filters: filters.length, policies: policies.length, destinations: destinations.length },
  };
}
