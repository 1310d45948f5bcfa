// GPIO through rpio (/dev/gpiomem register access), for Raspberry Pi 1–4. rpio maps the wrong
// registers on a Pi 5 (use the chardev adapter there). Every rpio call runs on the line thread
// (gpio-line-worker.ts), which also times presses and stamps input edges; this side keeps a
// shared array of line values so read() is synchronous and current.
// In mock mode (rpio's map-backed "raspi-N" boards) it runs on any machine: wiring checks and
// the press-timing benchmark use that; `mockDrive()` plays the device on the other end.
import { Worker, MessageChannel } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Gpio, GpioEdge, GpioInput, GpioOutput, InputOptions, OutputOptions, PulseTimes } from './gpio.ts';
import { monotonicMs, PRESS_RT_PRIORITY } from './gpio.ts';
import { WORKER_SHIM } from './worker-shim.ts';
import { lineWorkerMain, type LineWorkerData, type LineWorkerReply, type LineWorkerRequest } from './gpio-line-worker.ts';

export interface RpioGpioOptions {
  /** rpio mock board, e.g. "raspi-4"; no hardware is touched. */
  mock?: string;
  /** Input poll period on the line thread (default 1 ms). */
  pollMs?: number;
  /** A release is spun for on hrtime over its last this-many ms (default 2 ms). */
  spinMs?: number;
  /** SCHED_FIFO priority of the line thread (default PRESS_RT_PRIORITY; null: none). Needs root or CAP_SYS_NICE. */
  rtPriority?: number | null;
  /** Nice value of the line thread when SCHED_FIFO is refused (default -15; null: leave it). */
  nice?: number | null;
  /** Tests and benchmarks: every output write is appended to this file as "<t ms> <line> <level> rpio". */
  trace?: string;
}

type Pending = { resolve: (r: Extract<LineWorkerReply, { op: 'done' }>) => void; reject: (e: Error) => void };
type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

// Shims for bundlers: esbuild keeps names through __name() and turns require() into __require()
// in a bundle; the eval'd thread has neither, only the plain require of a worker script.
const SHIM = WORKER_SHIM;

export class RpioGpio implements Gpio {
  readonly kind = 'rpio' as const;
  private readonly worker: Worker;
  private readonly port: MessageChannel['port1'];
  private readonly cells: Int32Array;
  private readonly pending = new Map<number, Pending>();
  private readonly watchers = new Map<number, Set<(e: GpioEdge) => void>>();
  private nextId = 1;
  private closed = false;
  private dead: Error | undefined;
  readonly ready: Promise<void>;
  /** How the line thread is scheduled: "fifo:N", "nice:N" or "normal". */
  sched = 'normal';

  private constructor(readonly opts: RpioGpioOptions) {
    const shared = new SharedArrayBuffer(4 * 515);
    this.cells = new Int32Array(shared);
    this.cells.fill(-1, 1, 513);
    this.cells[513] = 0;
    this.cells[514] = 0;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: LineWorkerData = {
      rpioPath: createRequire(import.meta.url).resolve('rpio'),
      mock: opts.mock ?? null,
      shared,
      port: port2,
      pollMs: opts.pollMs ?? 1,
      spinMs: opts.spinMs ?? 2,
      nice: opts.nice === undefined ? -15 : opts.nice,
      rtPriority: opts.rtPriority === undefined ? PRESS_RT_PRIORITY : opts.rtPriority,
      trace: opts.trace ?? null,
    };
    this.worker = new Worker(`${SHIM}(${lineWorkerMain.toString()})();`, { eval: true, workerData: data, transferList: [port2] });
    // The thread keeps the process alive only while a request (a press included) is pending.
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: LineWorkerReply) => {
        if (m.op !== 'ready') return;
        this.worker.off('message', onMsg);
        if (m.error) reject(new Error(`rpio: ${m.error}`));
        else {
          this.sched = m.sched ?? 'normal';
          resolve();
        }
      };
      this.worker.on('message', onMsg);
      // A thread that dies before it is ready (a bad script, a crash) fails the open, not hangs it.
      this.worker.once('error', (e) => reject(new Error(`GPIO line thread failed: ${e.message}`)));
      this.worker.once('exit', (code) => reject(new Error(`GPIO line thread exited before it was ready (${code})`)));
    });
    this.worker.on('message', (m: LineWorkerReply) => this.onReply(m));
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.die(new Error(`GPIO line thread exited (${code})`));
    });
  }

  static async open(opts: RpioGpioOptions = {}): Promise<RpioGpio> {
    const g = new RpioGpio(opts);
    try {
      await g.ready;
    } catch (e) {
      await g.worker.terminate();
      throw e;
    }
    if (g.pending.size === 0) g.worker.unref();
    process.once('exit', g.onExit);
    return g;
  }

  /**
   * The process is exiting (a crash included) and would take the line thread with it, leaving
   * START as it is: ring the thread's panic cell and block up to 200 ms for it to release every
   * output. Atomics.wait is allowed on Node's main thread, and exit handlers must be synchronous.
   */
  readonly onExit = (): void => {
    if (this.closed || this.dead) return;
    Atomics.store(this.cells, 513, 1);
    Atomics.add(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
    Atomics.wait(this.cells, 514, 0, 200);
  };

  now(): number {
    return monotonicMs();
  }

  private die(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onReply(m: LineWorkerReply): void {
    if (m.op === 'edge') {
      for (const fn of this.watchers.get(m.line) ?? []) fn({ line: m.line, active: m.active, t: m.t });
      return;
    }
    if (m.op !== 'done') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m);
  }

  private request(msg: Distribute<LineWorkerRequest>): Promise<Extract<LineWorkerReply, { op: 'done' }>> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closed) return Promise.reject(new Error('GPIO is closed'));
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    const done = new Promise<Extract<LineWorkerReply, { op: 'done' }>>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.port.postMessage({ ...msg, id });
    Atomics.add(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
    return done;
  }

  /** Fire-and-forget request whose failure is only logged by the caller's next request. */
  private send(msg: Distribute<LineWorkerRequest>): void {
    this.request(msg).catch(() => {
      /* surfaced by dead/closed on the next awaited call */
    });
  }

  private value(line: number): boolean {
    return Atomics.load(this.cells, 1 + line) === 1;
  }

  async output(line: number, o: OutputOptions = {}): Promise<GpioOutput> {
    await this.request({ op: 'output', line, activeLow: !!o.activeLow, initial: !!o.initial });
    let open = true;
    const out: GpioOutput = {
      line,
      write: (active) => {
        if (!open) return;
        Atomics.store(this.cells, 1 + line, active ? 1 : 0);
        this.send({ op: 'write', line, active });
      },
      read: () => this.value(line),
      pulse: async (ms): Promise<PulseTimes> => {
        if (!open) throw new Error(`line ${line} is closed`);
        Atomics.store(this.cells, 1 + line, 1);
        const r = await this.request({ op: 'pulse', line, ms });
        return { start: r.start!, end: r.end! };
      },
      hold: (ms) => out.pulse(ms),
      close: () => {
        if (open) {
          open = false;
          this.send({ op: 'close', line });
        }
      },
    };
    return out;
  }

  async input(line: number, o: InputOptions = {}): Promise<GpioInput> {
    await this.request({ op: 'input', line, activeLow: o.activeLow ?? false, bias: o.bias ?? 'as-is' });
    let open = true;
    const mine = new Set<(e: GpioEdge) => void>();
    return {
      line,
      read: () => this.value(line),
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

  /** Mock mode only: the device on the other end drives `line` to a physical level. */
  async mockDrive(line: number, level: 0 | 1): Promise<void> {
    await this.request({ op: 'mockDrive', line, level });
  }

  /** Mock mode only: the physical level of `line` as the device on the other end sees it. */
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
    process.off('exit', this.onExit);
    this.watchers.clear();
    await this.worker.terminate().catch(() => 0);
    this.port.close();
  }
}
