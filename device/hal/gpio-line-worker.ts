// The body of the GPIO line thread used by the rpio adapter. It runs in its own worker_thread and
// owns every rpio call, for three reasons:
// - timed presses must stay exact while the main thread is busy (audio, MQTT, GC): the thread
//   sleeps with Atomics.wait until shortly before a release and spins on hrtime for the rest;
// - input edges are stamped by a 1 ms level poll on this thread, not by the main event loop;
// - rpio is not a context-aware addon, so exactly one thread may load it.
// The thread never returns to its own event loop: commands arrive on a MessagePort read with
// receiveMessageOnPort, and the main thread rings a shared "doorbell" (Atomics.notify) after each
// one. Replies and edges go out with parentPort.postMessage.
//
// This function is turned into source text (Function.prototype.toString) and run with
// `new Worker(src, { eval: true })`, so it may use only globals and `require`: no imports, no
// outer variables. The caller prepends a `__name` shim for transpilers that keep names.

export interface LineWorkerData {
  rpioPath: string;
  /** rpio mock board (e.g. "raspi-4"): register access replaced by a map, for wiring tests. */
  mock: string | null;
  /**
   * SharedArrayBuffer of Int32: [0] doorbell, [1..512] logical line values (0/1, -1 = unknown),
   * [513] panic (set by the main thread as the process exits: release everything now),
   * [514] panic acknowledged.
   */
  shared: SharedArrayBuffer;
  port: unknown;
  pollMs: number;
  spinMs: number;
  /** SCHED_FIFO priority for this thread (1–99), or null for none. */
  rtPriority: number | null;
  /** Nice value for this thread (-20…19) when real-time scheduling is not allowed, or null. */
  nice: number | null;
  /** Tests and benchmarks: append "<t> <line> <level> rpio" to this file on every output write. */
  trace: string | null;
}

export type LineWorkerRequest =
  | { op: 'output'; id: number; line: number; activeLow: boolean; initial: boolean }
  | { op: 'input'; id: number; line: number; activeLow: boolean; bias: string }
  | { op: 'write'; id: number; line: number; active: boolean }
  | { op: 'pulse'; id: number; line: number; ms: number }
  | { op: 'close'; id: number; line: number }
  | { op: 'closeAll'; id: number }
  | { op: 'mockDrive'; id: number; line: number; level: number }
  | { op: 'mockRead'; id: number; line: number };

export type LineWorkerReply =
  | { op: 'ready'; error?: string; sched?: string }
  | { op: 'done'; id: number; error?: string; start?: number; end?: number; aborted?: boolean; level?: number }
  | { op: 'edge'; line: number; active: boolean; t: number };

export function lineWorkerMain(): void {
  const wt = require('node:worker_threads');
  const data = wt.workerData as LineWorkerData;
  const parent = wt.parentPort;
  const port = data.port as { close(): void };
  const cells = new Int32Array(data.shared);
  const hr = (): number => Number(process.hrtime.bigint()) / 1e6;
  const post = (m: LineWorkerReply) => parent.postMessage(m);

  // Give this thread real-time scheduling (SCHED_FIFO via util-linux chrt on its own thread
  // id), else a better nice value (Linux nice is per thread): on a busy CPU an ordinary thread
  // can wait many ms for the scheduler, and a release must not. Needs root or CAP_SYS_NICE; the
  // thread sleeps except for the last spinMs before a release, so it cannot starve the audio.
  let sched = 'normal';
  if (data.rtPriority !== null) {
    try {
      const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
      require('node:child_process').execFileSync('chrt', ['-f', '-p', String(data.rtPriority), tid], { stdio: 'ignore', timeout: 2000 });
      sched = `fifo:${data.rtPriority}`;
    } catch {
      /* not permitted or no chrt: try nice */
    }
  }
  if (sched === 'normal' && data.nice !== null) {
    try {
      require('node:os').setPriority(data.nice);
      sched = `nice:${data.nice}`;
    } catch {
      /* not permitted */
    }
  }

  let rpio: any;
  try {
    rpio = require(data.rpioPath);
    rpio.on('warn', () => {
      /* mock fallbacks are chosen explicitly */
    });
    rpio.init({ gpiomem: true, mapping: 'gpio', close_on_exit: false, ...(data.mock ? { mock: data.mock } : {}) });
  } catch (e) {
    post({ op: 'ready', error: (e as Error).message });
    return;
  }
  post({ op: 'ready', sched });

  interface Out {
    activeLow: boolean;
    active: boolean;
  }
  interface In {
    activeLow: boolean;
    active: boolean;
  }
  interface Pulse {
    id: number;
    line: number;
    start: number;
    due: number;
  }
  const outs = new Map<number, Out>();
  const ins = new Map<number, In>();
  const pulses = new Map<number, Pulse>(); // by line
  let seen = Atomics.load(cells, 0);
  let running = true;

  const level = (active: boolean, activeLow: boolean) => (active !== activeLow ? 1 : 0);
  const fs = require('node:fs');
  // Opened once: an open/append/close per edge costs the timing thread a file system round trip
  // (ms on a busy disk) that a register write does not.
  const traceFd: number | null = data.trace ? fs.openSync(data.trace, 'a') : null;
  const traced = (t: number, line: number, lv: number) => {
    if (traceFd !== null) fs.writeSync(traceFd, `${t.toFixed(3)} ${line} ${lv} rpio\n`);
  };
  const setOut = (line: number, o: Out, active: boolean): number => {
    const lv = level(active, o.activeLow);
    rpio.write(line, lv);
    const t = hr();
    traced(t, line, lv);
    o.active = active;
    Atomics.store(cells, 1 + line, active ? 1 : 0);
    return t;
  };
  const endPulse = (p: Pulse, aborted: boolean) => {
    pulses.delete(p.line);
    const o = outs.get(p.line);
    const end = o ? setOut(p.line, o, false) : hr();
    post({ op: 'done', id: p.id, start: p.start, end, ...(aborted ? { aborted: true } : {}) });
  };

  const handle = (m: LineWorkerRequest) => {
    try {
      switch (m.op) {
        case 'output': {
          const o = { activeLow: m.activeLow, active: m.initial };
          rpio.open(m.line, rpio.OUTPUT, level(m.initial, m.activeLow));
          traced(hr(), m.line, level(m.initial, m.activeLow));
          outs.set(m.line, o);
          Atomics.store(cells, 1 + m.line, m.initial ? 1 : 0);
          break;
        }
        case 'input': {
          const pud =
            m.bias === 'pull-up'
              ? rpio.PULL_UP
              : m.bias === 'pull-down'
                ? rpio.PULL_DOWN
                : m.bias === 'disable'
                  ? rpio.PULL_OFF
                  : undefined;
          rpio.open(m.line, rpio.INPUT, pud);
          // rpio's mock keeps levels in a map and knows no resistors: model the pull there.
          if (data.mock && (m.bias === 'pull-up' || m.bias === 'pull-down')) rpio.write(m.line, m.bias === 'pull-up' ? 1 : 0);
          const active = (rpio.read(m.line) !== 0) !== m.activeLow;
          ins.set(m.line, { activeLow: m.activeLow, active });
          Atomics.store(cells, 1 + m.line, active ? 1 : 0);
          break;
        }
        case 'write': {
          const o = outs.get(m.line);
          if (!o) throw new Error(`line ${m.line} is not an open output`);
          const p = pulses.get(m.line);
          if (p) endPulse(p, true);
          setOut(m.line, o, m.active);
          break;
        }
        case 'pulse': {
          const o = outs.get(m.line);
          if (!o) throw new Error(`line ${m.line} is not an open output`);
          if (pulses.has(m.line)) throw new Error(`line ${m.line} is already pulsing`);
          const start = setOut(m.line, o, true);
          pulses.set(m.line, { id: m.id, line: m.line, start, due: start + m.ms });
          return; // answered when the pulse ends
        }
        case 'close': {
          const p = pulses.get(m.line);
          if (p) endPulse(p, true);
          const o = outs.get(m.line);
          if (o) {
            setOut(m.line, o, false);
            outs.delete(m.line);
            rpio.close(m.line, rpio.PIN_PRESERVE);
          }
          if (ins.delete(m.line)) rpio.close(m.line, rpio.PIN_PRESERVE);
          Atomics.store(cells, 1 + m.line, -1);
          break;
        }
        case 'closeAll': {
          for (const p of [...pulses.values()]) endPulse(p, true);
          for (const [line, o] of outs) {
            try {
              setOut(line, o, false);
              rpio.close(line, rpio.PIN_PRESERVE);
            } catch {
              /* keep releasing the rest */
            }
          }
          for (const line of ins.keys()) {
            try {
              rpio.close(line, rpio.PIN_PRESERVE);
            } catch {
              /* as above */
            }
          }
          outs.clear();
          ins.clear();
          running = false;
          break;
        }
        case 'mockDrive': {
          if (!data.mock) throw new Error('mockDrive needs mock mode');
          rpio.write(m.line, m.level);
          break;
        }
        case 'mockRead': {
          post({ op: 'done', id: m.id, level: rpio.read(m.line) ? 1 : 0 });
          return;
        }
      }
      post({ op: 'done', id: m.id });
    } catch (e) {
      post({ op: 'done', id: m.id, error: (e as Error).message });
    }
  };

  const pollInputs = () => {
    for (const [line, i] of ins) {
      const active = (rpio.read(line) !== 0) !== i.activeLow;
      if (active !== i.active) {
        i.active = active;
        Atomics.store(cells, 1 + line, active ? 1 : 0);
        post({ op: 'edge', line, active, t: hr() });
      }
    }
  };

  const PANIC = 513,
    ACK = 514;
  const panic = () => {
    for (const [line, o] of outs) {
      try {
        setOut(line, o, false);
      } catch {
        /* keep releasing */
      }
    }
    running = false;
    Atomics.store(cells, ACK, 1);
    Atomics.notify(cells, ACK);
  };

  while (running) {
    if (Atomics.load(cells, PANIC) === 1) {
      panic();
      break;
    }
    for (let r = wt.receiveMessageOnPort(port); r; r = wt.receiveMessageOnPort(port)) handle(r.message as LineWorkerRequest);
    if (!running) break;
    if (ins.size) pollInputs();
    let next = Infinity;
    for (const p of pulses.values()) next = Math.min(next, p.due);
    const now = hr();
    if (next <= now) {
      for (const p of [...pulses.values()]) if (p.due <= now) endPulse(p, false);
      continue;
    }
    const rem = next - now;
    if (rem <= data.spinMs) {
      // The last stretch: spin on hrtime so the release lands within microseconds of its due time.
      while (hr() < next && Atomics.load(cells, PANIC) === 0) {
        /* spin */
      }
      continue;
    }
    let waitMs = ins.size ? data.pollMs : Infinity;
    if (next !== Infinity) waitMs = Math.min(waitMs, rem - data.spinMs);
    const bell = Atomics.load(cells, 0);
    if (bell === seen) Atomics.wait(cells, 0, bell, waitMs === Infinity ? undefined : waitMs);
    seen = Atomics.load(cells, 0);
  }
  if (traceFd !== null) fs.closeSync(traceFd);
  port.close();
}
