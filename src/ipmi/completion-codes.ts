/** Completion codes (IPMI 2.0 §5.2, Table 5-2). Command-specific codes 80h-BEh are named per command. */
const GENERIC: Readonly<Record<number, string>> = {
  0x00: "Command completed normally",
  0xc0: "Node busy",
  0xc1: "Invalid command",
  0xc2: "Command invalid for given LUN",
  0xc3: "Timeout while processing command",
  0xc4: "Out of space",
  0xc5: "Reservation canceled or invalid reservation ID",
  0xc6: "Request data truncated",
  0xc7: "Request data length invalid",
  0xc8: "Request data field length limit exceeded",
  0xc9: "Parameter out of range",
  0xca: "Cannot return number of requested data bytes",
  0xcb: "Requested sensor, data, or record not present",
  0xcc: "Invalid data field in request",
  0xcd: "Command illegal for specified sensor or record type",
  0xce: "Command response could not be provided",
  0xcf: "Cannot execute duplicated request",
  0xd0: "SDR repository in update mode",
  0xd1: "Device in firmware update mode",
  0xd2: "BMC initialization in progress",
  0xd3: "Destination unavailable",
  0xd4: "Insufficient privilege level",
  0xd5: "Command not supported in present state",
  0xd6: "Command sub-function disabled or unavailable",
  0xff: "Unspecified error",
};

export function completionCodeName(code: number, commandSpecific?: Readonly<Record<number, string>>): string {
  const name = commandSpecific?.[code] ?? GENERIC[code];
  if (name) return name;
  if (code >= 0x01 && code <= 0x7e) return "OEM completion code";
  if (code >= 0x80 && code <= 0xbe) return "Command-specific completion code";
  return "Reserved completion code";
}

/** Set/Get LAN and PEF Configuration Parameters share these (IPMI 2.0 §23.1, §30.3). */
export const CONFIG_PARAMETER_CODES: Readonly<Record<number, string>> = {
  0x80: "Parameter not supported",
  0x81: "Attempt to set the 'set in progress' value when not in the 'set complete' state",
  0x82: "Attempt to write a read-only parameter",
  0x83: "Attempt to read a write-only parameter",
};
