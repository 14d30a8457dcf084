import { join } from "node:path";
import { readSecret } from "../config/load.js";
import { privilegeLevel, type SimConfig, simAddresses } from "./config.js";
import { defaultSensorRepository, loadSensorRepository } from "./default-sdr.js";
import { simFruBytes } from "./fru.js";
import { BmcSimulator, type SimulatorCounters } from "./simulator.js";
import { prepareStateDir } from "./state-file.js";

export interface FleetOptions {
  /** Password of the default admin when the config names no users. */
  adminPassword?: string;
  log?: (line: string) => void;
}

/** Many simulated BMCs in one process: `petgate sim --count N` and the programmatic API for tests. */
export class SimulatorFleet {
  private readonly timer: NodeJS.Timeout;

  private constructor(readonly simulators: BmcSimulator[]) {
    // Idle sessions expire (IPMI 2.0 §6.12.15) and the non-volatile store is written now and then.
    this.timer = setInterval(() => {
      for (const s of simulators) {
        s.server.expireIdle();
        s.save();
      }
    }, 5_000);
    this.timer.unref();
  }

  static async start(config: SimConfig, options: FleetOptions = {}): Promise<SimulatorFleet> {
    // One directory for every BMC's state file: made private (or refused) once, before any is read.
    if (config.stateDir) prepareStateDir(config.stateDir);
    const users = (config.users ?? []).map((u) => ({
      name: u.name,
      password: userPassword(u),
      maxPrivilege: privilegeLevel(u.privilege),
      enabled: true,
    }));
    const admin = users.find((u) => u.name === "admin")?.password ?? options.adminPassword;
    if (!admin)
      throw new RangeError("no password for the simulator's admin: give --password-env VAR or a user admin");
    const sensors =
      config.sdr === "default" ? defaultSensorRepository() : await loadSensorRepository(config.sdr);
    const guid =
      config.guid === undefined
        ? undefined
        : Buffer.from(config.guid.replace(/^0x/i, "").padStart(32, "0"), "hex");
    const kg = config.kg === undefined ? undefined : Buffer.from(config.kg.replace(/^0x/i, ""), "hex");
    const simulators: BmcSimulator[] = [];
    try {
      for (const [i, address] of simAddresses(config).entries()) {
        simulators.push(
          await BmcSimulator.start({
            address,
            adminPassword: admin,
            extraUsers: users.filter((u) => u.name !== "admin"),
            ...(kg && { kg }),
            ...(guid && { systemGuid: guidFor(guid, i) }),
            manufacturerId: config.manufacturerId,
            productId: config.productId,
            sensors: structuredClone(sensors),
            ...(config.stateDir && {
              stateFile: join(config.stateDir, `${address.host}_${address.port}.json`),
            }),
            trapPort: config.trapPort,
            rebootMs: config.rebootMs,
            authTypeNone: config.authTypeNone,
            selCapacity: config.selCapacity,
            fru: simFruBytes(config.fru, i + 1),
            ...(options.log && { log: options.log }),
          }),
        );
      }
    } catch (err) {
      await Promise.all(simulators.map((s) => s.stop()));
      if ((err as NodeJS.ErrnoException).code === "EMFILE") {
        throw new RangeError(
          `${config.count} BMCs need ${config.count} sockets, past this process's open-file limit: raise ulimit -n`,
        );
      }
      throw err;
    }
    return new SimulatorFleet(simulators);
  }

  counters(): SimulatorCounters {
    const total = {} as SimulatorCounters;
    for (const s of this.simulators) {
      for (const [k, v] of Object.entries(s.counters()) as [keyof SimulatorCounters, number][])
        total[k] = (total[k] ?? 0) + v;
    }
    return total;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.simulators.map((s) => s.stop()));
  }
}

/** A user's password from where the config says; the error names the place, never a value. */
function userPassword(user: NonNullable<SimConfig["users"]>[number]): string {
  if (user.password !== undefined) return user.password;
  const ref =
    user.passwordEnv !== undefined ? { env: user.passwordEnv } : { file: user.passwordFile as string };
  return readSecret(ref, `user ${user.name}'s password`);
}

/** The fleet's GUIDs count up from the first in their last two bytes. */
function guidFor(first: Buffer, index: number): Buffer {
  const guid = Buffer.from(first);
  guid.writeUInt16BE((guid.readUInt16BE(14) + index) & 0xffff, 14);
  return guid;
}
