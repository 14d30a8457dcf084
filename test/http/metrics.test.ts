import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { DELL_CHASSIS_INTRUSION } from "../pet/vectors.js";
import { netSnmp, petArgs, waitFor } from "../support/listener.js";
import { freeTcpPort } from "../support/ports.js";
import { getJson, type Stack, startStack } from "./stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack("127.42.0.1");
  // One alert through the whole pipeline, delivered to the webhook and dead-lettered for "nowhere".
  setSensorValue(stack.fleet.simulators[0]?.state ?? fail(), SensorNumber.Cpu1Temp, 92);
  await waitFor(
    "the event's deliveries",
    async () => {
      const s = await samples();
      return (s.get('petgate_deliveries_total{receiver="nowhere",outcome="unknown-receiver"}') ?? 0) >= 1 &&
        (s.get('petgate_deliveries_total{receiver="webhook",outcome="delivered"}') ?? 0) >= 1
        ? s
        : undefined;
    },
    20_000,
  );
}, 60_000);

afterAll(async () => {
  await stack?.close();
}, 30_000);

function fail(): never {
  throw new Error("no simulated BMC");
}

/** The exposition text as `name{labels}` → value (labels as printed, in prom-client's order). */
async function samples(): Promise<Map<string, number>> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (m?.[1] && m[2]) map.set(m[1], Number(m[2]));
  }
  return map;
}

describe("deploy/grafana/petgate.json", () => {
  it("every query names metrics this /metrics exports, grouped and labelled by labels they carry", async () => {
    const dashboard = JSON.parse(
      readFileSync(fileURLToPath(new URL("../../deploy/grafana/petgate.json", import.meta.url)), "utf8"),
    ) as { panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[] };
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    // The label names each family's samples carry (a family with no sample yet shows none).
    const labels = new Map<string, Set<string>>();
    for (const [, name, body] of text.matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\} /gm)) {
      const family = (name as string).replace(/_(bucket|sum|count)$/, "");
      const set = labels.get(family) ?? new Set<string>();
      labels.set(family, set);
      for (const [, label] of (body as string).matchAll(/(\w+)="/g)) set.add(label as string);
    }
    const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t })));
    expect(targets.length).toBeGreaterThanOrEqual(15);
    for (const { panel, expr, legendFormat } of targets) {
      const names = [...expr.matchAll(/\bpetgate_\w+/g)].map((m) => m[0].replace(/_bucket$/, ""));
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(families.has(name), `${panel}: ${name} is not exported`).toBe(true);
        const carried = labels.get(name);
        if (!carried) continue;
        const used = [
          ...[...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) =>
            (m[1] as string).split(",").map((l) => l.trim()),
          ),
          ...[...(legendFormat ?? "").matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] as string),
        ].filter((l) => l !== "le");
        for (const label of used)
          expect(carried.has(label), `${panel}: ${name} has no label ${label}`).toBe(true);
      }
    }
    // Every petgate family is on the dashboard.
    const charted = new Set(
      targets.flatMap((t) => [...t.expr.matchAll(/\bpetgate_\w+/g)].map((m) => m[0].replace(/_bucket$/, ""))),
    );
    expect([...families].filter((f) => f?.startsWith("petgate_") && !charted.has(f))).toEqual([]);
  });
});

describe("/metrics", () => {
  it("is Prometheus text with the pipeline's counters, queue depths and BMC health", async () => {
    const r = await fetch(`${stack.url}/metrics`);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    await r.arrayBuffer();
    const s = await samples();
    const at = (key: string) => s.get(key);

    expect(at("petgate_traps_received_total")).toBeGreaterThanOrEqual(1);
    expect(at('petgate_traps_decoded_total{kind="pet"}')).toBeGreaterThanOrEqual(1);
    expect(at('petgate_ingest_events_total{durability="queued"}')).toBeGreaterThanOrEqual(1);
    expect(at('petgate_events_processed_total{enrichment="ok",outcome="sent"}')).toBe(1);
    expect(at('petgate_enrichment_duration_seconds_count{enrichment="ok"}')).toBe(1);
    expect(at('petgate_enrichment_duration_seconds_bucket{le="+Inf",enrichment="ok"}')).toBe(1);
    expect(at('petgate_deliveries_total{receiver="webhook",outcome="delivered"}')).toBe(1);
    expect(at('petgate_queue_jobs{queue="ingest",state="completed"}')).toBe(1);
    expect(at('petgate_queue_jobs{queue="deliver",state="completed"}')).toBe(2);
    expect(at('petgate_queue_jobs{queue="ingest",state="waiting"}')).toBe(0);
    expect(at("petgate_redis_up")).toBe(1);
    const health = await waitFor("bmc-1 probed", async () =>
      (await samples()).get('petgate_bmc_health{bmc="bmc-1",state="ok"}') === 1 ? samples() : undefined,
    );
    expect(health.get('petgate_bmc_health{bmc="bmc-1",state="wedged"}')).toBe(0);
    expect(health.get('petgate_bmc_unresponsive_alerting{bmc="bmc-1"}')).toBe(0);
    // prom-client's default process metrics are in the same registry.
    expect(at("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("counts rejected traps by reason", async () => {
    const target = `udp:127.0.0.1:${stack.pipeline.listener.address().port}`;
    const sender = { version: "1", community: "wrong-community" } as const;
    await netSnmp(
      "snmptrap",
      petArgs(sender, target, DELL_CHASSIS_INTRUSION.specificTrap, DELL_CHASSIS_INTRUSION.hex),
    );
    const s = await waitFor("the rejected trap", async () => {
      const m = await samples();
      return m.get('petgate_traps_rejected_total{reason="community"}') === 1 ? m : undefined;
    });
    expect(s.get('petgate_traps_rejected_total{reason="source"}')).toBe(0);
  });

  it("reports the kernel's UDP receive-buffer drops", async () => {
    const metric = async () =>
      (await samples()).get('petgate_udp_receive_buffer_errors_total{family="ipv4"}') ?? -1;
    const before = await metric();
    expect(before).toBeGreaterThanOrEqual(0);
    // A socket with the smallest buffer, flooded while this process cannot read it: the kernel drops.
    const rx = dgram.createSocket({ type: "udp4", recvBufferSize: 1 });
    const tx = dgram.createSocket("udp4");
    try {
      await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
      const payload = Buffer.alloc(1000);
      for (let i = 0; i < 200; i++) tx.send(payload, rx.address().port, "127.0.0.1");
      await waitFor("the drops", async () => ((await metric()) > before ? true : undefined));
    } finally {
      rx.close();
      tx.close();
    }
  });
});

describe("Prometheus", () => {
  it("scrapes /metrics: the target is up and petgate's series are stored", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petgate-prometheus-"));
    const port = await freeTcpPort();
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: petgate",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${stack.http.address().port}"]`,
        "",
      ].join("\n"),
    );
    let stderr = "";
    const prometheus: ChildProcess = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prometheus.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    type QueryResult = { data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    const query = async (q: string) => {
      if (prometheus.exitCode !== null)
        throw new Error(`prometheus exited ${prometheus.exitCode}: ${stderr}`);
      try {
        const r = await getJson<QueryResult>(
          `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`,
        );
        return r.body.data?.result ?? [];
      } catch {
        return []; // not listening yet
      }
    };
    try {
      const up = await waitFor(
        "Prometheus to scrape petgate",
        async () => (await query('up{job="petgate"}')).find((r) => r.value[1] === "1"),
        30_000,
      );
      expect(up.metric.instance).toBe(`127.0.0.1:${stack.http.address().port}`);
      const processed = await waitFor("petgate's series in Prometheus", async () => {
        const rs = await query("petgate_events_processed_total");
        return rs.length > 0 ? rs : undefined;
      });
      expect(processed[0]?.metric).toMatchObject({ enrichment: "ok", outcome: "sent", job: "petgate" });
      expect(processed[0]?.value[1]).toBe("1");
    } finally {
      prometheus.kill("SIGTERM");
      if (prometheus.exitCode === null) await once(prometheus, "exit");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("PET Acknowledge", () => {
  it("counts a PET from a source outside the inventory and ack.allowSources as not_allowed", async () => {
    const target = `udp:127.0.0.1:${stack.pipeline.listener.address().port}`;
    const sender = { version: "1", community: "public" } as const;
    await netSnmp(
      "snmptrap",
      petArgs(sender, target, DELL_CHASSIS_INTRUSION.specificTrap, DELL_CHASSIS_INTRUSION.hex),
    );
    await waitFor("the refused acknowledgement", async () =>
      (await samples()).get('petgate_pet_acks_total{outcome="not_allowed"}') === 1 ? true : undefined,
    );
    expect(stack.pipeline.acknowledger.stats()).toMatchObject({ notAllowed: 1 });
  });
});
