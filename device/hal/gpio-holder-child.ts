// The line holder: the process that owns the GPIO lines of the rpio and chardev adapters (forked
// by gpio.held.ts). It exists so that START and PTT never outlive the runtime that asserted them:
// - it outlives a SIGKILLed runtime just long enough to release: when its parent dies, the IPC
//   channel closes ('disconnect'; Node cannot set PR_SET_PDEATHSIG), and it releases every output
//   and exits. rpio: every output is driven inactive at once, a press in flight included.
//   chardev: each gpioset is told "set L=0, exit" behind its running sleep, so a press ends at
//   its planned time and a held line at once;
// - every assertion the tuner makes is a pulse with a planned end, timed here (rpio: the line
//   thread; chardev: gpioset's own sleep), so a busy or stalled runtime cannot stretch it;
// - SIGTERM/SIGINT/SIGHUP (systemd stopping the unit's whole control group) release the same way.
// Messages (JSON over the fork IPC channel), parent → holder: HolderRequest; holder → parent:
// HolderReply. Lines are named by number; times are CLOCK_MONOTONIC ms (process.hrtime), the
// same clock in every process.
import type { Gpio, GpioInput, GpioOutput } from './gpio.ts';

export type HolderRequest =
  | { op: 'output'; id: number; line: number; activeLow: boolean; initial: boolean; label?: string }
  | { op: 'input'; id: number; line: number; activeLow: boolean; bias: string; label?: string }
  | { op: 'write'; id: number; line: number; active: boolean }
  | { op: 'pulse' | 'hold'; id: number; line: number; ms: number }
  | { op: 'close'; id: number; line: number }
  | { op: 'closeAll'; id: number }
  | { op: 'mockDrive'; id: number; line: number; level: 0 | 1 }
  | { op: 'mockRead'; id: number; line: number }
  | { op: 'sync'; id: number };

export type HolderReply =
  | { op: 'ready'; error?: string; sched?: string }
  | { op: 'done'; id: number; error?: string; start?: number; end?: number; level?: number; active?: boolean }
  | { op: 'edge'; line: number; active: boolean; t: number };

export interface HolderOptions {
  adapter: 'rpio' | 'chardev';
  mock?: string;
  chip?: string;
  trace?: string;
}

async function open(o: HolderOptions): Promise<
  Gpio & {
    sched?: string;
    mockDrive?(l: number, v: 0 | 1): Promise<void>;
    mockLevel?(l: number): Promise<0 | 1>;
    settled?(): Promise<void>;
  }
> {
  if (o.adapter === 'rpio')
    return (await import('./gpio.rpio.ts')).RpioGpio.open({ ...(o.mock ? { mock: o.mock } : {}), ...(o.trace ? { trace: o.trace } : {}) });
  return (await import('./gpio.chardev.ts')).ChardevGpio.open({ ...(o.chip ? { chip: o.chip } : {}) });
}

async function main(): Promise<void> {
  // A better nice value for this process's event loop (where permitted: the unit grants
  // CAP_SYS_NICE): it forwards commands to gpioset and, when the runtime dies, releases the lines
  // (PTT at once), and must not wait behind the runtime's audio for the CPU. Not real-time: a
  // whole Node event loop (GC included) is no thread to give SCHED_FIFO to; the press timing
  // itself is on the line thread / in gpioset, at SCHED_FIFO.
  try {
    (await import('node:os')).setPriority(-10);
  } catch {
    /* not permitted: normal priority */
  }
  // After the parent died there is no one to tell: a send then fails through its callback.
  const send = (m: HolderReply) => {
    if (process.connected)
      process.send?.(m, undefined, {}, () => {
        /* parent gone */
      });
  };
  const o = JSON.parse(process.argv[2] ?? '{}') as HolderOptions;
  let gpio: Awaited<ReturnType<typeof open>>;
  try {
    gpio = await open(o);
  } catch (e) {
    send({ op: 'ready', error: (e as Error).message });
    process.exit(1);
  }
  const outs = new Map<number, GpioOutput>();
  const ins = new Map<number, GpioInput>();
  let leaving = false;
  const leave = async () => {
    if (leaving) return;
    leaving = true;
    await gpio.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('disconnect', () => void leave());
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void leave());

  process.on('message', (m: HolderRequest) => {
    const done = (extra: Partial<Extract<HolderReply, { op: 'done' }>> = {}) => send({ op: 'done', id: m.id, ...extra });
    const fail = (e: unknown) => done({ error: (e as Error).message });
    const out = (line: number) => {
      const x = outs.get(line);
      if (!x) throw new Error(`line ${line} is not an open output`);
      return x;
    };
    try {
      switch (m.op) {
        case 'output':
          gpio.output(m.line, { activeLow: m.activeLow, initial: m.initial, ...(m.label ? { label: m.label } : {}) }).then((x) => {
            outs.set(m.line, x);
            done();
          }, fail);
          return;
        case 'input':
          gpio.input(m.line, { activeLow: m.activeLow, bias: m.bias as never, ...(m.label ? { label: m.label } : {}) }).then((x) => {
            ins.set(m.line, x);
            x.watch((e) => send({ op: 'edge', line: e.line, active: e.active, t: e.t }));
            done({ active: x.read() });
          }, fail);
          return;
        case 'write':
          out(m.line).write(m.active);
          done();
          return;
        case 'pulse':
        case 'hold':
          out(m.line)
            [m.op](m.ms)
            .then((t) => done({ start: t.start, end: t.end }), fail);
          return;
        case 'close':
          outs.get(m.line)?.close();
          ins.get(m.line)?.close();
          outs.delete(m.line);
          ins.delete(m.line);
          done();
          return;
        case 'closeAll':
          gpio.close().then(() => {
            done();
            leaving = true;
            setTimeout(() => process.exit(0), 10);
          }, fail);
          return;
        case 'mockDrive':
          gpio.mockDrive!(m.line, m.level).then(() => done(), fail);
          return;
        case 'mockRead':
          gpio.mockLevel!(m.line).then((level) => done({ level }), fail);
          return;
        case 'sync':
          Promise.resolve(gpio.settled?.()).then(() => done(), fail);
          return;
      }
    } catch (e) {
      fail(e);
    }
  });
  send({ op: 'ready', ...(gpio.sched ? { sched: gpio.sched } : {}) });
}

void main();
