// A clock whose monotonic time runs `ppm` fast (or slow, negative) against a base clock, while its
// wall() stays the base's: a device whose crystal is off but whose wall clock is NTP-disciplined.
// A source on it sends RTP at nominal × (1 + ppm/1e6) true samples per second.
import type { Clock, TimerHandle } from '../../device/core/clock.ts';

export class SkewedClock implements Clock {
  private readonly k: number;
  private readonly t0: number;
  constructor(
    private readonly base: Clock,
    ppm: number,
  ) {
    this.k = 1 + ppm / 1e6;
    this.t0 = base.now();
  }
  now(): number {
    return this.t0 + (this.base.now() - this.t0) * this.k;
  }
  wall(): number {
    return this.base.wall();
  }
  both(): { now: number; wall: number } {
    const b = this.base.both();
    return { now: this.t0 + (b.now - this.t0) * this.k, wall: b.wall };
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms / this.k);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.base.clearTimeout(h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.base.setInterval(fn, ms / this.k);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.base.clearInterval(h);
  }
}
