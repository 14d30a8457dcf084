import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrapEvent } from "../../src/pet/trap.js";
import { type RunningListener, startListener, waitFor } from "../support/listener.js";
import { keyValues, provisionPefWithIpmitool, startSims } from "../support/sim.js";

const CAPACITY = 4;
let receiver: RunningListener;
let sims: Awaited<ReturnType<typeof startSims>>;
const ipmitool = (...args: string[]) => sims.ipmitool("17", ...args);

beforeAll(async () => {
  receiver = await startListener();
  sims = await startSims({ selCapacity: CAPACITY, trapPort: receiver.listener.address().port });
  await provisionPefWithIpmitool(ipmitool);
});
afterAll(async () => {
  await sims.fleet.stop();
  await receiver.close();
});

const petCount = () => receiver.events.filter((e: TrapEvent) => e.kind === "pet").length;

describe("a simulated BMC whose SEL is full (--sel-capacity)", () => {
  it("logs no more: ipmitool sel info 100% used and Overflow true, FreeIPMI events dropped, Add SEL Entry C4h; the PET still goes out", async () => {
    for (let i = 1; i <= CAPACITY; i++) await ipmitool("event", "1");
    const filled = keyValues(await ipmitool("sel", "info"));
    expect(filled.get("Entries")).toBe(String(CAPACITY));
    expect(filled.get("Percent Used")).toBe("100%");
    expect(filled.get("Overflow")).toBe("false");
    await waitFor("the PETs of the logged events", () => petCount() === CAPACITY);

    // One more event: not logged, but PEF still alerts on it (as real BMCs do).
    await ipmitool("event", "1");
    await waitFor("the PET of the event the SEL could not log", () => petCount() === CAPACITY + 1);
    const full = keyValues(await ipmitool("sel", "info"));
    expect(full.get("Entries")).toBe(String(CAPACITY));
    expect(full.get("Free Space")).toBe("0 bytes");
    expect(full.get("Overflow")).toBe("true");
    expect(
      keyValues(await sims.freeipmi("ipmi-sel", "--info")).get("Events dropped due to lack of space"),
    ).toBe("Yes");

    // Add SEL Entry (IPMI 2.0 §31.6) of a system event record: out of space.
    const add = ipmitool("raw", "0x0a", "0x44", "0x00", "0x00", "0x02", ...Array(13).fill("0x00"));
    await expect(add).rejects.toThrow(/rsp=0xc4\): Out of space/);

    await ipmitool("sel", "clear");
    const cleared = keyValues(await ipmitool("sel", "info"));
    expect(cleared.get("Entries")).toBe("0");
    expect(cleared.get("Percent Used")).toBe("0%");
    expect(cleared.get("Overflow")).toBe("false");
  });
});
