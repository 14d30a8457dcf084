import { z } from "zod";
import { duration } from "../pipeline/alerting/route.js";

/** Alert history (src/history/): every event, notification and delivery, searchable for the retention. */
export const historySchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("keep the alert history (the workers feed it; the HTTP process keeps the file)"),
    retention: duration(true).default("30d").describe("how long events are kept"),
    path: z
      .string()
      .min(1)
      .optional()
      .describe("the history file (SQLite; default: history.sqlite under the serve data directory)"),
  })
  .strict();

export type HistoryConfig = z.infer<typeof historySchema>;
