// Press timing: which mode a press length means to the tuner, and how long to press for a mode.
// Pure numbers. Windows (AT-7000 defaults): length < bypassBelowMs → bypass; bypassBelowMs ≤
// length ≤ fullAboveMs → memory tune; length > fullAboveMs → full tune. Targets sit well inside.
import type { TuneMode } from '../../protocol/roles/tuner.ts';

export interface PressWindows { bypassBelowMs: number; fullAboveMs: number }

export class PressTiming {
  constructor(readonly windows: PressWindows, readonly targets: Record<TuneMode, number>) {}

  /** The mode a tuner reads from a press of `ms`. */
  modeOf(ms: number): TuneMode {
    if (ms < this.windows.bypassBelowMs) return 'bypass';
    if (ms <= this.windows.fullAboveMs) return 'memory';
    return 'full';
  }

  targetMs(mode: TuneMode): number { return this.targets[mode]; }

  /** [min, max) of a mode's window in ms (max Infinity for full tune). */
  window(mode: TuneMode): { min: number; max: number } {
    const { bypassBelowMs: b, fullAboveMs: f } = this.windows;
    if (mode === 'bypass') return { min: 0, max: b };
    if (mode === 'memory') return { min: b, max: f };
    return { min: f, max: Infinity };
  }

  /** Distance in ms from `ms` to the nearest edge of the mode's window (negative: outside). */
  margin(mode: TuneMode, ms: number): number {
    const w = this.window(mode);
    return Math.min(ms - w.min, w.max - ms);
  }

  inWindow(mode: TuneMode, ms: number): boolean { return this.modeOf(ms) === mode; }
}
