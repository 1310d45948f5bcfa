// A scripted LDG AT-7000 on the far end of a simulated GPIO (the device side of SimGpio): it
// measures START presses edge to edge and reads them as modes the way the tuner does, pulls KEY
// low for a tune time, can be told to fail (KEY pulse pattern), stay silent or hold KEY, and
// erases its memories when START is held while it powers up. Timers on the sim's clock.
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { SimGpio } from '../hal/gpio.sim.ts';
import { activeOf } from '../hal/gpio.ts';
import type { TuneMode } from '../../protocol/roles/tuner.ts';

export type At7000Behaviour = 'success' | 'fail' | 'silent' | 'stuck';

export interface At7000Options {
  clock: Clock;
  gpio: SimGpio;
  /** Lines and polarity as the Pi sees them (the model undoes the Pi-side polarity). */
  start: { line: number; activeLow?: boolean };
  key: { line: number };
  power?: { line: number; activeLow?: boolean };
  bypassBelowMs?: number;
  fullAboveMs?: number;
  /** Press end → KEY low (default 40 ms). */
  keyDelayMs?: number;
  /** How long KEY stays low per mode (defaults: bypass 0 = no KEY, memory 600, full 2500 ms). */
  tuneMs?: Partial<Record<TuneMode, number>>;
  /** Failure pattern: this many pulses of pulseMs low / pulseMs high after the tune (default 3 × 100 ms). */
  failPulses?: number;
  pulseMs?: number;
  /** START held this long after power-up erases the memories (default 3000 ms). */
  eraseHoldMs?: number;
}

export interface At7000Press {
  ms: number;
  mode: TuneMode;
  at: number;
  behaviour: At7000Behaviour;
}

export class At7000 {
  /** Every press the tuner read, in order. */
  readonly presses: At7000Press[] = [];
  /** Behaviours for the next tunes (first used first); `behaviour` once the queue is empty. */
  readonly script: At7000Behaviour[] = [];
  behaviour: At7000Behaviour = 'success';
  erases = 0;
  memories = 5;
  private pressedAt: number | undefined;
  private poweredAt: number | undefined;
  private timers: TimerHandle[] = [];
  private unsubs: Array<() => void> = [];
  private readonly o: Required<Omit<At7000Options, 'power' | 'tuneMs'>> &
    Pick<At7000Options, 'power'> & { tuneMs: Record<TuneMode, number> };

  constructor(opts: At7000Options) {
    this.o = {
      keyDelayMs: 40,
      failPulses: 3,
      pulseMs: 100,
      eraseHoldMs: 3000,
      bypassBelowMs: 500,
      fullAboveMs: 2500,
      ...opts,
      tuneMs: { bypass: 0, memory: 600, full: 2500, ...(opts.tuneMs ?? {}) },
    };
    const { gpio, start, power } = this.o;
    this.unsubs.push(gpio.device.onChange(start.line, (level, t) => this.onStart(activeOf(level, start.activeLow), t)));
    if (power) {
      this.unsubs.push(gpio.device.onChange(power.line, (level, t) => this.onPower(activeOf(level, power.activeLow), t)));
      if (this.powered) this.poweredAt = this.o.clock.now();
    }
    this.releaseKey();
  }

  get powered(): boolean {
    const p = this.o.power;
    return !p || activeOf(this.o.gpio.device.level(p.line), p.activeLow);
  }

  get keyLow(): boolean {
    return this.o.gpio.device.level(this.o.key.line) === 0;
  }

  get lastMode(): TuneMode | undefined {
    return this.presses[this.presses.length - 1]?.mode;
  }

  modeOf(ms: number): TuneMode {
    return ms < this.o.bypassBelowMs ? 'bypass' : ms <= this.o.fullAboveMs ? 'memory' : 'full';
  }

  private startPressed(): boolean {
    const s = this.o.start;
    return activeOf(this.o.gpio.device.level(s.line), s.activeLow);
  }

  private pullKey(): void {
    this.o.gpio.device.drive(this.o.key.line, 0);
  }
  private releaseKey(): void {
    this.o.gpio.device.drive(this.o.key.line, undefined);
  }
  private later(ms: number, fn: () => void): void {
    this.timers.push(this.o.clock.setTimeout(fn, ms));
  }
  private cancelAll(): void {
    for (const t of this.timers) this.o.clock.clearTimeout(t);
    this.timers = [];
  }

  private onPower(on: boolean, t: number): void {
    if (!on) {
      this.poweredAt = undefined;
      this.pressedAt = undefined;
      this.cancelAll();
      this.releaseKey();
      return;
    }
    this.poweredAt = t;
    // Powered up with START held: erase if it stays held long enough.
    if (this.startPressed()) this.pressedAt = t;
  }

  private onStart(pressed: boolean, t: number): void {
    if (!this.powered) return;
    if (pressed) {
      this.pressedAt = t;
      return;
    }
    if (this.pressedAt === undefined) return;
    const ms = t - this.pressedAt;
    const fromPowerUp = this.poweredAt !== undefined && this.pressedAt <= this.poweredAt;
    this.pressedAt = undefined;
    if (fromPowerUp) {
      if (ms >= this.o.eraseHoldMs) {
        this.erases++;
        this.memories = 0;
      }
      return;
    }
    const mode = this.modeOf(ms);
    const behaviour = this.script.shift() ?? this.behaviour;
    this.presses.push({ ms, mode, at: t, behaviour });
    this.tune(mode, behaviour);
  }

  private tune(mode: TuneMode, behaviour: At7000Behaviour): void {
    this.cancelAll();
    const tuneMs = this.o.tuneMs[mode];
    if (behaviour === 'silent' || (mode === 'bypass' && tuneMs <= 0)) return;
    const { keyDelayMs, pulseMs, failPulses } = this.o;
    // Each step is timed from the one before (a late timer delays what follows, never shortens it).
    this.later(keyDelayMs, () => {
      this.pullKey();
      if (behaviour === 'stuck') return;
      this.later(tuneMs, () => {
        this.releaseKey();
        if (behaviour !== 'fail') return;
        const pulse = (i: number) => {
          if (i >= failPulses) return;
          this.later(pulseMs, () => {
            this.pullKey();
            this.later(pulseMs, () => {
              this.releaseKey();
              pulse(i + 1);
            });
          });
        };
        pulse(0);
      });
    });
    if (behaviour !== 'fail' && mode !== 'bypass') this.memories++;
  }

  /** Lets go of KEY, forgets timers and stops watching the wires. */
  stop(): void {
    this.cancelAll();
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.releaseKey();
  }
}
