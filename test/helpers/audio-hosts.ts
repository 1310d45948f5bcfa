// Parent side of test/helpers/audio-host.ts: start a player or source in its own process inside a
// namespace, send it commands, read its simulated DAC's records, yank and restore its DAC, and
// relay stream announcements between hosts (a tiny stand-in for the retained MQTT topic).
import { fileURLToPath } from 'node:url';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { tree } from './proc-stats.ts';
import type { Netns } from './netns.ts';
import type { SimBlockRecord } from '../../device/hal/audio-out.sim.ts';

const HOST = fileURLToPath(new URL('./audio-host.ts', import.meta.url));

export interface HostEvent {
  type: string;
  message: string;
  data?: Record<string, unknown>;
  at: number;
}

export interface AudioHost {
  readonly id: string;
  readonly proc: ChildProcess;
  states: Array<Record<string, any>>;
  events: HostEvent[];
  /** CPU (% of one core, per 1 s sample) and RSS (MB) samples. */
  usage: Array<{ cpuPct: number; rssMb: number; maxLagMs: number }>;
  stderr(): string;
  lastState(): Record<string, any> | undefined;
  cmd(action: string, args?: Record<string, unknown>): Promise<{ ok: boolean; result?: any; error?: { code: string; message: string } }>;
  records(sinceWallMs?: number): Promise<{ records: SimBlockRecord[]; underruns: number; underrunAt: number[] }>;
  unplug(): void;
  plug(): void;
  waitEvent(type: string, timeoutMs?: number, after?: number): Promise<HostEvent>;
  waitState(pred: (s: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

export interface StartHostOptions {
  ns: Netns;
  id: string;
  role: 'player' | 'source';
  config: Record<string, unknown>;
  dac?: { ppm: number; bufferMs?: number; absent?: boolean; mirror?: { device: string; env: Record<string, string> } };
  /** Extra node options (e.g. --cpu-prof for profiling). */
  nodeArgs?: string[];
  /** The host entry: built JavaScript for benchmarks (default: audio-host.ts through tsx). */
  script?: string;
  /** Run under SCHED_RR (chrt -r 10), as an audio daemon does (PulseAudio asks for it too). */
  realtime?: boolean;
  /** The host's monotonic clock runs this many ppm off (its wall clock stays true). */
  clockPpm?: number;
  env?: NodeJS.ProcessEnv;
}

const hosts = new Set<AudioHost>();
/** Stream announcements seen so far (retained, like hearth/streams/#), replayed to new hosts. */
const retained = new Map<string, unknown>();

export async function startAudioHost(o: StartHostOptions): Promise<AudioHost> {
  const spawnOpts = {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as const,
    env: { ...process.env, ...(o.env ?? {}) },
    serialization: 'advanced' as const,
  };
  const script = o.script ?? HOST;
  const argv = [...(o.nodeArgs ?? []), ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), script];
  // Real-time priority is taken only once the host runs (below): compiling and starting under
  // SCHED_RR would starve the other real-time players on the machine for whole time slices.
  const proc = o.ns.spawn(process.execPath, argv, { ...spawnOpts, stdio: [...spawnOpts.stdio] });
  let err = '';
  proc.stderr?.on('data', (d) => {
    err = (err + d).slice(-20_000);
  });
  let rid = 0;
  const pending = new Map<number, (m: any) => void>();
  const listeners = new Set<() => void>();
  let started: (() => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const h: AudioHost = {
    id: o.id,
    proc,
    states: [],
    events: [],
    usage: [],
    stderr: () => err,
    lastState: () => h.states.at(-1),
    cmd: (action, args = {}) =>
      new Promise((resolve) => {
        const r = ++rid;
        pending.set(r, resolve);
        proc.send({ t: 'cmd', rid: r, action, args });
      }),
    records: (since) =>
      new Promise((resolve) => {
        const r = ++rid;
        pending.set(r, resolve);
        proc.send({ t: 'records', rid: r, since });
      }),
    unplug: () => proc.send({ t: 'unplug' }),
    plug: () => proc.send({ t: 'plug' }),
    waitEvent(type, timeoutMs = 10_000, after = 0) {
      return waitFor(() => h.events.find((e) => e.type === type && e.at >= after), timeoutMs, `event ${type} from ${o.id}`);
    },
    waitState(pred, timeoutMs = 10_000) {
      return waitFor(() => h.states.slice().reverse().find(pred), timeoutMs, `a state of ${o.id}`);
    },
    async stop() {
      hosts.delete(h);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
        }, 3000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        try {
          proc.send({ t: 'stop' });
        } catch {
          proc.kill('SIGKILL');
        }
      });
    },
  };
  function waitFor<T>(fn: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = fn();
        if (v !== undefined) {
          listeners.delete(check);
          clearTimeout(t);
          resolve(v);
        }
      };
      const t = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}\n${err.slice(-3000)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  }
  proc.on('message', (m: any) => {
    if (m.t === 'ready') {
      for (const a of retained.values()) proc.send(a as object);
      proc.send({ t: 'start', role: o.role, id: o.id, config: o.config, dac: o.dac, clockPpm: o.clockPpm });
    } else if (m.t === 'started') started?.();
    else if (m.t === 'failed') failed?.(new Error(`${o.id}: ${m.error}\n${err.slice(-3000)}`));
    else if (m.t === 'state') h.states.push(m.detail);
    else if (m.t === 'event') h.events.push({ type: m.type, message: m.message, data: m.data, at: Date.now() });
    else if (m.t === 'usage') h.usage.push({ cpuPct: m.cpuUs / 1e4, rssMb: m.rssMb, maxLagMs: m.maxLagMs });
    else if (m.t === 'reply' || m.t === 'records') {
      const f = pending.get(m.rid);
      pending.delete(m.rid);
      f?.(m);
    } else if (m.t === 'stream') {
      retained.set(`${m.device}/${m.stream}`, m);
      for (const p of hosts)
        if (p !== h)
          try {
            p.proc.send(m);
          } catch {
            /* gone */
          }
    }
    for (const l of [...listeners]) l();
  });
  hosts.add(h);
  await new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
    proc.once('exit', (code) => reject(new Error(`${o.id} exited (${code}) before starting\n${err.slice(-3000)}`)));
  });
  if (o.realtime) {
    for (const pid of tree(proc.pid!)) {
      try {
        execFileSync('chrt', ['-a', '-r', '-p', '10', String(pid)], { stdio: 'ignore' });
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return h;
}

/** The latest stream announcement per device/stream (null: withdrawn). */
export function announcements(): Map<string, { device: string; stream: string; announcement: Record<string, any> | null }> {
  return retained as Map<string, { device: string; stream: string; announcement: Record<string, any> | null }>;
}

export async function stopAllHosts(): Promise<void> {
  await Promise.all([...hosts].map((h) => h.stop()));
}
