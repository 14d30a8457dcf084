import type { Execute } from "./commands/command.js";
import {
  type GetFruInventoryAreaInfoResponse,
  getFruInventoryAreaInfo,
  readFruData,
} from "./commands/storage.js";
import { CompletionCodeError, IpmiDecodeError } from "./errors.js";
import { decodeFru, decodeFruHeader, type FruInventory } from "./fru.js";

/**
 * Completion codes that mean "ask for fewer bytes": C7h (length invalid), C8h (field length exceeded),
 * CAh (cannot return the number of bytes requested), as ipmitool treats them; and C3h (timeout while
 * processing), which some BMCs answer to a read too long for them.
 */
const TOO_LARGE = new Set([0xc3, 0xc7, 0xc8, 0xca]);
/** The common header's length (FRU spec §8). */
const HEADER_LENGTH = 8;
/** Areas start at most at 255 × 8 and are at most 255 × 8 long: nothing past this is read. */
export const MAX_FRU_BYTES = 2 * 255 * 8;

export interface ReadFruOptions {
  /** Bytes asked for per Read FRU Data at first: what ipmitool reads over LAN. */
  maxChunk?: number;
  /** A too-large answer shrinks the count by one down to this; at the floor it is an error. */
  minChunk?: number;
}

const DEFAULTS: Required<ReadFruOptions> = { maxChunk: 24, minChunk: 8 };

/** What identifies a FRU's layout cheaply: Get FRU Inventory Area Info and the common header. */
export interface FruLayout extends GetFruInventoryAreaInfoResponse {
  header: Buffer;
}

export interface FruReadResult extends FruLayout {
  /** The device's bytes from 0 to the end of the last area read; what was not read (internal use, multirecords) is zero. */
  bytes: Buffer;
  inventory: FruInventory;
  /** Read FRU Data requests sent (too-large answers included). */
  requests: number;
}

/** One FRU device's Read FRU Data in chunks that shrink when the BMC says they are too large. */
class FruDevice {
  requests = 0;
  private chunk: number;

  constructor(
    private readonly execute: Execute,
    private readonly fruDeviceId: number,
    readonly info: GetFruInventoryAreaInfoResponse,
    private readonly minChunk: number,
    maxChunk: number,
  ) {
    this.chunk = maxChunk;
  }

  /** What one request asks for now. */
  get chunkSize(): number {
    return this.chunk;
  }

  /** Up to `length` bytes from `offset`, cut at the device's size; fewer if the device returns none. */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.info.size);
    const parts: Buffer[] = [];
    const unit = this.info.byWords ? 2 : 1;
    for (let at = offset; at < end; ) {
      const want = Math.min(this.chunk, end - at);
      this.requests++;
      let answer: { count: number; data: Buffer };
      try {
        answer = await this.execute(readFruData, {
          fruDeviceId: this.fruDeviceId,
          offset: Math.floor(at / unit),
          count: Math.ceil(want / unit),
        });
      } catch (err) {
        if (err instanceof CompletionCodeError && TOO_LARGE.has(err.code) && this.chunk > this.minChunk) {
          this.chunk--;
          continue;
        }
        throw err;
      }
      const got = answer.count * unit;
      if (got > answer.data.length)
        throw new IpmiDecodeError(
          "Read FRU Data response",
          `count ${answer.count} but ${answer.data.length} byte(s)`,
        );
      // A device smaller than its Get FRU Inventory Area Info says returns nothing: keep what was read.
      if (got === 0) break;
      parts.push(answer.data.subarray(0, Math.min(got, end - at)));
      at += got;
    }
    return Buffer.concat(parts);
  }
}

async function openDevice(
  execute: Execute,
  fruDeviceId: number,
  options: ReadFruOptions,
): Promise<{ device: FruDevice; header: Buffer }> {
  const { maxChunk, minChunk } = { ...DEFAULTS, ...options };
  if (minChunk < 2 || maxChunk < minChunk) throw new RangeError("readFru needs 2 <= minChunk <= maxChunk");
  const info = await execute(getFruInventoryAreaInfo, { fruDeviceId });
  const device = new FruDevice(execute, fruDeviceId, info, minChunk, maxChunk);
  const header = await device.read(0, HEADER_LENGTH);
  return { device, header };
}

/** Get FRU Inventory Area Info and the common header: two requests, to tell whether a FRU changed. */
export async function readFruLayout(
  execute: Execute,
  fruDeviceId = 0,
  options: ReadFruOptions = {},
): Promise<FruLayout> {
  const { device, header } = await openDevice(execute, fruDeviceId, options);
  return { ...device.info, header };
}

/**
 * Reads and decodes a FRU inventory (IPMI 2.0 §34, FRU spec §8-13): Get FRU Inventory Area Info,
 * the common header, then each chassis, board and product area present (its first chunk gives its
 * length). A header that is no FRU header throws FruFormatError.
 */
export async function readFru(
  execute: Execute,
  fruDeviceId = 0,
  options: ReadFruOptions = {},
): Promise<FruReadResult> {
  const { device, header } = await openDevice(execute, fruDeviceId, options);
  const offsets = decodeFruHeader(header);
  const image = Buffer.alloc(Math.min(device.info.size, MAX_FRU_BYTES));
  header.copy(image);
  let end = header.length;
  for (const offset of [offsets.chassis, offsets.board, offsets.product]) {
    if (offset === 0 || offset >= image.length) continue;
    const first = await device.read(offset, device.chunkSize);
    const length = (first[1] ?? 0) * 8;
    const rest =
      length > first.length ? await device.read(offset + first.length, length - first.length) : undefined;
    const area = rest ? Buffer.concat([first, rest]) : first;
    area.copy(image, offset);
    end = Math.max(end, Math.min(offset + area.length, image.length));
  }
  const bytes = image.subarray(0, end);
  return { ...device.info, header, bytes, inventory: decodeFru(bytes), requests: device.requests };
}
