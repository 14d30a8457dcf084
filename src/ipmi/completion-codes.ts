/** Completion codes (IPMI 2.0 §5.2, Table 5-2). Command-specific codes 80h-BEh are named per command. */
const GENERIC: Readonly<Record<number, string>> = {
  0: "Command completed normally",
  192: "Node busy",
  193: "Invalid command",
  194: "Command invalid for given LUN",
  195: "Timeout while processing command",
  196: "Out of space",
  197: "Reservation canceled or invalid reservation ID",
  198: "Request data truncated",
  199: "Request data length invalid",
  200: "Request data field length limit exceeded",
  201: "Parameter out of range",
  202: "Cannot return number of requested data bytes",
  203: "Requested sensor, data, or record not present",
  204: "Invalid data field in request",
  205: "Command illegal for specified sensor or record type",
  206: "Command response could not be provided",
  207: "Cannot execute duplicated request",
  208: "SDR repository in update mode",
  209: "Device in firmware update mode",
  210: "BMC initialization in progress",
  211: "Destination unavailable",
  212: "Insufficient privilege level",
  213: "Command not supported in present state",
  214: "Command sub-function disabled or unavailable",
  255: "Unspecified error",
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
  128: "Parameter not supported",
  129: "Attempt to set the 'set in progress' value when not in the 'set complete' state",
  130: "Attempt to write a read-only parameter",
  131: "Attempt to read a write-only parameter",
};
