// petgate on Redis Sentinel and Redis Cluster, real processes on loopback: the primary SIGKILLed
// mid-stream (every PET delivered, none twice), and the whole pipeline on a 3-primary cluster.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alertPet, arrivalsByIndex, LoopbackSenders, petDatagramMaker } from "../../bench/pet-datagram.js";
import { redisCli, startCluster, startSentinelTopology, until } from "../../bench/redis-topology.js";
import { configSchema } from "../../src/config/schema.js";
import { type Service, serve } from "../../src/serve/serve.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const maker = petDatagramMaker(process.cwd());

/** Per PET index, the idempotency keys (group sends) under which the webhook took it. */
const keysByIndex = (hook: HttpReceiver) =>
  new Map([...arrivalsByIndex(hook.requests)].map(([i, a]) => [i, a.keys] as const));

async function servePetgate(
  redis: Record<string, unknown>,
  hook: HttpReceiver,
): Promise<{ service: Service; log: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), "petgate-ha-"));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const log: string[] = [];
  const service = await serve({
    config: configSchema.parse({
      listener: { bind: "127.0.0.1:0" },
      http: { bind: "127.0.0.1:0" },
      routes: { receiver: "hook", group_by: ["..."], group_wait: "0s", group_interval: "1s" },
      receivers: [{ name: "hook", webhook: { url: hook.url } }],
      // One source sends every PET: no storm summaries in their place.
      storm: { limit: 100_000, fleet: { limit: 100_000 } },
      redis,
    }),
    roles: new Set(["listener", "worker", "http"]),
    dataDir,
    dataDirExplicit: true,
    log: (m) => log.push(m),
  });
  cleanup.push(() => service.close());
  return { service, log };
}

/** Sends PETs from…to-1 (alertPet) to `port`, `perTick` every 10 ms; `onSent(i)` after each. */
async function sendPets(
  port: number,
  range: { from: number; to: number },
  perTick: number,
  onSent: (i: number) => Promise<void> | void = () => undefined,
) {
  const senders = new LoopbackSenders();
  try {
    for (let i = range.from; i < range.to; i++) {
      const { source, datagram } = alertPet(maker, i);
      await senders.send(source, datagram, port);
      await onSent(i);
      if ((i + 1) % perTick === 0) await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    senders.close();
  }
}

/** A Sentinel set-up, a webhook, and petgate serve on them. */
async function onSentinels() {
  const topology = await startSentinelTopology();
  cleanup.push(() => topology.stop());
  const hook = await startHttpReceiver();
  cleanup.push(() => hook.close());
  const { service, log } = await servePetgate(
    { sentinels: topology.sentinels.map((s) => s.address), master: topology.master },
    hook,
  );
  return { topology, hook, log, port: service.listener?.port ?? 0 };
}

/** Once PETs 0…total-1 all reached the webhook: the keys each came under; else what petgate said. */
function allDelivered(hook: HttpReceiver, total: number, log: readonly string[]) {
  return until(
    `all ${total} PETs at the webhook`,
    async () => {
      const byIndex = keysByIndex(hook);
      return byIndex.size === total ? byIndex : undefined;
    },
    120_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${keysByIndex(hook).size} arrived; petgate said:\n${log.join("\n")}`);
  });
}

describe("Redis Sentinel", () => {
  it("survives its primary SIGKILLed mid-stream: every PET delivered once, after the failover too", async () => {
    const { topology, hook, log, port } = await onSentinels();
    const total = 600;
    // The primary dies a sixth in, once what was sent so far reached the webhook; PETs go on
    // through the failover, and on after it.
    await sendPets(port, { from: 0, to: total / 2 }, 2, async (i) => {
      if (i !== total / 6) return;
      await until("the first PETs delivered", async () =>
        keysByIndex(hook).size > total / 8 ? true : undefined,
      );
      await topology.primary.kill();
    });
    await until("the sentinels to name the replica master", async () =>
      (await topology.masterAddress()) === topology.replica.address ? true : undefined,
    );
    await sendPets(port, { from: total / 2, to: total }, 2);
    const delivered = await allDelivered(hook, total, log);
    expect([...delivered.keys()].sort((a, b) => a - b)).toEqual([...Array(total).keys()]);
    const twice = [...delivered].filter(([, keys]) => keys.size > 1).map(([i]) => i);
    expect(twice).toEqual([]);
    expect(await redisCli(topology.replica.port, "ROLE")).toMatch(/^master/);
    // With its one replica promoted, the new master has none: writes go on, and petgate says so.
    expect(log.filter((m) => m.startsWith("only 0 replica(s) connected, 1 asked"))).not.toHaveLength(0);
  }, 240_000);

  it("follows a planned failover (SENTINEL FAILOVER) whose old master lives on as a replica", async () => {
    const { topology, hook, log, port } = await onSentinels();
    const total = 400;
    await sendPets(port, { from: 0, to: total / 2 }, 2, async (i) => {
      if (i !== total / 4) return;
      // The connections petgate holds stay open: the old master answers them READONLY now.
      expect(await redisCli(topology.sentinels[0]?.port ?? 0, "SENTINEL", "FAILOVER", topology.master)).toBe(
        "OK",
      );
    });
    await until("the sentinels to name the replica master", async () =>
      (await topology.masterAddress()) === topology.replica.address ? true : undefined,
    );
    await until("the old master to follow it", async () =>
      (await redisCli(topology.primary.port, "ROLE")).startsWith("slave") ? true : undefined,
    );
    await sendPets(port, { from: total / 2, to: total }, 2);
    const delivered = await allDelivered(hook, total, log);
    expect([...delivered.values()].filter((keys) => keys.size > 1)).toEqual([]);
  }, 240_000);
});

describe("Redis Cluster", () => {
  it("runs the pipeline on three primaries, every key of petgate in the one slot of its hash tag", async () => {
    const cluster = await startCluster();
    cleanup.push(() => cluster.stop());
    const hook = await startHttpReceiver();
    cleanup.push(() => hook.close());
    const { service, log } = await servePetgate(
      { cluster: cluster.nodes.map((n) => n.address), prefix: "{pg}" },
      hook,
    );
    const total = 200;
    await sendPets(service.listener?.port ?? 0, { from: 0, to: total }, 5);
    const delivered = await allDelivered(hook, total, log);
    expect([...delivered.values()].every((keys) => keys.size === 1)).toBe(true);

    // The API answers from the cluster too.
    const http = service.http;
    const r = await fetch(`http://${http?.host}:${http?.port}/api/events?limit=5`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { events: unknown[] }).events).toHaveLength(5);

    // One shard holds it all: the node serving the hash tag's slot has every key, the others none.
    const slot = Number(await redisCli(cluster.nodes[0]?.port ?? 0, "CLUSTER", "KEYSLOT", "{pg}"));
    const sizes = await Promise.all(cluster.nodes.map(async (n) => Number(await redisCli(n.port, "DBSIZE"))));
    const owners = await Promise.all(
      cluster.nodes.map(async (n) =>
        Number(await redisCli(n.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))),
      ),
    );
    expect(sizes.filter((s) => s > 0)).toHaveLength(1);
    expect(owners).toEqual(sizes);
  }, 120_000);

  it("refuses a prefix without a hash tag, naming the setting", () => {
    const parsed = configSchema.safeParse({ redis: { cluster: ["127.0.0.1:7000"], prefix: "petgate" } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["redis", "prefix"]);
    expect(parsed.error?.issues[0]?.message).toMatch(/hash tag, e\.g\. "\{petgate\}"/);
  });
});
