import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Redis } from "ioredis";

/**
 * Every command Redis ran while `work` did, by MONITOR (commands that scripts run included, unless
 * `scripts` is false: then only what clients sent, one line per command of a pipeline or
 * transaction). MONITOR lines arrive after the replies, so it waits for a marker ECHO sent once
 * `work` is done.
 *
 * MONITOR is spoken on a socket of its own rather than through ioredis's monitor(): ioredis fails
 * with "Command queue state error" when a MONITOR line shares a packet with MONITOR's +OK, which
 * happens whenever other connections are busy as it starts.
 */
export async function commandsDuring(
  redis: Redis,
  work: () => Promise<unknown>,
  options: { scripts?: boolean } = {},
): Promise<string[][]> {
  const marker = `end-of-work-${randomUUID()}`;
  const commands: string[][] = [];
  let markerSeen: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    markerSeen = resolve;
  });
  const monitor = await startMonitor(redis, (args, fromScript) => {
    if (args[0]?.toLowerCase() === "echo" && args[1] === marker) markerSeen();
    else if (!fromScript || options.scripts !== false) commands.push(args);
  });
  try {
    await work();
    await redis.echo(marker);
    await ended;
    return commands;
  } finally {
    monitor.destroy();
  }
}

/**
 * A MONITOR connection to `redis`'s server, open once Redis said +OK; each command line to
 * `onCommand`, with whether a script ran it (`[0 lua]` where a client's address would be).
 */
async function startMonitor(
  redis: Redis,
  onCommand: (args: string[], fromScript: boolean) => void,
): Promise<Socket> {
  const { path, host, port } = redis.options;
  const socket = path ? connect(path) : connect(port ?? 6379, host ?? "127.0.0.1");
  socket.setEncoding("latin1");
  let buffered = "";
  let ok: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    ok = resolve;
    failed = reject;
  });
  socket.on("error", (err) => failed(err));
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === "+OK") ok();
      else if (line.startsWith("-")) failed(new Error(`MONITOR: ${line.slice(1)}`));
      else if (line.startsWith("+")) onCommand(monitorArgs(line), /^\+\S+ \[\d+ lua\]/.test(line));
    }
  });
  socket.write("MONITOR\r\n");
  await started;
  return socket;
}

/** `+1700000000.123456 [0 unix:/x.sock] "hget" "k" "f\"x"` → ["hget", "k", 'f"x'] (sds repr escapes). */
function monitorArgs(line: string): string[] {
  const args: string[] = [];
  const quoted = /"((?:[^"\\]|\\x[0-9a-f]{2}|\\.)*)"/g;
  for (const [, body = ""] of line.slice(line.indexOf("]") + 1).matchAll(quoted))
    args.push(
      body.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
        e.startsWith("x") && e.length === 3
          ? String.fromCharCode(Number.parseInt(e.slice(1), 16))
          : (({ n: "\n", r: "\r", t: "\t", a: "\x07", b: "\b" } as Record<string, string>)[e] ?? e),
      ),
    );
  return args;
}

/**
 * The fields of hash `key` those commands read: HGET and HMGET name theirs, a command that reads the
 * whole hash (HGETALL, HVALS, HKEYS, HSCAN) counts as "*".
 */
export function hashFieldsRead(commands: string[][], key: string): string[] {
  return commands.flatMap(([command = "", k, ...fields]) => {
    if (k !== key) return [];
    const c = command.toLowerCase();
    if (c === "hget" || c === "hmget") return fields;
    return ["hgetall", "hvals", "hkeys", "hscan"].includes(c) ? ["*"] : [];
  });
}
