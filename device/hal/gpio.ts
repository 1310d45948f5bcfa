// GPIO lines: outputs (START, power relay, PTT) and inputs (KEY, button). Rules every adapter keeps:
// - Values are logical: `true` = active. `activeLow` flips the physical level; bias sets the pull.
// - An output opens at its `initial` value (default inactive) before anything else can happen,
//   so a restart after a crash releases START first.
// - `pulse(ms)` drives an output active for `ms` and then inactive, timed as precisely as the
//   adapter can and off the JavaScript event loop where it can (rpio: a dedicated worker thread;
//   chardev: the gpioset process sleeps; sim: the injected clock). It resolves with the times of
//   the two edges it made. One pulse at a time per line; write() during a pulse ends it (on the
//   chardev adapter that takes a few ms: use hold() where the end is not planned).
// - `hold(maxMs)` asserts until write(false) or maxMs, the limit enforced by the adapter itself.
// - Edge and pulse times are milliseconds in the adapter's timebase (`now()`): CLOCK_MONOTONIC
//   via process.hrtime for real adapters (the same clock the kernel stamps GPIO events with), the
//   injected clock for the simulation. Only differences of these times are meaningful.
// - `watch()` reports every level change of an input with its time, in order; callbacks run on
//   the main thread and may arrive later than the edge (the time says when it happened).
// - `close()` on a line releases it (outputs are driven inactive first); `Gpio.close()` closes
//   every line it opened, is safe to call twice, and never throws.
import type { EdgeFactory } from '../core/hal-overrides.ts';

export type GpioBias = 'pull-up' | 'pull-down' | 'disable' | 'as-is';

export interface OutputOptions {
  activeLow?: boolean;
  /** Logical value at open (default false = inactive). */
  initial?: boolean;
  /** Name for logs and process lists, e.g. "start". */
  label?: string;
}

export interface InputOptions {
  activeLow?: boolean;
  bias?: GpioBias;
  label?: string;
}

export interface GpioEdge {
  line: number;
  active: boolean;
  /** When the level changed, in the adapter's timebase (ms). */
  t: number;
}

export interface PulseTimes {
  /** Time of the active edge. */
  start: number;
  /** Time of the inactive edge. */
  end: number;
}

export interface GpioOutput {
  readonly line: number;
  write(active: boolean): void;
  /** The last value written (logical). */
  read(): boolean;
  pulse(ms: number): Promise<PulseTimes>;
  /**
   * Asserts the line until write(false) (which ends it at once) or `maxMs`, whichever comes
   * first; the adapter enforces maxMs by itself (line thread, holder process), so a stalled
   * runtime cannot extend it. For PTT and pass-through presses, whose end is not planned.
   */
  hold(maxMs: number): Promise<PulseTimes>;
  close(): void;
}

export interface GpioInput {
  readonly line: number;
  /** The current level (logical). */
  read(): boolean;
  /** Calls `fn` for every level change; returns an unsubscribe function. */
  watch(fn: (edge: GpioEdge) => void): () => void;
  close(): void;
}

export interface Gpio {
  readonly kind: 'rpio' | 'chardev' | 'sim';
  /** Now, in the timebase of edge and pulse times. */
  now(): number;
  output(line: number, opts?: OutputOptions): Promise<GpioOutput>;
  input(line: number, opts?: InputOptions): Promise<GpioInput>;
  close(): Promise<void>;
}

/**
 * SCHED_FIFO priority of whatever times a press (the rpio line thread, gpioset, the simulated
 * pulse thread). Above the audio that may share the Pi (PulseAudio asks rtkit for 5, PipeWire's
 * data loop gets at most 20 through rtkit, the benches run players at SCHED_RR 10–30), so an
 * audio burst cannot delay a release; below the kernel's threaded interrupts (50). A press costs
 * at most ~2 ms of CPU at this priority (the spin before its release), so the audio loses nothing
 * it would notice. Needs root or CAP_SYS_NICE (the unit grants it).
 */
export const PRESS_RT_PRIORITY = 40;

/** CLOCK_MONOTONIC in milliseconds (fractional): the timebase of the real adapters. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Physical level (1 = high) of a logical value. */
export function levelOf(active: boolean, activeLow = false): 0 | 1 {
  return active !== activeLow ? 1 : 0;
}

/** Logical value of a physical level. */
export function activeOf(level: number, activeLow = false): boolean {
  return (level !== 0) !== activeLow;
}

/** 'auto' (the default) picks by the board (gpio-select.ts). */
export type GpioChoice = 'auto' | 'rpio' | 'chardev' | 'sim';

/** A tuner's `gpio` config: which adapter, and the chardev chip. */
export interface GpioConfig {
  adapter?: GpioChoice;
  /** chardev: chip name or path (default gpiochip0). */
  chip?: string;
}

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    /** Replaces the configured GPIO adapter (tests and the house-in-a-box use the simulation). */
    gpio?: EdgeFactory<GpioConfig, Gpio>;
  }
}
