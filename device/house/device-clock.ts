// A demo device's own clocks, as a real Pi has them: a crystal off by `ppm` (its monotonic clock
// runs that much fast or slow against true time) and an OS wall clock off by `offsetMs` (a Pi has
// no RTC; timesyncd leaves hosts milliseconds apart), drifting with the crystal.
//
// True time in the demo is the process's shared monotonic clock (`performance.now()` of the base
// RealClock, and RealClock.wall() = timeOrigin + it): every simulated DAC runs on it, so the rooms
// are compared in true time, never in a device's view of itself.
//
// A demo device runs its runtime on this clock; the runtime's house clock (device/clock/) then
// derives house time over this device's now() from NTP exchanges with the hub, exactly as on a Pi.
import type { Clock, TimerHandle } from '../core/clock.ts';

export interface DeviceClockOptions {
  /** OS wall clock minus true time (ms). */
  offsetMs: number;
  /** Crystal rate offset against true time (ppm): now() runs (1 + ppm/1e6) × true. */
  ppm: number;
}

export class DeviceClock implements Clock {
  readonly offsetMs: number;
  readonly ppm: number;
  private readonly k: number;
  private readonly wall0: number;

  constructor(
    private readonly base: Clock,
    o: DeviceClockOptions,
  ) {
    this.offsetMs = o.offsetMs;
    this.ppm = o.ppm;
    this.k = 1 + o.ppm / 1e6;
    const b = base.both();
    // OS wall clock = (true wall at this clock's now() = 0) + offset + now(): it ticks with the crystal.
    this.wall0 = b.wall - b.now + o.offsetMs;
  }

  /** This device's monotonic time (ms) at the base clock's monotonic time `t`. */
  nowAt(baseNow: number): number {
    return baseNow * this.k;
  }
  now(): number {
    return this.nowAt(this.base.now());
  }
  wall(): number {
    return this.wall0 + this.now();
  }
  both(): { now: number; wall: number } {
    const now = this.now();
    return { now, wall: this.wall0 + now };
  }
  // A timer of `ms` on this crystal lasts ms / k of true time.
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
