// Real RMCP/RMCP+ traffic for seeds: petgate's IpmiClient talks to a simulated BMC through a UDP
// proxy on loopback that keeps every datagram in both directions.
import dgram from "node:dgram";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import {
  getChannelAuthCapabilities,
  getChannelCipherSuites,
  getDeviceId,
  getSelfTestResults,
  getSystemGuid,
} from "../../src/ipmi/commands/app.js";
import { getChassisStatus } from "../../src/ipmi/commands/chassis.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { platformEvent } from "../../src/ipmi/commands/sensor-event.js";
import { getSdrRepositoryInfo, getSelInfo } from "../../src/ipmi/commands/storage.js";
import { readSdrRepository, readSelEntries } from "../../src/ipmi/sdr/read.js";
import { readSensors } from "../../src/ipmi/sensors.js";
import type { HostPort } from "../../src/net/address.js";
import { readLanParameter, readPefState } from "../../src/pef/read.js";

export interface Captured {
  toBmc: Buffer[];
  fromBmc: Buffer[];
  /** The client, still open when `keepOpen` was asked (its session stays active on the BMC). */
  client: IpmiClient;
}

const bind = (s: dgram.Socket) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r));

/**
 * Runs a session with `cipherSuite` against `bmc` and reads what petgate reads of a BMC: device, GUID,
 * chassis, SDR repository, sensors, SEL (after logging an event), PEF state and LAN alerting
 * parameters, and the session-less cipher suite list.
 */
export async function captureSession(
  bmc: HostPort,
  login: { username: string; password: string },
  cipherSuite: number,
  keepOpen = false,
): Promise<Captured> {
  const front = dgram.createSocket("udp4");
  const back = dgram.createSocket("udp4");
  const toBmc: Buffer[] = [];
  const fromBmc: Buffer[] = [];
  let consolePort = 0;
  front.on("message", (m, peer) => {
    consolePort = peer.port;
    toBmc.push(Buffer.from(m));
    back.send(m, bmc.port, bmc.host);
  });
  back.on("message", (m) => {
    fromBmc.push(Buffer.from(m));
    front.send(m, consolePort, "127.0.0.1");
  });
  await Promise.all([bind(front), bind(back)]);
  const client = new IpmiClient({
    host: "127.0.0.1",
    port: front.address().port,
    ...login,
    cipherSuite,
    keepAliveMs: 0,
    attemptTimeoutMs: 500,
    deadlineMs: 10_000,
    log: () => undefined,
  });
  const execute: Execute = (command, request) => client.execute(command, request);
  try {
    await execute(getDeviceId, undefined);
    await execute(getSystemGuid, undefined);
    await execute(getSelfTestResults, undefined);
    await execute(getChassisStatus, undefined);
    await execute(getChannelAuthCapabilities, { ipmi20ExtendedData: true, channel: 0x0e, maxPrivilege: 4 });
    for (let listIndex = 0; listIndex < 2; listIndex++)
      await execute(getChannelCipherSuites, { channel: 0x0e, payloadType: 0, listBySuite: true, listIndex });
    await execute(getSdrRepositoryInfo, undefined);
    const sdr = await readSdrRepository(execute);
    await readSensors(execute, sdr);
    await execute(platformEvent, {
      evmRev: 4,
      sensorType: 0x01,
      sensorNumber: 1,
      eventDirection: "assertion",
      eventType: 0x01,
      eventData1: 0x59,
      eventData2: 0x50,
      eventData3: 0x4b,
    });
    await execute(getSelInfo, undefined);
    await readSelEntries(execute);
    await readPefState(execute, 1);
    for (const selector of [3, 4, 5, 6, 12, 13, 16, 17, 18, 19, 25])
      await readLanParameter(execute, 1, selector, selector >= 18 ? 1 : 0).catch(() => undefined);
    if (!keepOpen) await client.close();
    return { toBmc, fromBmc, client };
  } finally {
    // The proxy goes once the reads are done; a kept-open client's session lives on at the BMC.
    front.close();
    back.close();
  }
}
