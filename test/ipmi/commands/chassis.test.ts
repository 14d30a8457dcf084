import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ChassisStatus, getChassisStatus } from "../../../src/ipmi/commands/chassis.js";
import { NetFn } from "../../../src/ipmi/commands/command.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("Get Chassis Status", () => {
  it("is Chassis 01h with no request data", () => {
    expect([getChassisStatus.netFn, getChassisStatus.cmd]).toEqual([NetFn.Chassis, 0x01]);
    expect(getChassisStatus.encodeRequest()).toEqual(Buffer.alloc(0));
  });

  it("decodes power on, always-on policy, an IPMI power-on and no button byte", () => {
    // 41h = 0100_0001b: [6:5] 10b always power up, [0] power is on.
    const s = getChassisStatus.decodeResponse(hex("41 10 00"));
    expect(s).toEqual({
      currentPowerState: {
        powerOn: true,
        overload: false,
        interlock: false,
        fault: false,
        controlFault: false,
        restorePolicy: "alwaysOn",
      },
      lastPowerEvent: { acFailed: false, overload: false, interlock: false, fault: false, commandOn: true },
      miscChassisState: {
        intrusion: false,
        frontPanelLockout: false,
        driveFault: false,
        coolingFault: false,
        identifySupported: false,
        identifyState: "off",
      },
    } satisfies ChassisStatus);
  });

  it("decodes faults, intrusion, a temporary identify and the optional button byte", () => {
    const s = getChassisStatus.decodeResponse(hex("3e 0f 5f f1"));
    expect(s.currentPowerState).toEqual({
      powerOn: false,
      overload: true,
      interlock: true,
      fault: true,
      controlFault: true,
      restorePolicy: "previous",
    });
    expect(s.lastPowerEvent).toEqual({
      acFailed: true,
      overload: true,
      interlock: true,
      fault: true,
      commandOn: false,
    });
    expect(s.miscChassisState).toEqual({
      intrusion: true,
      frontPanelLockout: true,
      driveFault: true,
      coolingFault: true,
      identifySupported: true,
      identifyState: "temporaryOn",
    });
    expect(s.frontPanelButtons).toEqual({
      powerOffDisabled: true,
      resetDisabled: false,
      diagnosticInterruptDisabled: false,
      standbyDisabled: false,
      powerOffDisableAllowed: true,
      resetDisableAllowed: true,
      diagnosticInterruptDisableAllowed: true,
      standbyDisableAllowed: true,
    });
    expect(getChassisStatus.encodeResponse(s)).toEqual(hex("3e 0f 5f f1"));
  });

  it("rejects fewer than 3 bytes and more than 4", () => {
    expect(() => getChassisStatus.decodeResponse(hex("41 10"))).toThrow(IpmiDecodeError);
    expect(() => getChassisStatus.decodeResponse(hex("41 10 00 00 00"))).toThrow(/trailing/);
  });

  it("round-trips any status", () => {
    const b = fc.boolean();
    const arb: fc.Arbitrary<ChassisStatus> = fc
      .record({
        currentPowerState: fc.record({
          powerOn: b,
          overload: b,
          interlock: b,
          fault: b,
          controlFault: b,
          restorePolicy: fc.constantFrom("alwaysOff", "previous", "alwaysOn", "unknown" as const),
        }),
        lastPowerEvent: fc.record({ acFailed: b, overload: b, interlock: b, fault: b, commandOn: b }),
        miscChassisState: fc.record({
          intrusion: b,
          frontPanelLockout: b,
          driveFault: b,
          coolingFault: b,
          identifySupported: b,
          identifyState: fc.constantFrom("off", "temporaryOn", "indefiniteOn", "reserved" as const),
        }),
        frontPanelButtons: fc.option(
          fc.record({
            powerOffDisabled: b,
            resetDisabled: b,
            diagnosticInterruptDisabled: b,
            standbyDisabled: b,
            powerOffDisableAllowed: b,
            resetDisableAllowed: b,
            diagnosticInterruptDisableAllowed: b,
            standbyDisableAllowed: b,
          }),
          { nil: undefined },
        ),
      })
      .map(({ frontPanelButtons, ...s }) => ({ ...s, ...(frontPanelButtons && { frontPanelButtons }) }));
    fc.assert(
      fc.property(arb, (s) => {
        expect(getChassisStatus.decodeResponse(getChassisStatus.encodeResponse(s))).toEqual(s);
      }),
    );
  });
});
