import { createHash } from "node:crypto";
import type { BmcTarget } from "../../config/inventory.js";
import type { SelConfig } from "../../config/sel.js";
import type { Execute } from "../../ipmi/commands/command.js";
import { type GetSelInfoResponse, getSelInfo } from "../../ipmi/commands/storage.js";
import { SEL_RECORD_LENGTH } from "../../ipmi/sel.js";
import { sensorSpecificOffsetText } from "../../pet/tables/sensor-specific.js";
import { sensorTypeName } from "../../pet/tables/sensor-types.js";
import type { PetSeverity } from "../../pet/tables/severity.js";
import type { Notification } from "../alerting/notification.js";
import { ARCHIVE_RESULTS, type ArchiveOutcome, type ArchiveResult, archiveAndClear } from "./archive.js";

/** A BMC's SEL fill, as /api/bmcs shows it under `sel`. */
export interface SelFill {
  entries: number;
  freeBytes: number;
  /** Bytes in use of entries × 16 + free, rounded down (what `ipmitool sel info` calls Percent Used). */
  percent: number;
  /** Operation support bit 7 (IPMI 2.0 §31.2): the BMC has dropped events for lack of space. */
  overflow: boolean;
}

export interface SelHealthState extends SelFill {
  /** Archive-and-clear runs by result, since this process took the sweeps over. */
  archives?: Record<ArchiveResult, number>;
  /** The last one: when (ISO-8601), how it ended, the file or why the SEL was kept. */
  lastArchive?: { at: string; result: ArchiveResult; records: number; file?: string; reason?: string };
}

export interface SelHealthOptions {
  config: SelConfig;
  /** Where archives go when `config.archive_dir` is absent (serve: sel-archive in its data dir). */
  archiveDir: string;
  emit: (notification: Notification) => void;
  log: (line: string) => void;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

type Condition = "almostFull" | "full";

/** Sensor type 10h Event Logging Disabled, offsets 05h SEL Almost Full and 04h SEL Full (IPMI 2.0 Table 42-3). */
const EVENT_LOGGING_DISABLED = 0x10;
const CONDITIONS: Record<Condition, { offset: number; severity: PetSeverity }> = {
  almostFull: { offset: 0x05, severity: "non-critical" },
  full: { offset: 0x04, severity: "critical" },
};

interface Incident {
  startsAt: number;
  /** `full_percent` when it fired (the summary names it, firing and resolved alike). */
  percent: number;
  /** The SEL's most recent erase when it fired: one filling of the SEL, across petgate restarts. */
  erasedAt: number | null;
}

interface BmcSel {
  fill: SelFill;
  incidents: Partial<Record<Condition, Incident>>;
  archives?: Record<ArchiveResult, number>;
  lastArchive?: SelHealthState["lastArchive"];
}

/**
 * SEL health (issue 16): after each Get SEL Info of the SEL sweep, a notification when the SEL is
 * `full_percent` full and another when it is full (events are being lost), each resolved when the
 * SEL drops back; with `archive_and_clear`, at `full_percent` the SEL is archived and cleared
 * (archive.ts), and only a failure to do so raises the first.
 *
 * Ids are deterministic per BMC, condition, the SEL's most recent erase and status: a restarted
 * petgate that finds the same filling sends the same id, which delivery skips as delivered.
 */
export class SelHealth {
  private readonly bmcs = new Map<string, BmcSel>();
  private readonly now: () => number;

  constructor(private readonly options: SelHealthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** After reconciliation read this BMC's new records. May archive and clear (then returns "cleared"). */
  async observe(target: BmcTarget, info: GetSelInfoResponse, execute: Execute): Promise<"kept" | "cleared"> {
    const { config } = this.options;
    let current = info;
    let archive: ArchiveOutcome | undefined;
    if (config.archive_and_clear && fillOf(info).percent >= config.full_percent) {
      archive = await archiveAndClear({
        execute,
        bmc: target.name,
        dir: config.archive_dir ?? this.options.archiveDir,
        seen: info,
        now: this.now,
      });
      this.noteArchive(target.name, archive);
      if (archive.result === "cleared") current = await execute(getSelInfo, undefined);
    }
    const bmc = this.bmc(target.name);
    bmc.fill = fillOf(current);
    // Events were lost if the SEL was full when read, whatever archiving did since.
    this.transition(target, "full", isFull(info), info);
    this.transition(target, "full", isFull(current), current);
    this.transition(target, "almostFull", bmc.fill.percent >= config.full_percent, current, archive);
    return archive?.result === "cleared" ? "cleared" : "kept";
  }

  /** What /api/bmcs shows under sel: fill percent, entries, free bytes, overflow. */
  state(name: string): SelHealthState | undefined {
    const bmc = this.bmcs.get(name);
    if (!bmc) return undefined;
    return {
      ...bmc.fill,
      ...(bmc.archives && { archives: { ...bmc.archives } }),
      ...(bmc.lastArchive && { lastArchive: bmc.lastArchive }),
    };
  }

  private bmc(name: string): BmcSel {
    let bmc = this.bmcs.get(name);
    if (!bmc) {
      bmc = { fill: { entries: 0, freeBytes: 0, percent: 0, overflow: false }, incidents: {} };
      this.bmcs.set(name, bmc);
    }
    return bmc;
  }

  private noteArchive(name: string, outcome: ArchiveOutcome): void {
    const bmc = this.bmc(name);
    bmc.archives ??= archiveCounts();
    bmc.archives[outcome.result]++;
    bmc.lastArchive = {
      at: new Date(this.now()).toISOString(),
      result: outcome.result,
      records: outcome.records,
      ...(outcome.file !== undefined && { file: outcome.file }),
      ...(outcome.reason !== undefined && { reason: outcome.reason }),
    };
    this.options.log(
      outcome.result === "cleared"
        ? `sel: ${name}: ${outcome.records} record(s) archived to ${outcome.file}, SEL cleared`
        : `sel: ${name}: SEL not cleared (${outcome.result}): ${outcome.reason}`,
    );
  }

  private transition(
    target: BmcTarget,
    condition: Condition,
    active: boolean,
    info: GetSelInfoResponse,
    archive?: ArchiveOutcome,
  ): void {
    const bmc = this.bmc(target.name);
    const incident = bmc.incidents[condition];
    if (active === (incident !== undefined)) return;
    const detail = describe(info, condition, this.options.config, archive);
    if (incident) {
      delete bmc.incidents[condition];
      this.options.emit(selNotification(target, condition, incident, detail, this.now()));
    } else {
      const started = {
        startsAt: this.now(),
        percent: this.options.config.full_percent,
        erasedAt: info.mostRecentErase,
      };
      bmc.incidents[condition] = started;
      this.options.emit(selNotification(target, condition, started, detail));
    }
  }
}

/** Zero runs of each result. */
export function archiveCounts(): Record<ArchiveResult, number> {
  return Object.fromEntries(ARCHIVE_RESULTS.map((r) => [r, 0])) as Record<ArchiveResult, number>;
}

export function fillOf(info: GetSelInfoResponse): SelFill {
  const used = info.entries * SEL_RECORD_LENGTH;
  const total = used + info.freeBytes;
  return {
    entries: info.entries,
    freeBytes: info.freeBytes,
    percent: total === 0 ? 0 : Math.floor((used * 100) / total),
    overflow: info.overflow,
  };
}

/** No room for another record, or the BMC says it dropped events (IPMI 2.0 §31.2). */
function isFull(info: GetSelInfoResponse): boolean {
  return info.overflow || (info.entries > 0 && info.freeBytes < SEL_RECORD_LENGTH);
}

function describe(
  info: GetSelInfoResponse,
  condition: Condition,
  config: SelConfig,
  archive: ArchiveOutcome | undefined,
): string {
  const fill = fillOf(info);
  const parts = [`SEL ${fill.percent}% full: ${fill.entries} records, ${fill.freeBytes} bytes free`];
  if (fill.overflow) parts.push("overflow flag set: the BMC has dropped events for lack of space");
  if (condition === "almostFull" && fill.percent >= config.full_percent)
    parts.push(
      archive
        ? `archive and clear: ${archive.reason}`
        : "save and clear it (ipmitool sel save FILE, then ipmitool sel clear) or set sel.archive_and_clear",
    );
  return parts.join("; ");
}

/** Deterministic per BMC, condition, the erase the filling started from, and status. */
function selNotificationId(
  bmc: string,
  condition: Condition,
  erasedAt: number | null,
  status: string,
): string {
  return createHash("sha256")
    .update(`sel-health|${bmc}|${condition}|${erasedAt ?? "never"}|${status}`)
    .digest("hex")
    .slice(0, 32);
}

/** Firing, or resolved at `endsAt`; both share what receivers key alerts on (BMC, summary, text, startsAt). */
function selNotification(
  target: BmcTarget,
  condition: Condition,
  incident: Incident,
  detail: string,
  endsAt?: number,
): Notification {
  const status = endsAt === undefined ? "firing" : "resolved";
  const { offset, severity } = CONDITIONS[condition];
  const startsAt = new Date(incident.startsAt).toISOString();
  const notification: Notification = {
    version: 1,
    id: selNotificationId(target.name, condition, incident.erasedAt, status),
    status,
    severity,
    summary: `${target.name}: ${condition === "full" ? "SEL full: events are being lost" : `SEL ${incident.percent}% full`}`,
    detail,
    bmc: { name: target.name, address: target.host, labels: { ...target.labels } },
    event: {
      time: null,
      sensorType: sensorTypeName(EVENT_LOGGING_DISABLED),
      sensorNumber: 0,
      text: sensorSpecificOffsetText(EVENT_LOGGING_DISABLED, offset) ?? null,
      direction: status === "firing" ? "assertion" : "deassertion",
      eventData: "",
    },
    enrichment: "none",
    receivedAt: new Date(endsAt ?? incident.startsAt).toISOString(),
    startsAt,
    origin: "health",
  };
  if (endsAt !== undefined) notification.endsAt = new Date(endsAt).toISOString();
  return notification;
}
