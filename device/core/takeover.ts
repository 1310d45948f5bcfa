// Telling a connection that the broker keeps closing from an ordinary outage. Pure.
// Two devices with one client id (a cloned SD card) knock each other off for ever: each
// reconnect succeeds at once and closes the other's connection. The same pattern comes from a
// broker that closes a client for something it publishes (Aedes does on a denied publish). The
// sign is a run of connections that each close within `stableMs` of connecting, where the next
// attempt connects again at once; a broker that is down or restarting makes attempts fail in
// between, which ends the run. After `threshold` such connections in a row the link backs off
// long and says why (mqtt-link.ts). Backoff is reset only by a connection that stayed up
// `stableMs`, never by one that died within seconds.
export interface FlapOptions {
  stableMs: number;
  threshold: number;
}
export interface CloseVerdict {
  stable: boolean;
  streak: number;
  conflict: boolean;
  livedMs: number;
}

export class FlapDetector {
  private streak = 0;
  private connectedAt: number | undefined;
  constructor(private readonly o: FlapOptions) {}

  connected(now: number): void {
    this.connectedAt = now;
  }

  /** A connect attempt failed (refused, unreachable): an outage, not a fight over the id. */
  attemptFailed(): void {
    this.streak = 0;
  }

  /** A connection that was up has closed. */
  closed(now: number): CloseVerdict {
    const livedMs = this.connectedAt === undefined ? 0 : now - this.connectedAt;
    this.connectedAt = undefined;
    if (livedMs >= this.o.stableMs) {
      this.streak = 0;
      return { stable: true, streak: 0, conflict: false, livedMs };
    }
    this.streak++;
    return { stable: false, streak: this.streak, conflict: this.streak >= this.o.threshold, livedMs };
  }
}
