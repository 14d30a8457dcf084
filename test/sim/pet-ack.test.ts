import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TrapEvent } from "../../src/pet/trap.js";
import { type RunningListener, startListener, waitFor } from "../support/listener.js";
import { freeipmiLan20 } from "../support/login.js";
import { provisionPefWithIpmitool, SIM_PASSWORD, startSims } from "../support/sim.js";

const run = promisify(execFile);
let receiver: RunningListener;
let sims: Awaited<ReturnType<typeof startSims>>;

beforeAll(async () => {
  receiver = await startListener();
  // ipmi-pet sends its acknowledgement to UDP 623: the simulator gets a loopback address of its own.
  sims = await startSims({ listen: "127.24.0.1:623", trapPort: receiver.listener.address().port });
  await provisionPefWithIpmitool((...args) => sims.ipmitool("17", ...args), {
    ack: { timeoutSeconds: 1, retries: 1 },
  });
});
afterAll(async () => {
  await sims.fleet.stop();
  await receiver.close();
});

const pets = (sequence: number) =>
  receiver.events.filter(
    (e): e is Extract<TrapEvent, { kind: "pet" }> => e.kind === "pet" && e.pet.sequence === sequence,
  );

it("stops resending a PET once FreeIPMI ipmi-pet --pet-acknowledge acknowledges it", async () => {
  await sims.ipmitool("17", "event", "1");
  const first = await waitFor("the PET", () => receiver.events.find((e) => e.kind === "pet"));
  if (first.kind !== "pet") throw new Error("not a PET");
  expect(first.pet.event).toBe("Upper Critical - going high");
  const hex = first.varbind.match(/../g)?.map((b) => `0x${b}`) ?? [];
  const { specificTrap, sequence } = first.pet;
  await run("ipmi-pet", [
    ...freeipmiLan20({ host: sims.host, password: SIM_PASSWORD }),
    "--pet-acknowledge",
    String(specificTrap),
    ...hex,
  ]);
  await waitFor("the acknowledgement", () => sims.fleet.counters().acksReceived === 1);
  // One retry interval later nothing more has come for this sequence number.
  await new Promise((r) => setTimeout(r, 1500));
  expect(pets(sequence)).toHaveLength(1);
  expect(sims.fleet.counters()).toMatchObject({ petsSent: 1, acksReceived: 1, retransmissions: 0 });
});

it("resends an unacknowledged PET retries times, one timeout apart", async () => {
  await sims.ipmitool("17", "event", "2");
  const sequence = await waitFor("the second PET", () =>
    receiver.events.map((e) => (e.kind === "pet" ? e.pet.sequence : 0)).find((s) => s > 1),
  );
  await waitFor("the resend", () => pets(sequence).length === 2, 5000);
  expect(sims.fleet.counters().retransmissions).toBe(1);
});
