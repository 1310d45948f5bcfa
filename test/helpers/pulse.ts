// A fresh PulseAudio (root, user mode, no shm) inside a namespace, from a script of `load-module`
// lines (docs/testing.md). PulseAudio's RTP modules are fragile across runs: one daemon per test.
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.ts';

export interface Pulse {
  dir: string;
  server: string;
  proc: ChildProcess;
  log(): string;
  /** Runs a PulseAudio client (paplay, parec, pactl) against this daemon inside the namespace. */
  client(cmd: string, args: string[]): ChildProcess;
  stop(): Promise<void>;
}

export async function startPulse(ns: Netns, modules: string[]): Promise<Pulse> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-pa-'));
  mkdirSync(join(dir, 'rt'), { mode: 0o700 });
  const socket = join(dir, 'rt', 'native');
  writeFileSync(
    join(dir, 'script.pa'),
    [`load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`, ...modules].join('\n') + '\n',
  );
  const env = { ...process.env, HOME: dir, XDG_RUNTIME_DIR: join(dir, 'rt'), PULSE_SERVER: `unix:${socket}` };
  const proc = ns.spawn(
    'pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--disallow-exit',
      '--use-pid-file=no',
      '--disable-shm=yes',
      '--log-target=stderr',
      process.env.PA_LOG ?? '--log-level=info',
      '-F',
      join(dir, 'script.pa'),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  proc.stderr?.on('data', (d) => {
    log = (log + d).slice(-50_000);
  });
  proc.stdout?.on('data', (d) => {
    log = (log + d).slice(-50_000);
  });
  const t0 = Date.now();
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`pulseaudio did not start:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  return {
    dir,
    server: `unix:${socket}`,
    proc,
    log: () => log,
    client: (cmd, args) => ns.spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
          proc.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          proc.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records `seconds` of raw s16le from a PulseAudio source (e.g. "recvsink.monitor"). */
export function record(pa: Pulse, source: string, seconds: number, rate = 48000, channels = 2): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const p = pa.client('parec', [
      '-d',
      source,
      '--raw',
      '--format=s16le',
      `--rate=${rate}`,
      `--channels=${channels}`,
      '--latency-msec=20',
    ]);
    const chunks: Buffer[] = [];
    let err = '';
    p.stdout!.on('data', (d: Buffer) => chunks.push(d));
    p.stderr!.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGTERM'), seconds * 1000);
    p.on('exit', () => {
      clearTimeout(t);
      const b = Buffer.concat(chunks);
      if (b.length === 0 && err) {
        reject(new Error(`parec: ${err}`));
        return;
      }
      const out = new Int16Array(b.length >> 1);
      for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
      resolve(out);
    });
  });
}
