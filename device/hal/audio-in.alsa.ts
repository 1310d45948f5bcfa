// Live capture through `alsa-capture`, in a child process (audio-in.alsa-child.ts). The parent
// pulls what it reads (plus a little ahead) over IPC and keeps a small FIFO, so read() stays
// synchronous; a device that is absent or fails leaves the input returning silence and retrying
// with backoff (rules in audio-in.ts).
import { fork, type ChildProcess } from 'node:child_process';
import type { TimerHandle } from '../core/clock.ts';
import { Backoff } from '../core/backoff.ts';
import { childEntry, execArgvFor } from './child-entry.ts';
import { SampleFifo, type AudioInput, type AudioInputOptions, type InputCounters, type InputFormat, type InputStatus } from './audio-in.ts';

export interface AlsaSpec {
  device?: string;
}

export function createAlsaInput(
  spec: AlsaSpec,
  opts: AudioInputOptions & { childScript?: string; retryMinMs?: number; retryMaxMs?: number },
): AudioInput {
  const device = spec.device ?? 'default';
  const backoff = new Backoff({ minMs: opts.retryMinMs ?? 500, maxMs: opts.retryMaxMs ?? 10_000 });
  let fmt: InputFormat | undefined;
  let st: InputStatus = 'closed';
  let error: string | null = null;
  let child: ChildProcess | undefined;
  let fifo: SampleFifo | undefined;
  let retry: TimerHandle | undefined;
  let delivered = 0,
    dropped = 0,
    padded = 0;
  let inflight = false;
  let settle: (() => void) | undefined;

  const maxFrames = () => Math.round(((opts.maxBufferMs ?? 200) * fmt!.rate) / 1000);

  function spawn(): void {
    const { script, execArgv } = opts.childScript
      ? { script: opts.childScript, execArgv: execArgvFor(opts.childScript) }
      : childEntry('audio-in.alsa-child', import.meta.url);
    const c = fork(script, [], {
      execArgv,
      env: { ...process.env, ...(opts.env ?? {}) },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child = c;
    inflight = false;
    c.stderr?.resume();
    c.on('message', (m: { t: string; message?: string; data?: Int16Array; dropped?: number }) => {
      if (child !== c) return;
      if (m.t === 'ready') c.send({ t: 'open', device, rate: fmt!.rate, channels: fmt!.channels, maxFrames: maxFrames() });
      else if (m.t === 'opened') {
        if (st !== 'open') opts.log.info(`capture device ${device} open`);
        st = 'open';
        error = null;
        backoff.reset();
        const s = settle;
        settle = undefined;
        s?.();
      } else if (m.t === 'pcm') {
        inflight = false;
        dropped += m.dropped ?? 0;
        fifo!.push(m.data!);
      } else if (m.t === 'error') failed(m.message ?? 'capture error');
    });
    c.on('exit', (code, signal) => {
      if (child === c) failed(`capture process exited (${signal ?? `code ${code}`})`);
    });
  }

  function failed(message: string): void {
    if (st === 'closed') return;
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (st !== 'failed') opts.log.warn(`capture device ${device} failed: ${message}`);
    st = 'failed';
    error = message;
    const s = settle;
    settle = undefined;
    s?.();
    opts.clock.clearTimeout(retry);
    retry = opts.clock.setTimeout(() => {
      retry = undefined;
      if (st === 'failed') spawn();
    }, backoff.next());
  }

  return {
    kind: 'alsa',
    description: `alsa:${device}`,
    status: () => st,
    lastError: () => (st === 'failed' ? error : null),
    open(f) {
      fmt = f;
      fifo = new SampleFifo(f.channels, maxFrames());
      st = 'failed'; // until the device delivers
      error = 'opening';
      const p = new Promise<void>((resolve) => {
        settle = resolve;
      });
      // A device that neither opens nor fails within 3 s is reported by status(), not awaited.
      const guard = opts.clock.setTimeout(() => {
        const s = settle;
        settle = undefined;
        s?.();
      }, 3000);
      void p.then(() => opts.clock.clearTimeout(guard));
      spawn();
      return p;
    },
    read(frames) {
      if (!fifo || !fmt) return new Int16Array(frames * 2);
      const before = fifo.padded;
      const out = fifo.take(frames);
      padded += fifo.padded - before;
      delivered += frames - (fifo.padded - before);
      // Keep about two reads' worth on hand; one pull in flight at a time.
      if (child && st === 'open' && !inflight) {
        inflight = true;
        child.send({ t: 'pull', frames: Math.max(0, 3 * frames - fifo.frames) });
      }
      return out;
    },
    counters: (): InputCounters => ({ delivered, dropped: dropped + (fifo?.dropped ?? 0), padded }),
    async close() {
      if (st === 'closed') return;
      st = 'closed';
      opts.clock.clearTimeout(retry);
      const s = settle;
      settle = undefined;
      s?.();
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 1000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          c.send({ t: 'close' });
        } catch {
          c.kill('SIGKILL');
        }
      });
    },
  };
}
