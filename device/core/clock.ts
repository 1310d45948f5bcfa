// Time, injected. Every module that measures intervals or schedules work takes a Clock, so the
// pure cores (jitter buffer, drift control, press timing, wake policy, backoff) run in virtual
// time in tests. Rules: `now()` is monotonic and the only time used for intervals; `wall()` is
// the (NTP/PTP-disciplined) wall clock and is used only where devices must agree on an instant
// (audio playout). Both are milliseconds as floating point numbers.

import type { ClockStatus } from '../../protocol/clock.ts';

export interface TimerHandle {
  readonly id: number;
}

/** What a house clock knows of itself (device/clock/house-clock.ts); the protocol's ClockStatus. */
export type ClockSync = ClockStatus;

export interface Clock {
  /** Monotonic milliseconds (fractional, arbitrary origin). Use for intervals and timeouts. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (fractional). Use only for cross-device sync. */
  wall(): number;
  /**
   * now() and wall() of one and the same instant. Two separate reads are apart by however long
   * the thread was off the CPU between them: tens of µs at times on a VM (measured here), which is
   * noise in anything that pairs the two (an RTCP SR pairs RTP time, from now(), with wall time).
   */
  both(): { now: number; wall: number };
  /** Runs `fn` once after `ms` milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Runs `fn` every `ms` milliseconds until cleared. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /**
   * Present on a house clock only: whether wall() is house time yet. Absent, or undefined (the
   * runtime's clock while its house clock is off), wall() is trusted as shared (a disciplined OS
   * clock, or virtual time in tests), as before the house clock.
   */
  sync?(): ClockSync | undefined;
  /**
   * CLOCK_MONOTONIC (ms) at now() = 0, when now() is the system's monotonic clock (RealClock):
   * what lets an instant on now() outlive this process within one boot. Absent or undefined for
   * virtual time and injected device clocks.
   */
  monotonicOriginMs?(): number | undefined;
  /**
   * The wall() this clock reads, or will read, at now() = `nowMs`, by the line it follows at this
   * moment (a house clock: its estimate and the correction it is slewing). Absent, wall() and now()
   * move together: `nowMs + wall() − now()` (wallAt() below).
   */
  wallAt?(nowMs: number): number;
}

/** `clock`'s wall() at now() = `nowMs` (Clock.wallAt, or wall() and now() moving together). */
export function wallAt(clock: Clock, nowMs: number): number {
  if (clock.wallAt) return clock.wallAt(nowMs);
  const b = clock.both();
  return nowMs + b.wall - b.now;
}

/**
 * CLOCK_MONOTONIC (ms) at performance.now() = 0, from the most tightly bracketed of 9 paired
 * reads (a read preempted, or lazily initialised, between the two is off by that: 11 ms measured
 * on a process's first read).
 */
export function performanceMonotonicOriginMs(): number {
  let best = { width: Infinity, origin: 0 };
  for (let i = 0; i < 9; i++) {
    const a = performance.now();
    const mono = Number(process.hrtime.bigint()) / 1e6;
    const b = performance.now();
    if (b - a < best.width) best = { width: b - a, origin: mono - (a + b) / 2 };
  }
  return best.origin;
}

/**
 * A clock that serves its own wall() over another clock's monotonic time and timers (the house
 * clock and the runtime's clock): now(), the timers and the monotonic origin are the base's.
 */
export abstract class OnBaseClock implements Clock {
  constructor(protected readonly base: Clock) {}
  abstract wall(): number;
  abstract both(): { now: number; wall: number };
  abstract wallAt(nowMs: number): number;
  now(): number {
    return this.base.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.base.clearTimeout(h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.base.setInterval(fn, ms);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.base.clearInterval(h);
  }
  monotonicOriginMs(): number | undefined {
    return this.base.monotonicOriginMs?.();
  }
}

/** The process's real clocks: `performance.now()` (monotonic) and `performance.timeOrigin`-anchored wall time. */
export class RealClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private next = 1;
  private origin: number | undefined;
  monotonicOriginMs(): number {
    return (this.origin ??= performanceMonotonicOriginMs());
  }
  now(): number {
    return performance.now();
  }
  wall(): number {
    return performance.timeOrigin + performance.now();
  }
  both(): { now: number; wall: number } {
    const t = performance.now();
    return { now: t, wall: performance.timeOrigin + t };
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(
      id,
      setTimeout(
        () => {
          this.timers.delete(id);
          fn();
        },
        Math.max(0, ms),
      ),
    );
    return { id };
  }
  clearTimeout(h: TimerHandle | undefined): void {
    if (!h) return;
    const t = this.timers.get(h.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(h.id);
    }
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, setInterval(fn, Math.max(1, ms)));
    return { id };
  }
  clearInterval(h: TimerHandle | undefined): void {
    if (!h) return;
    const t = this.timers.get(h.id);
    if (t) {
      clearInterval(t);
      this.timers.delete(h.id);
    }
  }
}

interface VTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
}

/**
 * Deterministic virtual time for tests and simulations. Nothing happens until `advance()` or
 * `advanceTo()`; timers fire in time order (ties in creation order) with `now()` set to their
 * due time. `wall()` is `now()` plus a settable offset, so a test can model a device whose wall
 * clock is off by some amount.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private nextId = 1;
  private timers: VTimer[] = [];
  wallOffsetMs: number;

  constructor(startMs = 0, wallOffsetMs = 1_700_000_000_000) {
    this.t = startMs;
    this.wallOffsetMs = wallOffsetMs;
  }
  now(): number {
    return this.t;
  }
  wall(): number {
    return this.t + this.wallOffsetMs;
  }
  both(): { now: number; wall: number } {
    return { now: this.t, wall: this.t + this.wallOffsetMs };
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }
  clearTimeout(h: TimerHandle | undefined): void {
    if (h) this.timers = this.timers.filter((x) => x.id !== h.id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const every = Math.max(1e-6, ms);
    this.timers.push({ id, at: this.t + every, seq: this.seq++, fn, every });
    return { id };
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.clearTimeout(h);
  }
  /** Number of pending timers (for tests that check nothing was left scheduled). */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      let best: VTimer | undefined;
      for (const x of this.timers) {
        if (x.at <= target && (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq))) best = x;
      }
      if (!best) break;
      this.t = Math.max(this.t, best.at);
      if (best.every !== undefined) {
        best.at += best.every;
        best.seq = this.seq++;
      } else this.timers = this.timers.filter((x) => x !== best);
      best.fn();
    }
    this.t = Math.max(this.t, target);
  }

  /** Advances to the next due timer (if any) and fires it; returns false when none is pending. */
  step(): boolean {
    if (this.timers.length === 0) return false;
    const at = Math.min(...this.timers.map((x) => x.at));
    this.advanceTo(at);
    return true;
  }
}

/** Resolves after `ms` of the given clock's time. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
