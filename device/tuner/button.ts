// The physical button: debounce raw edges into presses, and sort presses into short/medium/long.
// Debounce rule: a level counts once it has held for `debounceMs` with no further edge; the
// press starts and ends at the time of the last edge before each settled level, so bounce does
// not add to the measured length. Timers on the injected clock; times in the GPIO timebase.
import type { Clock, TimerHandle } from '../core/clock.ts';

export type PressClass = 'short' | 'medium' | 'long';

export function classifyPress(ms: number, mediumMs: number, longMs: number): PressClass {
  if (ms >= longMs) return 'long';
  if (ms >= mediumMs) return 'medium';
  return 'short';
}

export interface ButtonHandlers {
  /** The button went down (debounced); `t` is when. */
  down?(t: number): void;
  /** The button came up (debounced) after a press of `ms`. */
  up(ms: number, t: number): void;
}

export class ButtonWatch {
  private stable: boolean;
  private pending: { active: boolean; t: number } | undefined;
  private timer: TimerHandle | undefined;
  private downAt: number | undefined;
  /** Raw edges seen and bounces filtered (for telemetry). */
  edges = 0;
  bounces = 0;

  constructor(
    private readonly clock: Clock,
    private readonly debounceMs: number,
    private readonly on: ButtonHandlers,
    initial = false,
  ) {
    this.stable = initial;
  }

  get pressed(): boolean {
    return this.stable;
  }

  edge(active: boolean, t: number): void {
    this.edges++;
    if (this.pending) this.bounces++;
    this.pending = { active, t };
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.settle(), this.debounceMs);
  }

  private settle(): void {
    const p = this.pending;
    this.pending = undefined;
    this.timer = undefined;
    if (!p || p.active === this.stable) return;
    this.stable = p.active;
    if (p.active) {
      this.downAt = p.t;
      this.on.down?.(p.t);
    } else if (this.downAt !== undefined) {
      const ms = p.t - this.downAt;
      this.downAt = undefined;
      this.on.up(ms, p.t);
    }
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
