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
//   one replaces it on every change; a press is a `gpioset --mode=time --usec=N` that holds the
//   line for the press and exits, so the tool times it too. Between the two processes the line is
//   released to the kernel for a few ms, and a press ends in a released line: with a kernel that
//   keeps released outputs (Raspberry Pi kernels unless persist_gpio_outputs=n) prefer v2.
// - A write during a pulse (an early end) kills the timing gpioset and starts one that holds the
//   new level: a few ms, during which the kernel's policy for released lines applies.
// - close() releases a line at the end of the pulse in flight (gpioset finishes its sleep), else
//   at once; the line holder (gpio-holder-child.ts) calls it when the runtime dies.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import type { Gpio, GpioEdge, GpioInput, GpioOutput, InputOptions, OutputOptions, PulseTimes } from './gpio.ts';
import { monotonicMs, PRESS_RT_PRIORITY } from './gpio.ts';

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
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error("the chardev GPIO adapter needs Debian's gpiod tools: apt-get install gpiod");
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
  /** v1 only: hold the line active for `us` microseconds, then exit (gpioset times it). */
  timedOutput(chip: string, line: number, activeLow: boolean, us: number): string[] {
    return ['--mode=time', `--usec=${us}`, ...(activeLow ? ['-l'] : []), chip, `${line}=1`];
  },
  get(v: GpiodVersion, chip: string, line: number, activeLow: boolean, bias: string): string[] {
    const b = bias === 'as-is' ? [] : ['-b', bias];
    return v === 2
      ? ['-c', chip, ...b, ...(activeLow ? ['-l'] : []), '--numeric', String(line)]
      : [...(activeLow ? ['-l'] : []), ...(b.length ? ['-B', bias] : []), chip, String(line)];
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

/** Waits up to `ms` for a process to exit by itself, then stops it. */
async function exited(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => resolve(), ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** SIGTERM (gpioset releases its lines to the kernel), SIGKILL if it has not exited within 1 s. */
function stop(p: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode) {
      resolve();
      return;
    }
    const t = setTimeout(() => p.kill('SIGKILL'), 1000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export class ChardevGpio implements Gpio {
  readonly kind = 'chardev' as const;
  private readonly procs = new Set<ChildProcess>();
  private readonly closers = new Set<() => Promise<void>>();
  private readonly settlers = new Set<() => Promise<unknown>>();
  private closed = false;

  private constructor(
    readonly chip: string,
    readonly version: GpiodVersion,
  ) {}

  static async open(opts: { chip?: string; version?: GpiodVersion } = {}): Promise<ChardevGpio> {
    return new ChardevGpio(opts.chip ?? 'gpiochip0', opts.version ?? (await detectGpiod()));
  }

  now(): number {
    return monotonicMs();
  }

  /** gpioset processes and the promise that their scheduling is set (see spawn()). */
  private readonly scheduled = new WeakMap<ChildProcess, Promise<void>>();

  private spawn(tool: string, args: string[]): ChildProcess {
    const p = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // gpioset times presses (its sleep): SCHED_FIFO at PRESS_RT_PRIORITY, so neither a busy CPU
    // nor real-time audio delays its wake-up; else a better nice value (root or CAP_SYS_NICE,
    // which the unit grants; otherwise normal priority). gpiomon's edges carry kernel timestamps.
    const renice = () => {
      try {
        if (p.pid) setPriority(p.pid, -15);
      } catch {
        /* not permitted */
      }
    };
    if (tool === 'gpioset' && p.pid) {
      this.scheduled.set(
        p,
        run('chrt', ['-f', '-p', String(PRESS_RT_PRIORITY), String(p.pid)], { timeout: 2000 }).then(() => undefined, renice),
      );
    } else renice();
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
    p.on('error', () => {
      /* reported through exit */
    });
    p.stdin?.on('error', () => {
      /* process gone */
    });
    return p;
  }

  /**
   * Lines whose tool is still exiting after close(): the kernel would refuse a second request
   * for the line (EBUSY) until then, and the old tool's release must not land after the new
   * one's first level. output() and input() on such a line wait for it.
   */
  private readonly closing = new Map<number, Promise<unknown>>();

  private async free(line: number): Promise<void> {
    for (let c = this.closing.get(line); c; c = this.closing.get(line)) await c.catch(() => undefined);
  }

  private closingLine(line: number, done: Promise<unknown>): void {
    this.closing.set(line, done);
    void done
      .catch(() => undefined)
      .then(() => {
        if (this.closing.get(line) === done) this.closing.delete(line);
      });
  }

  async output(line: number, o: OutputOptions = {}): Promise<GpioOutput> {
    await this.free(line);
    const activeLow = !!o.activeLow;
    const label = `hearth-${o.label ?? 'out'}`;
    const v = this.version;
    let value = !!o.initial;
    let proc: ChildProcess | undefined;
    let open = true;
    // The pulse in flight: gpioset times it (v2: its own sleep between two sets; v1: --mode=time).
    // A hold (no planned end) is a set, released by a set or by this process's timer at maxMs.
    let pulse: { proc: ChildProcess; start: number; plannedEnd: number; finish: (end: number) => void; timer?: NodeJS.Timeout } | undefined;
    const acks = new Map<ChildProcess, Array<() => void>>();
    const spawnHold = async (active: boolean, timedUs?: number) => {
      const args =
        timedUs === undefined
          ? gpiodArgs.holdOutput(v, this.chip, line, active ? 1 : 0, activeLow, label)
          : gpiodArgs.timedOutput(this.chip, line, activeLow, timedUs);
      const next = this.spawn('gpioset', args);
      if (v === 2) {
        const q: Array<() => void> = [];
        acks.set(next, q);
        createInterface({ input: next.stdout! }).on('line', (l) => {
          if (/=\s*(active|inactive|0|1)\b/.test(l)) q.shift()?.();
        });
        next.once('exit', () => {
          for (const f of q.splice(0)) f();
          acks.delete(next);
        });
      }
      await new Promise<void>((resolve, reject) => {
        next.once('spawn', () => resolve());
        next.once('error', reject);
      });
      await this.scheduled.get(next);
      // Ready when it answers: a press must not start while gpioset is still starting up.
      if (v === 2) {
        const answered = await Promise.race([command(next, ''), new Promise<false>((r) => setTimeout(() => r(false), 5000))]);
        if (answered === false || next.exitCode !== null) {
          next.kill('SIGKILL');
          throw new Error(`gpioset for line ${line} did not answer within 5 s`);
        }
      }
      return next;
    };
    /** v2: writes commands and a "get"; resolves when gpioset has run them (its answer to the get). */
    const command = (p: ChildProcess, text: string): Promise<true> =>
      new Promise((resolve) => {
        const q = acks.get(p);
        if (!q) {
          resolve(true);
          return;
        }
        q.push(() => resolve(true));
        try {
          p.stdin!.write(`${text}get ${line}\n`);
        } catch {
          /* gone: the exit handler answers */
        }
      });
    proc = await spawnHold(value);
    /** Ends a pulse early: the timing gpioset is killed and a new one holds `active` (a few ms). */
    const interrupt = async (active: boolean) => {
      const p = pulse!;
      pulse = undefined;
      if (p.timer) {
        clearTimeout(p.timer);
        if (v === 2) await command(proc!, `set ${line}=${active ? 1 : 0}\n`);
        else if (!active) {
          const old = proc;
          proc = undefined;
          await stop(old);
          proc = await spawnHold(false);
        }
        p.finish(monotonicMs());
        return;
      }
      const old = proc;
      proc = undefined;
      // SIGTERM: gpioset releases the line to the kernel; the new one drives it when it is up.
      if (p.proc !== old) void stop(p.proc);
      await stop(old);
      p.finish(monotonicMs());
      proc = await spawnHold(active);
    };
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const r = chain.then(fn);
      chain = r.catch(() => undefined);
      return r;
    };
    const set = (active: boolean) =>
      serial(async () => {
        value = active;
        if (pulse) {
          await interrupt(active);
          return;
        }
        if (v === 2) await command(proc!, `set ${line}=${active ? 1 : 0}\n`);
        else {
          const old = proc;
          proc = undefined;
          await stop(old);
          proc = await spawnHold(active);
        }
      });
    this.settlers.add(() => chain);
    const close = (): Promise<void> => {
      if (!open) return Promise.resolve();
      open = false;
      this.closers.delete(close);
      // In the line's queue, so settled() waits for it too.
      const done = serial(async () => {
        if (pulse?.timer) await interrupt(false);
        // Released at its planned end when a pulse runs (gpioset finishes its sleep first), else at once.
        const wait = Math.max(0, (pulse?.plannedEnd ?? 0) - monotonicMs()) + 1000;
        if (v === 2 && proc) {
          try {
            proc.stdin!.write(`set ${line}=0\nexit\n`);
            proc.stdin!.end();
          } catch {
            /* gone */
          }
          await exited(proc, wait);
        } else {
          if (pulse) await exited(pulse.proc, wait);
          await stop(proc);
          proc = await spawnHold(false).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 20));
        }
        await stop(proc);
      });
      this.closingLine(line, done);
      return done;
    };
    this.closers.add(close);
    return {
      line,
      write: (active) => {
        if (open) void set(active).catch(() => undefined);
      },
      read: () => value,
      hold: async (maxMs): Promise<PulseTimes> => {
        const { start, ended } = await serial(async () => {
          if (!open) throw new Error(`line ${line} is closed`);
          if (pulse) throw new Error(`line ${line} is already pulsing`);
          value = true;
          if (v === 2) await command(proc!, `set ${line}=1\n`);
          else {
            const old = proc;
            proc = undefined;
            await stop(old);
            proc = await spawnHold(true);
          }
          const start = monotonicMs();
          let finish!: (end: number) => void;
          const ended = new Promise<number>((resolve) => {
            finish = resolve;
          });
          pulse = {
            proc: proc!,
            start,
            plannedEnd: start + maxMs,
            finish,
            timer: setTimeout(() => {
              void set(false).catch(() => undefined);
            }, maxMs),
          };
          return { start, ended };
        });
        const end = await ended;
        value = false;
        return { start, end };
      },
      pulse: async (ms): Promise<PulseTimes> => {
        // Set up in order with other changes; waited for outside the queue, so a write can end it.
        const { start, ended } = await serial(async () => {
          if (!open) throw new Error(`line ${line} is closed`);
          if (pulse) throw new Error(`line ${line} is already pulsing`);
          const us = Math.round(ms * 1000);
          value = true;
          let finish!: (end: number) => void;
          const ended = new Promise<number>((resolve) => {
            finish = resolve;
          });
          let start: number;
          if (v === 2) {
            // gpioset times the press; the end is when its answer to "get" arrives (an upper bound).
            start = monotonicMs();
            const p = (pulse = { proc: proc!, start, plannedEnd: start + ms, finish });
            void command(proc!, `set ${line}=1\nsleep ${us}us\nset ${line}=0\n`).then(() => {
              if (pulse !== p) return;
              pulse = undefined;
              finish(monotonicMs());
            });
          } else {
            // v1: a gpioset --mode=time holds the line for the press and exits; then one holds it released.
            const old = proc;
            proc = undefined;
            await stop(old);
            const timed = await spawnHold(true, us);
            start = monotonicMs();
            pulse = { proc: timed, start, plannedEnd: start + ms, finish };
            timed.once('exit', () => {
              if (pulse?.proc !== timed) return;
              const end = monotonicMs();
              pulse = undefined;
              void serial(async () => {
                proc = await spawnHold(false);
              }).then(
                () => finish(end),
                () => finish(end),
              );
            });
          }
          return { start, ended };
        });
        const end = await ended;
        value = false;
        return { start, end };
      },
      close: () => {
        void close();
      },
    };
  }

  async input(line: number, o: InputOptions = {}): Promise<GpioInput> {
    await this.free(line);
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
    const close = (): Promise<void> => {
      if (!open) return Promise.resolve();
      open = false;
      this.closers.delete(close);
      fns.clear();
      const done = stop(mon);
      this.closingLine(line, done);
      return done;
    };
    this.closers.add(close);
    return {
      line,
      read: () => value,
      watch: (fn) => {
        fns.add(fn);
        return () => {
          fns.delete(fn);
        };
      },
      close: () => {
        void close();
      },
    };
  }

  /** Resolves when every write so far has reached the lines (gpioset answered), pulses aside. */
  async settled(): Promise<void> {
    await Promise.all([...this.settlers].map((f) => f()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.closers].map((c) => c().catch(() => undefined)));
    await Promise.all([...this.procs].map((p) => stop(p)));
  }
}
