import { Cluster } from "ioredis";
import type { RedisConnection } from "./queues.js";

/** Fewer replicas than asked acknowledged the writes in time while enough are connected. */
export class NotReplicatedError extends Error {
  constructor(acked: number, wanted: number, timeoutMs: number) {
    super(`${acked} of ${wanted} replica(s) acknowledged the write within ${timeoutMs} ms`);
    this.name = "NotReplicatedError";
  }
}

/**
 * Holds petgate back from acting on a write until replicas hold it, so that a failover (Sentinel
 * promoting a replica) cannot take back what petgate already acknowledged or sent. Redis replicates
 * asynchronously and in order: once a replica acknowledged a write (WAIT), it holds every write made
 * before it on the master too.
 *
 * With fewer replicas connected than asked (one was promoted and the old master is not back yet),
 * petgate goes on rather than stop, and says so once: the writes are then as safe as one Redis.
 */
export class ReplicaBarrier {
  private degraded = false;
  private inFlight: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly replicas: number,
    private readonly timeoutMs: number,
    private readonly log: (message: string) => void,
  ) {
    // WAIT is per node; on a cluster it would go to any node.
    if (replicas > 0 && redis instanceof Cluster)
      throw new RangeError("replica acknowledgement needs one master");
  }

  /**
   * Resolves once `replicas` replicas hold every write made on this connection so far. WAIT blocks
   * the connection while it waits: callers that come while one is in flight share the next one,
   * so that at most two are ever queued on the connection.
   */
  wait(): Promise<void> {
    if (this.replicas === 0) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this.acknowledged().finally(() => {
        this.inFlight = undefined;
      });
      return this.inFlight;
    }
    // The WAIT in flight was sent before this caller's writes: it may not cover them.
    this.next ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.wait();
      });
    return this.next;
  }

  private async acknowledged(): Promise<void> {
    if (this.degraded) {
      const connected = await this.connected();
      if (connected < this.replicas) return;
      this.degraded = false;
      this.log(
        `${connected} replica(s) connected again: writes wait for ${this.replicas} (redis.replicaAcks)`,
      );
    }
    const acked = Number(await this.redis.call("WAIT", this.replicas, this.timeoutMs));
    if (acked >= this.replicas) return;
    const connected = await this.connected();
    if (connected >= this.replicas) throw new NotReplicatedError(acked, this.replicas, this.timeoutMs);
    this.degraded = true;
    this.log(
      `only ${connected} replica(s) connected, ${this.replicas} asked (redis.replicaAcks): going on with writes no replica may hold`,
    );
  }

  private async connected(): Promise<number> {
    return connectedReplicas(String(await this.redis.call("INFO", "replication")));
  }
}

/** `connected_slaves` of INFO replication (the field keeps Redis's old name). */
export function connectedReplicas(info: string): number {
  const match = /^connected_slaves:(\d+)/m.exec(info);
  return match ? Number(match[1]) : 0;
}
