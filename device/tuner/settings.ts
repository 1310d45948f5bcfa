// The tuner's config slice with every default filled in, and the checks a schema cannot express
// (press lengths inside their windows, distinct lines, a mapped button with actions). A failed
// check throws one Error listing every problem as "path: message".
import type { ButtonAction, GpioAdapterName, TunerButton, TunerConfig, TuneMode } from '../../protocol/roles/tuner.ts';
import type { GpioBias } from '../hal/gpio.ts';

export const DEFAULTS = {
  presses: { bypass: 250, memory: 1500, full: 3500 } as Record<TuneMode, number>,
  bypassBelowMs: 500,
  fullAboveMs: 2500,
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

export interface LineSettings { line: number; activeLow: boolean }
export interface InputSettings extends LineSettings { bias: GpioBias }

export interface ButtonSettings extends InputSettings {
  debounceMs: number;
  mode: 'pass-through' | 'mapped';
  mediumMs: number;
  longMs: number;
  actions: { short?: ButtonAction; medium?: ButtonAction; long?: ButtonAction };
}

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
  minGapMs: number;
  keyResponseMs: number;
  keyMaxMs: number;
  settleMs: number;
  failurePulses: { count: number; maxMs: number };
  eraseHoldMs: number;
}

function button(b: TunerButton): ButtonSettings {
  return {
    line: b.line, activeLow: b.activeLow ?? true, bias: b.bias ?? 'pull-up',
    debounceMs: b.debounceMs ?? DEFAULTS.button.debounceMs, mode: b.mode,
    mediumMs: b.mediumMs ?? DEFAULTS.button.mediumMs, longMs: b.longMs ?? DEFAULTS.button.longMs,
    actions: { ...(b.short ? { short: b.short } : {}), ...(b.medium ? { medium: b.medium } : {}), ...(b.long ? { long: b.long } : {}) },
  };
}

export function resolveSettings(c: TunerConfig): TunerSettings {
  return {
    adapter: c.gpio?.adapter ?? 'auto',
    ...(c.gpio?.chip ? { chip: c.gpio.chip } : {}),
    start: { line: c.start.line, activeLow: c.start.activeLow ?? false },
    key: { line: c.key.line, activeLow: c.key.activeLow ?? true, bias: c.key.bias ?? 'pull-up' },
    ...(c.power ? { power: { line: c.power.line, activeLow: c.power.activeLow ?? false, offMs: c.power.offMs ?? DEFAULTS.powerOffMs, cutsPower: c.power.cutsPower ?? false } } : {}),
    ...(c.ptt ? { ptt: { line: c.ptt.line, activeLow: c.ptt.activeLow ?? false, maxMs: c.ptt.maxMs ?? DEFAULTS.pttMaxMs } } : {}),
    ...(c.button ? { button: button(c.button) } : {}),
    presses: {
      bypass: c.presses?.bypassMs ?? DEFAULTS.presses.bypass,
      memory: c.presses?.memoryMs ?? DEFAULTS.presses.memory,
      full: c.presses?.fullMs ?? DEFAULTS.presses.full,
    },
    bypassBelowMs: c.windows?.bypassBelowMs ?? DEFAULTS.bypassBelowMs,
    fullAboveMs: c.windows?.fullAboveMs ?? DEFAULTS.fullAboveMs,
    minGapMs: c.minGapMs ?? DEFAULTS.minGapMs,
    keyResponseMs: c.keyResponseMs ?? DEFAULTS.keyResponseMs,
    keyMaxMs: c.keyMaxMs ?? DEFAULTS.keyMaxMs,
    settleMs: c.settleMs ?? DEFAULTS.settleMs,
    failurePulses: { count: c.failurePulses?.count ?? DEFAULTS.failurePulses.count, maxMs: c.failurePulses?.maxMs ?? DEFAULTS.failurePulses.maxMs },
    eraseHoldMs: c.eraseHoldMs ?? DEFAULTS.eraseHoldMs,
  };
}

/** Problems a schema cannot see, as "path: message" lines (empty when the config is fine). */
export function tunerConfigProblems(c: TunerConfig): string[] {
  const s = resolveSettings(c);
  const out: string[] = [];
  if (s.bypassBelowMs >= s.fullAboveMs) out.push(`/windows: bypassBelowMs (${s.bypassBelowMs}) must be below fullAboveMs (${s.fullAboveMs})`);
  if (!(s.presses.bypass < s.bypassBelowMs)) out.push(`/presses/bypassMs: ${s.presses.bypass} ms is not a bypass press (must be below ${s.bypassBelowMs} ms)`);
  if (!(s.presses.memory >= s.bypassBelowMs && s.presses.memory <= s.fullAboveMs)) out.push(`/presses/memoryMs: ${s.presses.memory} ms is outside the memory window ${s.bypassBelowMs}–${s.fullAboveMs} ms`);
  if (!(s.presses.full > s.fullAboveMs)) out.push(`/presses/fullMs: ${s.presses.full} ms is not a full-tune press (must be above ${s.fullAboveMs} ms)`);
  const lines: Array<[string, number]> = [['/start/line', s.start.line], ['/key/line', s.key.line]];
  if (s.power) lines.push(['/power/line', s.power.line]);
  if (s.ptt) lines.push(['/ptt/line', s.ptt.line]);
  if (s.button) lines.push(['/button/line', s.button.line]);
  const seen = new Map<number, string>();
  for (const [path, line] of lines) {
    const other = seen.get(line);
    if (other) out.push(`${path}: GPIO ${line} is already used by ${other}`);
    else seen.set(line, path);
  }
  if (s.button) {
    if (s.button.mediumMs >= s.button.longMs) out.push(`/button: mediumMs (${s.button.mediumMs}) must be below longMs (${s.button.longMs})`);
    if (s.button.mode === 'mapped' && !s.button.actions.short && !s.button.actions.medium && !s.button.actions.long) {
      out.push('/button: mode "mapped" needs at least one of short, medium, long');
    }
  }
  return out;
}

export function checkTunerConfig(c: TunerConfig): TunerSettings {
  const problems = tunerConfigProblems(c);
  if (problems.length) throw new Error(`tuner config: ${problems.join('; ')}`);
  return resolveSettings(c);
}
