import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { CompletionCodeError } from "../../src/ipmi/errors.js";
import {
  decodeFru,
  encodeFru,
  FruFormatError,
  fruIdentity,
  MAX_IDENTITY_LENGTH,
} from "../../src/ipmi/fru.js";
import { readFru, readFruLayout } from "../../src/ipmi/fru-read.js";
import { commandKey, type Handler } from "../../src/sim/handler.js";
import { bmcHandlers } from "../../src/sim/handlers.js";
import { BmcState } from "../../src/sim/state.js";

/** The simulator's default FRU device 0 (simFruBytes defaults, BMC 1), as ipmitool fru read saves it. */
const SIM_FRU = Buffer.from(
  "010001040b0000ef010317c850472d43482d3155c553494d4331c100000000380107199e07e1c770657467617465d353696d756c" +
    "6174656420424d4320626f617264c553494d4231ca50472d4d422d30303031c0c1000066010719c770657467617465cb7065" +
    "74676174652073696dc850472d53494d2d31c3312e30c553494d5031c6415353455431c0c100000000c4",
  "hex",
);

/** A header with only a board area at 8, then `board` (version, length and checksum filled in). */
function withBoard(fields: number[], language = 0): Buffer {
  const body = [0x01, 0, language, 0, 0, 0, ...fields, 0xc1];
  while ((body.length + 1) % 8 !== 0) body.push(0);
  body[1] = (body.length + 1) / 8;
  body.push((0x100 - (body.reduce((a, b) => a + b, 0) & 0xff)) & 0xff);
  return Buffer.from([0x01, 0, 0, 0x01, 0, 0, 0, 0xfe, ...body]);
}

describe("FRU decoding", () => {
  it("decodes the simulator's bytes: header, areas, mfg date, every field", () => {
    const fru = decodeFru(SIM_FRU);
    expect(fru.warnings).toEqual([]);
    expect(fru.header).toEqual({
      formatVersion: 1,
      internalUse: 0,
      chassis: 8,
      board: 32,
      product: 88,
      multiRecord: 0,
    });
    expect(fru.chassis?.chassisType).toBe(23);
    expect(fru.board?.language).toBe(25);
    // 2024-01-15 08:30 UTC: 0x07E19E = 516,510 minutes after 1996-01-01.
    expect(new Date((fru.board?.mfgDate ?? 0) * 1000).toISOString()).toBe("2024-01-15T08:30:00.000Z");
    expect(fru.board?.fruFileId).toEqual({ type: "text", raw: Buffer.alloc(0), value: "" });
    expect(fruIdentity(fru)).toEqual({
      boardManufacturer: "petgate",
      boardProduct: "Simulated BMC board",
      boardSerial: "SIMB1",
      boardPartNumber: "PG-MB-0001",
      productManufacturer: "petgate",
      productName: "petgate sim",
      productPartNumber: "PG-SIM-1",
      productVersion: "1.0",
      productSerial: "SIMP1",
      assetTag: "ASSET1",
      chassisSerial: "SIMC1",
      chassisPartNumber: "PG-CH-1U",
    });
  });

  it("decodes 6-bit packed ASCII, BCD plus, binary and UCS-2 fields", () => {
    // "IPMI" packed: 29 30 2D 29 → bytes 29 DC A6; BCD plus 12 3A → "123 "; binary DE AD.
    const fru = decodeFru(
      withBoard([0x83, 0x29, 0xdc, 0xa6, 0x42, 0x12, 0x3a, 0x02, 0xde, 0xad, 0xc0, 0xc0]),
    );
    expect(fru.warnings).toEqual([]);
    expect(fru.board?.manufacturer).toMatchObject({ type: "ascii6", value: "IPMI" });
    expect(fru.board?.productName).toMatchObject({ type: "bcdPlus", value: "123 " });
    expect(fru.board?.serialNumber).toMatchObject({ type: "binary", value: "dead" });
    expect(fru.board?.mfgDate).toBeNull();
    // Language 1 (not English): type 11b is UCS-2, least significant byte first.
    const french = decodeFru(withBoard([0xc4, 0xe9, 0x00, 0x74, 0x00, 0xc0, 0xc0, 0xc0, 0xc0], 1));
    expect(french.board?.manufacturer?.value).toBe("ét");
  });

  it("keeps what it can read: a bad checksum, a reserved BCD digit, a field past the end", () => {
    const bytes = withBoard([0xc3, 0x41, 0x42, 0x43, 0x41, 0xfd, 0xc2, 0x58, 0x59, 0xc0, 0xc0]);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    const fru = decodeFru(bytes);
    expect(fru.board?.manufacturer?.value).toBe("ABC");
    expect(fru.board?.productName).toEqual({ type: "bcdPlus", raw: Buffer.of(0xfd) });
    expect(fru.board?.serialNumber?.value).toBe("XY");
    expect(fru.warnings).toEqual([
      expect.stringMatching(/^board area: checksum [0-9A-F]{2}h, not a zero sum$/),
      "board area: bcdPlus field fd cannot be decoded",
    ]);
    const cut = decodeFru(SIM_FRU.subarray(0, 60));
    expect(cut.chassis?.serialNumber?.value).toBe("SIMC1");
    expect(cut.board?.manufacturer?.value).toBe("petgate");
    expect(cut.product).toBeUndefined();
    expect(cut.warnings).toEqual([
      "board area: 56 bytes from offset 32 run past the 60 bytes read",
      "board area: a 19-byte field runs past the area's end",
      "board area: ends before its serialNumber field",
      "board area: no end-of-fields marker (C1h)",
      "product area: offset 88 is past the 60 bytes read",
    ]);
  });

  it("refuses what has no FRU common header", () => {
    expect(() => decodeFru(Buffer.of(1, 0, 0))).toThrow(FruFormatError);
    expect(() => decodeFru(Buffer.from("0200000000000000", "hex"))).toThrow(/format version 2, not 1/);
  });

  it("never throws on other bytes after a header, and keeps identity strings bounded and free of controls", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(255), fc.nat(255), (tail, board, product) => {
        const header = [1, 0, 1, board & 0x3f, product & 0x3f, 0, 0];
        header.push((0x100 - (header.reduce((a, b) => a + b, 0) & 0xff)) & 0xff);
        const fru = decodeFru(Buffer.from([...header, ...tail]));
        for (const v of Object.values(fruIdentity(fru))) {
          expect(v.length).toBeLessThanOrEqual(MAX_IDENTITY_LENGTH);
          expect(v).not.toMatch(/[\p{Cc}\p{Cf}]/u);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes what it encodes", () => {
    const text = fc
      .string({
        unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
        maxLength: 63,
      })
      .filter((s) => s.length !== 1);
    expect(() => encodeFru({ product: { name: "X" } })).toThrow(/C1h/);
    fc.assert(
      fc.property(
        fc.record({
          part: text,
          serial: text,
          mfg: text,
          asset: text,
          custom: fc.array(text, { maxLength: 4 }),
        }),
        fc.integer({ min: 0, max: 0xffffff }),
        (f, minutes) => {
          const fru = decodeFru(
            encodeFru({
              chassis: { chassisType: 23, partNumber: f.part, serialNumber: f.serial, custom: f.custom },
              board: { mfgDate: minutes === 0 ? null : 820_454_400 + minutes * 60, manufacturer: f.mfg },
              product: { assetTag: f.asset },
            }),
          );
          expect(fru.warnings).toEqual([]);
          expect(fru.chassis?.partNumber?.value).toBe(f.part);
          expect(fru.chassis?.serialNumber?.value).toBe(f.serial);
          expect(fru.chassis?.custom.map((c) => c.value)).toEqual(f.custom);
          expect(fru.board?.mfgDate).toBe(minutes === 0 ? null : 820_454_400 + minutes * 60);
          expect(fru.board?.manufacturer?.value).toBe(f.mfg);
          expect(fru.product?.assetTag?.value).toBe(f.asset);
        },
      ),
    );
  });
});

/** The simulator's handlers as an Execute; reads of more than `limit` bytes answer CAh first. */
function simExecute(limit: number): { execute: Execute; counts: number[] } {
  const handlers = bmcHandlers(new BmcState({ adminPassword: "x" }), {
    coldReset: () => undefined,
    petAcknowledge: () => false,
  });
  const counts: number[] = [];
  const execute: Execute = async (command, request) => {
    const data = command.encodeRequest(request);
    if (command.cmd === 0x11) counts.push(data[3] as number);
    const handler = handlers.get(commandKey(command.netFn, command.cmd)) as Handler;
    const result =
      command.cmd === 0x11 && (data[3] as number) > limit
        ? { completionCode: 0xca, data: Buffer.alloc(0) }
        : await handler(data, { privilege: 4, userId: 2, sessionId: 1 });
    if (result.completionCode !== 0) throw new CompletionCodeError(command.name, result.completionCode, "");
    return command.decodeResponse(result.data);
  };
  return { execute, counts };
}

describe("reading a FRU device", () => {
  it("reads the header, then each area in 24-byte chunks", async () => {
    const { execute, counts } = simExecute(32);
    const read = await readFru(execute);
    expect(read.bytes).toEqual(SIM_FRU);
    expect(read.size).toBe(SIM_FRU.length);
    // Chassis (24 bytes at 8) in one read; board and product (56 each) in 24 + 24 + 8.
    expect(counts).toEqual([8, 24, 24, 24, 8, 24, 24, 8]);
    expect(read.requests).toBe(counts.length);
  });

  it("asks for fewer bytes after CAh, as ipmitool does", async () => {
    const { execute, counts } = simExecute(20);
    const read = await readFru(execute);
    expect(read.bytes).toEqual(SIM_FRU);
    expect(counts.slice(0, 6)).toEqual([8, 24, 23, 22, 21, 20]);
    expect(Math.max(...counts.slice(6))).toBe(20);
  });

  it("tells a layout by two requests: the area size and the common header", async () => {
    const { execute, counts } = simExecute(32);
    expect(await readFruLayout(execute)).toEqual({
      size: 144,
      byWords: false,
      header: SIM_FRU.subarray(0, 8),
    });
    expect(counts).toEqual([8]);
  });
});
