// The tuner's defaults and the checks its schema cannot express, beside the schema so the device
// (role start and config/set) and `hearth check-config` refuse exactly the same configs:
// - margins: every configured press length sits at least `margins.guardMs` inside its window
//   (default 100 ms). The guard is never below the worst-case press error of the adapter the
//   config names (PRESS_ERROR_BOUND_MS; `auto` takes the larger of rpio and chardev), so a press
//   timed as well as that adapter guarantees still lands inside its window;
// - windows in order, distinct GPIO lines, a mapped button with at least one action.
// Problems are returned as {path, message} relative to the tuner's slice (normalizeConfig puts
// them under /roles/tuner: RoleSpec.check).
import type { ErrorDetail } from '../envelope.ts';
import {
  PRESS_ERROR_BOUND_MS,
  type ButtonAction,
  type GpioAdapterName,
  type TunerButton,
  type TunerConfig,
  type TuneMode,
  type Bias,
} from './tuner-config.ts';

export { PRESS_ERROR_BOUND_MS };

export const TUNER_DEFAULTS = {
  presses: { bypass: 250, memory: 1500, full: 3500 } as Record<TuneMode, number>,
  bypassBelowMs: 500,
  fullAboveMs: 2500,
  guardMs: 100,
  minGapMs: 1000,
  keyResponseMs: 2000,
  keyMaxMs: 30_000,
  settleMs: 700,
  failurePulses: { count: 3, maxMs: 250 },
  eraseHoldMs: 5000,
  powerOffMs: 2000,
  pttMaxMs: 10_000,
  button: { debounceMs: 30, mediumMs: 1000, longMs: 3000 },
};

export function pressErrorBound(adapter: GpioAdapterName): number {
  return adapter === 'auto' ? Math.max(PRESS_ERROR_BOUND_MS.rpio, PRESS_ERROR_BOUND_MS.chardev) : PRESS_ERROR_BOUND_MS[adapter];
}

export interface LineSettings {
  line: number;
  activeLow: boolean;
}
export interface InputSettings extends LineSettings {
  bias: Bias;
}

export interface ButtonSettings extends InputSettings {
  debounceMs: number;
  mode: 'pass-through' | 'mapped';
  mediumMs: number;
  longMs: number;
  actions: { short?: ButtonAction; medium?: ButtonAction; long?: ButtonAction };
}

/** The tuner config with every default filled in. */
export interface TunerSettings {
  adapter: GpioAdapterName;
  chip?: string;
  start: LineSettings;
  key: InputSettings;
  power?: LineSettings & { offMs: number; cutsPower: boolean };
  ptt?: LineSettings & { maxMs: number };
  button?: ButtonSettings;
  presses: Record<TuneMode, number>;
  bypassBelowMs: number;
  fullAboveMs: number;
  guardMs: number;
  minGapMs: number;
  keyResponseMs: number;
  keyMaxMs: number;
  settleMs: number;
  failurePulses: { count: number; maxMs: number };
  eraseHoldMs: number;
}

function button(b: TunerButton): ButtonSettings {
  const d = TUNER_DEFAULTS.button;
  return {
    line: b.line,
    activeLow: b.activeLow ?? true,
    bias: b.bias ?? 'pull-up',
    debounceMs: b.debounceMs ?? d.debounceMs,
    mode: b.mode,
    mediumMs: b.mediumMs ?? d.mediumMs,
    longMs: b.longMs ?? d.longMs,
    actions: { ...(b.short ? { short: b.short } : {}), ...(b.medium ? { medium: b.medium } : {}), ...(b.long ? { long: b.long } : {}) },
  };
}

export function resolveTunerSettings(c: TunerConfig): TunerSettings {
  const D = TUNER_DEFAULTS;
  return {
    adapter: c.gpio?.adapter ?? 'auto',
    ...(c.gpio?.chip ? { chip: c.gpio.chip } : {}),
    start: { line: c.start.line, activeLow: c.start.activeLow ?? false },
    key: { line: c.key.line, activeLow: c.key.activeLow ?? true, bias: c.key.bias ?? 'pull-up' },
    ...(c.power
      ? {
          power: {
            line: c.power.line,
            activeLow: c.power.activeLow ?? false,
            offMs: c.power.offMs ?? D.powerOffMs,
            cutsPower: c.power.cutsPower ?? false,
          },
        }
      : {}),
    ...(c.ptt ? { ptt: { line: c.ptt.line, activeLow: c.ptt.activeLow ?? false, maxMs: c.ptt.maxMs ?? D.pttMaxMs } } : {}),
    ...(c.button ? { button: button(c.button) } : {}),
    presses: {
      bypass: c.presses?.bypassMs ?? D.presses.bypass,
      memory: c.presses?.memoryMs ?? D.presses.memory,
      full: c.presses?.fullMs ?? D.presses.full,
    },
    bypassBelowMs: c.windows?.bypassBelowMs ?? D.bypassBelowMs,
    fullAboveMs: c.windows?.fullAboveMs ?? D.fullAboveMs,
    guardMs: c.margins?.guardMs ?? D.guardMs,
    minGapMs: c.minGapMs ?? D.minGapMs,
    keyResponseMs: c.keyResponseMs ?? D.keyResponseMs,
    keyMaxMs: c.keyMaxMs ?? D.keyMaxMs,
    settleMs: c.settleMs ?? D.settleMs,
    failurePulses: { count: c.failurePulses?.count ?? D.failurePulses.count, maxMs: c.failurePulses?.maxMs ?? D.failurePulses.maxMs },
    eraseHoldMs: c.eraseHoldMs ?? D.eraseHoldMs,
  };
}

/** [min, max] of a mode's window (max Infinity for full tune); lengths on an edge count as memory. */
export function pressWindow(mode: TuneMode, bypassBelowMs: number, fullAboveMs: number): { min: number; max: number } {
  if (mode === 'bypass') return { min: 0, max: bypassBelowMs };
  if (mode === 'memory') return { min: bypassBelowMs, max: fullAboveMs };
  return { min: fullAboveMs, max: Infinity };
}

/** Problems a schema cannot see, with paths relative to the slice (empty when the config is fine). */
export function tunerConfigProblems(c: TunerConfig): ErrorDetail[] {
  const s = resolveTunerSettings(c);
  const out: ErrorDetail[] = [];
  const add = (path: string, message: string) => out.push({ path, message });
  const bound = pressErrorBound(s.adapter);
  if (s.guardMs < bound)
    add('/margins/guardMs', `${s.guardMs} ms is below the worst-case press error of the ${s.adapter} adapter (${bound} ms)`);
  if (s.bypassBelowMs >= s.fullAboveMs) add('/windows', `bypassBelowMs (${s.bypassBelowMs}) must be below fullAboveMs (${s.fullAboveMs})`);
  else {
    const names: Record<TuneMode, string> = { bypass: 'bypass', memory: 'memory tune', full: 'full tune' };
    for (const mode of ['bypass', 'memory', 'full'] as const) {
      const ms = s.presses[mode];
      const w = pressWindow(mode, s.bypassBelowMs, s.fullAboveMs);
      const inside = Math.min(ms - w.min, w.max - ms);
      if (inside < s.guardMs) {
        const range = w.max === Infinity ? `above ${w.min} ms` : mode === 'bypass' ? `below ${w.max} ms` : `${w.min}–${w.max} ms`;
        const need =
          w.max === Infinity
            ? `≥ ${w.min + s.guardMs}`
            : mode === 'bypass'
              ? `≤ ${w.max - s.guardMs}`
              : `${w.min + s.guardMs}–${w.max - s.guardMs}`;
        add(
          `/presses/${mode}Ms`,
          `${ms} ms is not at least the ${s.guardMs} ms guard margin inside the ${names[mode]} window (${range}): use ${need} ms`,
        );
      }
    }
  }
  const lines: Array<[string, number]> = [
    ['/start/line', s.start.line],
    ['/key/line', s.key.line],
  ];
  if (s.power) lines.push(['/power/line', s.power.line]);
  if (s.ptt) lines.push(['/ptt/line', s.ptt.line]);
  if (s.button) lines.push(['/button/line', s.button.line]);
  const seen = new Map<number, string>();
  for (const [path, line] of lines) {
    const other = seen.get(line);
    if (other) add(path, `GPIO ${line} is already used by ${other}`);
    else seen.set(line, path);
  }
  if (s.button) {
    if (s.button.mediumMs >= s.button.longMs) add('/button', `mediumMs (${s.button.mediumMs}) must be below longMs (${s.button.longMs})`);
    if (s.button.mode === 'mapped' && !s.button.actions.short && !s.button.actions.medium && !s.button.actions.long) {
      add('/button', 'mode "mapped" needs at least one of short, medium, long');
    }
  }
  return out;
}
