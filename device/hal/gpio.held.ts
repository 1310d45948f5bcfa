// The rpio and chardev adapters as the runtime uses them: the lines live in a line-holder child
// process (gpio-holder-child.ts), which releases them when this process dies, however it dies
// (SIGKILL included), and times every pulse where this process's load cannot stretch it. This
// side keeps the last value of every line so read() is synchronous, and forwards edges.
// Cost: one small Node process (lean flags, see child-entry.ts) per device that uses GPIO.
import { fork, type ChildProcess } from 'node:child_process';
import type { Gpio, GpioEdge, GpioInput, GpioOutput, InputOptions, OutputOptions, PulseTimes } from './gpio.ts';
import { monotonicMs } from './gpio.ts';
import { childEntry } from './child-entry.ts';
import type { HolderOptions, HolderReply, HolderRequest } from './gpio-holder-child.ts';

type Done = Extract<HolderReply, { op: 'done' }>;
type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class HeldGpio implements Gpio {
  private readonly pending = new Map<number, { resolve: (r: Done) => void; reject: (e: Error) => void }>();
  private readonly values = new Map<number, boolean>();
  private readonly watchers = new Map<number, Set<(e: GpioEdge) => void>>();
  private nextId = 1;
  private closed = false;
  private dead: Error | undefined;
  /** How the holder's line thread is scheduled (rpio): "fifo:N", "nice:N" or "normal". */
  sched = 'normal';

  private constructor(
    readonly kind: 'rpio' | 'chardev',
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: HolderReply) => this.onReply(m));
    child.on('exit', (code, signal) => this.die(new Error(`GPIO line holder exited (${signal ?? `code ${code}`})`)));
    child.on('error', (e) => this.die(e));
  }

  /** Forks the holder for `opts.adapter` and waits until its lines can be opened. */
  static async open(opts: HolderOptions & { env?: NodeJS.ProcessEnv }): Promise<HeldGpio> {
    const { script, execArgv } = childEntry('gpio-holder-child', import.meta.url);
    const { env, ...o } = opts;
    // The holder's flags: lean, but with threads (the rpio line thread is a worker).
    const flags = execArgv.filter((f) => f !== '--single-threaded' && f !== '--jitless');
    const child = fork(script, [JSON.stringify(o)], {
      execArgv: flags,
      env: { ...process.env, ...(env ?? {}) },
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const g = new HeldGpio(opts.adapter, child);
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: HolderReply) => {
        if (m.op !== 'ready') return;
        child.off('message', onMsg);
        if (m.error) reject(new Error(`${opts.adapter} GPIO: ${m.error}`));
        else {
          g.sched = m.sched ?? 'normal';
          resolve();
        }
      };
      child.on('message', onMsg);
      child.once('exit', (code) => reject(new Error(`GPIO line holder exited before it was ready (${code})`)));
    });
    child.unref();
    g.hold(false);
    return g;
  }

  /** The holder's process id (tests watch it outlive a killed runtime). */
  get holderPid(): number | undefined {
    return this.child.pid;
  }

  now(): number {
    return monotonicMs();
  }

  /** The holder keeps this process alive only while a request (a pulse included) is pending. */
  private hold(on: boolean): void {
    const ch = (this.child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    if (on) ch?.ref();
    else ch?.unref();
  }

  private die(e: Error): void {
    if (this.dead) return;
    this.dead = this.closed ? new Error('GPIO is closed') : e;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  private onReply(m: HolderReply): void {
    if (m.op === 'edge') {
      this.values.set(m.line, m.active);
      for (const fn of this.watchers.get(m.line) ?? []) fn({ line: m.line, active: m.active, t: m.t });
      return;
    }
    if (m.op !== 'done') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.hold(false);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m);
  }

  private request(msg: Distribute<HolderRequest>): Promise<Done> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closed) return Promise.reject(new Error('GPIO is closed'));
    const id = this.nextId++;
    if (this.pending.size === 0) this.hold(true);
    return new Promise<Done>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...msg, id } as HolderRequest);
    });
  }

  private send(msg: Distribute<HolderRequest>): void {
    this.request(msg).catch(() => {
      /* surfaced by the next awaited call */
    });
  }

  async output(line: number, o: OutputOptions = {}): Promise<GpioOutput> {
    await this.request({ op: 'output', line, activeLow: !!o.activeLow, initial: !!o.initial, ...(o.label ? { label: o.label } : {}) });
    this.values.set(line, !!o.initial);
    let open = true;
    const timed = async (op: 'pulse' | 'hold', ms: number): Promise<PulseTimes> => {
      if (!open) throw new Error(`line ${line} is closed`);
      this.values.set(line, true);
      try {
        const r = await this.request({ op, line, ms });
        return { start: r.start!, end: r.end! };
      } finally {
        if (open) this.values.set(line, false);
      }
    };
    return {
      line,
      write: (active) => {
        if (!open) return;
        this.values.set(line, active);
        this.send({ op: 'write', line, active });
      },
      read: () => this.values.get(line) ?? false,
      pulse: (ms) => timed('pulse', ms),
      hold: (ms) => timed('hold', ms),
      close: () => {
        if (open) {
          open = false;
          this.values.set(line, false);
          this.send({ op: 'close', line });
        }
      },
    };
  }

  async input(line: number, o: InputOptions = {}): Promise<GpioInput> {
    const r = await this.request({
      op: 'input',
      line,
      activeLow: !!o.activeLow,
      bias: o.bias ?? 'as-is',
      ...(o.label ? { label: o.label } : {}),
    });
    this.values.set(line, !!r.active);
    let open = true;
    const mine = new Set<(e: GpioEdge) => void>();
    return {
      line,
      read: () => this.values.get(line) ?? false,
      watch: (fn) => {
        mine.add(fn);
        if (!this.watchers.has(line)) this.watchers.set(line, new Set());
        this.watchers.get(line)!.add(fn);
        return () => {
          mine.delete(fn);
          this.watchers.get(line)?.delete(fn);
        };
      },
      close: () => {
        if (!open) return;
        open = false;
        for (const fn of mine) this.watchers.get(line)?.delete(fn);
        this.send({ op: 'close', line });
      },
    };
  }

  /** Resolves when every write sent so far has reached the lines (chardev: gpioset answered). */
  async sync(): Promise<void> {
    await this.request({ op: 'sync' });
  }

  /** rpio mock mode only: the device on the other end drives `line` to a physical level. */
  async mockDrive(line: number, level: 0 | 1): Promise<void> {
    await this.request({ op: 'mockDrive', line, level });
  }

  /** rpio mock mode only: the physical level of `line` as the other end sees it. */
  async mockLevel(line: number): Promise<0 | 1> {
    return (await this.request({ op: 'mockRead', line })).level ? 1 : 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.dead) await this.request({ op: 'closeAll' });
    } catch {
      /* releasing anyway */
    }
    this.closed = true;
    for (const v of this.values.keys()) this.values.set(v, false);
    this.watchers.clear();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.child.kill('SIGKILL');
          resolve();
        }, 2000);
        this.child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
