import type { Execute } from "../../src/ipmi/commands/command.js";
import { CompletionCodeError } from "../../src/ipmi/errors.js";
import type { EventFilterEntry } from "../../src/ipmi/pef.js";
import type { PefState } from "../../src/pef/state.js";
import { ALERT_POLICY_1, TEMPERATURE_FILTER } from "../support/pef-fixtures.js";

/** The ipmiutil-style threshold filter for another sensor type (PROTOCOL.md §6 filters 1-3). */
export const thresholdFilter = (sensorType: number): EventFilterEntry => ({
  ...structuredClone(TEMPERATURE_FILTER),
  sensorType,
});

/**
 * The desired state of the tests: PEF and its alert action on, filters 1-3 (temperature, voltage, fan)
 * alerting through policy 1, policy entry 1 → channel 1 destination 1, community "public",
 * destination 1 = 127.0.0.1 (PET, no ack, 1 s, no retries: ipmiutil's `n 00 01 00`).
 */
export function desiredState(options: { destinations?: boolean } = {}): PefState {
  return {
    control: { enable: true, eventMessages: false, startupDelay: false, alertStartupDelay: false },
    actions: {
      alert: true,
      powerDown: false,
      reset: false,
      powerCycle: false,
      oemAction: false,
      diagnosticInterrupt: false,
    },
    filters: [thresholdFilter(0x01), thresholdFilter(0x02), thresholdFilter(0x04)],
    policies: [ALERT_POLICY_1],
    lan: {
      channel: 1,
      community: "public",
      destinations:
        options.destinations === false
          ? []
          : [
              {
                type: "pet",
                acknowledge: false,
                ackTimeoutSeconds: 1,
                retries: 0,
                gateway: "default",
                ip: "127.0.0.1",
                mac: "00:00:00:00:00:00",
              },
            ],
    },
  };
}

/** Counts the commands an Execute sends, by name. */
export function counting(execute: Execute) {
  const calls: string[] = [];
  const wrapped: Execute = (command, request) => {
    calls.push(command.name);
    return execute(command, request);
  };
  return { execute: wrapped, calls };
}

/**
 * An Execute that fails one request the way a BMC would, with a completion code: the first request
 * for which `fails` says true (counting from 1 per matching request) is not sent.
 */
export function failing(
  execute: Execute,
  fails: (name: string, request: unknown) => number | undefined,
): { execute: Execute; sent: string[] } {
  const sent: string[] = [];
  const wrapped: Execute = (command, request) => {
    const code = fails(command.name, request);
    if (code !== undefined) return Promise.reject(new CompletionCodeError(command.name, code, "injected"));
    sent.push(command.name);
    return execute(command, request);
  };
  return { execute: wrapped, sent };
}

/** Entry `i` of a list that the test knows is there. */
export function nth<T>(list: readonly (T | undefined)[], i: number): T {
  const found = list[i];
  if (found === undefined) throw new Error(`no entry ${i}`);
  return found;
}
