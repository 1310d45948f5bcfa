// A thread that decides when a simulated pulse ends, so the simulated GPIO's presses are as
// exact on a busy main thread as the real adapters' (bench: press_error_max_ms_loaded, sim).
// It works as the rpio line thread does (gpio-line-worker.ts): it never returns to its event loop
// (a timer there fires only when the loop gets round to it, and has 1 ms granularity); it sleeps
// in Atomics.wait until shortly before the next due time, spins on hrtime for the rest, and reads
// requests with receiveMessageOnPort after the caller rings a shared doorbell. It reports the end
// time it decided (CLOCK_MONOTONIC ms); the caller stamps the edge with that time even if its own
// event loop hears of it later. The thread keeps the process alive only while a pulse is pending.
import { Worker, MessageChannel } from 'node:worker_threads';
import { monotonicMs, PRESS_RT_PRIORITY } from './gpio.ts';
import { WORKER_SHIM } from './worker-shim.ts';

interface TimerData {
  port: unknown;
  shared: SharedArrayBuffer;
  rtPriority: number;
  spinMs: number;
}
type TimerRequest = { id: number; due?: number } | { stop: true };

/** Runs as source text in the thread: globals and require only (see gpio-line-worker.ts). */
function timerThread(): void {
  const wt = require('node:worker_threads');
  const data = wt.workerData as TimerData;
  const cells = new Int32Array(data.shared); // [0] doorbell
  // As the rpio line thread: SCHED_FIFO when allowed, else a better nice value (both per thread).
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
    require('node:child_process').execFileSync('chrt', ['-f', '-p', String(data.rtPriority), tid], { stdio: 'ignore', timeout: 2000 });
  } catch {
    try {
      require('node:os').setPriority(-15);
    } catch {
      /* not permitted: normal priority */
    }
  }
  const hr = (): number => Number(process.hrtime.bigint()) / 1e6;
  const due = new Map<number, number>();
  let seen = Atomics.load(cells, 0);
  wt.parentPort.postMessage({ ready: true });
  for (;;) {
    for (let r = wt.receiveMessageOnPort(data.port); r; r = wt.receiveMessageOnPort(data.port)) {
      const m = r.message as TimerRequest;
      if ('stop' in m) return;
      if (m.due === undefined) due.delete(m.id);
      else due.set(m.id, m.due);
    }
    let next = Infinity;
    for (const d of due.values()) if (d < next) next = d;
    const now = hr();
    if (next <= now) {
      for (const [id, d] of due)
        if (d <= now) {
          due.delete(id);
          wt.parentPort.postMessage({ id, t: now });
        }
      continue;
    }
    if (next - now <= data.spinMs) {
      while (hr() < next) {
        /* the last stretch: the release lands within microseconds of its due time */
      }
      continue;
    }
    const bell = Atomics.load(cells, 0);
    if (bell === seen) Atomics.wait(cells, 0, bell, next === Infinity ? undefined : next - now - data.spinMs);
    seen = Atomics.load(cells, 0);
  }
}

export class PulseTimer {
  private readonly worker: Worker;
  private readonly port: MessageChannel['port1'];
  private readonly cells: Int32Array;
  private readonly waiting = new Map<number, (t: number) => void>();
  private nextId = 1;
  /** Resolves when the thread runs (starting one takes a while on a busy machine). */
  readonly ready: Promise<void>;

  constructor(o: { rtPriority?: number; spinMs?: number } = {}) {
    const shared = new SharedArrayBuffer(4);
    this.cells = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData: TimerData = { port: port2, shared, rtPriority: o.rtPriority ?? PRESS_RT_PRIORITY, spinMs: o.spinMs ?? 2 };
    // Source text of a function, with the bundler shims (as gpio.rpio.ts's line thread).
    this.worker = new Worker(`${WORKER_SHIM}(${timerThread.toString()})();`, { eval: true, workerData, transferList: [port2 as never] });
    let up!: () => void;
    this.ready = new Promise((r) => {
      up = r;
    });
    this.worker.on('message', (m: { id: number; t: number; ready?: boolean }) => {
      if (m.ready) {
        up();
        if (this.waiting.size === 0) this.worker.unref();
        return;
      }
      const fn = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      fn?.(m.t);
    });
    // Ref'd until the thread is up (a first press waits for it), then only while a pulse is pending.
  }

  private post(m: TimerRequest): void {
    this.port.postMessage(m);
    Atomics.add(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
  }

  /** Calls `fn` with the end time (CLOCK_MONOTONIC ms) `ms` from now; returns a cancel function. */
  after(ms: number, fn: (endMs: number) => void): () => void {
    return this.at(monotonicMs() + ms, fn);
  }

  /** Calls `fn` with the end time (CLOCK_MONOTONIC ms) at `due`; returns a cancel function. */
  at(due: number, fn: (endMs: number) => void): () => void {
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, fn);
    this.post({ id, due });
    return () => {
      if (!this.waiting.delete(id)) return;
      if (this.waiting.size === 0) this.worker.unref();
      this.post({ id });
    };
  }

  async close(): Promise<void> {
    this.waiting.clear();
    this.post({ stop: true });
    await this.worker.terminate();
    this.port.close();
  }
}
