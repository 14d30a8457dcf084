import { resolveBmcs } from "../config/inventory.js";
import { ConfigError, loadConfig, SecretError } from "../config/load.js";
import { requireConfigFile } from "../config/path.js";
import type { Config } from "../config/schema.js";
import { diagnoseMissingPet, injectSampleEvent, isSamplePet, type SampleEvent } from "../pef/event-test.js";
import { runFleet } from "../pef/fleet.js";
import type { PetEvent } from "../pet/event.js";
import { TrapListener } from "../pet/listener.js";
import { listenerOptions } from "../pet/listener-options.js";
import { parseCommandArgs, UsageError } from "./usage.js";

const HELP = `usage: petgate event test [--config FILE] [--all | BMC...] [1|2|3] [--listen HOST:PORT] [--timeout MS] [--json]

Sends each BMC the Platform Event Message of \`ipmitool event 1|2|3\` (default 1) over RMCP+, and
waits for the PET it should raise at a listener this command runs. Per BMC: PET received or not, the
round trip, the decoded event; for a missing PET, the likely reason read from the BMC's PEF (PEF
disabled, no matching filter, no destination pointing here, community). Exit 1 if any PET is missing.

  --listen   where to receive the PETs (default: the config's listener.bind)
  --timeout  how long to wait for each PET (default 10000 ms)`;

interface Result {
  received: boolean;
  ms?: number;
  event?: string;
  severity?: string;
  sequence?: number;
  reason?: string;
}

export async function eventCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: "string" },
      all: { type: "boolean" },
      listen: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    },
    HELP,
  );
  const [sub, ...rest] = positionals;
  if (sub !== "test") throw new UsageError(`expected "event test"\n${HELP}`);
  const which = rest.at(-1);
  const sample: SampleEvent = which === "2" ? 2 : which === "3" ? 3 : 1;
  const names = rest.filter((r) => !/^[123]$/.test(r));
  if (!values.all && names.length === 0) throw new UsageError("name the BMCs to test, or give --all");

  let config: Config;
  try {
    config = loadConfig(requireConfigFile(values.config));
    const targets = resolveBmcs(config, values.all ? undefined : names);
    const listen = listenerOptions({
      ...config.listener,
      ...(values.listen !== undefined && { bind: values.listen }),
    });
    const gateway = {
      ip: config.pef?.destinations[0]?.ip ?? listen.bind.host,
      community: config.pef?.community ?? "public",
    };
    const timeoutMs = Number(values.timeout ?? 10_000);
    return await run(
      targets,
      sample,
      listen,
      gateway,
      timeoutMs,
      values.json === true,
      config.pef?.channel ?? 1,
    );
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretError || err instanceof RangeError) {
      process.stderr.write(`petgate event test: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(
  targets: ReturnType<typeof resolveBmcs>,
  sample: SampleEvent,
  listen: ReturnType<typeof listenerOptions>,
  gateway: { ip: string; community: string },
  timeoutMs: number,
  json: boolean,
  channel: number,
): Promise<number> {
  // A PET is the answer of the BMC whose address sent it (PET 1.0: agent-addr and source are the BMC's).
  const waiting = new Map<
    string,
    { resolve: (pet: PetEvent) => void; matches: (pet: PetEvent) => boolean }
  >();
  const listener = await TrapListener.start(listen, (event) => {
    if (event.kind !== "pet") return;
    for (const address of [event.source.address, event.snmp.agentAddress]) {
      const w = address === undefined ? undefined : waiting.get(address);
      if (w?.matches(event.pet)) {
        waiting.delete(address as string);
        w.resolve(event.pet);
        return;
      }
    }
  });
  try {
    const outcomes = await runFleet(
      targets,
      async (execute, target): Promise<Result> => {
        const arrived = new Promise<PetEvent | undefined>((resolve) => {
          waiting.set(target.host, { resolve, matches: (pet) => isSamplePet(pet, sample) });
          setTimeout(() => resolve(undefined), timeoutMs).unref();
        });
        const started = performance.now();
        await injectSampleEvent(execute, sample);
        const pet = await arrived;
        waiting.delete(target.host);
        if (!pet)
          return { received: false, reason: await diagnoseMissingPet(execute, sample, channel, gateway) };
        return {
          received: true,
          ms: performance.now() - started,
          event: `${pet.sensorTypeName}: ${pet.event}`,
          severity: pet.severity,
          sequence: pet.sequence,
        };
      },
      { concurrency: 16, deadlineMs: timeoutMs + 15_000 },
    );
    let broken = 0;
    for (const o of [...outcomes].sort((a, b) => a.bmc.localeCompare(b.bmc, undefined, { numeric: true }))) {
      const r: Result = o.ok ? o.value : { received: false, reason: o.error };
      if (!r.received) broken++;
      const line = json
        ? JSON.stringify({ bmc: o.bmc, ...r, ...(r.ms !== undefined && { ms: Math.round(r.ms) }) })
        : r.received
          ? `${o.bmc}: PET received in ${Math.round(r.ms ?? 0)} ms: ${r.event} (${r.severity}), sequence ${r.sequence}`
          : `${o.bmc}: no PET: ${r.reason}`;
      process.stdout.write(`${line}\n`);
    }
    return broken === 0 ? 0 : 1;
  } finally {
    await listener.close();
  }
}
