// Liveness of one watched host: awake / asleep / waking / unknown, with "seen alive N s ago".
//
// Timer-driven, not traffic-driven: a probe goes out every interval whatever the traffic (the
// caller sends it; here we only schedule and judge). Evidence of life is an answer to a probe
// or any ARP the host itself sends. Rules:
// - any evidence → awake (from waking this is a "woke", with the time since the wake);
// - unknown → asleep after one unanswered probe (there is no evidence at all);
// - awake → asleep after `misses` consecutive unanswered probes (one lost reply is not sleep);
// - an urgent probe (someone is ARPing for a host we think awake but have not heard from for a
//   while) is decisive: unanswered → asleep at once, so that requester's next ARP retry wakes it;
// - wakeSent() → waking, probed every second (or faster if the interval is shorter) so the wake
//   time is measured finely; no evidence within the wake timeout → "wake failed" → asleep.
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { HostState } from '../../protocol/roles/waker.ts';

export interface LivenessOptions {
  intervalMs: number;
  timeoutMs: number;
  misses: number;
  wakeTimeoutMs: number;
}

export type LivenessChange =
  { type: 'state'; from: HostState; to: HostState } | { type: 'woke'; wakeMs: number } | { type: 'wake-failed'; timeoutMs: number };

export const WAKING_PROBE_MS = 1000;

export class Liveness {
  private st: HostState = 'unknown';
  private sinceAt: number;
  private lastSeenAt: number | undefined;
  private lastWake: number | undefined;
  private missCount = 0;
  private probeTimer: TimerHandle | undefined;
  private judgeTimer: TimerHandle | undefined;
  private wakeTimer: TimerHandle | undefined;
  private inFlight: { sentAt: number; urgent: boolean } | undefined;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly opts: LivenessOptions,
    /** Sends one probe on the wire. */
    private readonly sendProbe: () => void,
    private readonly onChange: (c: LivenessChange) => void,
  ) {
    this.sinceAt = clock.now();
  }

  get state(): HostState {
    return this.st;
  }
  /** Monotonic ms the current state began. */
  get since(): number {
    return this.sinceAt;
  }
  get lastSeen(): number | undefined {
    return this.lastSeenAt;
  }
  get lastWakeAt(): number | undefined {
    return this.lastWake;
  }
  seenAgoMs(): number | undefined {
    return this.lastSeenAt === undefined ? undefined : this.clock.now() - this.lastSeenAt;
  }

  /** Starts probing: the first probe goes out now. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.probe(false);
  }

  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.probeTimer);
    this.clock.clearTimeout(this.judgeTimer);
    this.clock.clearTimeout(this.wakeTimer);
    this.probeTimer = this.judgeTimer = this.wakeTimer = undefined;
    this.inFlight = undefined;
  }

  /** The host showed life (answered a probe, or sent ARP of its own). */
  seen(): void {
    const now = this.clock.now();
    this.lastSeenAt = now;
    this.missCount = 0;
    if (this.st === 'waking') {
      this.clock.clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
      const wakeMs = now - (this.lastWake ?? now);
      this.set('awake');
      this.onChange({ type: 'woke', wakeMs });
      this.reschedule();
    } else if (this.st !== 'awake') {
      this.set('awake');
    }
  }

  /** A magic packet went out. */
  wakeSent(): void {
    if (!this.running) return;
    this.lastWake = this.clock.now();
    if (this.st === 'awake') return; // a wake by command of an awake host changes nothing
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = this.clock.setTimeout(() => this.wakeTimedOut(), this.opts.wakeTimeoutMs);
    this.set('waking');
    this.reschedule();
  }

  /**
   * Someone is asking for the host. If we think it awake but have not heard from it for longer
   * than a probe timeout, probe now; an unanswered urgent probe calls it asleep.
   */
  demandWhileAwake(): void {
    if (!this.running || this.st !== 'awake' || this.inFlight) return;
    const ago = this.seenAgoMs();
    if (ago !== undefined && ago <= this.opts.timeoutMs) return;
    this.probe(true);
  }

  private set(to: HostState): void {
    if (to === this.st) return;
    const from = this.st;
    this.st = to;
    this.sinceAt = this.clock.now();
    this.onChange({ type: 'state', from, to });
  }

  private wakeTimedOut(): void {
    this.wakeTimer = undefined;
    if (this.st !== 'waking') return;
    this.set('asleep');
    this.onChange({ type: 'wake-failed', timeoutMs: this.opts.wakeTimeoutMs });
    this.reschedule();
  }

  private nextDelay(): number {
    return this.st === 'waking' ? Math.min(this.opts.intervalMs, WAKING_PROBE_MS) : this.opts.intervalMs;
  }

  private reschedule(): void {
    if (!this.running) return;
    this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = this.clock.setTimeout(() => this.probe(false), this.nextDelay());
  }

  private probe(urgent: boolean): void {
    if (!this.running) return;
    // One answer window at a time: a probe sent while another is awaiting its answer (interval
    // shorter than the timeout) is judged with the first.
    if (!this.inFlight) {
      this.inFlight = { sentAt: this.clock.now(), urgent };
      this.judgeTimer = this.clock.setTimeout(() => this.judge(), this.opts.timeoutMs);
    }
    try {
      this.sendProbe();
    } finally {
      if (!urgent) this.reschedule();
    }
  }

  /** A probe's answer window closed: was the host heard from since it went out? */
  private judge(): void {
    this.judgeTimer = undefined;
    const p = this.inFlight;
    this.inFlight = undefined;
    if (!p || !this.running) return;
    if (this.lastSeenAt !== undefined && this.lastSeenAt >= p.sentAt) return;
    this.missCount++;
    if (this.st === 'unknown') this.set('asleep');
    else if (this.st === 'awake' && (p.urgent || this.missCount >= this.opts.misses)) this.set('asleep');
  }
}
