import dgram from "node:dgram";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { getChannelAuthCapabilities, getChannelCipherSuites } from "../ipmi/commands/app.js";
import { petAcknowledge } from "../ipmi/commands/sensor-event.js";
import { highestSeverity, matchEventFilters } from "../ipmi/pef-match.js";
import type { SystemEventRecord } from "../ipmi/sel.js";
import type { HostPort } from "../net/address.js";
import { commandKey } from "./handler.js";
import { type ChannelAccessState, channelHandlers, defaultChannelAccess } from "./handlers/channel.js";
import { bmcHandlers } from "./handlers.js";
import { runAlertPolicies } from "./pef-engine.js";
import { PetSender, petGuid } from "./pet-sender.js";
import { type Faults, SessionServer } from "./session-server.js";
import { BmcState, type BmcStateOptions, type UserAccount } from "./state.js";
import { writeStateFile } from "./state-file.js";

export interface BmcSimulatorOptions extends Omit<BmcStateOptions, "ipAddress"> {
  address: HostPort;
  /** Users besides the default admin (user 2). */
  extraUsers?: Omit<UserAccount, "id">[];
  kg?: Buffer;
  /** Where SEL, PEF and LAN settings persist, as JSON (0600 in a 0700 directory); absent = volatile. */
  stateFile?: string;
  /** UDP port PETs go to on each destination. */
  trapPort: number;
  /** How long a cold reset keeps the BMC silent. */
  rebootMs: number;
  /** IPMI 1.5 sessions may use auth type none. */
  authTypeNone?: boolean;
  log?: (line: string) => void;
}

export interface SimulatorCounters {
  datagrams: number;
  requests: number;
  sessionsOpened: number;
  sessionsActive: number;
  ignored: number;
  petsSent: number;
  retransmissions: number;
  acksReceived: number;
  coldResets: number;
}

/** Commands answered outside a session (IPMI 2.0 §13.14; PET Acknowledge is sent session-less). */
const SESSIONLESS = new Set(
  [getChannelAuthCapabilities, getChannelCipherSuites, petAcknowledge].map((c) => commandKey(c.netFn, c.cmd)),
);

/**
 * One simulated BMC: its state, the command handlers, the RMCP+ server on its own UDP address, and
 * the PEF engine that turns SEL events into PETs sent from that address.
 */
export class BmcSimulator {
  private coldResets = 0;
  private savedJson = "";

  private constructor(
    readonly state: BmcState,
    readonly channelAccess: ChannelAccessState,
    readonly server: SessionServer,
    readonly pets: PetSender,
    private readonly socket: dgram.Socket,
    private readonly options: BmcSimulatorOptions,
  ) {}

  static async start(options: BmcSimulatorOptions): Promise<BmcSimulator> {
    const stateOptions: BmcStateOptions = { ...options, ipAddress: options.address.host };
    const state =
      options.stateFile && existsSync(options.stateFile)
        ? BmcState.fromJSON(JSON.parse(readFileSync(options.stateFile, "utf8")), stateOptions)
        : new BmcState(stateOptions);
    // Written at once, so a store an older version left (passwords in it, mode 0644) is replaced now.
    const savedJson = JSON.stringify(state.toJSON());
    if (options.stateFile) writeStateFile(options.stateFile, savedJson);
    for (const user of options.extraUsers ?? []) {
      if (!state.users.some((u) => u.name === user.name))
        state.users.push({ id: state.users.length + 1, ...user });
    }
    const pets = new PetSender({
      bmcAddress: options.address.host,
      trapPort: options.trapPort,
      manufacturerId: state.deviceId.manufacturerId,
      systemId: state.deviceId.productId,
      ...(options.log && { log: options.log }),
    });
    let simulator: BmcSimulator | undefined;
    const channelAccess = defaultChannelAccess();
    const handlers = new Map([
      ...bmcHandlers(state, {
        coldReset: () => simulator?.coldReset(),
        petAcknowledge: (ack) => pets.acknowledge(ack),
      }),
      ...channelHandlers(state, channelAccess, () => simulator?.server.counters.sessionsActive ?? 0),
    ]);
    const server = new SessionServer(
      {
        guid: state.systemGuid,
        ...(options.kg && { kg: options.kg }),
        get users() {
          return state.users;
        },
        cipherSuites: state.cipherSuites,
        authTypeNone: options.authTypeNone === true,
      },
      handlers,
      { manufacturerId: state.deviceId.manufacturerId, sessionless: SESSIONLESS },
    );
    const socket = dgram.createSocket("udp4");
    socket.on("message", (datagram, peer) =>
      server.handle(datagram, (packet) => socket.send(packet, peer.port, peer.address)),
    );
    socket.on("error", (err) =>
      options.log?.(`${options.address.host}:${options.address.port}: ${err.message}`),
    );
    socket.bind(options.address.port, options.address.host);
    await once(socket, "listening");
    simulator = new BmcSimulator(state, channelAccess, server, pets, socket, options);
    simulator.savedJson = savedJson;
    state.onSelEvent = (record) => {
      void simulator?.alert(record).catch((err: Error) => options.log?.(`PEF: ${err.message}`));
    };
    return simulator;
  }

  get address(): HostPort {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  counters(): SimulatorCounters {
    const pet = this.pets.stats();
    return {
      ...this.server.counters,
      petsSent: pet.petsSent,
      retransmissions: pet.retransmissions,
      acksReceived: pet.acksReceived,
      coldResets: this.coldResets,
    };
  }

  setFaults(faults: Partial<Omit<Faults, "rebootingUntil">>): void {
    Object.assign(this.server.faults, faults);
  }

  /** Cold Reset (IPMI 2.0 §20.2): sessions and reservations gone, silent while it "reboots". */
  coldReset(): void {
    this.coldResets++;
    this.server.reset();
    this.state.reservations = { sel: 0, sdr: 0 };
    this.server.faults.rebootingUntil = Date.now() + this.options.rebootMs;
  }

  /**
   * PEF (IPMI 2.0 §17): a new SEL event is matched against the enabled event filters; those with the
   * alert action select alert policies, whose destinations get a PET.
   */
  async alert(event: SystemEventRecord): Promise<void> {
    const pef = this.state.pef.committed;
    if (
      !pef.control.enable ||
      !pef.actionGlobalControl.alert ||
      this.channelAccess.volatile.pefAlertingDisabled
    )
      return;
    const filters = pef.eventFilters.map((entry, i) => ({ number: i + 1, entry }));
    const matched = matchEventFilters(filters, event).filter((f) => f.entry.actions.alert);
    if (matched.length === 0) return;
    const lan = this.state.lan.committed;
    const sensor = this.state.sdr.records.find(
      (r) => "sensorNumber" in r && r.sensorNumber === event.sensorNumber,
    );
    await runAlertPolicies(
      matched,
      pef.alertPolicies.map((entry, i) => ({ number: i + 1, entry })),
      {
        deliver: (request) => {
          const d = lan.destinations[request.destinationSelector];
          if (d?.type !== "pet" || d.ip === "0.0.0.0") return Promise.resolve(false);
          return this.pets.send(
            event,
            {
              ip: d.ip,
              community: lan.community,
              acknowledge: d.acknowledge,
              timeoutSeconds: d.ackTimeoutSeconds,
              retries: d.retries,
            },
            {
              severity: highestSeverity(request.filters),
              guid: petGuid(pef.systemGuid, this.state.systemGuid),
              ...(sensor &&
                "entityId" in sensor && { entityId: sensor.entityId, entityInstance: sensor.entityInstance }),
            },
          );
        },
      },
    );
  }

  /** Writes the non-volatile store if it changed. */
  save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const json = JSON.stringify(this.state.toJSON());
    if (json === this.savedJson) return;
    writeStateFile(file, json);
    this.savedJson = json;
  }

  async stop(): Promise<void> {
    this.save();
    this.pets.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
