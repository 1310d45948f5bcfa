// The house-clock client: asks the reference for its time over NTP (UDP) and keeps the estimator
// fed. Owns the query schedule, the matching of replies to requests, and the verdicts on replies.
//
// Rules:
// - Schedule (for a reference on the LAN): a burst of `burst` (150) queries `burstGapMs` (10 ms)
//   apart at start: 1.5 s (locked
//   after `lockSamples` (8) replies, ~80 ms: a device whose OS clock is seconds off is in house
//   time at once; 8 and not 4, so that one event-loop stall of a busy start cannot delay every
//   reply of the lock, and the estimator takes the lock's height from the legs' floors, which it
//   does from 8 exchanges on). Why so many: a joining player plays ~0.3 s after its house clock starts (the rooms
//   bench: the clock starts 1.45 s after spawn, the first audio at 1.77 s), so the estimate must be
//   sure within tenths of a second, in a process busy starting up (replies read up to ms late) on a
//   link with ±0.3 ms of jitter. The line's value at its newest exchange is off by ~2σ/√n, its rate
//   by σ/(√n · span): with 10 exchanges a second a rooms-bench player's house clock was −220 µs off
//   for its first 1.4 s, the rate 100–340 ppm off (recorded exchanges, replayed). With 100 a second
//   the same recorded legs, resampled, put 90 % of starts within 100 µs for good 0.5 s after the
//   start (2.8 s before); see docs/clock.md. A second after the burst its exchanges are thinned to
//   one per `lockingGapMs` (the first of each), so that the window holds what the 100 ms pace would
//   have given: left whole, 150 exchanges of 1.5 s outweighed every later one for 1–2 minutes, and
//   house time sat +19 to +70 µs off over 25–60 s (the same recorded legs, median per start, 10th
//   to 90th percentile; −17 to +37 before the burst, −17 to +39 thinned). Keeping the least delayed
//   of each 100 ms instead was tried: those cleaner exchanges shrank the reported uncertainty, the
//   fast pace ended seconds earlier with the rate 10–16 ppm off, and against a reference reading
//   requests late house time sat 20–50 µs further off over the next minute (virtual time). Then one
//   every `lockingGapMs` (100 ms) for at least `fastMs` (3 s) and on until the estimate's
//   uncertainty first falls to `settledUs` (100 µs), up to `fastMaxMs` (30 s); then one every `pollMs`
//   (default 1024 ms: under 60 a minute even on a crystal 1000 ppm fast). Why the fast pace
//   follows the uncertainty: on a noisy link (Wi-Fi-like, ms of jitter) 3 s of exchanges left the
//   rate to ~30 noisy points, and the line swung ±1 ms for the first minute; on a clean link the
//   estimate is sure within 3 s and nothing changes. After a reference jump the fast pace reruns. A kiss-o'-death RATE
//   ends the burst and the fast pace for good (this reference) and doubles the poll gap (up to 16×); DENY/RSTR stop nothing (counted; the device keeps asking
//   slowly, in case the reference is reconfigured).
// - A query carries a random cookie (never our clock) and is answered once: a reply is used only
//   if it echoes an outstanding cookie, passes checkReply, and arrives within `timeoutMs`; anything
//   else is counted by reason in `faults` and dropped. Timed-out queries are counted as `timeouts`.
// - t1 is read immediately before the send (the request is built first: building it after the
//   read put its cost into the request leg), t4 is the stack's receive time (udp.ts `at`); both on
//   the injected clock's now(). Every error of these reads must lengthen the round trip, never
//   shorten it, or min-delay weighting would favour the wrong exchanges: t1 read AFTER the send
//   (closer to the wire on a quiet machine) was tried on recorded exchanges and lost, because a
//   preemption between the syscall and the read made an exchange look short (θ −2 ms at load).
// - The server name is resolved once at start (and again after `staleAfterMs` without a reply,
//   in case its address changed); the UDP stack only sees addresses.
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { UdpSocket, UdpStack } from '../hal/udp.ts';
import { ClockEstimator, type AddResult, type EstimatorOptions } from './estimator.ts';
import { buildRequest, checkReply, parseNtp, type ReplyFault } from './ntp-packet.ts';

export interface ClockClientOptions {
  stack: UdpStack;
  clock: Clock;
  server: string;
  port: number;
  /** Host name → IPv4 address (default: the address itself; the runtime passes dns.lookup). */
  resolve?: (host: string) => Promise<string>;
  burst?: number;
  burstGapMs?: number;
  lockingGapMs?: number;
  /** The fast pace runs at least this long (ms)... */
  fastMs?: number;
  /** ...and on while the estimate's uncertainty exceeds `settledUs`, up to this long (ms). */
  fastMaxMs?: number;
  settledUs?: number;
  pollMs?: number;
  lockSamples?: number;
  timeoutMs?: number;
  staleAfterMs?: number;
  estimator?: EstimatorOptions;
  /** Called after every exchange that changed the estimate ('accepted' or 'jump'). */
  onUpdate?(result: AddResult): void;
  /** Things worth an event: a jump, reference lost, reference back. */
  onEvent?(type: 'jump' | 'lost' | 'back', message: string): void;
}

export type ClockFaults = Record<ReplyFault | 'timeouts' | 'invalid' | 'outliers' | 'send-errors', number>;

// HEARTH_CLOCK_RECORD=DIR (a diagnostic, for replaying a real device's exchanges offline, e.g. a
// player's start-up in the rooms bench): every usable reply appended to DIR/clock-<port>-<pid>.jsonl
// as {t1,t2,t3,t4} (ms; t1, t4 on this process's monotonic clock, t2, t3 the reference's time).
const RECORD_DIR = process.env.HEARTH_CLOCK_RECORD;

export class ClockClient {
  readonly estimator: ClockEstimator;
  readonly faults: ClockFaults = {
    malformed: 0,
    'not-server': 0,
    unexpected: 0,
    kiss: 0,
    unsynchronised: 0,
    'bad-timestamps': 0,
    timeouts: 0,
    invalid: 0,
    outliers: 0,
    'send-errors': 0,
  };
  /** Queries sent since start. */
  queries = 0;
  /** Local now() of the last usable reply, or undefined. */
  lastReached: number | undefined;
  private sock: UdpSocket | undefined;
  private address: string | undefined;
  private timer: TimerHandle | undefined;
  private readonly outstanding = new Map<bigint, { t1: number; timer: TimerHandle }>();
  private burstLeft: number;
  /** Local time the start-up burst ended, until its exchanges are thinned. */
  private burstEnd: number | undefined;
  /** Local time until which the fast pace runs (from start, and again after a jump). */
  private fastUntil = -Infinity;
  /** Local time after which the fast pace stops whatever the uncertainty. */
  private fastCap = -Infinity;
  private backoff = 1;
  /** The reference asked to slow down (kiss-o'-death RATE): no burst, no fast pace. */
  private slowed = false;
  private lost = false;
  private stopped = false;
  private resolving = false;

  constructor(private readonly o: ClockClientOptions) {
    this.estimator = new ClockEstimator(o.estimator);
    this.burstLeft = o.burst ?? 150;
  }

  get reference(): string {
    return `${this.o.server}:${this.o.port}`;
  }
  get locked(): boolean {
    return this.estimator.size() >= (this.o.lockSamples ?? 8);
  }
  /** True when the reference has not answered for staleAfterMs (after having answered once). */
  get stale(): boolean {
    return this.lastReached !== undefined && this.o.clock.now() - this.lastReached > (this.o.staleAfterMs ?? 10_000);
  }

  async start(): Promise<void> {
    this.sock = await this.o.stack.open({});
    if (this.stopped) {
      await this.sock.close();
      return;
    }
    this.sock.onMessage((m) => this.onReply(m.data, m.at));
    this.sock.onError(() => {
      this.faults['send-errors']++;
    });
    await this.resolveServer();
    if (this.stopped) return;
    this.startFast(this.o.clock.now());
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    for (const q of this.outstanding.values()) this.o.clock.clearTimeout(q.timer);
    this.outstanding.clear();
    await this.sock?.close();
  }

  private async resolveServer(): Promise<void> {
    if (this.resolving) return;
    this.resolving = true;
    try {
      this.address = this.o.resolve ? await this.o.resolve(this.o.server) : this.o.server;
    } catch {
      this.faults['send-errors']++; // unresolvable: counted; the next tick tries again
    } finally {
      this.resolving = false;
    }
  }

  private startFast(now: number): void {
    this.fastUntil = now + (this.o.fastMs ?? 3000);
    this.fastCap = now + Math.max(this.o.fastMs ?? 3000, this.o.fastMaxMs ?? 30_000);
  }

  /** True while the client queries at its fast pace: not yet locked, or its estimate not yet settled (see the schedule). */
  get settling(): boolean {
    const now = this.o.clock.now();
    if (this.burstLeft > 0 || !this.locked || now < this.fastUntil) return true;
    if (now >= this.fastCap) return false;
    // Settled once is settled for good (until a jump): an uncertainty hovering about settledUs must
    // not toggle the pace, nor re-open the settling step.
    if (this.estimator.uncertaintyUs(now) <= (this.o.settledUs ?? 100)) this.fastCap = now;
    return now < this.fastCap;
  }

  private nextGap(): number {
    if (this.slowed) return (this.o.pollMs ?? 1024) * this.backoff;
    if (this.burstLeft > 0) return this.o.burstGapMs ?? 10;
    if (this.settling) return this.o.lockingGapMs ?? 100;
    return (this.o.pollMs ?? 1024) * this.backoff;
  }

  /**
   * True in the start-up window: the burst, and `fastMs` after the start (or a jump). House time
   * follows the estimate fast then (house-clock.ts), while a joining player has not played yet or has
   * just begun.
   */
  get starting(): boolean {
    return this.burstLeft > 0 || this.o.clock.now() < this.fastUntil;
  }

  private tick(): void {
    if (this.stopped) return;
    // The estimator takes its rate from the legs while the client settles (estimator.ts, the rules).
    this.estimator.startUp = this.settling;
    if (this.burstLeft > 0 && --this.burstLeft === 0) this.burstEnd = this.o.clock.now() + (this.o.burstGapMs ?? 10);
    // The burst's exchanges, once answered, are thinned to one per lockingGapMs (see the rules).
    if (this.burstEnd !== undefined && this.o.clock.now() >= this.burstEnd + (this.o.timeoutMs ?? 1000)) {
      this.estimator.thin(this.o.lockingGapMs ?? 100, this.burstEnd);
      this.burstEnd = undefined;
    }
    this.query();
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.nextGap());
    if (this.stale) {
      if (!this.lost) {
        this.lost = true;
        this.o.onEvent?.('lost', `house clock reference ${this.reference} stopped answering; keeping the last estimate`);
      }
      void this.resolveServer();
    }
  }

  private query(): void {
    if (!this.sock || this.address === undefined) return;
    const cookie = randomBytes(8).readBigUInt64BE(0) | 1n;
    const timer = this.o.clock.setTimeout(() => {
      if (this.outstanding.delete(cookie)) this.faults.timeouts++;
    }, this.o.timeoutMs ?? 1000);
    const request = buildRequest(cookie);
    const t1 = this.o.clock.now();
    this.sock.send(request, this.o.port, this.address);
    this.outstanding.set(cookie, { t1, timer });
    this.queries++;
  }

  private onReply(data: Buffer, t4: number): void {
    let origin: bigint;
    try {
      origin = parseNtp(data).origin;
    } catch {
      this.faults.malformed++;
      return;
    }
    const q = this.outstanding.get(origin);
    if (!q) {
      this.faults.unexpected++;
      return;
    }
    const r = checkReply(data, origin);
    this.outstanding.delete(origin);
    this.o.clock.clearTimeout(q.timer);
    if (!r.ok) {
      this.faults[r.fault]++;
      if (r.fault === 'kiss' && /RATE/.test(r.detail)) {
        // Asked to slow down: the burst and the fast pace end at once (a reference on the LAN never
        // asks; a public server pointed at by `clock.server` may), and the poll gap doubles.
        this.backoff = Math.min(16, this.backoff * 2);
        this.burstLeft = 0;
        this.slowed = true;
      }
      return;
    }
    if (RECORD_DIR) {
      try {
        appendFileSync(join(RECORD_DIR, `clock-${this.o.port}-${process.pid}.jsonl`), JSON.stringify({ t1: q.t1, t2: r.t2, t3: r.t3, t4 }) + '\n');
      } catch {
        /* a diagnostic: never in the way */
      }
    }
    const before = this.estimator.counts.outliers;
    const result = this.estimator.add({ t1: q.t1, t2: r.t2, t3: r.t3, t4 });
    this.faults.outliers += this.estimator.counts.outliers - before;
    if (result === 'invalid') {
      this.faults.invalid++;
      return;
    }
    // A suspect is not "reaching" the reference: a lying one must not keep the estimate fresh.
    if (result === 'suspect') return;
    this.lastReached = t4;
    if (this.lost) {
      this.lost = false;
      this.o.onEvent?.('back', `house clock reference ${this.reference} answers again`);
    }
    if (result === 'jump') this.startFast(t4);
    if (result === 'jump')
      this.o.onEvent?.('jump', `house clock reference ${this.reference} jumped; re-locking (${this.estimator.counts.jumps} jumps so far)`);
    this.o.onUpdate?.(result);
  }
}
