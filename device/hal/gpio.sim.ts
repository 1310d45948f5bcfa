// Simulated GPIO: a set of wires with physical levels, each change stamped with the injected
// clock and kept in an edge log. The host side is the Gpio interface; the device side (`device`)
// is what a scripted peer uses: it drives inputs (KEY, button) and watches outputs (START, relay).
// Timed presses: in virtual time by the clock (exact); on the real clock by a thread
// (pulse-timer.ts) that decides the release time, so a busy main thread cannot stretch a press:
// the release edge carries the thread's time even when the main thread hears of it later.
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Gpio, GpioBias, GpioEdge, GpioInput, GpioOutput, InputOptions, OutputOptions, PulseTimes } from './gpio.ts';
import { activeOf, levelOf, monotonicMs } from './gpio.ts';
import { RealClock } from '../core/clock.ts';
import { PulseTimer } from './pulse-timer.ts';

export interface SimEdge {
  line: number;
  level: 0 | 1;
  t: number;
  by: 'host' | 'device';
}

interface Wire {
  /** Host output driving the wire (physical level), if opened as output. */
  hostLevel?: 0 | 1;
  /** Device side driving the wire, or undefined when it lets go. */
  deviceLevel?: 0 | 1;
  bias: GpioBias;
  level: 0 | 1;
}

/** The device side of the simulation: what the other end of each wire does and sees. */
export interface SimDeviceSide {
  /** Physical level of a wire now. */
  level(line: number): 0 | 1;
  /** Drives a wire to a level, or lets go of it (undefined): the bias (pull) then decides. */
  drive(line: number, level: 0 | 1 | undefined): void;
  /** Calls `fn` on every physical change of the wire (made by either side). */
  onChange(line: number, fn: (level: 0 | 1, t: number) => void): () => void;
}

export interface SimGpioOptions {
  clock: Clock;
  /** When set, write() and pulse() throw this (to test failure paths). */
  failWrites?: Error;
  /** Who ends a pulse: the clock's timers, or a thread (default: the thread on a RealClock). */
  pulseTimer?: 'clock' | 'thread';
}

export class SimGpio implements Gpio {
  readonly kind = 'sim' as const;
  readonly edges: SimEdge[] = [];
  failWrites: Error | undefined;
  private readonly clock: Clock;
  private readonly wires = new Map<number, Wire>();
  private readonly listeners = new Map<number, Set<(level: 0 | 1, t: number) => void>>();
  private readonly closers = new Set<() => void>();
  /** Number of output()/input() opens, per line (tests check re-opening after restarts). */
  readonly opens = new Map<number, number>();
  readonly device: SimDeviceSide;
  private readonly timer: PulseTimer | undefined;
  /** clock.now() − CLOCK_MONOTONIC, to stamp the thread's release times in the clock's timebase. */
  private readonly offset: number;

  constructor(opts: SimGpioOptions) {
    this.clock = opts.clock;
    if ((opts.pulseTimer ?? (opts.clock instanceof RealClock ? 'thread' : 'clock')) === 'thread') this.timer = new PulseTimer();
    this.offset = this.clock.now() - monotonicMs();
    this.failWrites = opts.failWrites;
    this.device = {
      level: (line) => this.wire(line).level,
      drive: (line, level) => {
        this.wire(line).deviceLevel = level;
        this.settle(line, 'device');
      },
      onChange: (line, fn) => {
        if (!this.listeners.has(line)) this.listeners.set(line, new Set());
        this.listeners.get(line)!.add(fn);
        return () => {
          this.listeners.get(line)?.delete(fn);
        };
      },
    };
  }

  now(): number {
    return this.clock.now();
  }

  /** Resolves when the pulse thread runs (at once in virtual time); output() waits for it. */
  async ready(): Promise<void> {
    await this.timer?.ready;
  }

  /** Edges of one line (physical), oldest first. */
  edgesOf(line: number): SimEdge[] {
    return this.edges.filter((e) => e.line === line);
  }

  private wire(line: number): Wire {
    let w = this.wires.get(line);
    if (!w) {
      w = { bias: 'as-is', level: 0 };
      this.wires.set(line, w);
    }
    return w;
  }

  /** Recomputes a wire's level: the host's output wins, then the device, then the pull. */
  private settle(line: number, by: 'host' | 'device', t = this.clock.now()): void {
    const w = this.wire(line);
    const level: 0 | 1 = w.hostLevel ?? w.deviceLevel ?? (w.bias === 'pull-up' ? 1 : w.bias === 'pull-down' ? 0 : w.level);
    if (level === w.level) return;
    w.level = level;
    this.edges.push({ line, level, t, by });
    for (const fn of [...(this.listeners.get(line) ?? [])]) fn(level, t);
  }

  private opened(line: number): void {
    this.opens.set(line, (this.opens.get(line) ?? 0) + 1);
  }

  async output(line: number, o: OutputOptions = {}): Promise<GpioOutput> {
    // An output opens once the pulse thread runs, so no press can wait on its start-up (hundreds
    // of ms on a busy machine) with the line active.
    if (this.timer) await this.timer.ready;
    const activeLow = !!o.activeLow;
    const w = this.wire(line);
    this.opened(line);
    let value = !!o.initial;
    let open = true;
    let pulse: { cancel: () => void; start: number; resolve: (p: PulseTimes) => void } | undefined;
    const set = (active: boolean, t?: number) => {
      value = active;
      w.hostLevel = levelOf(active, activeLow);
      this.settle(line, 'host', t);
    };
    /** Ends the pulse now, or at `t` (the time the pulse thread decided). */
    const endPulse = (t = this.clock.now()) => {
      if (!pulse) return;
      const p = pulse;
      pulse = undefined;
      p.cancel();
      set(false, t);
      p.resolve({ start: p.start, end: t });
    };
    set(value);
    const close = () => {
      if (!open) return;
      endPulse();
      set(false);
      open = false;
      w.hostLevel = undefined;
      this.settle(line, 'host');
      this.closers.delete(close);
    };
    this.closers.add(close);
    const out: GpioOutput = {
      line,
      write: (active) => {
        if (!open) return;
        if (this.failWrites) throw this.failWrites;
        endPulse();
        set(active);
      },
      read: () => value,
      pulse: (ms) => {
        if (!open) return Promise.reject(new Error(`line ${line} is closed`));
        if (this.failWrites) return Promise.reject(this.failWrites);
        if (pulse) return Promise.reject(new Error(`line ${line} is already pulsing`));
        // One stamp for the rising edge and the planned end: a main thread descheduled between
        // two reads of the clock would otherwise lengthen the press by that much.
        const start = this.clock.now();
        set(true, start);
        return new Promise<PulseTimes>((resolve) => {
          if (this.timer) {
            pulse = { start, resolve, cancel: () => {} };
            pulse.cancel = this.timer.at(start - this.offset + ms, (end) => endPulse(end + this.offset));
          } else {
            const h: TimerHandle = this.clock.setTimeout(() => endPulse(), ms);
            pulse = { start, resolve, cancel: () => this.clock.clearTimeout(h) };
          }
        });
      },
      hold: (ms) => out.pulse(ms),
      close,
    };
    return out;
  }

  async input(line: number, o: InputOptions = {}): Promise<GpioInput> {
    const activeLow = !!o.activeLow;
    const w = this.wire(line);
    this.opened(line);
    w.bias = o.bias ?? 'as-is';
    this.settle(line, 'device');
    let open = true;
    const subs = new Set<() => void>();
    const close = () => {
      if (!open) return;
      open = false;
      for (const u of subs) u();
      subs.clear();
      this.closers.delete(close);
    };
    this.closers.add(close);
    return {
      line,
      read: () => activeOf(w.level, activeLow),
      watch: (fn: (e: GpioEdge) => void) => {
        const u = this.device.onChange(line, (level, t) => {
          if (open) fn({ line, active: activeOf(level, activeLow), t });
        });
        subs.add(u);
        return () => {
          u();
          subs.delete(u);
        };
      },
      close,
    };
  }

  async close(): Promise<void> {
    for (const c of [...this.closers]) c();
    await this.timer?.close();
  }
}
