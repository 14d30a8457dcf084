import { z } from "zod";
import { PET_TABLE_SEVERITIES } from "../pet/tables/severity.js";
import { duration } from "../pipeline/alerting/route.js";

/**
 * SEL reconciliation and SEL health (what FreeIPMI's ipmiseld does for one box, for the fleet): the
 * SEL of every inventory BMC is read for records whose PET never arrived, and watched for filling up.
 */
export const selSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("read every inventory BMC's SEL (reconciliation and SEL health)"),
    interval: duration(true)
      .default("5m")
      .describe("time between two reads of one BMC's SEL (and at once after it recovers or petgate starts)"),
    pet_grace: duration(false)
      .default("30s")
      .describe("how long a record's PET may take to arrive before the record is alerted from the SEL"),
    min_severity: z
      .enum(PET_TABLE_SEVERITIES)
      .optional()
      .describe("also alert on records of at least this severity that no PEF filter of the BMC matches"),
    full_percent: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(80)
      .describe("a BMC's SEL this full (percent of its capacity) is an alert; full (events lost) is another"),
    archive_and_clear: z
      .boolean()
      .default(false)
      .describe("at full_percent, write the SEL to archive_dir, then Clear SEL (never without the archive)"),
    archive_dir: z
      .string()
      .min(1)
      .optional()
      .describe("where archived SEL records go (default: sel-archive under the serve data directory)"),
  })
  .strict();

export type SelConfig = z.infer<typeof selSchema>;
