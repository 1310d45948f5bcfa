// HouseClock: the Clock audio roles run on. now() is this process's monotonic clock, untouched;
// wall() is HOUSE time, derived continuously from now() through the estimator's line, never from
// the OS wall clock once locked (so a CLOCK_REALTIME step, or a Pi booting hours off, moves
// nothing). Before the first lock wall() is the base clock's wall() and sync().state says
// 'unsynced'/'locking': sources send no SRs then and players keep to the arrival mapping.
//
// Rules:
// - The served line is a snapshot (house ms A at local tA, rate r) minus a correction that decays
//   to zero: each estimator update replaces the snapshot and starts a correction equal to the
//   difference at that instant, so wall() stays continuous. The correction is slewed at
//   |c|/slewMs (1 s), at most maxSlewPpm (500 ppm: 0.5 ms per second), so wall() never runs backwards
//   and a player's resampler can follow it.
// - Steps: the first lock steps once (the device was on its OS clock), and a difference larger
//   than stepMs (a reference jump, a restart after a long outage) is stepped too and counted:
//   slewing seconds at 500 ppm would take hours of wrong time. While the client is still settling
//   (its fast pace, the first seconds after a lock), a difference over settleStepMs (1 ms: what
//   500 ppm removes in 2 s) is stepped as well: a first lock taken from a few exchanges in a Wi-Fi
//   delay burst was 18 ms off, and slewing it took 36 s of rooms out of sync (measured, clock bench).
//   Under it, in the client's start-up window (its burst and 3 s: `starting`), a correction is
//   slewed fast: over settleSlewMs (100 ms), at most
//   settleMaxSlewPpm (5000 ppm). The first estimates move by tens to hundreds of µs as the burst's
//   exchanges come in; slewed at 1 s and 500 ppm, the served line lagged them by a second (a
//   rooms-bench player 0.2 ms off for 1.5 s after its lock, recorded exchanges replayed), which is
//   most of a join. A joining player follows the line's moves at its acquisition gains (up to
//   6000 ppm, playout.ts); house time still never runs backwards.
// - With the reference silent, the last line is extrapolated at its rate; sync() reports 'stale'
//   and how long ago the reference was last reached, and the uncertainty grows with the wait.
// - retarget() moves to another reference (a config change, applied live): the old client stops,
//   a new one starts, and the last line is served on (sync() 'stale', the old estimate's
//   uncertainty growing) until the new reference has locked; then the line moves to it as after
//   any update (stepped over settleStepMs, since the new client is settling; slewed under it).
import { OnBaseClock, wallAt, type Clock, type ClockSync } from '../core/clock.ts';
import { ClockClient, type ClockClientOptions } from './client.ts';

export interface HouseClockOptions extends Omit<ClockClientOptions, 'clock' | 'onUpdate' | 'onEvent'> {
  maxSlewPpm?: number;
  slewMs?: number;
  stepMs?: number;
  /** Step threshold while the client is settling (ms, default 1). */
  settleStepMs?: number;
  /** In the client's start-up window, a correction under settleStepMs is slewed over this long (ms, default 100)... */
  settleSlewMs?: number;
  /** ...at most this fast (ppm, default 5000). */
  settleMaxSlewPpm?: number;
  /** What sync needs (reported in sync(); a player says when the uncertainty exceeds it). */
  maxUncertaintyUs?: number;
  /** The OS wall clock, for the reported offset (default: base.wall()). */
  osWall?: () => number;
  /** Events worth publishing: lock, step, jump, lost, back, switch (retarget). */
  onEvent?(type: HouseClockEvent, message: string): void;
}
export type HouseClockEvent = 'lock' | 'step' | 'jump' | 'lost' | 'back' | 'switch';

/** What retarget() may change: the reference and the poll interval (a new client), and what sync needs. */
export type HouseClockTarget = Pick<HouseClockOptions, 'server' | 'port' | 'pollMs' | 'maxUncertaintyUs'>;

export class HouseClock extends OnBaseClock {
  steps = 0;
  private current: ClockClient;
  private served: { A: number; tA: number; r: number } | undefined;
  private corr = { t0: 0, c0: 0, rate: 0 };
  /** Set from a retarget() until the new reference has locked: the client whose estimate is served meanwhile. */
  private switching: ClockClient | undefined;
  /** Counts of the clients retired by retarget() (sync() reports totals since start). */
  private retired = { queries: 0, faults: 0, jumps: 0 };

  constructor(
    base: Clock,
    private o: HouseClockOptions,
  ) {
    super(base);
    this.current = this.newClient();
  }

  /** The client of the reference in use. */
  get client(): ClockClient {
    return this.current;
  }

  private newClient(): ClockClient {
    const c: ClockClient = new ClockClient({
      ...this.o,
      clock: this.base,
      onUpdate: () => {
        if (c === this.current) this.update();
      },
      onEvent: (t, m) => {
        if (c === this.current) this.o.onEvent?.(t, m);
      },
    });
    return c;
  }

  start(): Promise<void> {
    return this.current.start();
  }
  stop(): Promise<void> {
    return this.current.stop();
  }

  /**
   * Moves to `t` without a restart (see the rules above). Only maxUncertaintyUs changed: no new
   * client. Resolves once the new client has started (its server name resolved).
   */
  async retarget(t: HouseClockTarget): Promise<void> {
    const old = this.current;
    const from = old.reference;
    const sameClient = t.server === this.o.server && t.port === this.o.port && t.pollMs === this.o.pollMs;
    this.o = { ...this.o, ...t };
    if (sameClient) return;
    await old.stop();
    const faults = Object.values(old.faults).reduce((a, b) => a + b, 0);
    this.retired = {
      queries: this.retired.queries + old.queries,
      faults: this.retired.faults + faults,
      jumps: this.retired.jumps + old.estimator.counts.jumps,
    };
    // Serving an estimate already: that one goes on until the new reference locks (a second
    // retarget before then keeps serving the same one).
    if (this.served) this.switching ??= old;
    this.current = this.newClient();
    this.o.onEvent?.(
      'switch',
      `house clock reference ${from} → ${this.current.reference}${this.served ? '; serving the last estimate until it answers' : ''}`,
    );
    await this.current.start();
  }

  wall(): number {
    return this.served ? this.houseAt(this.base.now()) : this.base.wall();
  }
  both(): { now: number; wall: number } {
    if (!this.served) return this.base.both();
    const now = this.base.now();
    return { now, wall: this.houseAt(now) };
  }
  /** House time at monotonic instant `t` by the line served now (the base clock's wall before the first lock). */
  wallAt(t: number): number {
    return this.served ? this.houseAt(t) : wallAt(this.base, t);
  }

  /** True once house time is served (the first lock happened). */
  get synced(): boolean {
    return this.served !== undefined;
  }

  private correctionAt(t: number): number {
    const { t0, c0, rate } = this.corr;
    const left = Math.max(0, Math.abs(c0) - rate * Math.max(0, t - t0));
    return Math.sign(c0) * left;
  }

  private houseAt(t: number): number {
    const s = this.served!;
    return s.A + (1 + s.r) * (t - s.tA) - this.correctionAt(t);
  }

  private update(): void {
    const now = this.base.now();
    const est = this.client.estimator.estimate(now);
    if (!est) return;
    if (this.switching) {
      if (!this.client.locked) return;
      const from = this.switching.reference;
      this.switching = undefined;
      this.o.onEvent?.(
        'lock',
        `house clock locked to ${this.client.reference} (was ${from}): ${(now + est.offsetMs - this.houseAt(now)).toFixed(3)} ms from the last estimate, ±${Math.round(est.uncertaintyUs)} µs`,
      );
    }
    if (!this.served) {
      if (!this.client.locked) return;
      this.served = { A: now + est.offsetMs, tA: now, r: est.rate };
      this.corr = { t0: now, c0: 0, rate: 0 };
      this.o.onEvent?.(
        'lock',
        `house clock locked to ${this.client.reference}: ${(this.served.A - (this.o.osWall ?? (() => this.base.wall()))()).toFixed(3)} ms from the OS clock, ±${Math.round(est.uncertaintyUs)} µs`,
      );
      return;
    }
    const before = this.houseAt(now);
    const A = now + est.offsetMs;
    const c0 = A - before;
    this.served = { A, tA: now, r: est.rate };
    const settling = this.client.settling;
    if (Math.abs(c0) > (settling ? (this.o.settleStepMs ?? 1) : (this.o.stepMs ?? 128))) {
      this.steps++;
      this.corr = { t0: now, c0: 0, rate: 0 };
      this.o.onEvent?.(
        'step',
        `house clock stepped by ${c0.toFixed(3)} ms (${settling ? 'still settling after a lock' : 'a reference jump or a long outage'})`,
      );
      return;
    }
    const rate = this.client.starting
      ? Math.min((this.o.settleMaxSlewPpm ?? 5000) * 1e-6, Math.abs(c0) / (this.o.settleSlewMs ?? 100))
      : Math.min((this.o.maxSlewPpm ?? 500) * 1e-6, Math.abs(c0) / (this.o.slewMs ?? 1000));
    this.corr = { t0: now, c0, rate };
  }

  /** What the house clock knows of itself, for state and telemetry. */
  sync(): ClockSync {
    const now = this.base.now();
    const c = this.client;
    // Once served, house time stays served: a jump is stepped at once, an outage or a switch of
    // reference not yet locked is 'stale' (the last estimate, extrapolated).
    const state = !this.served ? (c.estimator.size() > 0 ? 'locking' : 'unsynced') : c.stale || this.switching ? 'stale' : 'locked';
    const osWall = this.o.osWall ?? (() => this.base.wall());
    const est = (this.switching ?? c).estimator;
    const unc = this.served ? est.uncertaintyUs(now) + Math.abs(this.correctionAt(now)) * 1000 : undefined;
    const lastReached = c.lastReached ?? this.switching?.lastReached;
    const faults = this.retired.faults + Object.values(c.faults).reduce((a, b) => a + b, 0);
    return {
      state,
      reference: c.reference,
      ...(this.served ? { offsetMs: Math.round((this.houseAt(now) - osWall()) * 1000) / 1000 } : {}),
      // CLOCK_MONOTONIC for a real base clock; an injected one's now() otherwise.
      ...(this.served ? { monoOffsetUs: Math.round((this.houseAt(now) - now - (this.base.monotonicOriginMs?.() ?? 0)) * 1000) } : {}),
      ...(unc !== undefined && Number.isFinite(unc) ? { uncertaintyUs: Math.round(unc * 10) / 10 } : {}),
      ...(lastReached !== undefined ? { lastReachedS: Math.round((now - lastReached) / 100) / 10 } : {}),
      ...(this.served ? { ratePpm: Math.round(this.served.r * 1e8) / 100 } : {}),
      ...(this.o.maxUncertaintyUs !== undefined ? { maxUncertaintyUs: this.o.maxUncertaintyUs } : {}),
      queries: this.retired.queries + c.queries,
      faults,
      jumps: this.retired.jumps + c.estimator.counts.jumps,
      steps: this.steps,
    };
  }
}
