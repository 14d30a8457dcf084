import type { FruField, FruInventory } from "../ipmi/fru.js";

/** SMBIOS System Enclosure or Chassis Types (SMBIOS 3.x Table 17), 00h-1Dh, worded as ipmitool words them. */
const CHASSIS_TYPES = [
  "Unspecified",
  "Other",
  "Unknown",
  "Desktop",
  "Low Profile Desktop",
  "Pizza Box",
  "Mini Tower",
  "Tower",
  "Portable",
  "LapTop",
  "Notebook",
  "Hand Held",
  "Docking Station",
  "All in One",
  "Sub Notebook",
  "Space-saving",
  "Lunch Box",
  "Main Server Chassis",
  "Expansion Chassis",
  "SubChassis",
  "Bus Expansion Chassis",
  "Peripheral Chassis",
  "RAID Chassis",
  "Rack Mount Chassis",
  "Sealed-case PC",
  "Multi-system Chassis",
  "CompactPCI",
  "AdvancedTCA",
  "Blade",
  "Blade Enclosure",
];

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const CONTROLS = /[\p{Cc}\u2028\u2029]/gu;

/** strftime's "%c %Z" in the C locale, in UTC: "Mon Jan 15 08:30:00 2024 UTC". */
function cTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${clock} ${d.getUTCFullYear()} UTC`;
}

/**
 * A FRU inventory as `ipmitool fru print` prints FRU device 0 (ipmitool 1.8.19 lib/ipmi_fru.c, dates in
 * UTC as with -Z or TZ=UTC): the same labels in the same order; empty fields and the FRU file IDs
 * (shown only with -v) left out. Control characters are removed: the text comes from the BMC.
 */
export function fruPrintText(inventory: FruInventory): string {
  const lines = ["FRU Device Description : Builtin FRU Device (ID 0)"];
  const row = (label: string, value: string | undefined) => {
    const text = value?.replace(CONTROLS, "");
    if (text) lines.push(` ${label.padEnd(21)} : ${text}`);
  };
  const fields = (label: string, list: (FruField | undefined)[]) => {
    for (const f of list) row(label, f?.value ?? f?.raw.toString("hex"));
  };
  const { chassis, board, product } = inventory;
  if (chassis) {
    row("Chassis Type", CHASSIS_TYPES[chassis.chassisType] ?? CHASSIS_TYPES[2]);
    fields("Chassis Part Number", [chassis.partNumber]);
    fields("Chassis Serial", [chassis.serialNumber]);
    fields("Chassis Extra", chassis.custom);
  }
  if (board) {
    row("Board Mfg Date", board.mfgDate === null ? "Unspecified" : cTime(board.mfgDate));
    fields("Board Mfg", [board.manufacturer]);
    fields("Board Product", [board.productName]);
    fields("Board Serial", [board.serialNumber]);
    fields("Board Part Number", [board.partNumber]);
    fields("Board Extra", board.custom);
  }
  if (product) {
    fields("Product Manufacturer", [product.manufacturer]);
    fields("Product Name", [product.name]);
    fields("Product Part Number", [product.partNumber]);
    fields("Product Version", [product.version]);
    fields("Product Serial", [product.serialNumber]);
    fields("Product Asset Tag", [product.assetTag]);
    fields("Product Extra", product.custom);
  }
  return lines.join("\n");
}
