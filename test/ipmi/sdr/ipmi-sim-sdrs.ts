/**
 * SDR bytes served by OpenIPMI ipmi_sim 2.0.33 with test/interop/ipmi_sim (sdrs.txt compiled by
 * sdrcomp), captured with ipmitool 1.8.19 over lanplus, cipher 3:
 * `ipmitool … sdr dump FILE` (whole records) and `ipmitool … raw 0x0a 0x2X …` (single exchanges).
 */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** `sdr dump`: the six records, header included, in repository order (record IDs 1-6). */
export const IPMI_SIM_SDRS = {
  /** Type 12h, MC device locator "IPMI sim1". */
  mcLocator: hex("0100 51 12 14 20 00 00 8f 000000 07 01 00 c9 49504d492073696d31"),
  /** Type 03h, event-only "watchdog" (Watchdog 2, sensor-specific). */
  watchdog: hex("0200 51 03 14 20 00 00 07 01 23 6f 0000 00 00 c8 7761746368646f67"),
  /** Type 01h, full "MBTemp": owner 20h, sensor 1, degrees C, M=1 B=0, accuracy 1, input. */
  mbTemp: hex(
    "0300 51 01 31 20 00 01 07 01 45 00 01 01 0000 0000 0000 00 01 00 00 01 00 00 01 01 00 00 00 00 00 ff 00" +
      "000000000000 00 00 0000 00 c6 4d4254656d70",
  ),
  /** Type 01h, full "SubTemp", owner 30h. */
  subTemp: hex(
    "0400 51 01 32 30 00 01 07 01 45 00 01 01 0000 0000 0000 00 01 00 00 01 00 00 01 01 00 00 00 00 00 ff 00" +
      "000000000000 00 00 0000 00 c7 53756254656d70",
  ),
  /** Type 02h, compact "mm1pres" (entity presence, memory module 1). */
  mm1pres: hex(
    "0500 51 02 22 20 00 02 08 01 00 00 25 6f 0300 0300 0300 c0 00 00 0000 00 00 000000 00 c7 6d6d3170726573",
  ),
  /** Type 11h, FRU device locator "mm2frudev". */
  mm2frudev: hex("0600 51 11 14 30 03 80 00 00 10 00 08 02 00 c9 6d6d32667275646576"),
} as const;

export const IPMI_SIM_SDR_LIST: readonly Buffer[] = Object.values(IPMI_SIM_SDRS);

/**
 * `ipmitool raw 0x0a 0x23 <reservation> <record> <offset> <count>` against ipmi_sim: response data
 * after the completion code (next record ID, then record bytes).
 */
export const GET_SDR_EXCHANGES = {
  /** Header of the first record, asked for as record 0000h: next = 0002h, record 0001h. */
  firstHeader: { request: hex("0700 0000 00 05"), response: hex("0200 0100 51 12 14") },
  /** Header of the last record: next = FFFFh. */
  lastHeader: { request: hex("0700 0600 00 05"), response: hex("ffff 0600 51 11 14") },
  /** MBTemp body, first 16 bytes from offset 5. */
  mbTempChunk: {
    request: hex("0800 0300 05 10"),
    response: hex("0400 20 00 01 07 01 45 00 01 01 00 00 00 00 00 00 00"),
  },
  /**
   * FFh for record 1 (25 bytes): ipmi_sim returns 31 record bytes, the last 6 past the record's end.
   * Readers must keep only the record's own bytes.
   */
  wholeMcLocator: {
    request: hex("0700 0100 00 ff"),
    response: hex(
      "0200 0100 51 12 14 20 00 00 8f 00 00 00 07 01 00 c9 49 50 4d 49 20 73 69 6d 31 00 00 00 00 00 00",
    ),
  },
} as const;

/**
 * ipmi_sim's limits, measured with `ipmitool raw` (completion codes in brackets): a Get SDR count up to
 * 21h (33 bytes) is served, 22h and more [CAh]; FFh means the rest of the record plus 6 bytes, so the
 * 54-byte MBTemp at offset 0 [CAh] while the 25-byte records come whole; an older reservation ID [C5h];
 * reservation 0000h is accepted; record 0007h [CBh].
 */
export const IPMI_SIM_MAX_GET_SDR_COUNT = 0x21;
export const IPMI_SIM_FF_OVERREAD = 6;
