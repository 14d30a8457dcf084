import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { BmcTarget } from "../../config/inventory.js";
import { IpmiClient } from "../../ipmi/client/client.js";
import { getSystemGuid } from "../../ipmi/commands/app.js";
import type { TrapEvent } from "../../pet/trap.js";
import { formatGuid } from "../../pet/varbind.js";

export interface BmcPoolOptions {
  /**
   * Calls on the wire at once per BMC: the bulkhead; default 4, what one enrichment round trip sends
   * (Get SDR Repository Info, Get Sensor Reading, Get Sensor Thresholds, Get SEL Entry).
   */
  maxInFlight?: number;
  /**
   * Calls allowed to wait behind them per BMC; more are refused at once; default 32 (a batch's
   * further sensors, and a SEL tail read of up to 16 records).
   */
  maxQueued?: number;
  /** Default deadline of one call (enrichment passes its own); default 5000 ms. */
  deadlineMs?: number;
  /** Wait per packet before resending; default 1000 ms. */
  attemptTimeoutMs?: number;
  /** Idle time after which the session is kept alive; default 30 s (0 = off). */
  keepAliveMs?: number;
  /**
   * How long after a BMC's last call its session is kept alive; then it is closed (freeing the BMC's
   * session slot), and the next call opens a new one. Default 10 min: warm through an incident,
   * without a keep-alive every 30 s to every BMC of a quiet fleet for ever.
   */
  keepWarmMs?: number;
  log?: (line: string) => void;
}

/**
 * One IpmiClient per BMC, opened on first use and kept (its RMCP+ session kept alive while in use,
 * keepWarmMs, so that enrichment never opens one per event nor waits out a session the BMC dropped), each
 * bounded: `maxInFlight` calls on the wire, `maxQueued` waiting, the rest refused at once. A BMC that
 * stops answering therefore costs one socket and a bounded number of timers.
 *
 * The pool also remembers what identifies a BMC besides its inventory address: the system GUID its
 * PETs carry (learned from PETs matched by address, or read with Get System GUID) and the addresses
 * its inventory host name resolves to.
 */
export class BmcPool {
  private readonly clients = new Map<string, { target: BmcTarget; client: IpmiClient }>();
  /** Normalised GUID → BMC name. */
  readonly guids = new Map<string, string>();
  /** BMC name → addresses its host resolves to. */
  readonly addresses = new Map<string, string[]>();
  private readonly o: Required<Omit<BmcPoolOptions, "log">> & Pick<BmcPoolOptions, "log">;

  constructor(options: BmcPoolOptions = {}) {
    this.o = {
      maxInFlight: 4,
      maxQueued: 32,
      deadlineMs: 5000,
      attemptTimeoutMs: 1000,
      keepAliveMs: 30_000,
      keepWarmMs: 600_000,
      ...options,
    };
  }

  /** The client of `target`, created on first use; a changed inventory entry gets a new one. */
  get(target: BmcTarget): IpmiClient {
    const held = this.clients.get(target.name);
    if (held && sameConnection(held.target, target)) return held.client;
    if (held) void held.client.close();
    const client = new IpmiClient({
      host: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      cipherSuite: target.cipherSuite,
      ...(target.kg && { kg: target.kg }),
      ipmi: target.ipmi ?? "auto",
      allowInsecure: target.allowAuthNone === true,
      maxInFlight: this.o.maxInFlight,
      maxQueued: this.o.maxQueued,
      deadlineMs: this.o.deadlineMs,
      attemptTimeoutMs: this.o.attemptTimeoutMs,
      keepAliveMs: this.o.keepAliveMs,
      keepWarmMs: this.o.keepWarmMs,
      ...(this.o.log && { log: this.o.log }),
      name: target.name,
    });
    this.clients.set(target.name, { target, client });
    return client;
  }

  /** The client of BMC `name` if one was created. */
  peek(name: string): IpmiClient | undefined {
    return this.clients.get(name)?.client;
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Remembers that PETs carrying `guid` come from BMC `name`. All-zero and all-FF GUIDs are not
   * learned; a GUID seen from two BMCs (cloned firmware images do that) is marked ambiguous for good.
   */
  learnGuid(guid: string | Uint8Array, name: string): void {
    const key = normalizeGuid(guid);
    if (/^(0{32}|f{32})$/.test(key) || key.length !== 32) return;
    const known = this.guids.get(key);
    this.guids.set(key, known === undefined || known === name ? name : AMBIGUOUS);
  }

  /** Reads the BMC's system GUID (Get System GUID, IPMI 2.0 §20.8) and remembers it. */
  async readGuid(target: BmcTarget, deadlineMs = this.o.deadlineMs): Promise<string> {
    const { guid } = await this.get(target).execute(getSystemGuid, undefined, { deadlineMs });
    this.learnGuid(guid, target.name);
    return formatGuid(guid);
  }

  /**
   * Resolves the inventory hosts that are names rather than addresses, so traps (which carry
   * addresses) can be matched to them; failures are left out (the name simply does not match).
   */
  async resolveHosts(inventory: readonly BmcTarget[]): Promise<void> {
    await Promise.all(
      inventory
        .filter((t) => isIP(t.host) === 0)
        .map(async (t) => {
          try {
            const found = await lookup(t.host, { all: true });
            this.addresses.set(
              t.name,
              found.map((a) => normalizeAddress(a.address)),
            );
          } catch {
            this.addresses.delete(t.name);
          }
        }),
    );
  }

  async closeAll(): Promise<void> {
    const held = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(held.map((h) => h.client.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAll();
  }
}

/** Marks a GUID seen from more than one BMC: no inventory name is empty, so it matches none. */
const AMBIGUOUS = "";

function sameConnection(a: BmcTarget, b: BmcTarget): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.username === b.username &&
    a.password === b.password &&
    a.cipherSuite === b.cipherSuite &&
    a.ipmi === b.ipmi &&
    a.allowAuthNone === b.allowAuthNone &&
    (a.kg?.toString("hex") ?? "") === (b.kg?.toString("hex") ?? "")
  );
}

/** GUID text or bytes as 32 lower-case hex digits. */
export function normalizeGuid(guid: string | Uint8Array): string {
  return typeof guid === "string"
    ? guid.replace(/[^0-9a-f]/gi, "").toLowerCase()
    : Buffer.from(guid).toString("hex");
}

/** "::ffff:10.0.0.1" → "10.0.0.1", "[fe80::1]" → "fe80::1", lower case. */
export function normalizeAddress(address: string): string {
  const a = address
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** What matching a trap to the inventory reads of a BMC: no secrets (petgate traps test has none). */
export interface InventoryHost {
  name: string;
  /** Its address or host name, without the port. */
  host: string;
}

export type BmcMatch<T extends InventoryHost = BmcTarget> = {
  target: T;
  by: "source-address" | "agent-address" | "guid";
};

export interface BmcIdentities {
  /** Normalised GUID → BMC name (BmcPool.guids). */
  guids?: ReadonlyMap<string, string>;
  /** BMC name → resolved addresses (BmcPool.addresses). */
  addresses?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Which inventory BMC sent `trap`: the one whose address is the trap's source address, else the one
 * whose address is the SNMP agent address it claims (PET 1.0: a BMC behind NAT), else — when no
 * address or several BMCs share it (one NAT gateway, several BMCs on one host) — the one whose GUID
 * the PET carries, if that GUID is known. Undefined when none, or several, fit.
 */
export function matchBmc<T extends InventoryHost>(
  trap: TrapEvent,
  inventory: readonly T[],
  known: BmcIdentities = {},
): BmcMatch<T> | undefined {
  const at = (address: string | undefined) => bmcsAt(address, inventory, known);
  const bySource = at(trap.source.address);
  if (bySource.length === 1) return { target: bySource[0] as T, by: "source-address" };
  const byAgent = bySource.length === 0 ? at(trap.snmp.agentAddress) : [];
  if (byAgent.length === 1) return { target: byAgent[0] as T, by: "agent-address" };
  if (trap.kind !== "pet") return undefined;
  const name = known.guids?.get(normalizeGuid(trap.pet.guid));
  if (name === undefined) return undefined;
  // A GUID cannot override an address that names exactly one other BMC (ruled out above); among
  // several BMCs sharing the address, it picks one of them.
  const among = bySource.length > 0 ? bySource : byAgent.length > 0 ? byAgent : inventory;
  const target = among.find((t) => t.name === name);
  return target && { target, by: "guid" };
}

/** The inventory BMCs at `address` (their configured host or one it resolved to). */
export function bmcsAt<T extends InventoryHost>(
  address: string | undefined,
  inventory: readonly T[],
  known: BmcIdentities = {},
): T[] {
  if (address === undefined) return [];
  const a = normalizeAddress(address);
  const configured = hostIndex(inventory).get(a) ?? [];
  const resolved = new Set<string>();
  for (const [name, addresses] of known.addresses ?? []) if (addresses.includes(a)) resolved.add(name);
  if (resolved.size === 0) return [...configured];
  return inventory.filter((t) => configured.includes(t) || resolved.has(t.name));
}

/** Each inventory's BMCs by normalised configured host, built once: a trap is matched per event. */
const hostIndexes = new WeakMap<readonly InventoryHost[], Map<string, InventoryHost[]>>();

function hostIndex<T extends InventoryHost>(inventory: readonly T[]): Map<string, T[]> {
  let index = hostIndexes.get(inventory) as Map<string, T[]> | undefined;
  if (!index) {
    index = new Map();
    for (const t of inventory) {
      const host = normalizeAddress(t.host);
      index.set(host, [...(index.get(host) ?? []), t]);
    }
    hostIndexes.set(inventory, index);
  }
  return index;
}

/** The inventory BMC that sent `trap` (see matchBmc), or undefined. */
export function findBmc(
  trap: TrapEvent,
  inventory: readonly BmcTarget[],
  known: BmcIdentities = {},
): BmcTarget | undefined {
  return matchBmc(trap, inventory, known)?.target;
}
