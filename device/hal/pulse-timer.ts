// A thread that decides when a simulated pulse ends, so the simulated GPIO's presses are as
// exact on a busy main thread as the real adapters' (bench: press_error_max_ms_loaded, sim).
// The thread sleeps until shortly before each due time and spins on hrtime for the rest, then
// reports the end time it decided (CLOCK_MONOTONIC ms); the caller stamps the edge with that
// time even if its own event loop hears of it later. Once started, the thread keeps the process
// alive only while a pulse is pending.
import { Worker } from 'node:worker_threads';
import { monotonicMs } from './gpio.ts';
import { WORKER_SHIM } from './worker-shim.ts';

function timerThread(): void {
  const { parentPort } = require('node:worker_threads');
  // As the rpio line thread: SCHED_FIFO when allowed (it sleeps but for the last 2 ms of a press),
  // else a better nice value (both per thread on Linux).
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
    require('node:child_process').execFileSync('chrt', ['-f', '-p', '20', tid], { stdio: 'ignore', timeout: 2000 });
  } catch {
    try { require('node:os').setPriority(-15); } catch { /* not permitted: normal priority */ }
  }
  const hr = (): number => Number(process.hrtime.bigint()) / 1e6;
  const due = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    if (!due.size) return;
    const next = Math.min(...due.values());
    const wait = next - hr() - 2;
    timer = setTimeout(() => {
      while (hr() < next) { /* spin the last 2 ms */ }
      const t = hr();
      for (const [id, d] of due) if (d <= t) { due.delete(id); parentPort.postMessage({ id, t }); }
      arm();
    }, Math.max(0, wait));
  };
  parentPort.postMessage({ ready: true });
  parentPort.on('message', (m: { id: number; due?: number }) => {
    if (m.due === undefined) due.delete(m.id); else due.set(m.id, m.due);
    arm();
  });
}

export class PulseTimer {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (t: number) => void>();
  private nextId = 1;
  /** Resolves when the thread runs (starting one takes a while on a busy machine). */
  readonly ready: Promise<void>;

  constructor() {
    // Source text of a function, with the bundler shims (as gpio.rpio.ts's line thread).
    this.worker = new Worker(`${WORKER_SHIM}(${timerThread.toString()})();`, { eval: true });
    let up!: () => void;
    this.ready = new Promise((r) => { up = r; });
    this.worker.on('message', (m: { id: number; t: number; ready?: boolean }) => {
      if (m.ready) { up(); if (this.waiting.size === 0) this.worker.unref(); return; }
      const fn = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      fn?.(m.t);
    });
    // Ref'd until the thread is up (a first press waits for it), then only while a pulse is pending.
  }

  /** Calls `fn` with the end time (CLOCK_MONOTONIC ms) `ms` from now; returns a cancel function. */
  after(ms: number, fn: (endMs: number) => void): () => void {
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, fn);
    this.worker.postMessage({ id, due: monotonicMs() + ms });
    return () => {
      if (!this.waiting.delete(id)) return;
      if (this.waiting.size === 0) this.worker.unref();
      this.worker.postMessage({ id });
    };
  }

  async close(): Promise<void> { this.waiting.clear(); await this.worker.terminate(); }
}
