import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { resolveBmcs } from "../../src/config/inventory.js";
import { type Config, configSchema } from "../../src/config/schema.js";
import { HistoryStore } from "../../src/history/store.js";
import { startHistoryWriter } from "../../src/history/writer.js";
import { PipelineMetrics } from "../../src/http/metrics.js";
import { type HttpServer, startHttp } from "../../src/http/server.js";
import { provision } from "../../src/pef/apply.js";
import { desiredPefState } from "../../src/pef/desired.js";
import { runFleet } from "../../src/pef/fleet.js";
import { sensorsNow } from "../../src/pipeline/bmc/sensors-now.js";
import { type Pipeline, startPipeline } from "../../src/pipeline/pipeline.js";
import { createRedis } from "../../src/pipeline/queues.js";
import { simAddresses, simConfigSchema } from "../../src/sim/config.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { CPU_TEMP_UCR_FILTERS } from "../support/pef-fixtures.js";
import { freeUdpPort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { SIM_PASSWORD } from "../support/sim.js";

/*
 * The gateway with real parts, for the HTTP tests: a redis-server, simulated BMCs whose PEF petgate
 * provisioned, the whole pipeline (listener, Ingest, workers, health monitor), a webhook receiver,
 * and the HTTP server on a loopback port. A receiver "nowhere" is routed to but has no sink, so its
 * deliveries are dead-lettered.
 */

export const API_TOKEN = "api-Token-7f3a";

export interface Stack {
  redis: TestRedis;
  fleet: SimulatorFleet;
  pipeline: Pipeline;
  webhook: HttpReceiver;
  http: HttpServer;
  url: string;
  config: Config;
  /** The connection the HTTP server reads with (the caller of startHttp owns it). */
  connection: Redis;
  /** The alert history the HTTP server answers /api/history from, kept from the workers' feed. */
  history: HistoryStore;
  close(): Promise<void>;
}

export async function startStack(firstHost: string, bmcCount = 2): Promise<Stack> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const redis = await startRedis();
    cleanup.push(() => redis.dispose());
    const webhook = await startHttpReceiver();
    cleanup.push(() => webhook.close());
    const spoolDir = mkdtempSync(join(tmpdir(), "petgate-http-"));
    cleanup.push(async () => rmSync(spoolDir, { recursive: true, force: true }));

    // The BMCs first, so that the health monitor's first probes find them.
    const listenerPort = await freeUdpPort();
    const simConfig = simConfigSchema.parse({
      listen: `${firstHost}:${await freeUdpPort(firstHost)}`,
      count: bmcCount,
      spread: "address",
      trapPort: listenerPort,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    });
    const fleet = await SimulatorFleet.start(simConfig);
    cleanup.push(() => fleet.stop());
    const config = configSchema.parse({
      listener: { bind: `127.0.0.1:${listenerPort}`, communities: ["public"] },
      bmcs: simAddresses(simConfig).map((address, i) => ({
        name: `bmc-${i + 1}`,
        host: `${address.host}:${address.port}`,
        username: "admin",
        password: SIM_PASSWORD,
        insecureInlinePassword: true,
        labels: { rack: "r1" },
      })),
      pef: {
        community: "public",
        filters: CPU_TEMP_UCR_FILTERS,
        destinations: [{ selector: 1, ip: "127.0.0.1", mac: "00:00:00:00:00:00" }],
      },
      routes: {
        receiver: "webhook",
        group_wait: "0s",
        group_interval: "100ms",
        routes: [
          { receiver: "webhook", continue: true },
          { receiver: "nowhere", continue: true },
        ],
      },
    });

    const metrics = new PipelineMetrics();
    const pipeline = await startPipeline({
      config,
      redis: redis.socket,
      spoolFile: join(spoolDir, "spool.ndjson"),
      sinks: new Map([["webhook", new WebhookSink({ name: "webhook", url: webhook.url, timeoutMs: 5_000 })]]),
      tickMs: 100,
      onProcessed: metrics.onProcessed,
      log: () => undefined,
    });
    cleanup.push(() => pipeline.close());

    const pef = config.pef as NonNullable<Config["pef"]>;
    const targets = resolveBmcs(config);
    const outcomes = await runFleet(
      targets,
      (execute) => provision(execute, (capacity) => desiredPefState(pef, capacity), pef.channel),
      { concurrency: targets.length, deadlineMs: 20_000 },
    );
    for (const o of outcomes)
      if (!o.ok || o.value.status === "failed") throw new Error(`provisioning ${o.bmc} failed`);

    const connection = createRedis(redis.socket, "worker");
    cleanup.push(() => connection.quit());
    const history = new HistoryStore(join(spoolDir, "history.sqlite"));
    cleanup.push(async () => history.close());
    const historyWriter = await startHistoryWriter({
      redis: redis.socket,
      prefix: "petgate",
      store: history,
      retentionMs: 86_400_000,
      log: () => undefined,
    });
    cleanup.push(() => historyWriter.close());
    const http = await startHttp({
      bind: { host: "127.0.0.1", port: 0 },
      redis: connection,
      intake: pipeline,
      workers: pipeline,
      token: API_TOKEN,
      metrics,
      bmcs: targets,
      history,
      sensors: (name) => sensorsNow(pipeline.events, targets, name),
      log: () => undefined,
    });
    cleanup.push(() => http.close());
    const { port } = http.address();
    return {
      redis,
      fleet,
      pipeline,
      webhook,
      http,
      url: `http://127.0.0.1:${port}`,
      config,
      connection,
      history,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function getJson<T = Record<string, unknown>>(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: T; text: string }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T, text };
}
