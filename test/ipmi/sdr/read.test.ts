import { describe, expect, it } from "vitest";
import type { Execute, IpmiCommand } from "../../../src/ipmi/commands/command.js";
import {
  getSdr,
  getSelEntry,
  type RecordReadRequest,
  reserveSdrRepository,
  reserveSel,
} from "../../../src/ipmi/commands/storage.js";
import { completionCodeName } from "../../../src/ipmi/completion-codes.js";
import { CompletionCodeError } from "../../../src/ipmi/errors.js";
import { readSdrRepository, readSelEntries } from "../../../src/ipmi/sdr/read.js";
import { decodeSdr, encodeSdr } from "../../../src/ipmi/sdr/records.js";
import { decodeSelRecord } from "../../../src/ipmi/sel.js";
import {
  GET_SDR_EXCHANGES,
  hex,
  IPMI_SIM_FF_OVERREAD,
  IPMI_SIM_MAX_GET_SDR_COUNT,
  IPMI_SIM_SDR_LIST,
} from "./ipmi-sim-sdrs.js";

interface Call {
  cmd: string;
  request?: RecordReadRequest;
  code: number;
}

interface FakeBmc {
  execute: Execute;
  calls: Call[];
  /** Another client reserves: the reservation held now is cancelled. */
  steal(): void;
}

/**
 * A BMC that stores records and answers as ipmi_sim does (see ipmi-sim-sdrs.ts): counts above 21h → CAh,
 * FFh = rest of the record plus 6 bytes past its end, a superseded reservation → C5h, 0000h accepted,
 * an unknown record → CBh. Requests and responses go through the command codecs both ways, as on a wire.
 */
function fakeBmc(
  records: readonly Buffer[],
  opts: {
    reserveCommand?: IpmiCommand<void, { reservationId: number }>;
    readCommand?: IpmiCommand<RecordReadRequest, { nextRecordId: number; recordData: Buffer }>;
    /** Calls (by index into calls) before which the reservation is stolen. */
    stealBefore?: number[];
    maxCount?: number;
  } = {},
): FakeBmc {
  const reserveCommand = opts.reserveCommand ?? reserveSdrRepository;
  const readCommand = opts.readCommand ?? getSdr;
  const maxCount = opts.maxCount ?? IPMI_SIM_MAX_GET_SDR_COUNT;
  let reservation = 0x10;
  const calls: Call[] = [];
  const fail = (name: string, code: number): never => {
    throw new CompletionCodeError(name, code, completionCodeName(code));
  };
  const serve = (command: IpmiCommand<unknown, unknown>, wire: Buffer): Buffer => {
    if (opts.stealBefore?.includes(calls.length)) reservation++;
    if (command.name === reserveCommand.name) {
      calls.push({ cmd: "reserve", code: 0 });
      reservation++;
      return reserveCommand.encodeResponse({ reservationId: reservation });
    }
    if (command.name !== readCommand.name) return fail(command.name, 0xc1);
    const req = readCommand.decodeRequest(wire);
    const call: Call = { cmd: "read", request: req, code: 0 };
    calls.push(call);
    const index = req.recordId === 0 ? 0 : records.findIndex((r) => r.readUInt16LE(0) === req.recordId);
    const record = records[index];
    const code =
      req.reservationId !== 0 && req.reservationId !== reservation
        ? 0xc5
        : !record
          ? 0xcb
          : (req.bytesToRead === 0xff ? record.length + IPMI_SIM_FF_OVERREAD - req.offset : req.bytesToRead) >
              maxCount
            ? 0xca
            : 0;
    call.code = code;
    if (code || !record) return fail(readCommand.name, code);
    const padded = Buffer.concat([record, Buffer.alloc(IPMI_SIM_FF_OVERREAD)]);
    const count = req.bytesToRead === 0xff ? padded.length - req.offset : req.bytesToRead;
    const next = records[index + 1];
    return readCommand.encodeResponse({
      nextRecordId: next ? next.readUInt16LE(0) : 0xffff,
      recordData: padded.subarray(req.offset, req.offset + count),
    });
  };
  const execute = (async (command: IpmiCommand<unknown, unknown>, request: unknown) =>
    command.decodeResponse(serve(command, command.encodeRequest(request)))) as Execute;
  return { execute, calls, steal: () => reservation++ };
}

/** The calls as rows: ["reserve"] or [recordId, offset, bytesToRead, completion code]. */
const reads = (calls: Call[]): (number | string)[][] =>
  calls.map((c) =>
    c.request ? [c.request.recordId, c.request.offset, c.request.bytesToRead, c.code] : ["reserve"],
  );

describe("readSdrRepository", () => {
  it("the fake BMC answers the Get SDR exchanges captured from ipmi_sim byte for byte", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST);
    for (const { request, response } of [GET_SDR_EXCHANGES.firstHeader, GET_SDR_EXCHANGES.wholeMcLocator]) {
      const req = { ...getSdr.decodeRequest(request), reservationId: 0 };
      expect(getSdr.encodeResponse(await bmc.execute(getSdr, req))).toEqual(response);
    }
  });

  it("reads ipmi_sim's six records: header first, then 16-byte chunks, following next IDs to FFFFh", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST);
    const records = await readSdrRepository(bmc.execute);
    expect(records).toEqual(IPMI_SIM_SDR_LIST.map((b) => decodeSdr(b)));
    expect(records.map((r) => r.kind)).toEqual([
      "mcDeviceLocator",
      "eventOnly",
      "full",
      "full",
      "compact",
      "fruDeviceLocator",
    ]);
    expect(reads(bmc.calls).slice(0, 8)).toEqual([
      ["reserve"],
      [0, 0, 5, 0], // record 0000h = first; it is record 1
      [1, 5, 16, 0],
      [1, 21, 4, 0],
      [2, 0, 5, 0],
      [2, 5, 16, 0],
      [2, 21, 4, 0],
      [3, 0, 5, 0],
    ]);
    expect(bmc.calls.every((c) => c.code === 0)).toBe(true);
  });

  it("shrinks the chunk on CAh until ipmi_sim serves it (whole-body asks of the 54-byte MBTemp)", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST);
    const records = await readSdrRepository(bmc.execute, { maxChunk: 0xff });
    expect(records).toEqual(IPMI_SIM_SDR_LIST.map((b) => decodeSdr(b)));
    // Records 1 and 2 (20-byte bodies) come in one read each; MBTemp's 49-byte body is refused
    // until the ask is down to 33 bytes, which then stays the chunk for SubTemp.
    const rows = reads(bmc.calls);
    expect(rows.filter((c) => c[0] === 1 || c[0] === 2)).toEqual([
      [1, 5, 20, 0],
      [2, 0, 5, 0],
      [2, 5, 20, 0],
    ]);
    expect(rows.filter((c) => c[0] === 3 || c[0] === 4)).toEqual([
      [3, 0, 5, 0],
      [3, 5, 49, 0xca],
      [3, 5, 45, 0xca],
      [3, 5, 41, 0xca],
      [3, 5, 37, 0xca],
      [3, 5, 33, 0],
      [3, 38, 16, 0],
      [4, 0, 5, 0],
      [4, 5, 33, 0],
      [4, 38, 17, 0],
    ]);
  });

  it("steps down by 4 from the configured chunk on each CAh, as FreeIPMI does", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST, { maxCount: 24 });
    await readSdrRepository(bmc.execute, { maxChunk: 32 });
    const mbTemp = reads(bmc.calls).filter((c) => c[0] === 3);
    expect(mbTemp).toEqual([
      [3, 0, 5, 0],
      [3, 5, 32, 0xca],
      [3, 5, 28, 0xca],
      [3, 5, 24, 0],
      [3, 29, 24, 0],
      [3, 53, 1, 0],
    ]);
  });

  it("gives up with the CAh error once the chunk is at its floor", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST, { maxCount: 3 });
    await expect(readSdrRepository(bmc.execute, { maxChunk: 8, minChunk: 4 })).rejects.toMatchObject({
      name: "CompletionCodeError",
      code: 0xca,
    });
  });

  it("on C5h (reservation cancelled) reserves again and re-reads that record from its header", async () => {
    // Call 5 is record 2's first body chunk (reserve, header 1, body 1, body 1, header 2, body 2 …).
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST, { stealBefore: [5] });
    const records = await readSdrRepository(bmc.execute);
    expect(records).toEqual(IPMI_SIM_SDR_LIST.map((b) => decodeSdr(b)));
    expect(reads(bmc.calls).slice(0, 9)).toEqual([
      ["reserve"],
      [0, 0, 5, 0],
      [1, 5, 16, 0],
      [1, 21, 4, 0],
      [2, 0, 5, 0],
      [2, 5, 16, 0xc5],
      ["reserve"],
      [2, 0, 5, 0],
      [2, 5, 16, 0],
    ]);
  });

  it("stops after too many cancelled reservations", async () => {
    const bmc = fakeBmc(IPMI_SIM_SDR_LIST, { stealBefore: [2, 5, 8, 11] });
    await expect(readSdrRepository(bmc.execute, { maxReservations: 3 })).rejects.toThrow(
      /reservation cancelled 3/,
    );
  });

  it("keeps unknown record types raw, and known ones that do not decode raw with the reason", async () => {
    const entityAssociation = hex("0200 51 08 0b 07 01 80 08 01 08 02 00 00 00 00");
    const badCompact = Buffer.from(IPMI_SIM_SDR_LIST[4] as Buffer);
    badCompact.writeUInt16LE(3, 0);
    badCompact[23] = 0x20; // ID string instance modifier type 10b: reserved
    const bmc = fakeBmc([IPMI_SIM_SDR_LIST[0] as Buffer, entityAssociation, badCompact]);
    const records = await readSdrRepository(bmc.execute);
    expect(records.map((r) => r.kind)).toEqual(["mcDeviceLocator", "unknown", "unknown"]);
    expect(records[1]).toMatchObject({ recordType: 0x08, body: entityAssociation.subarray(5) });
    expect(records[2]).toMatchObject({ recordType: 0x02, decodeError: expect.stringMatching(/reserved/) });
    expect(encodeSdr(records[1] as never)).toEqual(entityAssociation);
  });

  it("refuses a next-record chain that loops", async () => {
    const a = Buffer.from(IPMI_SIM_SDR_LIST[0] as Buffer);
    const loop: Execute = (async (command: IpmiCommand<unknown, unknown>, request: unknown) => {
      if (command.name === reserveSdrRepository.name) return { reservationId: 1 };
      const req = request as RecordReadRequest;
      return { nextRecordId: 1, recordData: a.subarray(req.offset, req.offset + req.bytesToRead) };
    }) as Execute;
    await expect(readSdrRepository(loop)).rejects.toThrow(/loop/);
  });
});

/** SEL records captured from ipmi_sim (see sel.test.ts), record IDs 1-3. */
const SEL = [
  hex("0100 02 25070000 20 00 04 01 01 01 59 60 70"),
  hex("0200 c1 25070000 911200 010203040506"),
  hex("0300 e5 000102030405060708090a0b0c"),
];

describe("readSelEntries", () => {
  const selBmc = (records: Buffer[], stealBefore?: number[]) =>
    fakeBmc(records, { reserveCommand: reserveSel, readCommand: getSelEntry, stealBefore, maxCount: 0x21 });

  it("reads every record from 0000h until next ID FFFFh", async () => {
    const bmc = selBmc(SEL);
    expect(await readSelEntries(bmc.execute)).toEqual(SEL.map((b) => decodeSelRecord(b)));
    expect(reads(bmc.calls)).toEqual([["reserve"], [0, 0, 0xff, 0], [2, 0, 0xff, 0], [3, 0, 0xff, 0]]);
  });

  it("gives [] for an empty SEL (ipmi_sim answers CBh for record 0000h)", async () => {
    expect(await readSelEntries(selBmc([]).execute)).toEqual([]);
  });

  it("reserves again on C5h and retries the same entry", async () => {
    const bmc = selBmc(SEL, [2]);
    expect(await readSelEntries(bmc.execute)).toHaveLength(3);
    expect(reads(bmc.calls)).toEqual([
      ["reserve"],
      [0, 0, 0xff, 0],
      [2, 0, 0xff, 0xc5],
      ["reserve"],
      [2, 0, 0xff, 0],
      [3, 0, 0xff, 0],
    ]);
  });

  it("reads with reservation 0000h when the BMC has no Reserve SEL (C1h)", async () => {
    const bmc = selBmc(SEL);
    const noReserve: Execute = (async (command: IpmiCommand<unknown, unknown>, request: unknown) => {
      if (command.name === reserveSel.name)
        throw new CompletionCodeError(command.name, 0xc1, "Invalid command");
      return bmc.execute(command, request);
    }) as Execute;
    expect(await readSelEntries(noReserve)).toHaveLength(3);
    expect(bmc.calls.map((c) => c.request?.reservationId)).toEqual([0, 0, 0]);
  });
});
