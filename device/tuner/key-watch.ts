// Watches KEY through one tune and classifies what the tuner did. Fed with KEY edges (times in
// the GPIO timebase) from the start of the press; timers on the injected clock.
// Rules:
// - KEY must assert within `responseMs` after the press ends, else the outcome is no-response.
// - The first assertion is the tune itself; every later assertion at most `failMaxMs` long is a
//   pulse. KEY staying released for `settleMs` ends the tune: `failCount` or more pulses mean
//   failed, else tuned.
// - KEY asserted `maxMs` after the first assertion (or never settling by then) is stuck.
// - Before deciding on a timer, the current level is read, so an edge still in flight from the
//   GPIO thread is not mistaken for its absence.
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { KeyTimings } from '../../protocol/roles/tuner.ts';

export type KeyOutcome = 'tuned' | 'failed' | 'no-response' | 'stuck' | 'aborted';

export interface KeyVerdict {
  outcome: KeyOutcome;
  key: KeyTimings;
}

export interface KeyWatchOptions {
  responseMs: number;
  maxMs: number;
  settleMs: number;
  failCount: number;
  failMaxMs: number;
}

const MAX_SEGMENTS = 32;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export class KeyWatch {
  private segments: Array<{ start: number; end?: number }> = [];
  private pressEnd: number | undefined;
  private timers: { response?: TimerHandle; settle?: TimerHandle; max?: TimerHandle } = {};
  private done = false;
  private resolveFn!: (v: KeyVerdict) => void;
  readonly result: Promise<KeyVerdict>;

  constructor(
    private readonly clock: Clock,
    private readonly o: KeyWatchOptions,
    /** The current KEY level (logical) and the GPIO timebase's now. */
    private readonly level: () => boolean,
    private readonly gpioNow: () => number,
  ) {
    this.result = new Promise((resolve) => {
      this.resolveFn = resolve;
    });
    if (level()) this.segments.push({ start: gpioNow() });
  }

  get finished(): boolean {
    return this.done;
  }

  /** A KEY edge (logical level after the change, time in the GPIO timebase). */
  edge(active: boolean, t: number): void {
    if (this.done) return;
    const last = this.segments[this.segments.length - 1];
    if (active) {
      if (last && last.end === undefined) return;
      this.segments.push({ start: t });
      this.clock.clearTimeout(this.timers.response);
      this.clock.clearTimeout(this.timers.settle);
      this.timers.response = this.timers.settle = undefined;
      if (!this.timers.max && this.pressEnd !== undefined) this.armMax();
    } else {
      if (!last || last.end !== undefined) return;
      last.end = t;
      if (this.pressEnd !== undefined) this.armSettle();
    }
  }

  /** The press is over (time in the GPIO timebase): the response clock starts now. */
  pressEnded(t: number): void {
    if (this.done || this.pressEnd !== undefined) return;
    this.pressEnd = t;
    const last = this.segments[this.segments.length - 1];
    if (!last) {
      this.timers.response = this.clock.setTimeout(() => this.onResponseTimeout(), this.o.responseMs);
      return;
    }
    this.armMax();
    if (last.end !== undefined) this.armSettle();
  }

  abort(): void {
    this.finish('aborted');
  }

  private armSettle(): void {
    this.clock.clearTimeout(this.timers.settle);
    this.timers.settle = this.clock.setTimeout(() => {
      if (this.level()) return; // an assertion is on its way; its edge re-arms everything
      this.finish(this.classify());
    }, this.o.settleMs);
  }

  private armMax(): void {
    this.timers.max = this.clock.setTimeout(() => {
      this.finish(this.level() ? 'stuck' : this.classify());
    }, this.o.maxMs);
  }

  private onResponseTimeout(): void {
    if (this.level()) {
      this.edge(true, this.gpioNow());
      return;
    }
    this.finish('no-response');
  }

  private pulses(): number {
    return this.segments.slice(1).filter((s) => s.end !== undefined && s.end - s.start <= this.o.failMaxMs).length;
  }

  private classify(): KeyOutcome {
    return this.pulses() >= this.o.failCount ? 'failed' : 'tuned';
  }

  /** The timings so far (also used for the final verdict). */
  timings(): KeyTimings {
    const base = this.pressEnd ?? this.gpioNow();
    const first = this.segments[0];
    const last = this.segments[this.segments.length - 1];
    return {
      delayMs: first ? r3(first.start - base) : null,
      lowMs: first && first.end !== undefined ? r3(first.end - first.start) : null,
      totalMs: first && last && last.end !== undefined ? r3(last.end - first.start) : null,
      pulses: this.pulses(),
      segments: this.segments.slice(0, MAX_SEGMENTS).map((s) => [r3(s.start - base), r3((s.end ?? this.gpioNow()) - s.start)]),
    };
  }

  private finish(outcome: KeyOutcome): void {
    if (this.done) return;
    this.done = true;
    for (const t of Object.values(this.timers)) this.clock.clearTimeout(t);
    this.resolveFn({ outcome, key: this.timings() });
  }
}
