import dgram from "node:dgram";
import { once } from "node:events";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import { IpmiClosedError } from "../../src/ipmi/client/errors.js";
import { getDeviceId } from "../../src/ipmi/commands/app.js";

// A BMC that hears every datagram and answers none (hung firmware): the session never opens.
let silent: dgram.Socket;
let heard = 0;
beforeAll(async () => {
  silent = dgram.createSocket("udp4");
  silent.on("message", () => {
    heard++;
  });
  silent.bind(0, "127.0.0.1");
  await once(silent, "listening");
});
afterAll(() => silent.close());

it("closing a client whose session is still opening ends the call at once, with IpmiClosedError", async () => {
  const client = new IpmiClient({
    host: "127.0.0.1",
    port: silent.address().port,
    username: "admin",
    password: "unused-Secret-1",
    attemptTimeoutMs: 20,
    deadlineMs: 600_000,
  });
  const call = client.execute(getDeviceId, undefined);
  const outcome = call.then(
    () => "answered",
    (err: unknown) => err,
  );
  // Sent more than once: the open is retrying each attempt timeout.
  await vi.waitFor(() => expect(heard).toBeGreaterThan(1), { timeout: 10_000, interval: 5 });
  await client.close();
  // Without abandoning the opening session, the call would wait out its ten-minute deadline, and
  // its next attempt would send on the closed socket (ERR_SOCKET_DGRAM_NOT_RUNNING, uncaught).
  expect(await outcome).toBeInstanceOf(IpmiClosedError);
});
