// What the rooms bench shares between hearth and Snapcast: clocks shifted from outside the
// process (libfaketime), link profiles, the per-device impairment relay, and stopping processes.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { tree } from '../../test/helpers/proc-stats.ts';
import type { Netns } from '../../test/helpers/netns.ts';

const root = new URL('../..', import.meta.url).pathname;
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A device's clock against true time: offset (s) and rate (ppm, both clocks: the runtime runs on the monotonic one). */
export interface Shift {
  offsetS: number;
  ppm: number;
}

/**
 * The environment that shifts a process (and every child it starts: its sink process is part of
 * the device) by `s`. `stepFile`: only CLOCK_REALTIME is faked (monotonic true), from a file the
 * bench rewrites to step the clock mid-run (re-read every second), as NTP stepping the OS clock does.
 */
export function fakeClockEnv(s: Shift | null, stepFile?: string): Record<string, string> {
  if (stepFile) {
    writeFileSync(stepFile, `${fmtOffset(s?.offsetS ?? 0)}\n`);
    return { LD_PRELOAD: LIBFAKETIME, DONT_FAKE_MONOTONIC: '1', FAKETIME_TIMESTAMP_FILE: stepFile, FAKETIME_CACHE_DURATION: '1' };
  }
  if (!s) return {};
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: `${fmtOffset(s.offsetS)} x${(1 + s.ppm / 1e6).toFixed(7)}` };
}
export const fmtOffset = (s: number) => `${s < 0 ? '-' : '+'}${Math.abs(s).toFixed(6)}`;
export const describeShift = (s: Shift | null) =>
  s ? `${s.offsetS >= 0 ? '+' : ''}${s.offsetS * 1000} ms ${s.ppm >= 0 ? '+' : ''}${s.ppm} ppm` : 'true';

export interface Profile {
  delayMs?: number;
  jitterMs?: number;
  lossPct?: number;
  burst?: { everyMs: number; lengthMs: number; extraMs: number };
}
/** The link profiles of issue 10: wired (0.2 ms jitter) and Wi-Fi-like (3 ms jitter, 1 % loss, 20 ms delay bursts). */
export const WIRED: Profile = { delayMs: 0.1, jitterMs: 0.2 };
export const WIFI: Profile = { delayMs: 1, jitterMs: 3, lossPct: 1, burst: { everyMs: 4000, lengthMs: 150, extraMs: 20 } };

export type RelayLink =
  | { kind: 'multicast'; from: string; to: string; ports: number[] }
  | { kind: 'udp'; listen: number; target: number }
  | { kind: 'tcp'; listen: number; target: number };
export type LinkCounts = Record<string, { packets: number; dropped: number; bytes: number }>;
export interface Relay {
  proc: ChildProcess;
  counts(): Promise<LinkCounts>;
  stop(): Promise<LinkCounts>;
}

/** One device's link (test/helpers/link-relay.ts), under SCHED_RR so its own scheduling adds no jitter. */
/** SCHED_RR for a process tree, once it runs (as PulseAudio takes it; starting under it would starve the other players while compiling). */
export function realtime(pid: number): void {
  for (const p of tree(pid)) {
    try {
      execFileSync('chrt', ['-a', '-r', '-p', '10', String(p)], { stdio: 'ignore' });
    } catch {
      /* exited meanwhile */
    }
  }
}

export async function startRelay(ns: Netns, seed: number, up: Profile, down: Profile, links: RelayLink[]): Promise<Relay> {
  const proc = ns.spawn('chrt', [
    '-r',
    '20',
    process.execPath,
    '--import',
    'tsx',
    join(root, 'test/helpers/link-relay.ts'),
    JSON.stringify({ seed, up, down, links }),
  ]);
  let out = '',
    err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  for (const t0 = Date.now(); !out.includes('ready'); await sleep(30)) {
    if (proc.exitCode !== null || Date.now() - t0 > 15_000) throw new Error(`link relay did not start: ${err}`);
  }
  const last = (): LinkCounts => {
    const line = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1);
    return line ? JSON.parse(line) : {};
  };
  return {
    proc,
    counts: async () => {
      const n = out.length;
      proc.kill('SIGUSR2');
      for (const t0 = Date.now(); out.length === n || !out.endsWith('\n'); await sleep(10))
        if (Date.now() - t0 > 2000) throw new Error('link relay did not report');
      return last();
    },
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      return last();
    },
  };
}

/** SIGTERM, then SIGKILL after 3 s. */
export async function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** Keeps the last `max` characters a process writes (for error messages). */
export function tail(p: ChildProcess, max = 4000): () => string {
  let s = '';
  for (const st of [p.stdout, p.stderr])
    st?.on('data', (d) => {
      s = (s + d).slice(-max);
    });
  return () => s;
}
