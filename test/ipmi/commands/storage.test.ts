import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IpmiCommand } from "../../../src/ipmi/commands/command.js";
import {
  ADD_SEL_ENTRY_CODES,
  addSelEntry,
  clearSel,
  GET_SEL_ENTRY_CODES,
  getSdr,
  getSdrRepositoryInfo,
  getSelEntry,
  getSelInfo,
  getSelTime,
  reserveSdrRepository,
  reserveSel,
} from "../../../src/ipmi/commands/storage.js";
import { completionCodeName } from "../../../src/ipmi/completion-codes.js";
import { IpmiDecodeError } from "../../../src/ipmi/errors.js";
import { decodeSelRecord } from "../../../src/ipmi/sel.js";
import { GET_SDR_EXCHANGES, hex } from "../sdr/ipmi-sim-sdrs.js";

/**
 * Request and response data (after the completion code) of `ipmitool … raw 0x0a <cmd> …` against
 * OpenIPMI ipmi_sim 2.0.33 (test/interop/ipmi_sim, lanplus cipher 3), in the order they were sent.
 */
const IPMI_SIM = {
  /** Get SEL Info on the empty SEL; ipmitool `sel info`: 1.5, 0 entries, … */
  selInfoEmpty: hex("51 0000 803e 00000000 00000000 0a"),
  /** After three Add SEL Entry: "Entries 3, Free Space 15952 bytes, Supported Cmds 'Delete' 'Reserve'". */
  selInfoThree: hex("51 0300 503e 25070000 00000000 0a"),
  /** After Clear SEL: last erase at SEL time 072Ah. */
  selInfoCleared: hex("51 0000 803e 25070000 2a070000 0a"),
  reserveSel: hex("0100"),
  selTime: hex("25070000"),
  addSelEntryRequest: hex("0000 02 00000000 20 00 04 01 01 01 59 60 70"),
  addSelEntryResponse: hex("0100"),
  getSelEntryRequest: hex("0200 0100 00 ff"),
  getSelEntryResponse: hex("0200 0100 02 25070000 20 00 04 01 01 01 59 60 70"),
  clearSelInitiate: hex("0300 434c52 aa"),
  clearSelStatus: hex("0300 434c52 00"),
  /** ipmi_sim erases at once: "erasure completed" for both actions. */
  clearSelResponse: hex("01"),
  /** Get SDR Repository Info; ipmitool: "SDR free space: 65534, SDR records: 6". */
  sdrRepositoryInfo: hex("51 0600 feff 08ee016b 00000000 02"),
  reserveSdr: hex("0500"),
};

function roundTrip<Req, Res>(command: IpmiCommand<Req, Res>, request: Buffer, response: Buffer): void {
  expect(command.encodeRequest(command.decodeRequest(request))).toEqual(request);
  expect(command.encodeResponse(command.decodeResponse(response))).toEqual(response);
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const timestamp = fc.option(fc.integer({ min: 0, max: 0xfffffffe }), { nil: null });

describe("storage commands (netFn 0Ah)", () => {
  it("carry the spec's netFn and command numbers", () => {
    const commands: { name: string; netFn: number; cmd: number }[] = [
      getSelInfo,
      reserveSel,
      getSelEntry,
      addSelEntry,
      clearSel,
      getSelTime,
      getSdrRepositoryInfo,
      reserveSdrRepository,
      getSdr,
    ];
    const table = commands.map((c) => [c.name, c.netFn, c.cmd]);
    expect(table).toEqual([
      ["Get SEL Info", 0x0a, 0x40],
      ["Reserve SEL", 0x0a, 0x42],
      ["Get SEL Entry", 0x0a, 0x43],
      ["Add SEL Entry", 0x0a, 0x44],
      ["Clear SEL", 0x0a, 0x47],
      ["Get SEL Time", 0x0a, 0x48],
      ["Get SDR Repository Info", 0x0a, 0x20],
      ["Reserve SDR Repository", 0x0a, 0x22],
      ["Get SDR", 0x0a, 0x23],
    ]);
  });

  describe("Get SEL Info", () => {
    it("decodes ipmi_sim's answer as ipmitool `sel info` showed it", () => {
      expect(getSelInfo.decodeResponse(IPMI_SIM.selInfoThree)).toEqual({
        version: 0x51,
        entries: 3,
        freeBytes: 15952,
        mostRecentAddition: 0x725,
        mostRecentErase: 0,
        overflow: false,
        deleteSupported: true,
        partialAddSupported: false,
        reserveSupported: true,
        getAllocationInfoSupported: false,
      });
      expect(getSelInfo.decodeResponse(IPMI_SIM.selInfoCleared)).toMatchObject({
        entries: 0,
        mostRecentErase: 0x72a,
      });
    });

    it("reads FFFFFFFFh timestamps as null (never added / erased) and writes them back", () => {
      const b = hex("51 0000 ffff ffffffff ffffffff 8f");
      const res = getSelInfo.decodeResponse(b);
      expect(res).toMatchObject({ mostRecentAddition: null, mostRecentErase: null, overflow: true });
      expect(getSelInfo.encodeResponse(res)).toEqual(b);
    });

    it("encodes every captured answer back to the same bytes; the request is empty", () => {
      for (const b of [IPMI_SIM.selInfoEmpty, IPMI_SIM.selInfoThree, IPMI_SIM.selInfoCleared]) {
        expect(getSelInfo.encodeResponse(getSelInfo.decodeResponse(b))).toEqual(b);
      }
      expect(getSelInfo.encodeRequest()).toEqual(Buffer.alloc(0));
    });

    it("rejects a short answer with IpmiDecodeError", () => {
      expect(() => getSelInfo.decodeResponse(IPMI_SIM.selInfoThree.subarray(0, 13))).toThrow(IpmiDecodeError);
    });

    it("round-trips any answer", () => {
      const arb = fc.record({
        version: fc.integer({ min: 0, max: 0xff }),
        entries: u16,
        freeBytes: u16,
        mostRecentAddition: timestamp,
        mostRecentErase: timestamp,
        overflow: fc.boolean(),
        deleteSupported: fc.boolean(),
        partialAddSupported: fc.boolean(),
        reserveSupported: fc.boolean(),
        getAllocationInfoSupported: fc.boolean(),
      });
      fc.assert(
        fc.property(arb, (res) => {
          expect(getSelInfo.decodeResponse(getSelInfo.encodeResponse(res))).toEqual(res);
        }),
      );
    });
  });

  it("Reserve SEL / Reserve SDR Repository / Get SEL Time decode ipmi_sim's answers", () => {
    expect(reserveSel.decodeResponse(IPMI_SIM.reserveSel)).toEqual({ reservationId: 1 });
    expect(reserveSdrRepository.decodeResponse(IPMI_SIM.reserveSdr)).toEqual({ reservationId: 5 });
    expect(getSelTime.decodeResponse(IPMI_SIM.selTime)).toEqual({ time: 1829 });
    expect(reserveSel.encodeResponse({ reservationId: 1 })).toEqual(IPMI_SIM.reserveSel);
    expect(getSelTime.encodeResponse({ time: 1829 })).toEqual(IPMI_SIM.selTime);
  });

  describe("Get SEL Entry / Add SEL Entry", () => {
    it("decodes the Get SEL Entry exchange: next record 0002h and the 16-byte record", () => {
      expect(getSelEntry.decodeRequest(IPMI_SIM.getSelEntryRequest)).toEqual({
        reservationId: 2,
        recordId: 1,
        offset: 0,
        bytesToRead: 0xff,
      });
      const res = getSelEntry.decodeResponse(IPMI_SIM.getSelEntryResponse);
      expect(res.nextRecordId).toBe(2);
      expect(decodeSelRecord(res.recordData)).toMatchObject({ kind: "system", recordId: 1, sensorType: 1 });
      roundTrip(getSelEntry, IPMI_SIM.getSelEntryRequest, IPMI_SIM.getSelEntryResponse);
    });

    it("Add SEL Entry carries a typed record and answers its new record ID", () => {
      const req = addSelEntry.decodeRequest(IPMI_SIM.addSelEntryRequest);
      expect(req.record).toMatchObject({ kind: "system", eventType: 1, eventData: [0x59, 0x60, 0x70] });
      expect(addSelEntry.decodeResponse(IPMI_SIM.addSelEntryResponse)).toEqual({ recordId: 1 });
      roundTrip(addSelEntry, IPMI_SIM.addSelEntryRequest, IPMI_SIM.addSelEntryResponse);
      expect(() => addSelEntry.decodeRequest(IPMI_SIM.addSelEntryRequest.subarray(0, 15))).toThrow(
        IpmiDecodeError,
      );
    });

    it("name their command-specific completion codes", () => {
      expect(completionCodeName(0x80, ADD_SEL_ENTRY_CODES)).toBe(
        "Operation not supported for this record type",
      );
      expect(completionCodeName(0x81, GET_SEL_ENTRY_CODES)).toBe(
        "Cannot execute command, SEL erase in progress",
      );
    });
  });

  describe("Clear SEL", () => {
    it("writes the reservation, 'CLR' and AAh (initiate) or 00h (status), as ipmitool sent them", () => {
      expect(clearSel.encodeRequest({ reservationId: 3, action: "initiate" })).toEqual(
        IPMI_SIM.clearSelInitiate,
      );
      expect(clearSel.encodeRequest({ reservationId: 3, action: "getStatus" })).toEqual(
        IPMI_SIM.clearSelStatus,
      );
      expect(clearSel.decodeRequest(IPMI_SIM.clearSelInitiate)).toEqual({
        reservationId: 3,
        action: "initiate",
      });
      expect(clearSel.decodeResponse(IPMI_SIM.clearSelResponse)).toEqual({ erasureProgress: "completed" });
      expect(clearSel.decodeResponse(Buffer.of(0))).toEqual({ erasureProgress: "inProgress" });
      roundTrip(clearSel, IPMI_SIM.clearSelStatus, IPMI_SIM.clearSelResponse);
    });

    it("rejects a request without 'CLR' (ipmi_sim answers CCh to 'CLQ') or with another action", () => {
      expect(() => clearSel.decodeRequest(hex("0300 434c51 aa"))).toThrow(IpmiDecodeError);
      expect(() => clearSel.decodeRequest(hex("0300 434c52 55"))).toThrow(IpmiDecodeError);
      expect(() => clearSel.decodeResponse(Buffer.of(0x02))).toThrow(IpmiDecodeError);
    });
  });

  describe("SDR repository", () => {
    it("decodes Get SDR Repository Info as ipmitool reported it: 6 records, 65534 bytes free", () => {
      expect(getSdrRepositoryInfo.decodeResponse(IPMI_SIM.sdrRepositoryInfo)).toEqual({
        version: 0x51,
        recordCount: 6,
        freeSpace: 65534,
        mostRecentAddition: 0x6b01ee08,
        mostRecentErase: 0,
        overflow: false,
        updateSupport: "unspecified",
        deleteSupported: false,
        partialAddSupported: false,
        reserveSupported: true,
        getAllocationInfoSupported: false,
      });
      expect(
        getSdrRepositoryInfo.encodeResponse(getSdrRepositoryInfo.decodeResponse(IPMI_SIM.sdrRepositoryInfo)),
      ).toEqual(IPMI_SIM.sdrRepositoryInfo);
    });

    it("reads the update-support bits [6:5]", () => {
      expect(getSdrRepositoryInfo.decodeResponse(hex("51 0000 0000 00000000 00000000 60"))).toMatchObject({
        updateSupport: "modalAndNonModal",
      });
      expect(getSdrRepositoryInfo.decodeResponse(hex("51 0000 0000 00000000 00000000 20"))).toMatchObject({
        updateSupport: "nonModal",
      });
    });

    it("decodes ipmi_sim's Get SDR exchanges and encodes them back", () => {
      const first = GET_SDR_EXCHANGES.firstHeader;
      expect(getSdr.decodeRequest(first.request)).toEqual({
        reservationId: 7,
        recordId: 0,
        offset: 0,
        bytesToRead: 5,
      });
      expect(getSdr.decodeResponse(first.response)).toEqual({
        nextRecordId: 2,
        recordData: hex("0100 51 12 14"),
      });
      expect(getSdr.decodeResponse(GET_SDR_EXCHANGES.lastHeader.response).nextRecordId).toBe(0xffff);
      for (const { request, response } of Object.values(GET_SDR_EXCHANGES))
        roundTrip(getSdr, request, response);
    });

    it("round-trips any record read request and response", () => {
      const req = fc.record({
        reservationId: u16,
        recordId: u16,
        offset: fc.nat(0xff),
        bytesToRead: fc.nat(0xff),
      });
      const res = fc.record({
        nextRecordId: u16,
        recordData: fc.uint8Array({ maxLength: 33 }).map((a) => Buffer.from(a)),
      });
      fc.assert(
        fc.property(req, res, (q, s) => {
          expect(getSdr.decodeRequest(getSdr.encodeRequest(q))).toEqual(q);
          expect(getSdr.decodeResponse(getSdr.encodeResponse(s))).toEqual(s);
          expect(getSelEntry.decodeRequest(getSelEntry.encodeRequest(q))).toEqual(q);
        }),
      );
    });
  });

  it("round-trips Get SEL Time and reservation IDs", () => {
    fc.assert(
      fc.property(u32, u16, (time, reservationId) => {
        expect(getSelTime.decodeResponse(getSelTime.encodeResponse({ time }))).toEqual({ time });
        expect(reserveSel.decodeResponse(reserveSel.encodeResponse({ reservationId }))).toEqual({
          reservationId,
        });
      }),
    );
  });
});
