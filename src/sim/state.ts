import { randomBytes } from "node:crypto";
import type { DeviceId } from "../ipmi/commands/app.js";
import type { ChassisStatus } from "../ipmi/commands/chassis.js";
import type { PayloadAccess } from "../ipmi/commands/payload.js";
import type { SolBitRate } from "../ipmi/commands/sol.js";
import type {
  AlertDestinationType,
  AuthTypes,
  CipherSuitePrivilege,
  IpAddressSource,
} from "../ipmi/commands/transport.js";
import { BMC_ADDRESS } from "../ipmi/message.js";
import {
  type AlertPolicyEntry,
  EMPTY_ALERT_POLICY,
  EMPTY_EVENT_FILTER,
  type EventFilterEntry,
  type PefActionFlags,
  type SetInProgressState,
} from "../ipmi/pef.js";
import type { SdrRecord } from "../ipmi/sdr/records.js";
import type { SelRecord, SystemEventRecord } from "../ipmi/sel.js";
import { defaultSensorRepository, type SensorRepository } from "./default-sdr.js";
import { simFruBytes, simFruSchema } from "./fru.js";
import { CompletionCode } from "./handler.js";
import { initialSensorState, type SensorState } from "./sensors.js";

/**
 * IANA enterprise number 32473, reserved for documentation and examples (RFC 5612): a simulated
 * BMC names no real vendor. Override with BmcStateOptions.manufacturerId.
 */
export const DEFAULT_MANUFACTURER_ID = 32473;
export const DEFAULT_PRODUCT_ID = 0x0001;
/** Cipher suites of LAN parameter 23; 0 (no authentication) is never offered (PROTOCOL.md §7). */
export const DEFAULT_CIPHER_SUITES: readonly number[] = [1, 2, 3, 15, 16, 17];
export const DEFAULT_SEL_CAPACITY = 1024;
/** Table sizes: event filters and alert policy entries (PEF parameters 5, 8). */
export const PEF_TABLE_SIZE = 16;
/** Non-volatile LAN alert destinations (parameter 17); selector 0, the volatile one, comes on top. */
export const LAN_DESTINATION_COUNT = 15;
/** Alert strings besides the volatile string 0 (PEF parameter 11), each up to this many 16-byte blocks. */
export const ALERT_STRING_COUNT = 2;
export const ALERT_STRING_BLOCKS = 4;
/** Parameter 24 carries a privilege nibble for each of up to 16 cipher suite entries. */
const CIPHER_SUITE_ENTRIES = 16;
/**
 * Intel's OEM LAN parameters, served when the BMC says it is Intel's (IANA 343): 192 DHCP server IP,
 * 193 DHCP server MAC, 194 DHCP enable. ipmiutil's lan -e writes 194 (00h: static address) on an
 * Intel BMC other than its mini-BMC and iBMC products, and counts an error if that fails.
 */
const INTEL_MANUFACTURER_ID = 343;
const INTEL_OEM_LAN_PARAMETERS = { 192: Buffer.alloc(4), 193: Buffer.alloc(6), 194: Buffer.of(0x00) };

/** A user account (IPMI 2.0 §22.26-22.30); the session server authenticates against these. */
export interface UserAccount {
  id: number;
  name: string;
  password: string;
  /** Channel privilege limit, 1 callback … 4 administrator. */
  maxPrivilege: number;
  enabled: boolean;
}

/** The System Event Log (IPMI 2.0 §31). Timestamps are Unix seconds; null = never. */
export interface SelLog {
  records: SelRecord[];
  nextRecordId: number;
  capacity: number;
  mostRecentAddition: number | null;
  mostRecentErase: number | null;
  /** Set when an event was dropped because the log was full. */
  overflow: boolean;
}

/** The SDR repository (IPMI 2.0 §33); read-only in the simulator. */
export interface SdrRepository {
  records: SdrRecord[];
  mostRecentAddition: number | null;
  mostRecentErase: number | null;
}

export interface AlertString {
  /** Alert string keys (PEF parameter 12). */
  filterNumber: number;
  stringSet: number;
  /** Parameter 13 blocks, concatenated. */
  text: Buffer;
}

/** PEF configuration parameters 1-13 (IPMI 2.0 §30.3, Table 30-6). Entry N-1 is filter/policy N. */
export interface PefConfig {
  control: { enable: boolean; eventMessages: boolean; startupDelay: boolean; alertStartupDelay: boolean };
  actionGlobalControl: PefActionFlags;
  startupDelaySeconds: number;
  alertStartupDelaySeconds: number;
  eventFilters: EventFilterEntry[];
  alertPolicies: AlertPolicyEntry[];
  systemGuid: { useGuid: boolean; guid: Buffer };
  /** Index = string selector; 0 is the volatile string. */
  alertStrings: AlertString[];
}

/** One LAN alert destination: parameters 18, 19 and 25 for its selector. */
export interface AlertDestination {
  acknowledge: boolean;
  type: AlertDestinationType;
  ackTimeoutSeconds: number;
  retries: number;
  gateway: "default" | "backup";
  ip: string;
  mac: string;
  vlan: { format: "none" | "vlanTag"; vlanTag: number };
}

/** The writable LAN configuration parameters of channel 1 (IPMI 2.0 §23.1, Table 23-4). */
export interface LanConfig {
  authTypeEnables: {
    callback: AuthTypes;
    user: AuthTypes;
    operator: AuthTypes;
    admin: AuthTypes;
    oem: AuthTypes;
  };
  ipAddress: string;
  ipAddressSource: IpAddressSource;
  macAddress: string;
  subnetMask: string;
  ipv4Header: { timeToLive: number; flags: number; precedence: number; typeOfService: number };
  primaryRmcpPort: number;
  secondaryRmcpPort: number;
  arp: { arpResponses: boolean; gratuitousArps: boolean };
  gratuitousArpInterval: number;
  defaultGateway: { ip: string; mac: string };
  backupGateway: { ip: string; mac: string };
  community: string;
  /** Index = destination selector; 0 is volatile (not persisted). */
  destinations: AlertDestination[];
  vlan: { enabled: boolean; vlanId: number };
  vlanPriority: number;
  /** Parameter 24: entry i is the maximum privilege of cipher suite entry i (parameter 23). */
  cipherSuitePrivileges: CipherSuitePrivilege[];
  badPassword: {
    userDisabledEventMessage: boolean;
    threshold: number;
    attemptCountResetInterval: number;
    userLockoutInterval: number;
  };
  /** The vendor's OEM parameters (selectors C0h-FFh) by selector: a Set must keep each one's length. */
  oemParameters: Record<number, Buffer>;
}

/** The writable SOL configuration parameters of channel 1 (IPMI 2.0 §26.3, Table 26-5). */
export interface SolConfig {
  enabled: boolean;
  authentication: { forceEncryption: boolean; forceAuthentication: boolean; privilege: number };
  characterAccumulate: { interval: number; sendThreshold: number };
  retry: { count: number; interval: number };
  nonVolatileBitRate: SolBitRate;
  /** Back to the non-volatile rate at every start. */
  volatileBitRate: SolBitRate;
  payloadPort: number;
}

/**
 * A configuration with the "set in progress" protocol of LAN and PEF parameter 0 (IPMI 2.0 §23.1,
 * §30.3; semantics as OpenIPMI's, PROTOCOL.md §5): while a set is in progress, Sets and Gets use a
 * staged copy; "commit write" applies it and stays in progress; "set complete" rolls back what was
 * not committed. The BMC itself (PEF, alerting) runs on `committed`.
 */
export class ConfigStore<T> {
  private staged: T | undefined;

  constructor(public committed: T) {}

  get inProgress(): boolean {
    return this.staged !== undefined;
  }

  /** What Get answers and Set changes. */
  get current(): T {
    return this.staged ?? this.committed;
  }

  setInProgress(state: SetInProgressState): void {
    switch (state) {
      case "inProgress":
        if (this.staged) throw new CompletionCode(0x81);
        this.staged = clone(this.committed);
        return;
      case "commitWrite":
        if (!this.staged) throw new CompletionCode(0x81);
        this.committed = this.staged;
        this.staged = clone(this.committed);
        return;
      case "complete":
        this.staged = undefined;
        return;
    }
  }
}

/** Arm PEF Postpone Timer (IPMI 2.0 §30.2): off, counting down to `until` (Unix seconds), or PEF disabled. */
export type PefPostponeTimer =
  | { mode: "off" }
  | { mode: "armed"; until: number }
  | { mode: "temporaryDisable" };

/** The fields of an event message; the SEL adds the record ID and timestamp. */
export type EventMessage = Omit<SystemEventRecord, "kind" | "recordId" | "timestamp">;

export interface BmcStateOptions {
  /** Password of the default administrator, user 2 "admin". */
  adminPassword: string;
  manufacturerId?: number;
  productId?: number;
  /** 16 bytes; random when absent (and then persisted). */
  systemGuid?: Buffer;
  /** LAN parameters 3 and 5 of channel 1. */
  ipAddress?: string;
  macAddress?: string;
  /** SDR records and initial discrete states; defaultSensorRepository() when absent. */
  sensors?: SensorRepository;
  selCapacity?: number;
  /** FRU device 0's bytes (FRU spec); simFruBytes' defaults when absent. */
  fru?: Buffer;
  cipherSuites?: readonly number[];
  /** Clock in Unix seconds (tests pin it). */
  now?: () => number;
}

/**
 * What toJSON() keeps: the BMC's non-volatile store. Buffers serialize as {type: "Buffer", data}.
 * Users are not in it: they come from the command line or config at every start (no IPMI command
 * of the simulator changes them), so a changed or removed user takes effect and no password is on disk.
 */
export interface PersistedBmcState {
  version: 1;
  systemGuid: Buffer;
  sel: Omit<SelLog, "capacity">;
  pef: PefConfig;
  lan: LanConfig;
  /** Absent in stores written before the simulator had SOL. */
  sol?: SolConfig;
}

/** Everything one simulated BMC holds. Handlers read and change it; the PEF engine subscribes to onSelEvent. */
export class BmcState {
  readonly now: () => number;
  deviceId: DeviceId;
  systemGuid: Buffer;
  chassis: ChassisStatus;
  users: UserAccount[];
  sdr: SdrRepository;
  /** Sensors owned by the BMC (owner 20h, LUN 0), by sensor number. */
  sensors = new Map<number, SensorState>();
  sel: SelLog;
  /** Current SEL and SDR reservation IDs; 0 = none yet (IPMI 2.0 §31.4, §33.11). */
  reservations = { sel: 0, sdr: 0 };
  pef: ConfigStore<PefConfig>;
  pefPostpone: PefPostponeTimer = { mode: "off" };
  lan: ConfigStore<LanConfig>;
  sol: ConfigStore<SolConfig> = new ConfigStore(defaultSolConfig());
  /** Set/Get User Payload Access of channel 1, by user ID (IPMI 2.0 §24.6); no entry = no payloads. */
  payloadAccess = new Map<number, PayloadAccess>();
  /** FRU device 0, the BMC's own FRU inventory (read-only: Write FRU Data is not served). */
  fru: Buffer;
  /** LAN parameter 1 (read-only). */
  authTypeSupport: AuthTypes = { none: true, md2: false, md5: true, password: true, oem: false };
  /** LAN parameter 23 (read-only). */
  cipherSuites: number[];
  /**
   * Called for every system event record logged (Platform Event Message, Add SEL Entry, sensor events),
   * and for an event message a full SEL could not log (record ID 0).
   */
  onSelEvent?: (record: SystemEventRecord) => void;
  /** Seconds the SEL clock runs ahead of `now` since Set SEL Time; a restart starts it at `now` again. */
  private selClockOffset = 0;

  constructor(options: BmcStateOptions) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.deviceId = defaultDeviceId(
      options.manufacturerId ?? DEFAULT_MANUFACTURER_ID,
      options.productId ?? DEFAULT_PRODUCT_ID,
    );
    this.systemGuid = Buffer.from(options.systemGuid ?? randomBytes(16));
    if (this.systemGuid.length !== 16) throw new RangeError("a system GUID is 16 bytes");
    this.chassis = defaultChassisStatus();
    this.users = [
      { id: 1, name: "", password: "", maxPrivilege: 4, enabled: false },
      { id: 2, name: "admin", password: options.adminPassword, maxPrivilege: 4, enabled: true },
    ];
    const repository = options.sensors ?? defaultSensorRepository();
    this.sdr = { records: repository.records, mostRecentAddition: this.now(), mostRecentErase: null };
    for (const record of repository.records) {
      if (record.kind !== "full" && record.kind !== "compact" && record.kind !== "eventOnly") continue;
      if (record.owner.id !== BMC_ADDRESS || record.owner.lun !== 0) continue;
      this.sensors.set(
        record.sensorNumber,
        initialSensorState(record, repository.initialStates.get(record.sensorNumber)),
      );
    }
    this.sel = {
      records: [],
      nextRecordId: 1,
      capacity: options.selCapacity ?? DEFAULT_SEL_CAPACITY,
      mostRecentAddition: null,
      mostRecentErase: null,
      overflow: false,
    };
    this.cipherSuites = [...(options.cipherSuites ?? DEFAULT_CIPHER_SUITES)];
    this.fru = options.fru ?? simFruBytes(simFruSchema.parse({}), 1);
    this.pef = new ConfigStore(defaultPefConfig(this.systemGuid));
    this.lan = new ConfigStore(
      defaultLanConfig(
        options.ipAddress ?? "127.0.0.1",
        options.macAddress ?? "02:00:00:00:00:01",
        this.cipherSuites.length,
        this.deviceId.manufacturerId === INTEL_MANUFACTURER_ID ? INTEL_OEM_LAN_PARAMETERS : {},
      ),
    );
  }

  /**
   * Stores a SEL record (IPMI 2.0 §31.6): the BMC assigns the record ID and timestamps types 02h and
   * C0h-DFh. Undefined when the log is full (the overflow flag is set).
   */
  addSelEntry(record: SelRecord): SelRecord | undefined {
    if (this.sel.records.length >= this.sel.capacity) {
      this.sel.overflow = true;
      return undefined;
    }
    const now = this.selTime();
    const stored = { ...record, recordId: this.sel.nextRecordId };
    if ("timestamp" in stored) stored.timestamp = now;
    // Record IDs 0000h and FFFFh mean "first" and "last" (§31.5).
    this.sel.nextRecordId = this.sel.nextRecordId >= 0xfffe ? 1 : this.sel.nextRecordId + 1;
    this.sel.records.push(stored);
    this.sel.mostRecentAddition = now;
    this.reserve("sel"); // a new record cancels the SEL reservation (IPMI 2.0 §31.4): the ID moves on
    if (stored.kind === "system") this.onSelEvent?.(stored);
    return stored;
  }

  /**
   * Logs an event message as a system event record (IPMI 2.0 §29.3, §32.1). A full SEL loses the
   * record, not the alert: PEF still sees the event (as real BMCs still send its PET), with no record ID.
   */
  logEvent(event: EventMessage): SystemEventRecord | undefined {
    const record: SystemEventRecord = { kind: "system", recordId: 0, timestamp: this.selTime(), ...event };
    const stored = this.addSelEntry(record);
    if (!stored) this.onSelEvent?.(record);
    return stored?.kind === "system" ? stored : undefined;
  }

  /** Clear SEL (IPMI 2.0 §31.9): erases at once. */
  clearSel(): void {
    this.sel.records = [];
    this.sel.overflow = false;
    this.sel.mostRecentErase = this.selTime();
  }

  /** The SEL clock (IPMI 2.0 §31.10): what Get SEL Time answers and what the BMC stamps records with. */
  selTime(): number {
    return this.now() + this.selClockOffset;
  }

  /** Set SEL Time (IPMI 2.0 §31.11): the clock runs on from `time`. */
  setSelTime(time: number): void {
    this.selClockOffset = time - this.now();
  }

  /** Reserve SEL / Reserve SDR Repository: a new ID cancels the previous one (IPMI 2.0 §31.4, §33.11). */
  reserve(what: "sel" | "sdr"): number {
    this.reservations[what] = (this.reservations[what] % 0xffff) + 1;
    return this.reservations[what];
  }

  /** The BMC's non-volatile store (SEL, PEF, LAN, GUID), for a state directory. */
  toJSON(): PersistedBmcState {
    const lan = clone(this.lan.committed);
    lan.destinations[0] = defaultDestination();
    const { capacity: _, ...sel } = this.sel;
    return clone({
      version: 1,
      systemGuid: this.systemGuid,
      sel,
      pef: this.pef.committed,
      lan,
      sol: this.sol.committed,
    });
  }

  /**
   * A BMC restarted from its store: what toJSON() kept replaces the defaults the options give. The
   * users a store of an older version holds are ignored: the options' users win.
   */
  static fromJSON(json: unknown, options: BmcStateOptions): BmcState {
    const stored = reviveBuffers(json) as PersistedBmcState;
    if (stored?.version !== 1) throw new Error("BMC state: unknown format (expected version 1)");
    const state = new BmcState({ ...options, systemGuid: stored.systemGuid });
    state.sel = { ...stored.sel, capacity: state.sel.capacity };
    state.pef = new ConfigStore(stored.pef);
    // Stores written before the simulator had OEM parameters keep the defaults'.
    const { oemParameters = state.lan.committed.oemParameters } = stored.lan as Partial<LanConfig>;
    state.lan = new ConfigStore({ ...stored.lan, oemParameters });
    if (stored.sol)
      state.sol = new ConfigStore({ ...stored.sol, volatileBitRate: stored.sol.nonVolatileBitRate });
    return state;
  }
}

function defaultDeviceId(manufacturerId: number, productId: number): DeviceId {
  return {
    deviceId: 0x20,
    deviceRevision: 1,
    providesSdrs: true,
    firmwareMajor: 1,
    updateInProgress: false,
    firmwareMinor: 0,
    firmwareMinorRaw: 0x00,
    ipmiVersion: { major: 2, minor: 0 },
    additionalDeviceSupport: {
      sensor: true,
      sdrRepository: true,
      sel: true,
      fruInventory: true,
      ipmbEventReceiver: true,
      ipmbEventGenerator: false,
      bridge: false,
      chassis: true,
    },
    manufacturerId,
    productId,
  };
}

function defaultChassisStatus(): ChassisStatus {
  return {
    currentPowerState: {
      powerOn: true,
      overload: false,
      interlock: false,
      fault: false,
      controlFault: false,
      restorePolicy: "previous",
    },
    lastPowerEvent: { acFailed: false, overload: false, interlock: false, fault: false, commandOn: false },
    miscChassisState: {
      intrusion: false,
      frontPanelLockout: false,
      driveFault: false,
      coolingFault: false,
      identifySupported: true,
      identifyState: "off",
    },
  };
}

const NO_ACTIONS: PefActionFlags = {
  alert: false,
  powerDown: false,
  reset: false,
  powerCycle: false,
  oemAction: false,
  diagnosticInterrupt: false,
};

/** Factory PEF settings, as ipmi_sim's: PEF off, every filter and policy entry empty and disabled. */
function defaultPefConfig(guid: Buffer): PefConfig {
  const filter = (): EventFilterEntry => structuredClone(EMPTY_EVENT_FILTER);
  const policy = (): AlertPolicyEntry => ({ ...EMPTY_ALERT_POLICY });
  return {
    control: { enable: false, eventMessages: false, startupDelay: false, alertStartupDelay: false },
    actionGlobalControl: { ...NO_ACTIONS },
    startupDelaySeconds: 0,
    alertStartupDelaySeconds: 0,
    eventFilters: Array.from({ length: PEF_TABLE_SIZE }, filter),
    alertPolicies: Array.from({ length: PEF_TABLE_SIZE }, policy),
    systemGuid: { useGuid: false, guid: Buffer.from(guid) },
    alertStrings: Array.from({ length: ALERT_STRING_COUNT + 1 }, () => ({
      filterNumber: 0,
      stringSet: 0,
      text: Buffer.alloc(0),
    })),
  };
}

function defaultDestination(): AlertDestination {
  return {
    acknowledge: false,
    type: "pet",
    ackTimeoutSeconds: 3,
    retries: 3,
    gateway: "default",
    ip: "0.0.0.0",
    mac: "00:00:00:00:00:00",
    vlan: { format: "none", vlanTag: 0 },
  };
}

const MD5_ONLY: AuthTypes = { none: false, md2: false, md5: true, password: false, oem: false };

function defaultLanConfig(
  ipAddress: string,
  macAddress: string,
  cipherSuiteCount: number,
  oemParameters: Record<number, Buffer>,
): LanConfig {
  return {
    authTypeEnables: {
      callback: { ...MD5_ONLY },
      user: { ...MD5_ONLY },
      operator: { ...MD5_ONLY },
      admin: { ...MD5_ONLY },
      oem: { none: false, md2: false, md5: false, password: false, oem: false },
    },
    ipAddress,
    ipAddressSource: "static",
    macAddress,
    subnetMask: "255.255.255.0",
    // PROTOCOL.md §5: default 40 40 10 (TTL 64, don't fragment, minimize delay).
    ipv4Header: { timeToLive: 0x40, flags: 0b010, precedence: 0, typeOfService: 0b1000 },
    primaryRmcpPort: 623,
    secondaryRmcpPort: 664,
    arp: { arpResponses: true, gratuitousArps: false },
    gratuitousArpInterval: 4,
    defaultGateway: { ip: "0.0.0.0", mac: "00:00:00:00:00:00" },
    backupGateway: { ip: "0.0.0.0", mac: "00:00:00:00:00:00" },
    community: "public",
    destinations: Array.from({ length: LAN_DESTINATION_COUNT + 1 }, defaultDestination),
    vlan: { enabled: false, vlanId: 0 },
    vlanPriority: 0,
    cipherSuitePrivileges: Array.from({ length: CIPHER_SUITE_ENTRIES }, (_, i) =>
      i < cipherSuiteCount ? "administrator" : "unused",
    ),
    badPassword: {
      userDisabledEventMessage: false,
      threshold: 0,
      attemptCountResetInterval: 0,
      userLockoutInterval: 0,
    },
    oemParameters: Object.fromEntries(Object.entries(oemParameters).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

/** SOL on for users and above, authenticated and encrypted, at 115.2 kbps on port 623. */
function defaultSolConfig(): SolConfig {
  return {
    enabled: true,
    authentication: { forceEncryption: true, forceAuthentication: true, privilege: 2 },
    // 60 ms or 96 characters; 7 retries 500 ms apart (Intel's defaults, as ipmiutil has them).
    characterAccumulate: { interval: 12, sendThreshold: 96 },
    retry: { count: 7, interval: 50 },
    nonVolatileBitRate: "115.2",
    volatileBitRate: "115.2",
    payloadPort: 623,
  };
}

/** Turns {type: "Buffer", data: [...]} (what JSON.stringify makes of a Buffer) back into Buffers. */
function reviveBuffers(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o.type === "Buffer" && Array.isArray(o.data)) return Buffer.from(o.data as number[]);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, reviveBuffers(v)]));
}

/** A deep copy of plain data with Buffers (structuredClone would turn them into Uint8Arrays). */
function clone<T>(value: T): T {
  return reviveBuffers(JSON.parse(JSON.stringify(value))) as T;
}
