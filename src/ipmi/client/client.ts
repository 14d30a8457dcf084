import dgram from "node:dgram";
import { once } from "node:events";
import { isIPv6 } from "node:net";
import { type ChannelAuthCapabilities, closeSession, getDeviceId, PrivilegeLevel } from "../commands/app.js";
import type { IpmiCommand } from "../commands/command.js";
import type { IpmiResponseMessage } from "../message.js";
import { IpmiClosedError, IpmiRefusedError, IpmiTimeoutError } from "./errors.js";
import { Ipmi15Session } from "./ipmi15-session.js";
import type { IpmiProtocol, IpmiSession, LanSession, SessionOptions } from "./lan-session.js";
import { RmcpPlusSession } from "./session.js";

export interface IpmiClientOptions {
  host: string;
  /** Default 623. */
  port?: number;
  username: string;
  password: string;
  kg?: Buffer;
  /** Default 17 (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128). */
  cipherSuite?: number;
  /** Default administrator. */
  privilege?: number;
  /**
   * Which IPMI session to open: "2.0" RMCP+, "1.5" (`ipmitool -I lan`), or "auto" (default): RMCP+
   * when Get Channel Authentication Capabilities says the BMC offers it, else 1.5.
   */
  ipmi?: "auto" | IpmiProtocol;
  /** IPMI 1.5 auth type; default the strongest the BMC offers (MD5, then straight password). */
  authType?: "md5" | "password" | "none";
  /** Allow sessions that authenticate nobody (cipher suite 0, IPMI 1.5 auth type none); logged as insecure. */
  allowInsecure?: boolean;
  /** Wait per packet before sending it again; default 1000 ms. */
  attemptTimeoutMs?: number;
  /** Overall deadline of one call, queueing and session set-up included; default 5000 ms. */
  deadlineMs?: number;
  /** Calls on the wire at once; default 2. */
  maxInFlight?: number;
  /** Calls allowed to wait behind them; more are refused at once; default 32. */
  maxQueued?: number;
  /** Idle time after which a cheap command keeps the session alive; default 30 s, 0 = off. */
  keepAliveMs?: number;
  /**
   * How long after the last call the keep-alive keeps the session; then the session is closed (Close
   * Session frees the BMC's slot) and the next call opens a new one. Default: as long as the client.
   */
  keepWarmMs?: number;
  /** Where warnings go (insecure sessions, keep-alive failures); default standard error. */
  log?: (line: string) => void;
  /** How errors name this BMC; default HOST:PORT. */
  name?: string;
}

interface Job {
  enqueued: number;
  deadline: number;
  run: (session: IpmiSession, deadline: number) => Promise<unknown>;
  repeatable: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface CallOptions {
  /** This call's deadline, queueing included; default the client's deadlineMs. */
  deadlineMs?: number;
  /** See IpmiClient.execute. */
  urgent?: boolean;
}

export interface IpmiClientStats {
  inFlight: number;
  queued: number;
  sessionsOpened: number;
  calls: number;
  failures: number;
}

/** Commands not safe to send twice: a second one would log a second event or reset twice. */
const NOT_REPEATABLE = new Set(["4:2", "10:68", "6:2"]); // Platform Event, Add SEL Entry, Cold Reset

/**
 * One BMC, in-process: a lazily opened session (RMCP+, or IPMI 1.5 for BMCs without it) over one UDP socket, a bounded queue, a bounded
 * number of calls in flight and a deadline on each call, so that a hung BMC costs one socket and a
 * bounded number of timers however many callers ask. A session that stops answering is re-opened
 * transparently (after a BMC reset, say) and the call tried once more if it is safe to repeat.
 */
export class IpmiClient {
  readonly name: string;
  private readonly o: Required<Omit<IpmiClientOptions, "kg" | "name" | "authType">> &
    Pick<IpmiClientOptions, "kg" | "authType">;
  private socket: dgram.Socket | undefined;
  private session: IpmiSession | undefined;
  /** The session datagrams go to: the one being set up, else the open one. */
  private receiving: IpmiSession | undefined;
  private opening: Promise<IpmiSession> | undefined;
  /** The IPMI version the open or last session speaks. */
  private negotiated: IpmiProtocol | undefined;
  private readonly queue: Job[] = [];
  /** Urgent calls (health probes): taken before `queue`, and not counted against maxQueued. */
  private readonly urgentQueue: Job[] = [];
  private inFlight = 0;
  private closed = false;
  private keepAlive: NodeJS.Timeout | undefined;
  /** When a caller last asked something (keep-alives aside). */
  private lastCall = 0;
  private readonly counters = { sessionsOpened: 0, calls: 0, failures: 0 };

  constructor(options: IpmiClientOptions) {
    this.o = {
      port: 623,
      cipherSuite: 17,
      privilege: PrivilegeLevel.Administrator,
      ipmi: "auto",
      allowInsecure: false,
      attemptTimeoutMs: 1000,
      deadlineMs: 5000,
      maxInFlight: 2,
      maxQueued: 32,
      keepAliveMs: 30_000,
      keepWarmMs: Number.POSITIVE_INFINITY,
      log: (line) => process.stderr.write(`${line}\n`),
      ...options,
    };
    this.name = options.name ?? `${isIPv6(options.host) ? `[${options.host}]` : options.host}:${this.o.port}`;
  }

  /**
   * Sends one command; resolves with its decoded response or rejects with a typed error. An `urgent`
   * call (a health probe) waits only behind other urgent ones and is never refused for a full queue:
   * a BMC busy with a backlog of enrichment reads still answers whether it is alive.
   */
  execute<Req, Res>(command: IpmiCommand<Req, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    this.lastCall = Date.now();
    return this.enqueue(
      (session, deadline) => session.execute(command, request, deadline),
      !NOT_REPEATABLE.has(`${command.netFn}:${command.cmd}`),
      options,
    );
  }

  /** Sends raw request data; the response comes back whatever its completion code. */
  raw(netFn: number, cmd: number, data: Buffer, options: CallOptions = {}): Promise<IpmiResponseMessage> {
    const what = { name: `raw ${netFn.toString(16)}h/${cmd.toString(16)}h`, netFn, cmd };
    this.lastCall = Date.now();
    return this.enqueue((session, deadline) => session.request(what, data, deadline), false, options);
  }

  /** The IPMI version the open (or last) session negotiated; undefined before the first one. */
  get protocol(): IpmiProtocol | undefined {
    return this.negotiated;
  }

  stats(): IpmiClientStats {
    return { inFlight: this.inFlight, queued: this.queue.length + this.urgentQueue.length, ...this.counters };
  }

  /** Closes the session (Close Session, best effort within one attempt timeout) and the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.keepAlive);
    for (const job of [...this.urgentQueue.splice(0), ...this.queue.splice(0)]) {
      clearTimeout(job.timer);
      job.reject(new IpmiClosedError(this.name));
    }
    if (this.session) await this.endSession(this.session);
    // A session still opening would send again each attempt timeout until its deadline.
    if (this.receiving !== this.session) this.receiving?.abandon(new IpmiClosedError(this.name));
    this.socket?.close();
    this.socket = undefined;
  }

  /** `await using client = new IpmiClient(…)` closes the session when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private enqueue<T>(run: Job["run"], repeatable: boolean, options: CallOptions): Promise<T> {
    const { deadlineMs = this.o.deadlineMs, urgent = false } = options;
    if (this.closed) return Promise.reject(new IpmiClosedError(this.name));
    if (!urgent && this.queue.length >= this.o.maxQueued) {
      this.counters.failures++;
      return Promise.reject(
        new IpmiRefusedError(
          this.name,
          `${this.queue.length} calls already waiting (maxQueued); the BMC is not keeping up`,
        ),
      );
    }
    const started = Date.now();
    const lane = urgent ? this.urgentQueue : this.queue;
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        enqueued: started,
        deadline: started + deadlineMs,
        run,
        repeatable,
        resolve: resolve as (v: unknown) => void,
        reject,
        // A call that never leaves the queue still ends at its deadline.
        timer: setTimeout(() => {
          const at = lane.indexOf(job);
          if (at < 0) return;
          lane.splice(at, 1);
          this.counters.failures++;
          reject(
            new IpmiTimeoutError(
              this.name,
              "a free slot (queued behind calls in flight)",
              Date.now() - started,
            ),
          );
        }, deadlineMs),
      };
      lane.push(job);
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.urgentQueue.length + this.queue.length > 0) {
      const job = (this.urgentQueue.shift() ?? this.queue.shift()) as Job;
      clearTimeout(job.timer);
      if (Date.now() >= job.deadline) {
        this.counters.failures++;
        job.reject(
          new IpmiTimeoutError(
            this.name,
            "a free slot (queued behind calls in flight)",
            job.deadline - job.enqueued,
          ),
        );
        continue;
      }
      this.inFlight++;
      this.counters.calls++;
      // The slot is free again before the caller hears back, so a caller that calls again at once finds it.
      this.runJob(job).then(
        (value) => {
          this.release();
          job.resolve(value);
        },
        (err: Error) => {
          this.counters.failures++;
          this.release();
          job.reject(err);
        },
      );
    }
  }

  private release(): void {
    this.inFlight--;
    this.scheduleKeepAlive();
    this.pump();
  }

  private async runJob(job: Job): Promise<unknown> {
    const fresh = this.session === undefined;
    const session = await this.sessionFor(job.deadline);
    if (fresh) return job.run(session, job.deadline);
    // On a session opened earlier, give the BMC two attempts; silence then means the session may be
    // gone (BMC reset, session timeout), so open a new one and, if safe, try once more.
    const probe = Math.min(job.deadline, Date.now() + 2 * this.o.attemptTimeoutMs);
    try {
      return await job.run(session, probe);
    } catch (err) {
      if (!(err instanceof IpmiTimeoutError) || this.closed) throw err;
      this.dropSession(session);
      if (!job.repeatable || Date.now() >= job.deadline) throw err;
      return job.run(await this.sessionFor(job.deadline), job.deadline);
    }
  }

  private sessionFor(deadline: number): Promise<IpmiSession> {
    if (this.session) return Promise.resolve(this.session);
    this.opening ??= this.open(deadline).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(deadline: number): Promise<IpmiSession> {
    const socket = await this.socketFor();
    const options: SessionOptions = {
      name: this.name,
      username: this.o.username,
      password: this.o.password,
      ...(this.o.kg && { kg: this.o.kg }),
      cipherSuite: this.o.cipherSuite,
      ...(this.o.authType && { authType: this.o.authType }),
      privilege: this.o.privilege,
      allowInsecure: this.o.allowInsecure,
      attemptTimeoutMs: this.o.attemptTimeoutMs,
      log: this.o.log,
    };
    // A session dropped after a timeout may still resend a call's packet: not once the socket is closed.
    const send = (packet: Buffer) => {
      if (this.socket === socket) socket.send(packet);
    };
    const sessionOf = (protocol: IpmiProtocol): LanSession =>
      protocol === "2.0" ? new RmcpPlusSession(options, send) : new Ipmi15Session(options, send);
    const wanted = this.o.ipmi === "auto" ? this.negotiated : this.o.ipmi;
    let session = sessionOf(wanted ?? "2.0");
    this.receiving = session;
    let capabilities: ChannelAuthCapabilities | undefined;
    let why = "";
    if (!wanted) {
      // Auto, first time: ask once, and open the session the answer names (IPMI 2.0 §22.13 byte 4).
      capabilities = await session.capabilities(deadline, true);
      if (!capabilities.ipmi20ExtendedData || !capabilities.supportsIpmi20) {
        session = sessionOf("1.5");
        this.receiving = session;
        why = " (auto: the BMC does not offer RMCP+)";
      }
    }
    // Logged once per client, when it first speaks 1.5; RMCP+, the expected case, shows in /api/bmcs.
    if (session.protocol === "1.5" && this.negotiated !== "1.5") {
      this.o.log(
        `${this.name}: IPMI 1.5 session${why}: MD5 and straight-password auth codes are weak (a straight password crosses the network as it is); use RMCP+ where the BMC has it`,
      );
    }
    this.negotiated = session.protocol;
    await session.establish(deadline, capabilities);
    if (this.closed) throw new IpmiClosedError(this.name);
    this.session = session;
    this.counters.sessionsOpened++;
    return session;
  }

  /** Close Session (best effort, within one attempt timeout), then the session is done. */
  private async endSession(session: IpmiSession): Promise<void> {
    await session
      .execute(closeSession, { sessionId: session.id }, Date.now() + this.o.attemptTimeoutMs)
      .catch(() => undefined);
    session.abandon(new IpmiClosedError(this.name));
  }

  private dropSession(session: IpmiSession): void {
    if (this.session === session) this.session = undefined;
  }

  private async socketFor(): Promise<dgram.Socket> {
    if (this.socket) return this.socket;
    const socket = dgram.createSocket(isIPv6(this.o.host) ? "udp6" : "udp4");
    socket.on("message", (datagram) => this.receiving?.receive(datagram));
    socket.on("error", (err) => this.o.log(`${this.name}: socket error: ${err.message}`));
    // Connected: the kernel drops datagrams from anyone but this BMC.
    socket.connect(this.o.port, this.o.host);
    await once(socket, "connect");
    socket.unref();
    this.socket = socket;
    return socket;
  }

  private scheduleKeepAlive(): void {
    clearTimeout(this.keepAlive);
    if (this.o.keepAliveMs <= 0 || this.closed || !this.session) return;
    this.keepAlive = setTimeout(() => {
      const session = this.session;
      if (Date.now() - this.lastCall < this.o.keepWarmMs) {
        this.enqueue((s, deadline) => s.execute(getDeviceId, undefined, deadline), true, {}).catch(
          (err: Error) => this.o.log(`${this.name}: keep-alive failed: ${err.message}`),
        );
      } else if (session && this.inFlight === 0) {
        // Cold: end it rather than let the BMC time it out, which would cost the next call two
        // unanswered attempts on the dead session before a new one is opened.
        this.dropSession(session);
        void this.endSession(session);
      }
    }, this.o.keepAliveMs);
    this.keepAlive.unref();
  }
}
