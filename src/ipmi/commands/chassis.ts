import { ByteWriter, bit, flag } from "../bytes.js";
import { defineCommand, empty, expectEnd, NetFn } from "./command.js";

/** Byte 1 [6:5]: what the chassis does when AC returns. */
export type PowerRestorePolicy = "alwaysOff" | "previous" | "alwaysOn" | "unknown";
const RESTORE_POLICIES: readonly PowerRestorePolicy[] = ["alwaysOff", "previous", "alwaysOn", "unknown"];

/** Byte 3 [5:4]; 11b is reserved. */
export type ChassisIdentifyState = "off" | "temporaryOn" | "indefiniteOn" | "reserved";
const IDENTIFY_STATES: readonly ChassisIdentifyState[] = ["off", "temporaryOn", "indefiniteOn", "reserved"];

export interface ChassisStatus {
  currentPowerState: {
    powerOn: boolean;
    overload: boolean;
    interlock: boolean;
    fault: boolean;
    controlFault: boolean;
    restorePolicy: PowerRestorePolicy;
  };
  lastPowerEvent: {
    acFailed: boolean;
    overload: boolean;
    interlock: boolean;
    fault: boolean;
    /** [4] the last power-on was caused by an IPMI command. */
    commandOn: boolean;
  };
  miscChassisState: {
    intrusion: boolean;
    frontPanelLockout: boolean;
    driveFault: boolean;
    coolingFault: boolean;
    /** [6] identifyState is meaningful. */
    identifySupported: boolean;
    identifyState: ChassisIdentifyState;
  };
  /** Optional byte 4. */
  frontPanelButtons?: {
    powerOffDisabled: boolean;
    resetDisabled: boolean;
    diagnosticInterruptDisabled: boolean;
    standbyDisabled: boolean;
    powerOffDisableAllowed: boolean;
    resetDisableAllowed: boolean;
    diagnosticInterruptDisableAllowed: boolean;
    standbyDisableAllowed: boolean;
  };
}

// IPMI 2.0 §28.2 Get Chassis Status
export const getChassisStatus = defineCommand<void, ChassisStatus>({
  name: "Get Chassis Status",
  netFn: NetFn.Chassis,
  cmd: 0x01,
  encodeRequest: empty.encode,
  decodeRequest: (r) => expectEnd(r, "Get Chassis Status request"),
  encodeResponse(s) {
    const p = s.currentPowerState;
    const e = s.lastPowerEvent;
    const m = s.miscChassisState;
    const w = new ByteWriter()
      .u8(
        flag(p.powerOn, 0) |
          flag(p.overload, 1) |
          flag(p.interlock, 2) |
          flag(p.fault, 3) |
          flag(p.controlFault, 4) |
          (RESTORE_POLICIES.indexOf(p.restorePolicy) << 5),
      )
      .u8(
        flag(e.acFailed, 0) |
          flag(e.overload, 1) |
          flag(e.interlock, 2) |
          flag(e.fault, 3) |
          flag(e.commandOn, 4),
      )
      .u8(
        flag(m.intrusion, 0) |
          flag(m.frontPanelLockout, 1) |
          flag(m.driveFault, 2) |
          flag(m.coolingFault, 3) |
          (IDENTIFY_STATES.indexOf(m.identifyState) << 4) |
          flag(m.identifySupported, 6),
      );
    const b = s.frontPanelButtons;
    if (b) {
      w.u8(
        flag(b.powerOffDisabled, 0) |
          flag(b.resetDisabled, 1) |
          flag(b.diagnosticInterruptDisabled, 2) |
          flag(b.standbyDisabled, 3) |
          flag(b.powerOffDisableAllowed, 4) |
          flag(b.resetDisableAllowed, 5) |
          flag(b.diagnosticInterruptDisableAllowed, 6) |
          flag(b.standbyDisableAllowed, 7),
      );
    }
    return w.flush();
  },
  decodeResponse(r) {
    const p = r.u8();
    const e = r.u8();
    const m = r.u8();
    const status: ChassisStatus = {
      currentPowerState: {
        powerOn: bit(p, 0),
        overload: bit(p, 1),
        interlock: bit(p, 2),
        fault: bit(p, 3),
        controlFault: bit(p, 4),
        restorePolicy: RESTORE_POLICIES[(p >> 5) & 0x03] as PowerRestorePolicy,
      },
      lastPowerEvent: {
        acFailed: bit(e, 0),
        overload: bit(e, 1),
        interlock: bit(e, 2),
        fault: bit(e, 3),
        commandOn: bit(e, 4),
      },
      miscChassisState: {
        intrusion: bit(m, 0),
        frontPanelLockout: bit(m, 1),
        driveFault: bit(m, 2),
        coolingFault: bit(m, 3),
        identifySupported: bit(m, 6),
        identifyState: IDENTIFY_STATES[(m >> 4) & 0x03] as ChassisIdentifyState,
      },
    };
    if (r.remaining > 0) {
      const b = r.u8();
      status.frontPanelButtons = {
        powerOffDisabled: bit(b, 0),
        resetDisabled: bit(b, 1),
        diagnosticInterruptDisabled: bit(b, 2),
        standbyDisabled: bit(b, 3),
        powerOffDisableAllowed: bit(b, 4),
        resetDisableAllowed: bit(b, 5),
        diagnosticInterruptDisableAllowed: bit(b, 6),
        standbyDisableAllowed: bit(b, 7),
      };
    }
    expectEnd(r, "Get Chassis Status response");
    return status;
  },
});
