import { PrivilegeLevel } from "../../ipmi/commands/app.js";
import {
  armPefPostponeTimer,
  getPefCapabilities,
  getSensorReading,
  getSensorThresholds,
  PefPostpone,
  petAcknowledge,
  platformEvent,
} from "../../ipmi/commands/sensor-event.js";
import { CompletionCode, type Handler, serve } from "../handler.js";
import type { BmcHooks } from "../handlers.js";
import { isThresholdSensor, type SensorState, sensorReading, sensorThresholds } from "../sensors.js";
import type { BmcState } from "../state.js";

/**
 * Generator ID of a Platform Event Message in the LAN form, which carries none: system management
 * software 41h, as ipmitool puts in the system-interface form (PROTOCOL.md §5).
 */
const LAN_EVENT_GENERATOR_ID = 0x41;

/** Event, PEF and sensor commands; privileges per IPMI 2.0 Appendix G. */
export function eventHandlers(state: BmcState, hooks: Pick<BmcHooks, "petAcknowledge">): [string, Handler][] {
  const readableSensor = (sensorNumber: number): SensorState => {
    const sensor = state.sensors.get(sensorNumber);
    if (!sensor || sensor.record.kind === "eventOnly") throw new CompletionCode(0xcb);
    return sensor;
  };
  return [
    // §29.3: logged as a system event record, which reaches PEF through onSelEvent.
    serve(platformEvent, PrivilegeLevel.Operator, (m) => {
      state.logEvent({
        generatorId: { id: m.generatorId ?? LAN_EVENT_GENERATOR_ID, channel: 0, lun: 0 },
        evmRev: m.evmRev,
        sensorType: m.sensorType,
        sensorNumber: m.sensorNumber,
        eventDirection: m.eventDirection,
        eventType: m.eventType,
        eventData: [m.eventData1, m.eventData2, m.eventData3],
      });
    }),
    // §30.1: PEF 1.5 with every action.
    serve(getPefCapabilities, PrivilegeLevel.User, () => ({
      pefVersion: { major: 1, minor: 5 },
      actionSupport: {
        alert: true,
        powerDown: true,
        reset: true,
        powerCycle: true,
        oemAction: true,
        diagnosticInterrupt: true,
      },
      oemEventRecordFiltering: false,
      filterTableSize: state.pef.committed.eventFilters.length,
    })),
    // §30.2
    serve(armPefPostponeTimer, PrivilegeLevel.Administrator, ({ timeout }) => {
      if (timeout === PefPostpone.Disable) state.pefPostpone = { mode: "off" };
      else if (timeout === PefPostpone.TemporaryDisable) state.pefPostpone = { mode: "temporaryDisable" };
      else if (timeout !== PefPostpone.GetCountdown) {
        state.pefPostpone = { mode: "armed", until: state.now() + timeout };
      }
      const p = state.pefPostpone;
      if (p.mode === "off") return { countdown: 0 };
      if (p.mode === "temporaryDisable") return { countdown: PefPostpone.TemporaryDisable };
      return { countdown: Math.max(0, p.until - state.now()) };
    }),
    // §30.8: tools send it session-less (PROTOCOL.md §1), so any privilege will do; always 00h.
    serve(petAcknowledge, 0, (ack) => {
      hooks.petAcknowledge(ack);
    }),
    // §35.14
    serve(getSensorReading, PrivilegeLevel.User, ({ sensorNumber }) =>
      sensorReading(readableSensor(sensorNumber)),
    ),
    // §35.9: only full threshold records hold thresholds (CDh otherwise).
    serve(getSensorThresholds, PrivilegeLevel.User, ({ sensorNumber }) => {
      const { record } = readableSensor(sensorNumber);
      if (!isThresholdSensor(record)) throw new CompletionCode(0xcd);
      return sensorThresholds(record);
    }),
  ];
}
