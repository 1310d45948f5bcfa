// GPIO through the Linux GPIO character device (/dev/gpiochipN), for the Pi 5 and any current
// kernel, by way of Debian's `gpiod` tools run as long-lived child processes. Why tools and not a
// binding: the maintained Node binding (node-libgpiod) builds against libgpiod 1.x only, while
// Debian 13 (the image base) ships libgpiod 2.x; the tools are packaged for both and their
// processes keep a crash in the line code away from the runtime.
// - libgpiod v2 tools (Debian 13): one `gpioset -i` (interactive) per output; a press is sent as
//   "set L=1 / sleep Nus / set L=0" in one write, so gpioset times it in C, independent of the
//   event loop. One `gpiomon` per input, with kernel timestamps (CLOCK_MONOTONIC, the same clock
//   as process.hrtime); the level at open comes from `gpioget` just before.
// - libgpiod v1 tools (Debian 12): a `gpioset --mode=signal` holds each output level and a new
//   one replaces it on every change; presses are timed on the main thread (scheduled early,
//   spun for the last ms), so they are less precise. Prefer v2.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import type { Gpio, GpioEdge, GpioInput, GpioOutput, InputOptions, OutputOptions, PulseTimes } from './gpio.ts';
import { monotonicMs } from './gpio.ts';

const run = promisify(execFile);

export type GpiodVersion = 1 | 2;

/** Major version from `gpioset --version` ("gpioset (libgpiod) v2.1.3"). */
export function parseGpiodVersion(text: string): GpiodVersion {
  const m = /libgpiod\)?\s+v?(\d+)\./.exec(text);
  if (!m) throw new Error(`cannot tell the libgpiod version from: ${text.trim().slice(0, 80)}`);
  return Number(m[1]) >= 2 ? 2 : 1;
}

export async function detectGpiod(): Promise<GpiodVersion> {
  try {
    const { stdout, stderr } = await run('gpioset', ['--version']);
    return parseGpiodVersion(stdout + stderr);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the chardev GPIO adapter needs Debian\'s gpiod tools: apt-get install gpiod');
    throw e;
  }
}

/** Argument lists for each tool and version (pure, unit-tested). */
export const gpiodArgs = {
  holdOutput(v: GpiodVersion, chip: string, line: number, level: 0 | 1, activeLow: boolean, label: string): string[] {
    return v === 2
      ? ['-c', chip, '-C', label, ...(activeLow ? ['-l'] : []), '-i', `${line}=${level}`]
      : ['--mode=signal', ...(activeLow ? ['-l'] : []), chip, `${line}=${level}`];
  },
  get(v: GpiodVersion, chip: string, line: number, activeLow: boolean, bias: string): string[] {
    const b = bias === 'as-is' ? [] : ['-b', bias];
    return v === 2 ? ['-c', chip, ...b, ...(activeLow ? ['-l'] : []), '--numeric', String(line)] : [...(activeLow ? ['-l'] : []), ...(b.length ? ['-B', bias] : []), chip, String(line)];
  },
  monitor(v: GpiodVersion, chip: string, line: number, activeLow: boolean, bias: string, label: string): string[] {
    const b = bias === 'as-is' ? [] : ['-b', bias];
    return v === 2
      ? ['-c', chip, '-C', label, ...b, ...(activeLow ? ['-l'] : []), '-e', 'both', '-E', 'monotonic', '-F', '%e %S', String(line)]
      : [...(activeLow ? ['-l'] : []), ...(b.length ? ['-B', bias] : []), '-F', '%e %s.%n', chip, String(line)];
  },
};

/** Parses one gpiomon line ("1 123.000456789" / "2 …" in v2: 1 rising, 2 falling; v1: 1 rising, 0 falling). */
export function parseMonLine(v: GpiodVersion, text: string): { active: boolean; t: number } | undefined {
  const m = /^\s*(\d)\s+(\d+)\.(\d{1,9})\s*$/.exec(text);
  if (!m) return undefined;
  const rising = m[1] === '1';
  if (v === 2 && m[1] !== '1' && m[1] !== '2') return undefined;
  const t = Number(m[2]) * 1000 + Number(m[3]!.padEnd(9, '0')) / 1e6;
  return { active: rising, t };
}

function stop(p: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode) { resolve(); return; }
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

export class ChardevGpio implements Gpio {
  readonly kind = 'chardev' as const;
  private readonly procs = new Set<ChildProcess>();
  private readonly closers = new Set<() => Promise<void>>();
  private closed = false;

  private constructor(readonly chip: string, readonly version: GpiodVersion) {}

  static async open(opts: { chip?: string; version?: GpiodVersion } = {}): Promise<ChardevGpio> {
    return new ChardevGpio(opts.chip ?? 'gpiochip0', opts.version ?? await detectGpiod());
  }

  now(): number { return monotonicMs(); }

  private spawn(tool: string, args: string[]): ChildProcess {
    const p = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
    p.on('error', () => { /* reported through exit */ });
    p.stdin?.on('error', () => { /* process gone */ });
    return p;
  }

  async output(line: number, o: OutputOptions = {}): Promise<GpioOutput> {
    const activeLow = !!o.activeLow;
    const label = `hearth-${o.label ?? 'out'}`;
    const v = this.version;
    let value = !!o.initial;
    let proc: ChildProcess | undefined;
    const echo: Array<() => void> = [];
    const hold = async (active: boolean) => {
      const next = this.spawn('gpioset', gpiodArgs.holdOutput(v, this.chip, line, active ? 1 : 0, activeLow, label));
      if (v === 2) createInterface({ input: next.stdout! }).on('line', (l) => { if (/=\s*(active|inactive|0|1)\b/.test(l)) echo.shift()?.(); });
      await new Promise<void>((resolve, reject) => {
        next.once('spawn', () => resolve());
        next.once('error', reject);
      });
      return next;
    };
    proc = await hold(value);
    const set = async (active: boolean) => {
      value = active;
      if (v === 2) proc!.stdin!.write(`set ${line}=${active ? 1 : 0}\n`);
      else { const old = proc; proc = undefined; await stop(old); proc = await hold(active); }
    };
    let open = true;
    const close = async () => {
      if (!open) return;
      open = false;
      this.closers.delete(close);
      try { if (v === 2) proc!.stdin!.write(`set ${line}=0\nexit\n`); } catch { /* stopping anyway */ }
      if (v === 1) { await stop(proc); proc = await hold(false).catch(() => undefined); }
      await new Promise((r) => setTimeout(r, 20));
      await stop(proc);
    };
    this.closers.add(close);
    return {
      line,
      write: (active) => { if (open) void set(active); },
      read: () => value,
      pulse: async (ms): Promise<PulseTimes> => {
        if (!open) throw new Error(`line ${line} is closed`);
        if (v === 2) {
          // gpioset does the timing; the end time is when its answer to "get" arrives (an upper bound).
          const start = monotonicMs();
          value = true;
          const done = new Promise<void>((resolve) => echo.push(resolve));
          proc!.stdin!.write(`set ${line}=1\nsleep ${Math.round(ms * 1000)}us\nset ${line}=0\nget ${line}\n`);
          await done;
          value = false;
          return { start, end: monotonicMs() };
        }
        await set(true);
        const start = monotonicMs();
        await new Promise((r) => setTimeout(r, Math.max(0, ms - 3)));
        while (monotonicMs() < start + ms) { /* spin the last stretch */ }
        await set(false);
        return { start, end: monotonicMs() };
      },
      close: () => { void close(); },
    };
  }

  async input(line: number, o: InputOptions = {}): Promise<GpioInput> {
    const activeLow = !!o.activeLow;
    const bias = o.bias ?? 'as-is';
    const v = this.version;
    const { stdout } = await run('gpioget', gpiodArgs.get(v, this.chip, line, activeLow, bias));
    let value = /1|active\b/.test(stdout) && !/inactive/.test(stdout);
    const fns = new Set<(e: GpioEdge) => void>();
    const mon = this.spawn('gpiomon', gpiodArgs.monitor(v, this.chip, line, activeLow, bias, `hearth-${o.label ?? 'in'}`));
    createInterface({ input: mon.stdout! }).on('line', (l) => {
      const e = parseMonLine(v, l);
      if (!e || e.active === value) return;
      value = e.active;
      for (const fn of fns) fn({ line, active: e.active, t: e.t });
    });
    let open = true;
    const close = async () => { if (!open) return; open = false; this.closers.delete(close); fns.clear(); await stop(mon); };
    this.closers.add(close);
    return {
      line,
      read: () => value,
      watch: (fn) => { fns.add(fn); return () => { fns.delete(fn); }; },
      close: () => { void close(); },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.closers].map((c) => c().catch(() => undefined)));
    await Promise.all([...this.procs].map((p) => stop(p)));
  }
}
