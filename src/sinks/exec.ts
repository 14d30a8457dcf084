import { spawn } from "node:child_process";
import { escapeControls } from "./escape.js";
import { snippet } from "./http-post.js";
import type { DeliveryResult, NotificationGroup, Sink } from "./sink.js";
import { petgateBody } from "./webhook.js";

export interface ExecSinkOptions {
  name: string;
  /** The program and its arguments, run as they are (no shell). */
  command: readonly string[];
  /** Killed (SIGKILL) when still running after this; default 10 s. */
  timeoutMs?: number;
  /** Its whole environment besides PATH and PETGATE_RECEIVER: nothing of petgate's is passed on. */
  env?: Readonly<Record<string, string>>;
}

/** sysexits.h EX_TEMPFAIL, as sendmail and procmail use it: "try again later". */
export const EXIT_TEMPFAIL = 75;
/** What a program's PATH is: the system's directories, never the daemon's own. */
const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** What is kept of its stderr for the reason: its last characters, where the error usually is. */
const STDERR_KEPT = 300;

/**
 * Runs a program per group (ipmiutil `getevt -r` and snmptt EXEC users' habit) with the group as
 * `format: petgate` JSON on stdin (one line, then EOF). Its exit status decides: 0 delivered;
 * 75 (EX_TEMPFAIL), a signal or the timeout: retried; any other: failed for good (dead-lettered with
 * the end of its stderr). It gets a clean environment: PATH, PETGATE_RECEIVER and `env` only.
 */
export class ExecSink implements Sink {
  readonly name: string;
  private readonly timeoutMs: number;
  private readonly env: Record<string, string>;

  constructor(private readonly options: ExecSinkOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const [program] = options.command;
    if (program === undefined || program === "") throw new Error("command needs a program");
    this.env = { ...options.env, PATH: SAFE_PATH, PETGATE_RECEIVER: options.name };
  }

  send(group: NotificationGroup): Promise<DeliveryResult> {
    const [program, ...args] = this.options.command as [string, ...string[]];
    const what = escapeControls(program);
    return new Promise((resolve) => {
      const child = spawn(program, args, {
        env: this.env,
        cwd: "/",
        stdio: ["pipe", "ignore", "pipe"],
      });
      let stderr = "";
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, this.timeoutMs);
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_KEPT);
      });
      // A program that exits without reading stdin closes the pipe: EPIPE is its answer, not ours.
      child.stdin.on("error", () => undefined);
      child.stdin.end(`${JSON.stringify(petgateBody(group))}\n`);
      const said = () => {
        const text = escapeControls(snippet(stderr, STDERR_KEPT));
        return text === "" ? "" : `: ${text}`;
      };
      child.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // Not found or not executable: only a person can fix that.
        resolve({ outcome: "permanent", reason: `${what}: ${err.code ?? err.message}` });
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (timedOut)
          resolve({
            outcome: "retryable",
            reason: `${what}: still running after ${this.timeoutMs} ms${said()}`,
          });
        else if (code === 0) resolve({ outcome: "delivered" });
        else if (signal !== null)
          resolve({ outcome: "retryable", reason: `${what}: killed by ${signal}${said()}` });
        else if (code === EXIT_TEMPFAIL)
          resolve({ outcome: "retryable", reason: `${what}: exit ${code} (EX_TEMPFAIL)${said()}` });
        else resolve({ outcome: "permanent", reason: `${what}: exit ${code}${said()}` });
      });
    });
  }
}
